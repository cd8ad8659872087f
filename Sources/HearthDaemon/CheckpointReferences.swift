import Foundation
import HearthAPI

/// A stored checkpoint named in a spec by job and step (Docs/artifacts.md): the string
/// `"@checkpoint:JOB:STEP"` (or `:latest`, the newest stored) anywhere in an eval, serve, distill
/// or command spec becomes the path of that checkpoint's directory on the node that runs the job,
/// fetched from the fleet; `"@checkpoint:JOB:STEP/model.safetensors"` names a file in it.
/// Checked at submission (the job exists and may be read by the submitter, the step is stored)
/// and resolved at launch. `"@job:ID:path"` (SpecReferences) keeps working beside it.
enum CheckpointReferences {
    struct Reference: Hashable {
        var job: Int64
        /// `nil`: the newest stored.
        var step: Int?
        var suffix: String
    }

    static func parse(_ s: String) -> Reference? {
        guard s.hasPrefix("@checkpoint:") else { return nil }
        let parts = s.dropFirst(12).split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let job = Int64(parts[0]), job > 0 else { return nil }
        let rest = parts[1]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let stepText = rest[..<slash]
        let suffix = String(rest[slash...])
        if stepText == "latest" { return Reference(job: job, step: nil, suffix: suffix) }
        guard let step = Int(stepText), step >= 0 else { return nil }
        return Reference(job: job, step: step, suffix: suffix)
    }

    /// Every string in `value` that starts with `@checkpoint:`, parsed or not (`nil`: malformed).
    static func strings(in value: JSONValue) -> [String] {
        switch value {
        case .string(let s): return s.hasPrefix("@checkpoint:") ? [s] : []
        case .array(let a): return a.flatMap { strings(in: $0) }
        case .object(let o): return o.values.flatMap { strings(in: $0) }
        default: return []
        }
    }
}
