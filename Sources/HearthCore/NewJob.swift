#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A job as submitted, before the queue has given it an id.
public struct NewJob: Sendable, Hashable, Codable {
    /// Names the longest job kind, name and key accepted; longer input is refused with a message.
    public enum Limits {
        public static let maxNameLength = 200
        public static let maxIdempotencyKeyLength = 200
        public static let maxGPUs = 64
        public static let priorityRange = -1000...1000
        public static let attemptsRange = 1...100
        public static let maxDependencies = 64
        /// A time limit of at most 366 days.
        public static let timeLimitRange = 1...31_622_400
    }

    public var kind: JobKind
    public var accountID: Int64
    public var projectID: Int64?
    public var name: String
    /// The job's specification, a JSON object. Defaults to `{}`.
    public var specJSON: String
    /// Defaults to `0`.
    public var priority: Int
    /// Defaults to `.normal`.
    public var qos: QOS
    /// Defaults to `0` (CPU only).
    public var gpus: Int
    /// Submitting twice with the same key (per account) returns the first job instead of a second.
    public var idempotencyKey: String?
    /// Defaults to `3`.
    public var maxAttempts: Int
    /// Not claimable before this time. Defaults to `nil` (now).
    public var runAt: Date?
    /// Jobs that must have succeeded before this one starts (`after-ok`). Defaults to none.
    public var afterOK: [Int64]
    /// Wall-time limit in seconds; lets the scheduler backfill the job and fit it in donor
    /// windows. Defaults to `nil` (unknown).
    public var timeLimitSeconds: Int?
    /// Whether the scheduler may preempt it; `nil` (default) = the kind's default (all but `serve`).
    public var preemptible: Bool?
    /// Every GPU must be this model (as the node reports it, e.g. `"H100"`); `nil` = any.
    public var gpuModel: String?
    /// Every GPU must have at least this much memory. Defaults to `0` (any).
    public var gpuMemoryBytes: Int64

    public init(
        kind: JobKind, accountID: Int64, projectID: Int64? = nil, name: String = "", specJSON: String = "{}",
        priority: Int = 0, qos: QOS = .normal, gpus: Int = 0, idempotencyKey: String? = nil,
        maxAttempts: Int = 3, runAt: Date? = nil, afterOK: [Int64] = [], timeLimitSeconds: Int? = nil,
        preemptible: Bool? = nil, gpuModel: String? = nil, gpuMemoryBytes: Int64 = 0
    ) {
        self.kind = kind
        self.accountID = accountID
        self.projectID = projectID
        self.name = name
        self.specJSON = specJSON
        self.priority = priority
        self.qos = qos
        self.gpus = gpus
        self.idempotencyKey = idempotencyKey
        self.maxAttempts = maxAttempts
        self.runAt = runAt
        self.afterOK = afterOK
        self.timeLimitSeconds = timeLimitSeconds
        self.preemptible = preemptible
        self.gpuModel = gpuModel
        self.gpuMemoryBytes = gpuMemoryBytes
    }

    /// Checks every field and says what is wrong and how to fix it, before anything is written.
    public func validate() throws(JobValidationError) {
        try validateFields()
        guard (try? JSONDecoder().decode([String: AnyJSON].self, from: Data(specJSON.utf8))) != nil else {
            throw JobValidationError("the job spec must be a JSON object, such as {\"steps\": 100}")
        }
    }

    /// ``validate()`` without reading the spec again: for a caller that wrote `specJSON` itself
    /// from an object it parsed (the daemon), where a second parse would only cost time.
    public func validateFields() throws(JobValidationError) {
        if name.count > Limits.maxNameLength {
            throw JobValidationError("job name is \(name.count) characters long; the limit is \(Limits.maxNameLength)")
        }
        if !(0...Limits.maxGPUs).contains(gpus) {
            throw JobValidationError("a job may ask for 0 to \(Limits.maxGPUs) GPUs on one node, not \(gpus)")
        }
        if !Limits.priorityRange.contains(priority) {
            throw JobValidationError("priority must be between -1000 and 1000, not \(priority)")
        }
        if !Limits.attemptsRange.contains(maxAttempts) {
            throw JobValidationError("max attempts must be between 1 and 100, not \(maxAttempts)")
        }
        if let key = idempotencyKey, key.isEmpty || key.count > Limits.maxIdempotencyKeyLength {
            throw JobValidationError("an idempotency key must be 1 to \(Limits.maxIdempotencyKeyLength) characters")
        }
        if afterOK.count > Limits.maxDependencies {
            throw JobValidationError("a job may wait for at most \(Limits.maxDependencies) other jobs, not \(afterOK.count)")
        }
        if let bad = afterOK.first(where: { $0 <= 0 }) {
            throw JobValidationError("after-ok names job \(bad); job ids are positive numbers as `hearth queue` shows them")
        }
        if let limit = timeLimitSeconds, !Limits.timeLimitRange.contains(limit) {
            throw JobValidationError("a time limit must be between 1 second and 366 days, not \(limit) seconds")
        }
        if let model = gpuModel, model.isEmpty || model.count > 100 {
            throw JobValidationError("a GPU model must be 1 to 100 characters, as `hearth nodes` shows it (e.g. H100)")
        }
        if gpuMemoryBytes < 0 {
            throw JobValidationError("GPU memory cannot be negative")
        }
        if (gpuModel != nil || gpuMemoryBytes > 0) && gpus == 0 {
            throw JobValidationError("a GPU model or memory was given for a job that asks for no GPUs; add --gpus N")
        }
    }
}

/// A submission that was refused before it reached the queue; `message` says what to fix.
public struct JobValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Any JSON value, decoded only to check that a text is JSON (without Foundation's JSONSerialization).
struct AnyJSON: Decodable {
    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            while !array.isAtEnd { _ = try array.decode(AnyJSON.self) }
            return
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            for key in object.allKeys { _ = try object.decode(AnyJSON.self, forKey: key) }
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { return }
        if (try? single.decode(Bool.self)) != nil { return }
        if (try? single.decode(Double.self)) != nil { return }
        _ = try single.decode(String.self)
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
