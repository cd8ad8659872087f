import Foundation

/// How this node isolates the jobs it runs from each other and from itself (Docs/isolation.md).
/// Set from `hearthd.toml` (`allow_root_jobs`, `[isolation]`).
public struct IsolationPolicy: Sendable, Hashable {
    /// Whether jobs submitted by `root` run (as root). Defaults to `false`: an admin submits as
    /// an ordinary user, or sets `allow_root_jobs = true` (the embedded demo does).
    public var allowRootJobs = false
    /// The uids given to accounts that have no Unix user on this node: account id N runs as
    /// `lowerBound + N`, so each account keeps its own uid on this node from one attempt to the
    /// next (it can resume its own checkpoints) and no two accounts share one. Defaults to
    /// systemd's range for dynamic users, 61184...65519, which no ordinary user takes.
    public var transientUIDs: ClosedRange<UInt32> = 61_184...65_519
    /// Memory an attempt may use (cgroup `memory.max`, no swap beyond it); `nil`: no limit.
    public var memoryMaxBytes: Int64?
    /// Processes and threads an attempt may have at once (cgroup `pids.max`). Defaults to 4096.
    public var tasksMax: Int? = 4096
    /// Put each attempt in cgroups of its own when hearthd runs as root. Defaults to `true`.
    public var cgroups = true
    /// Where the cgroup file systems are mounted. Defaults to `/sys/fs/cgroup` (tests change it).
    public var cgroupRoot = "/sys/fs/cgroup"
    /// Character devices of the GPUs: NVIDIA's major number (`/dev/nvidiaN` is minor N,
    /// `/dev/nvidiactl` minor 255).
    public var gpuDeviceMajor: UInt32 = 195

    /// Start each attempt as a transient systemd unit (hearthd under systemd: `NOTIFY_SOCKET`
    /// set and systemd booted); the daemon sets it. Defaults to `false`: hearthd forks the job.
    public var transientUnits = false
    /// The slice the transient units run in. Defaults to `hearth-jobs.slice`.
    public var slice = "hearth-jobs.slice"
    /// CPU time an attempt may use per second of wall time, in percent of one CPU
    /// (`CPUQuotaPerSecUSec=`, and `cpu.cfs_quota_us` is not set without systemd); `nil`: no limit.
    public var cpuQuotaPercent: Int?

    public init() {}

    /// Whether this process runs under systemd as PID 1 and was started by it (so transient units can be used).
    public static func underSystemd(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        !(environment["NOTIFY_SOCKET"] ?? "").isEmpty && FileManager.default.fileExists(atPath: "/run/systemd/system")
    }
}
