import Foundation
import HearthAPI
import HearthCore

/// Checks a submitted spec before it is queued, so a job that cannot run is refused with a
/// sentence now rather than failing on a node later: the fields the worker requires and sizes
/// within reason. It opens no path the spec names: the job's own process opens them on the node,
/// as the job's user, so file permissions decide (a check here would run with hearthd's rights,
/// and would tell anybody whether any path exists).
enum SpecCheck {
    /// The most a spec may ask for: far above what a donated node trains, far below overflow.
    static let limits: [(key: String, range: ClosedRange<Double>)] = [
        ("layers", 1...512), ("heads", 1...512), ("width", 1...65_536), ("context", 1...1_048_576), ("vocab", 1...1_048_576),
    ]

    static func check(kind: JobKind, spec: JSONValue) throws(APIError) {
        guard case .object(let s) = spec else { return }
        switch kind {
        case .train: try checkTraining(s)
        case .command: try checkCommand(s)
        default: return
        }
    }

    private static func bad(_ message: String) -> APIError { APIError(code: "bad-request", message: message) }

    private static func checkTraining(_ s: [String: JSONValue]) throws(APIError) {
        let required = ["model", "data", "batch_size", "steps"]
        let missing = required.filter { s[$0] == nil }
        if !missing.isEmpty {
            throw bad("the training spec lacks \(missing.joined(separator: ", ")); Docs/worker-contract.md shows a whole job file")
        }
        guard case .object(let model) = s["model"]! else { throw bad("spec.model must be an object such as {\"layers\": 4, \"heads\": 4, \"width\": 128, \"context\": 64}") }
        for (key, range) in limits {
            guard let v = model[key] else { continue }
            guard case .number(let n) = v, n.rounded() == n, range.contains(n) else {
                throw bad("spec.model.\(key) must be a whole number from \(Int(range.lowerBound)) to \(Int(range.upperBound))")
            }
        }
        for key in ["batch_size", "steps"] {
            guard case .number(let n) = s[key]!, n.rounded() == n, n >= 1, n <= 1e12 else {
                throw bad("spec.\(key) must be a whole number of at least 1")
            }
        }
        guard case .array(let data) = s["data"]!, !data.isEmpty else {
            throw bad("spec.data must list at least one dataset, as [{\"path\": \"/data/shakespeare\"}]")
        }
        for (i, entry) in data.enumerated() {
            // A fleet dataset ({"dataset": NAME}) was resolved before this check (ControlServer+Artifacts).
            if case .object(let d) = entry, case .string? = d["dataset"] { continue }
            guard case .object(let d) = entry, case .string(let path)? = d["path"] else {
                throw bad("spec.data[\(i)] must be an object with a \"path\" to a prepared dataset, or a \"dataset\" pushed with hearth dataset push")
            }
            try dataset(path, field: "spec.data[\(i)].path")
        }
        if case .string(let path)? = s["eval_data"] { try dataset(path, field: "spec.eval_data") }
        if case .string(let path)? = s["init_from"] { try absolute(path, field: "spec.init_from") }
        if case .string(let path)? = s["checkpoint_dir"] { try absolute(path, field: "spec.checkpoint_dir") }
    }

    /// A `command` job: `{"argv": ["/usr/bin/python3", "train.py"]}` or `{"shell": "make && ./run"}`.
    private static func checkCommand(_ s: [String: JSONValue]) throws(APIError) {
        let example = #"{"argv": ["/usr/bin/python3", "train.py"]} or {"shell": "cd ~/work && ./run.sh"}"#
        switch (s["argv"], s["shell"]) {
        case (.array(let argv)?, nil):
            guard !argv.isEmpty else { throw bad("spec.argv must name a program, as in \(example)") }
            for (i, a) in argv.enumerated() {
                guard case .string(let word) = a, !word.contains("\0") else { throw bad("spec.argv[\(i)] must be a string") }
                if i == 0 && word.isEmpty { throw bad("spec.argv[0] must name a program, as in \(example)") }
            }
        case (nil, .string(let line)?):
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty, !line.contains("\0") else {
                throw bad("spec.shell must be a command line, as in \(example)")
            }
        case (nil, nil): throw bad("a command job's spec needs argv or shell, as in \(example)")
        default: throw bad("a command job's spec has either argv (a list of strings) or shell (a string), not both; as in \(example)")
        }
    }

    private static func dataset(_ path: String, field: String) throws(APIError) {
        if path.hasPrefix("@") { return }  // another job's result, resolved when this one starts (SpecReferences)
        try absolute(path, field: field)
    }

    private static func absolute(_ path: String, field: String) throws(APIError) {
        if path.hasPrefix("@") { return }
        guard path.hasPrefix("/") else {
            throw bad("\(field) must be an absolute path (the worker runs in its own directory), not \"\(path)\"")
        }
    }
}
