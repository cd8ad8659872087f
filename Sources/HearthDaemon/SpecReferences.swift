import Foundation
import HearthCore
import HearthStore

/// Values a job's spec takes from the jobs it depends on, resolved when it starts: a string
/// `"@job:42:path"` anywhere in the spec becomes the `path` field of job 42's result (what its
/// worker reported in `done`: for training the final checkpoint, for evaluation the results
/// file); `"@job:42:path/model.safetensors"` appends a path to it. This is how a pipeline's eval, distill and serve steps find the checkpoint that the
/// train step wrote, which no one knows at submission time.
enum SpecReferences {
    /// A reference that cannot be resolved; the job fails at once (retrying cannot help).
    struct Unresolved: Error, CustomStringConvertible {
        var description: String
    }

    /// Job id, result key and path suffix of `"@job:ID:KEY"` or `"@job:ID:KEY/more/path"` (the
    /// suffix is appended to the value, e.g. a file inside a checkpoint directory), or `nil`.
    static func parse(_ s: String) -> (job: Int64, key: String, suffix: String)? {
        guard s.hasPrefix("@job:") else { return nil }
        let parts = s.dropFirst(5).split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let id = Int64(parts[0]), id > 0, !parts[1].isEmpty else { return nil }
        let rest = parts[1]
        guard let slash = rest.firstIndex(of: "/") else { return (id, String(rest), "") }
        return (id, String(rest[..<slash]), String(rest[slash...]))
    }

    /// `job`'s spec with every reference replaced, or the spec unchanged when it has none. A job
    /// may use the results of its owner's jobs and of its project's (checked at submission too, by
    /// `ControlServer.authorizeReferences`; checked again here because the queue, not the caller,
    /// is what starts it), and, when its owner is an admin, any job's.
    static func resolve(for job: Job, queue: JobQueue) async throws -> String {
        let specJSON = job.specJSON
        guard specJSON.contains("@job:"), let spec = try? JSONSerialization.jsonObject(with: Data(specJSON.utf8)) else {
            return specJSON
        }
        let grants = GrantStore(client: queue.client)
        var wanted: Set<Int64> = []
        visit(spec) { if let r = parse($0) { wanted.insert(r.job) }; return nil }
        var results: [Int64: [String: Any]] = [:]
        for id in wanted {
            guard let used = try await queue.job(id), let owner = try await grants.ownership(ofJob: id) else {
                throw Unresolved(description: "the spec refers to job \(id), which does not exist")
            }
            var allowed = try await grants.sharesJob(owner, with: job.accountID)
            if !allowed { allowed = try await grants.isStoredAdmin(accountID: job.accountID) }
            guard allowed else {
                throw Unresolved(description: """
                    the spec refers to job \(id), which belongs to \(owner.account); a job may use the results of its \
                    owner's jobs and its project's only
                    """)
            }
            guard used.state == .succeeded, let text = used.resultJSON,
                  let result = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw Unresolved(description: "the spec uses the result of job \(id), which is \(used.state.rawValue) and has none; submit it with --after \(id)")
            }
            results[id] = result
        }
        var missing: String?
        let resolved = visit(spec) { s in
            guard let r = parse(s) else { return nil }
            guard let value = results[r.job]?[r.key] else {
                missing = "job \(r.job)'s result has no \"\(r.key)\" (it has \((results[r.job]?.keys.sorted() ?? []).joined(separator: ", ")))"
                return nil
            }
            if r.suffix.isEmpty { return value }
            guard let text = value as? String else {
                missing = "job \(r.job)'s \"\(r.key)\" with \(r.suffix) after it, but that value is not a path"
                return nil
            }
            return text + r.suffix
        }
        if let missing { throw Unresolved(description: "the spec refers to \(missing)") }
        let data = try JSONSerialization.data(withJSONObject: resolved, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Rebuilds `value`, replacing each string for which `replace` returns a value.
    @discardableResult
    static func visit(_ value: Any, _ replace: (String) -> Any?) -> Any {
        switch value {
        case let s as String: return replace(s) ?? s
        case let a as [Any]: return a.map { visit($0, replace) }
        case let o as [String: Any]: return o.mapValues { visit($0, replace) }
        default: return value
        }
    }
}
