#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A donor's policy for one node, as `hearth node policy NODE FILE` sends it and `PUT
/// /v1/nodes/{name}/policy` stores it (the `nodes.policy` column holds this JSON).
///
/// ```json
/// {"time_zone": "Europe/Berlin",
///  "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "19:00", "to": "07:00"},
///              {"days": ["sat", "sun"], "from": "00:00", "to": "00:00"}],
///  "allowed_kinds": ["train", "eval"],
///  "reserved_gpus": 1}
/// ```
/// Every key is optional: no `windows` = always available; no `allowed_kinds` = every kind.
public struct PolicyDocument: Sendable, Hashable, Codable {
    /// One weekly window: starts on each of `days` at `from` (local time, `HH:MM`) and ends at
    /// `to`; `to` at or before `from` ends the next day; `from == to` is 24 hours.
    public struct Window: Sendable, Hashable, Codable {
        public var days: [String]
        public var from: String
        public var to: String
        public init(days: [String], from: String, to: String) {
            self.days = days
            self.from = from
            self.to = to
        }
    }

    /// An IANA time zone name (`Europe/Berlin`); default `UTC`.
    public var timeZone: String?
    public var windows: [Window]?
    public var allowedKinds: [String]?
    /// GPUs of this node kept for the donor's own account. Default 0.
    public var reservedGPUs: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case windows
        case timeZone = "time_zone"
        case allowedKinds = "allowed_kinds"
        case reservedGPUs = "reserved_gpus"
    }

    /// The keys a policy may carry (anything else is refused, so a typo is not ignored).
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))

    public init(timeZone: String? = nil, windows: [Window]? = nil, allowedKinds: [String]? = nil, reservedGPUs: Int? = nil) {
        self.timeZone = timeZone
        self.windows = windows
        self.allowedKinds = allowedKinds
        self.reservedGPUs = reservedGPUs
    }

    /// Day names in the order `weekday` numbers them (0 = Sunday).
    public static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Minutes after midnight of `HH:MM` (`24:00` allowed as an end), or `nil`.
    public static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              let h = Int(parts[0]), let m = Int(parts[1]), (0...24).contains(h), (0..<60).contains(m),
              h * 60 + m <= 1440 else { return nil }
        return h * 60 + m
    }

    /// Checks every field; the error says what is wrong and how to write it.
    public func validate(knownKinds: [String]) throws(APIError) {
        func bad(_ m: String) -> APIError { APIError(code: "bad-request", message: m) }
        if let tz = timeZone, TimeZone(identifier: tz) == nil {
            throw bad("unknown time zone \"\(tz)\"; use an IANA name such as Europe/Berlin or America/New_York")
        }
        for (i, w) in (windows ?? []).enumerated() {
            if w.days.isEmpty { throw bad("window \(i + 1) has no days; list some of \(Self.dayNames.joined(separator: ", "))") }
            if let d = w.days.first(where: { !Self.dayNames.contains($0.lowercased()) }) {
                throw bad("window \(i + 1): unknown day \"\(d)\"; use \(Self.dayNames.joined(separator: ", "))")
            }
            for (name, t) in [("from", w.from), ("to", w.to)] where Self.minutes(t) == nil {
                throw bad("window \(i + 1): \"\(name)\" is \"\(t)\"; write a local time as HH:MM, e.g. 19:00")
            }
        }
        if let kinds = allowedKinds, let k = kinds.first(where: { !knownKinds.contains($0) }) {
            throw bad("unknown job kind \"\(k)\" in allowed_kinds; known kinds are \(knownKinds.joined(separator: ", "))")
        }
        if let r = reservedGPUs, !(0...64).contains(r) {
            throw bad("reserved_gpus must be between 0 and 64, not \(r)")
        }
    }
}

/// `GET /v1/jobs/{id}/priority` and `GET /v1/priority`: why a pending job has its priority and
/// why it is (not) running, like `sprio` and `squeue --start` together.
public struct PriorityView: Sendable, Hashable, Codable {
    /// One factor: its normalised value in [0, 1], its weight, and the points it adds.
    public struct Factor: Sendable, Hashable, Codable {
        public var name: String
        public var value: Double
        public var weight: Double
        public var points: Double
        public init(name: String, value: Double, weight: Double, points: Double) {
            self.name = name
            self.value = value
            self.weight = weight
            self.points = points
        }
    }
    public var jobID: Int64
    public var account: String
    public var priority: Double
    public var factors: [Factor]
    /// 1-based position in the pass order, of `queueLength` pending jobs.
    public var rank: Int
    public var queueLength: Int
    /// `squeue`-style label (`NoCapacity`, `Dependency`, `Starting`...).
    public var reason: String
    /// The reason as a sentence.
    public var explanation: String
    /// When a reservation expects it to start, if one was made.
    public var expectedStart: Date?
    public var expectedNode: String?
    /// Fair share: the association's decayed GPU-hours and its fair-share factor, when known.
    public var decayedGPUHours: Double?
    public var fairShareFactor: Double?
    /// Locality: the bytes of the job's stored inputs (fleet datasets, checkpoints) in all, when
    /// known (one job's explanation), and the nodes whose caches hold some of them, most first.
    /// Placement prefers those nodes only among nodes otherwise equally good.
    public var inputBytes: Int64?
    public var inputsCachedOn: [CachedInputs]?

    /// A node's artifact cache holding `bytes` of a job's inputs.
    public struct CachedInputs: Sendable, Hashable, Codable {
        public var node: String
        public var bytes: Int64
        public init(node: String, bytes: Int64) {
            self.node = node
            self.bytes = bytes
        }
    }

    enum CodingKeys: String, CodingKey {
        case account, priority, factors, rank, reason, explanation
        case jobID = "job_id"
        case queueLength = "queue_length"
        case expectedStart = "expected_start"
        case expectedNode = "expected_node"
        case decayedGPUHours = "decayed_gpu_hours"
        case fairShareFactor = "fair_share_factor"
        case inputBytes = "input_bytes"
        case inputsCachedOn = "inputs_cached_on"
    }

    public init(jobID: Int64, account: String, priority: Double, factors: [Factor], rank: Int, queueLength: Int,
                reason: String, explanation: String, expectedStart: Date?, expectedNode: String?,
                decayedGPUHours: Double?, fairShareFactor: Double?) {
        self.jobID = jobID
        self.account = account
        self.priority = priority
        self.factors = factors
        self.rank = rank
        self.queueLength = queueLength
        self.reason = reason
        self.explanation = explanation
        self.expectedStart = expectedStart
        self.expectedNode = expectedNode
        self.decayedGPUHours = decayedGPUHours
        self.fairShareFactor = fairShareFactor
    }
}

/// `POST /v1/nodes/{name}/reclaim` and `.../release`: the donor takes the node back, or lends it again.
public struct ReclaimResponse: Sendable, Hashable, Codable {
    public var node: String
    public var reclaimed: Bool
    /// Jobs asked to checkpoint and leave (reclaim only).
    public var preempting: [Int64]
    public init(node: String, reclaimed: Bool, preempting: [Int64]) {
        self.node = node
        self.reclaimed = reclaimed
        self.preempting = preempting
    }
}
