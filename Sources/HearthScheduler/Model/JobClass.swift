import HearthCore
/// A GPU request: `count` GPUs, all on one node, each of `model` (any when `nil`) with at
/// least `minMemoryMiB` of memory. `count == 0` is a CPU-only job: it takes one of the
/// node's `cpuJobSlots` instead of GPUs.
public struct GPURequest: Sendable, Hashable, Codable {
    /// Number of GPUs, 0 or more (0 = CPU-only).
    public var count: Int
    /// GPU model name as the node reports it (e.g. `"H100"`); `nil` accepts any model.
    public var model: String?
    /// Minimum memory per GPU in MiB. Default 0 (any).
    public var minMemoryMiB: Int

    public init(count: Int, model: String? = nil, minMemoryMiB: Int = 0) {
        self.count = max(0, count)
        self.model = model
        self.minMemoryMiB = max(0, minMemoryMiB)
    }

    /// Whether one GPU satisfies the model and memory part of this request.
    @inlinable
    public func accepts(_ gpu: GPUSnapshot) -> Bool {
        gpu.healthy && gpu.memoryMiB >= minMemoryMiB && (model == nil || model == gpu.model)
    }
}
