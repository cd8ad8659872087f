import Foundation
import HearthProcess

/// Energy of an attempt's GPUs, integrated from power samples of `nvidia-smi` (trapezoidal rule).
///
/// Runs only on nodes whose GPUs were discovered (real hardware): with simulated GPUs or no
/// `nvidia-smi`, no sample is taken and the ledger's energy stays absent — never a guess.
struct GPUEnergyMeter: Sendable {
    /// The GPUs measured.
    let indices: Set<Int>
    private(set) var joules = 0.0
    private(set) var samples = 0
    private var last: (at: Double, watts: Double)?

    init(indices: [Int]) {
        self.indices = Set(indices)
    }

    /// Adds one sample (seconds on a monotonic clock, watts per GPU index). A sample missing one
    /// of the attempt's GPUs is dropped: a partial sum would under-count.
    mutating func add(at seconds: Double, watts: [Int: Double]) {
        guard indices.isSubset(of: watts.keys) else { return }
        let total = indices.reduce(0) { $0 + watts[$1]! }
        if let last, seconds > last.at { joules += (seconds - last.at) * (last.watts + total) / 2 }
        last = (seconds, total)
        samples += 1
    }

    /// The measured energy, or `nil` with fewer than two samples (no interval measured).
    var measuredJoules: Double? { samples >= 2 ? joules : nil }

    /// Parses `nvidia-smi --query-gpu=index,power.draw --format=csv,noheader,nounits`: one line
    /// per GPU, `0, 412.35`; `[N/A]` or `[Not Supported]` readings are left out.
    static func parse(_ csv: String) -> [Int: Double] {
        var watts: [Int: Double] = [:]
        for line in csv.split(separator: "\n") {
            let f = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count == 2, let index = Int(f[0]), let w = Double(f[1]), w >= 0 else { continue }
            watts[index] = w
        }
        return watts
    }

    /// One reading from `nvidia-smi`, or an empty map when it fails.
    static func read(smi: String) -> [Int: Double] {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-power-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).csv")
        let fd = open(out.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return [:] }
        defer { try? FileManager.default.removeItem(at: out) }
        let child = try? ChildProcess.spawn(
            smi, ["--query-gpu=index,power.draw", "--format=csv,noheader,nounits"], descriptors: [nil, fd, nil])
        close(fd)
        guard let child, child.waitBlocking() == .exited(0), let text = try? String(contentsOf: out, encoding: .utf8) else {
            return [:]
        }
        return parse(text)
    }
}
