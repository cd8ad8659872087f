import HearthCore
import Foundation

/// One GPU of a node, as the node's agent reported it.
public struct GPUSnapshot: Sendable, Hashable, Codable {
    /// Index on the node (the `CUDA_VISIBLE_DEVICES` number).
    public var index: Int
    /// Model name, e.g. `"A100"`; compared exactly with `GPURequest.model`.
    public var model: String
    public var memoryMiB: Int
    /// An unhealthy GPU is never given to a job. Default `true`.
    public var healthy: Bool

    public init(index: Int, model: String, memoryMiB: Int, healthy: Bool = true) {
        self.index = index
        self.model = model
        self.memoryMiB = memoryMiB
        self.healthy = healthy
    }
}

/// What a donor allows on their node.
public struct DonorPolicy: Sendable, Hashable, Codable {
    /// When the node is lent; `nil` = always. Default `nil`.
    public var availability: AvailabilitySchedule?
    /// Job kinds the donor accepts; `nil` = every kind, including future ones. Default `nil`.
    public var allowedKinds: Set<JobKind>?
    /// The donor's own accounts: they may use the reserved GPUs below.
    public var donorAccounts: Set<Int64>
    /// GPUs kept for `donorAccounts`: other accounts may hold at most
    /// `healthy GPUs - reservedGPUsForDonor` GPUs of this node at a time. Default 0.
    public var reservedGPUsForDonor: Int

    public init(
        availability: AvailabilitySchedule? = nil, allowedKinds: Set<JobKind>? = nil,
        donorAccounts: Set<Int64> = [], reservedGPUsForDonor: Int = 0
    ) {
        self.availability = availability
        self.allowedKinds = allowedKinds
        self.donorAccounts = donorAccounts
        self.reservedGPUsForDonor = max(0, reservedGPUsForDonor)
    }

    /// No restriction at all (a lab-owned node).
    public static let unrestricted = DonorPolicy()

    /// Whether the donor accepts jobs of `kind`.
    @inlinable
    public func allows(_ kind: JobKind) -> Bool { allowedKinds?.contains(kind) ?? true }
}

/// A node as the scheduler sees it at the start of a pass.
public struct NodeSnapshot: Sendable, Hashable, Codable, Identifiable {
    public var id: Int64
    public var gpus: [GPUSnapshot]
    public var policy: DonorPolicy
    /// The donor asked for the node back now (`hearth node reclaim`): every job on it is
    /// preempted and nothing new is placed. Default `false`.
    public var reclaimed: Bool
    /// Heartbeating and accepting work. An offline node gets no new jobs; its running jobs
    /// are the rescuer's business, not the scheduler's. Default `true`.
    public var online: Bool
    /// How many CPU-only jobs (`GPURequest.count == 0`) may run on the node at once.
    /// Default 1 (the CPU trainer uses every core).
    public var cpuJobSlots: Int

    public init(
        id: Int64, gpus: [GPUSnapshot], policy: DonorPolicy = .unrestricted,
        reclaimed: Bool = false, online: Bool = true, cpuJobSlots: Int = 1
    ) {
        self.id = id
        self.gpus = gpus
        self.policy = policy
        self.reclaimed = reclaimed
        self.online = online
        self.cpuJobSlots = max(0, cpuJobSlots)
    }

    /// `count` identical GPUs numbered from 0.
    public static func uniform(
        id: Int64, count: Int, model: String = "A100", memoryMiB: Int = 81_920,
        policy: DonorPolicy = .unrestricted
    ) -> NodeSnapshot {
        NodeSnapshot(
            id: id,
            gpus: (0..<count).map { GPUSnapshot(index: $0, model: model, memoryMiB: memoryMiB) },
            policy: policy)
    }
}
