import ArgumentParser
import FoundationEssentials
import HearthAPI
import HearthClient

struct Endpoints: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the live serving endpoints (running serve jobs).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let (endpoints, raw) = try global.call("GET", "/v1/endpoints", as: [EndpointView].self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        var table = Table(["JOBID", "NODE", "URL", "MODEL", "PARAMS", "CONTEXT", "SINCE"])
        for e in endpoints {
            table.add(["\(e.jobID)", e.node, e.url, e.model, e.parameters.map(String.init) ?? "-", e.context.map(String.init) ?? "-",
                       Table.duration(Date().timeIntervalSince(e.registeredAt)) + " ago"])
        }
        print(table.render(), terminator: "")
    }
}
