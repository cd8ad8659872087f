import Foundation

/// What a finished child process used, from the kernel's own accounting (`wait4`'s `rusage`).
///
/// Covers the child and every descendant it waited for; measured, never estimated.
public struct ResourceUsage: Sendable, Hashable {
    /// User plus system CPU time, in seconds.
    public var cpuSeconds: Double
    /// The peak resident set size, in bytes (Linux reports `ru_maxrss` in KiB).
    public var maxRSSBytes: Int64

    public init(cpuSeconds: Double, maxRSSBytes: Int64) {
        self.cpuSeconds = cpuSeconds
        self.maxRSSBytes = maxRSSBytes
    }

    init(_ r: rusage) {
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1_000_000 }
        cpuSeconds = seconds(r.ru_utime) + seconds(r.ru_stime)
        maxRSSBytes = Int64(r.ru_maxrss) * 1024
    }
}
