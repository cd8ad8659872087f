/// What one attempt used besides GPU time, recorded in its ledger row as the row closes.
///
/// Every field is a measurement or absent: CPU time and peak memory come from the worker's own
/// `rusage`, energy from sampled GPU power. Nothing is filled in by guessing.
public struct AttemptUsage: Sendable, Hashable, Codable {
    /// Where an energy figure comes from.
    public enum EnergySource: String, Sendable, Hashable, Codable {
        /// Integrated from GPU power samples (NVML / `nvidia-smi --query-gpu=power.draw`).
        case measured
        /// Nominal TDP × time: only ever shown labelled as an estimate.
        case estimated
    }

    /// User + system CPU seconds of the worker and its waited-for children.
    public var cpuSeconds: Double?
    /// The worker's peak resident set size, in bytes.
    public var peakRSSBytes: Int64?
    /// Energy used by the attempt's GPUs, in joules.
    public var energyJoules: Double?
    /// Where ``energyJoules`` comes from; `nil` exactly when it is `nil`.
    public var energySource: EnergySource?

    public init(cpuSeconds: Double? = nil, peakRSSBytes: Int64? = nil, energyJoules: Double? = nil, energySource: EnergySource? = nil) {
        self.cpuSeconds = cpuSeconds
        self.peakRSSBytes = peakRSSBytes
        self.energyJoules = energyJoules
        self.energySource = energyJoules == nil ? nil : (energySource ?? .measured)
    }

    /// Nothing measured.
    public static let none = AttemptUsage()
}
