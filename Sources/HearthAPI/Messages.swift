#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HearthCore

/// The body of every error response: a stable code for scripts and a sentence for people.
public struct APIError: Sendable, Hashable, Codable, Error, CustomStringConvertible {
    /// Stable, machine-readable: `bad-request`, `unknown-field`, `forbidden`, `not-found`, `conflict`, `too-large`, `internal`.
    public var code: String
    /// What was wrong and what to do about it.
    public var message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// `GET /v1/whoami`: who the daemon thinks is calling (from the socket's peer credentials).
public struct WhoAmI: Sendable, Hashable, Codable {
    public var account: String
    public var uid: Int
    public var role: String
    public init(account: String, uid: Int, role: String) {
        self.account = account
        self.uid = uid
        self.role = role
    }
}

/// `POST /v1/jobs`: a submission. Unknown fields are refused, so a typo is not silently ignored.
public struct SubmitRequest: Sendable, Hashable, Codable {
    public var kind: String
    public var name: String?
    /// The job's specification (for `train`: the worker's job file, see Docs/worker-contract.md).
    public var spec: JSONValue?
    public var gpus: Int?
    public var priority: Int?
    public var qos: String?
    public var maxAttempts: Int?
    public var idempotencyKey: String?
    /// Jobs that must succeed first (`after-ok`).
    public var afterOK: [Int64]?
    /// Wall-time limit in seconds (lets the scheduler backfill the job).
    public var timeLimit: Int?
    /// `nil`: the kind's default (every kind but `serve` may be preempted).
    public var preemptible: Bool?
    /// Every GPU must be this model, as `hearth nodes` shows it.
    public var gpuModel: String?
    /// Every GPU must have at least this much memory, in MiB.
    public var gpuMemoryMiB: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, name, spec, gpus, priority, qos, preemptible
        case maxAttempts = "max_attempts"
        case idempotencyKey = "idempotency_key"
        case afterOK = "after_ok"
        case timeLimit = "time_limit"
        case gpuModel = "gpu_model"
        case gpuMemoryMiB = "gpu_memory_mib"
    }

    /// The field names a submission may carry.
    public static let fieldNames = Set(CodingKeys.allCases.map(\.rawValue))

    public init(kind: String, name: String? = nil, spec: JSONValue? = nil, gpus: Int? = nil, priority: Int? = nil,
                qos: String? = nil, maxAttempts: Int? = nil, idempotencyKey: String? = nil, afterOK: [Int64]? = nil,
                timeLimit: Int? = nil, preemptible: Bool? = nil, gpuModel: String? = nil, gpuMemoryMiB: Int? = nil) {
        self.kind = kind
        self.name = name
        self.spec = spec
        self.gpus = gpus
        self.priority = priority
        self.qos = qos
        self.maxAttempts = maxAttempts
        self.idempotencyKey = idempotencyKey
        self.afterOK = afterOK
        self.timeLimit = timeLimit
        self.preemptible = preemptible
        self.gpuModel = gpuModel
        self.gpuMemoryMiB = gpuMemoryMiB
    }
}

/// A job as the API shows it.
public struct JobView: Sendable, Hashable, Codable {
    public var id: Int64
    public var kind: JobKind
    public var name: String
    public var account: String
    public var state: JobState
    public var gpus: Int
    public var priority: Int
    public var qos: QOS
    public var attempt: Int
    public var failures: Int
    public var maxAttempts: Int
    public var preemptions: Int
    public var node: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var cancelRequested: Bool
    public var lastError: String?
    /// The newest reported training step and loss, if any.
    public var step: Int?
    public var loss: Double?
    /// `true` when the submission matched an earlier one by idempotency key (submit only).
    public var duplicate: Bool?
    /// Jobs it waits for (`after-ok`); empty when none.
    public var afterOK: [Int64] = []
    /// Wall-time limit in seconds, when given.
    public var timeLimit: Int?
    /// The array it belongs to (the array's first job id) and its index there; `nil` outside arrays.
    public var arrayID: Int64?
    public var arrayIndex: Int?
    /// At most this many of its array's elements run at once (`%N`).
    public var arrayParallel: Int?
    /// A grouped listing row standing for the array's pending elements: their indexes in Slurm's
    /// compact form (`3-999` or `1,3,5-7`); the row's other fields are the first of them.
    public var arrayPending: String?
    /// In an array submission's answer: how many elements were queued.
    public var arraySize: Int?
    /// The node of its latest attempt, from the ledger: where a job that ended ran, since
    /// ``node`` is only the node holding it now (listings fill it for ended jobs only).
    public var lastNode: String?
    /// For an array's first job, as `GET /v1/jobs/{id}` shows it: how many of the array's
    /// elements are in each state (`{"queued": 14, "running": 3, "succeeded": 3}`).
    public var arrayStates: [String: Int]?

