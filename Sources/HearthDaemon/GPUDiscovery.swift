import Foundation
import HearthProcess
import HearthStore

/// Finds this node's NVIDIA GPUs with `nvidia-smi`, when it is installed.
enum GPUDiscovery {
    /// The GPUs `nvidia-smi` lists, or none when it is absent or fails.
    static func discover() -> [NodeStore.GPU] {
        guard let smi = try? ChildProcess.resolve("nvidia-smi") else { return [] }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-smi-\(getpid()).csv")
        let fd = open(out.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return [] }
        defer { try? FileManager.default.removeItem(at: out) }
        let child = try? ChildProcess.spawn(
            smi, ["--query-gpu=index,name,memory.total,uuid", "--format=csv,noheader,nounits"], descriptors: [nil, fd, nil])
        close(fd)
        guard let child, child.waitBlocking() == .exited(0), let text = try? String(contentsOf: out, encoding: .utf8) else {
            return []
        }
        return parse(text)
    }

    /// Parses `nvidia-smi --query-gpu=index,name,memory.total,uuid --format=csv,noheader,nounits`
    /// (memory in MiB): `0, NVIDIA H200, 143771, GPU-5f1c…`.
    static func parse(_ csv: String) -> [NodeStore.GPU] {
        csv.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count >= 4, let index = Int(f[0]), let mib = Int64(f[2]) else { return nil }
            return NodeStore.GPU(index: index, model: f[1], memoryBytes: mib << 20, uuid: f[3], simulated: false)
        }
    }
}
