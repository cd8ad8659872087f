import ArgumentParser
import FoundationEssentials
import HearthAPI
import HearthClient

struct Endpoints: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the live serving endpoints you may use (your jobs', your projects', all for admins).",
        discussion: """
            KEY is the endpoint's bearer key: OpenAI clients send it as `Authorization: Bearer KEY` \
            (api_key=KEY in the openai package). hearth generate sends it for you.
            """)
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let (endpoints, raw) = try global.call("GET", "/v1/endpoints", as: [EndpointView].self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        var table = TextTable(["JOBID", "NODE", "URL", "MODEL", "PARAMS", "CONTEXT", "SINCE", "KEY"])
        for e in endpoints {
            table.add(["\(e.jobID)", e.node, e.url, e.model, e.parameters.map(String.init) ?? "-", e.context.map(String.init) ?? "-",
                       TextTable.duration(Date().timeIntervalSince(e.registeredAt)) + " ago", e.apiKey ?? "-"])
        }
        print(table.render(), terminator: "")
    }
}
