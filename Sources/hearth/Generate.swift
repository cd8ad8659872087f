import ArgumentParser
import FoundationEssentials
import HearthAPI
import HearthClient

/// `hearth generate JOB "prompt"`: streams a completion from a serve job's endpoint.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Stream a completion from a running serve job to the terminal.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The serve job's id, or an array element as ARRAY_INDEX.", valueName: "job"), transform: JobArgument.parse)
    var job: JobReference
    @Argument(help: "The prompt.") var prompt: String
    @Option(help: "Tokens to generate.") var maxTokens = 200
    @Option(help: "Softmax temperature (0: greedy).") var temperature = 0.8
    @Option(help: "Nucleus sampling mass.") var topP = 1.0
    @Option(help: "Random seed (same seed, same text).") var seed: UInt64?
    @Option(help: "Stop at this text (repeatable).") var stop: [String] = []

    func run() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        let job = try global.connection.jobID(self.job)
        let (endpoints, _) = try global.call("GET", "/v1/endpoints?job=\(job)", as: [EndpointView].self)
        guard let endpoint = endpoints.first(where: { $0.jobID == job }) else {
            Stdio.error("hearth: job \(job) has no live endpoint; see `hearth endpoints`\n")
            throw ExitCode(1)
        }
        let data = try JSONEncoder().encode(CompletionRequest(
            prompt: prompt, maxTokens: maxTokens, temperature: temperature, topP: topP, seed: seed, stop: stop.isEmpty ? nil : stop))
        // Unbuffered: each token shows up as it arrives.
        Stdio.out(prompt)
        do {
            try EventStreamClient.post(url: endpoint.url, path: "/v1/completions", body: data, bearer: endpoint.apiKey) { event in
                guard event != "[DONE]",
                      let obj = try? JSONDecoder().decode(JSONValue.self, from: Data(event.utf8)),
                      case .object(let o) = obj, case .array(let choices)? = o["choices"], case .object(let first)? = choices.first,
                      case .string(let text)? = first["text"] else { return }
                Stdio.out(text)
            }
            Stdio.out("\n")
        } catch let failure as EventStreamClient.Failure {
            Stdio.out("\n")
            let detail = failure.status.flatMap { _ -> String? in
                guard case .object(let o)? = try? JSONDecoder().decode(JSONValue.self, from: Data(failure.message.utf8)),
                      case .object(let e)? = o["error"], case .string(let m)? = e["message"] else { return nil }
                return m
            } ?? failure.description
            Stdio.error("hearth: \(endpoint.url): \(detail)\n")
            throw ExitCode(failure.status == nil ? 3 : 1)
        }
    }
}

/// The body of `POST /v1/completions` on a serving endpoint (OpenAI's names).
private struct CompletionRequest: Encodable {
    var prompt: String
    var maxTokens: Int
    var temperature: Double
    var topP: Double
    var stream = true
    var seed: UInt64?
    var stop: [String]?

    init(prompt: String, maxTokens: Int, temperature: Double, topP: Double, seed: UInt64?, stop: [String]?) {
        (self.prompt, self.maxTokens, self.temperature, self.topP, self.seed, self.stop) = (prompt, maxTokens, temperature, topP, seed, stop)
    }

    enum CodingKeys: String, CodingKey {
        case prompt, temperature, stream, seed, stop
        case maxTokens = "max_tokens"
        case topP = "top_p"
    }
}
