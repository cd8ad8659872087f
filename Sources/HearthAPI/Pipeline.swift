#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/pipelines`: several jobs submitted together, each waiting for the ones it names
/// (`after`), and taking values from their results: a string `"@STEP.KEY"` in a step's spec is
/// replaced, when that step starts, by `KEY` of the named earlier step's result (for a training
/// step, `path` is its final checkpoint). Referring to a step implies waiting for it.
///
/// ```json
/// {"steps": [
///   {"name": "train", "kind": "train", "spec": {...}},
///   {"name": "eval", "kind": "eval", "spec": {"checkpoint": "@train.path", ...}},
///   {"name": "serve", "kind": "serve", "after": ["eval"], "spec": {"checkpoint": "@train.path"}}]}
/// ```
public struct PipelineRequest: Sendable, Hashable, Codable {
    public struct Step: Sendable, Hashable, Codable {
        /// Unique within the pipeline; also the job's name.
        public var name: String
        public var kind: String
        public var spec: JSONValue?
        public var gpus: Int?
        public var qos: String?
        public var priority: Int?
        public var timeLimit: Int?
        public var preemptible: Bool?
        /// Earlier steps that must succeed first.
        public var after: [String]?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, kind, spec, gpus, qos, priority, preemptible, after
            case timeLimit = "time_limit"
        }
        public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))

        public init(name: String, kind: String, spec: JSONValue? = nil, gpus: Int? = nil, qos: String? = nil,
                    priority: Int? = nil, timeLimit: Int? = nil, preemptible: Bool? = nil, after: [String]? = nil) {
            self.name = name
            self.kind = kind
            self.spec = spec
            self.gpus = gpus
            self.qos = qos
            self.priority = priority
            self.timeLimit = timeLimit
            self.preemptible = preemptible
            self.after = after
        }
    }

    public var steps: [Step]
    public init(steps: [Step]) { self.steps = steps }

    /// The earlier step names a spec refers to with `"@STEP.KEY"` strings.
    public static func references(in value: JSONValue) -> Set<String> {
        switch value {
        case .string(let s):
            guard s.hasPrefix("@"), !s.hasPrefix("@job:"), let dot = s.firstIndex(of: ".") else { return [] }
            return [String(s[s.index(after: s.startIndex)..<dot])]
        case .array(let a): return a.reduce(into: []) { $0.formUnion(references(in: $1)) }
        case .object(let o): return o.values.reduce(into: []) { $0.formUnion(references(in: $1)) }
        default: return []
        }
    }

    /// The spec with `"@STEP.KEY"` rewritten to `"@job:ID:KEY"` for the steps in `ids`.
    public static func rewrite(_ value: JSONValue, ids: [String: Int64]) -> JSONValue {
        switch value {
        case .string(let s):
            guard s.hasPrefix("@"), !s.hasPrefix("@job:"), let dot = s.firstIndex(of: "."),
                  let id = ids[String(s[s.index(after: s.startIndex)..<dot])] else { return value }
            return .string("@job:\(id):\(s[s.index(after: dot)...])")
        case .array(let a): return .array(a.map { rewrite($0, ids: ids) })
        case .object(let o): return .object(o.mapValues { rewrite($0, ids: ids) })
        default: return value
        }
    }
}
