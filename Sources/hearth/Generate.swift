import ArgumentParser
import Foundation
import HearthAPI
import HearthClient

/// `hearth generate JOB "prompt"`: streams a completion from a serve job's endpoint.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Stream a completion from a running serve job to the terminal.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The serve job's id.") var job: Int64
    @Argument(help: "The prompt.") var prompt: String
    @Option(help: "Tokens to generate.") var maxTokens = 200
    @Option(help: "Softmax temperature (0: greedy).") var temperature = 0.8
    @Option(help: "Nucleus sampling mass.") var topP = 1.0
    @Option(help: "Random seed (same seed, same text).") var seed: UInt64?
    @Option(help: "Stop at this text (repeatable).") var stop: [String] = []

    func run() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        let (endpoints, _) = try global.call("GET", "/v1/endpoints?job=\(job)", as: [EndpointView].self)
        guard let endpoint = endpoints.first(where: { $0.jobID == job }) else {
            FileHandle.standardError.write(Data("hearth: job \(job) has no live endpoint; see `hearth endpoints`\n".utf8))
            throw ExitCode(1)
        }
        var body: [String: Any] = ["prompt": prompt, "max_tokens": maxTokens, "temperature": temperature, "top_p": topP,
                                   "stream": true]
        if let seed { body["seed"] = seed }
        if !stop.isEmpty { body["stop"] = stop }
        let data = try JSONSerialization.data(withJSONObject: body)
        // Unbuffered: each token shows up as it arrives.
        let out = FileHandle.standardOutput
        out.write(Data(prompt.utf8))
        do {
            try EventStreamClient.post(url: endpoint.url, path: "/v1/completions", body: data, bearer: endpoint.apiKey) { event in
                guard event != "[DONE]",
                      let obj = try? JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any],
                      let text = (obj["choices"] as? [[String: Any]])?.first?["text"] as? String else { return }
                out.write(Data(text.utf8))
            }
            out.write(Data("\n".utf8))
        } catch let failure as EventStreamClient.Failure {
            out.write(Data("\n".utf8))
            let detail = failure.status.flatMap { _ in
                ((try? JSONSerialization.jsonObject(with: Data(failure.message.utf8))) as? [String: Any])
                    .flatMap { ($0["error"] as? [String: Any])?["message"] as? String }
            } ?? failure.description
            FileHandle.standardError.write(Data("hearth: \(endpoint.url): \(detail)\n".utf8))
            throw ExitCode(failure.status == nil ? 3 : 1)
        }
    }
}