    /// How people name it: `12`, `12_7` (element 7 of array 12) or `12_[3-999]` (pending elements).
    public var displayID: String {
        guard let arrayID else { return "\(id)" }
        if let arrayPending { return "\(arrayID)_[\(arrayPending)]" }
        return "\(arrayID)_\(arrayIndex ?? 0)"
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, name, account, state, gpus, priority, qos, attempt, failures, preemptions, node, step, loss, duplicate
        case arrayID = "array_id"
        case arrayIndex = "array_index"
        case arrayParallel = "array_parallel"
        case arrayPending = "array_pending"
        case arraySize = "array_size"
        case lastNode = "last_node"
        case arrayStates = "array_states"
        case maxAttempts = "max_attempts"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case cancelRequested = "cancel_requested"
        case lastError = "last_error"
        case afterOK = "after_ok"
        case timeLimit = "time_limit"
    }

    public init(id: Int64, kind: JobKind, name: String, account: String, state: JobState, gpus: Int, priority: Int,
                qos: QOS, attempt: Int, failures: Int, maxAttempts: Int, preemptions: Int, node: String?,
                createdAt: Date, startedAt: Date?, finishedAt: Date?, cancelRequested: Bool, lastError: String?,
                step: Int?, loss: Double?, duplicate: Bool? = nil) {
        self.id = id
        self.kind = kind
        self.name = name
        self.account = account
        self.state = state
        self.gpus = gpus
        self.priority = priority
        self.qos = qos
        self.attempt = attempt
        self.failures = failures
        self.maxAttempts = maxAttempts
        self.preemptions = preemptions
        self.node = node
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.cancelRequested = cancelRequested
        self.lastError = lastError
        self.step = step
        self.loss = loss
        self.duplicate = duplicate
    }
}

/// `POST /v1/jobs/{id}/cancel`.
public struct CancelResponse: Sendable, Hashable, Codable {
    public var id: Int64
    /// `cancelled` (done now), `requested` (the node is stopping the worker) or `already-finished`.
    public var outcome: String
    public var state: JobState
    public init(id: Int64, outcome: String, state: JobState) {
        self.id = id
        self.outcome = outcome
        self.state = state
    }
}

/// A node as the API shows it.
public struct NodeView: Sendable, Hashable, Codable {
    public struct GPU: Sendable, Hashable, Codable {
        public var index: Int
        public var model: String
        public var memoryBytes: Int64
        public var simulated: Bool
        enum CodingKeys: String, CodingKey {
            case index, model, simulated
            case memoryBytes = "memory_bytes"
        }
        public init(index: Int, model: String, memoryBytes: Int64, simulated: Bool) {
            self.index = index
            self.model = model
            self.memoryBytes = memoryBytes
            self.simulated = simulated
        }
    }
    public var id: Int64
    public var hostname: String
    public var state: NodeState
    public var cpus: Int
    public var memoryBytes: Int64
    public var gpus: [GPU]
    public var runningJobs: Int
    public var lastHeartbeatAt: Date

    enum CodingKeys: String, CodingKey {
        case id, hostname, state, cpus, gpus
        case memoryBytes = "memory_bytes"
        case runningJobs = "running_jobs"
        case lastHeartbeatAt = "last_heartbeat_at"
    }

    public init(id: Int64, hostname: String, state: NodeState, cpus: Int, memoryBytes: Int64, gpus: [GPU],
                runningJobs: Int, lastHeartbeatAt: Date) {
        self.id = id
        self.hostname = hostname
        self.state = state
        self.cpus = cpus
        self.memoryBytes = memoryBytes
        self.gpus = gpus
        self.runningJobs = runningJobs
        self.lastHeartbeatAt = lastHeartbeatAt
    }
}

/// Encoders and decoders both sides use: ISO 8601 dates.
public enum APICoding {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return e
    }
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
