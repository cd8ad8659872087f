import Foundation
import HearthAPI

/// Checks a submitted spec before it is queued, so a job that cannot run is refused with a
/// sentence now rather than failing on a node later: the fields the worker requires, sizes
/// within reason, and datasets that exist (a directory `hearth-worker prepare` wrote, with its
/// `index.json`). Paths are checked on the node that takes the submission: in a fleet they
/// must be on storage every node mounts at the same place.
enum SpecCheck {
    /// The most a spec may ask for: far above what a donated node trains, far below overflow.
    static let limits: [(key: String, range: ClosedRange<Double>)] = [
        ("layers", 1...512), ("heads", 1...512), ("width", 1...65_536), ("context", 1...1_048_576), ("vocab", 1...1_048_576),
    ]

    static func check(kind: String, spec: JSONValue) throws(APIError) {
        guard case .object(let s) = spec else { return }
        switch kind {
        case "train": try checkTraining(s)
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
            guard case .object(let d) = entry, case .string(let path)? = d["path"] else {
                throw bad("spec.data[\(i)] must be an object with a \"path\" to a prepared dataset")
            }
            try dataset(path, field: "spec.data[\(i)].path")
        }
        if case .string(let path)? = s["eval_data"] { try dataset(path, field: "spec.eval_data") }
        if case .string(let path)? = s["init_from"], !path.hasPrefix("@"), !FileManager.default.isReadableFile(atPath: path) {
            throw bad("spec.init_from: \(path) is not a readable file on this node")
        }
    }

    private static func dataset(_ path: String, field: String) throws(APIError) {
        if path.hasPrefix("@") { return }  // another job's result, resolved when this one starts (SpecReferences)
        guard path.hasPrefix("/") else {
            throw bad("\(field) must be an absolute path (the worker runs in its own directory), not \"\(path)\"")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw bad("\(field): no dataset directory \(path) on this node; write one with `hearth-worker prepare TEXT... --out \(path)`")
        }
        guard FileManager.default.isReadableFile(atPath: path + "/index.json") else {
            throw bad("\(field): \(path) has no index.json, so it is not a prepared dataset; write one with `hearth-worker prepare TEXT... --out DIR`")
        }
    }
}
