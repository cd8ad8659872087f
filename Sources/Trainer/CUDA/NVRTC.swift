import CCUDA
import Foundation

/// NVRTC, the CUDA runtime compiler, opened at run time (`libnvrtc.so.12` or `.13`).
public enum NVRTC {
    /// Directories searched before the dynamic linker's path: `HEARTH_CUDA_LIBS` (colon-separated).
    static var searchPath: String { ProcessInfo.processInfo.environment["HEARTH_CUDA_LIBS"] ?? "" }

    /// Opens NVRTC, searching `dirs` (colon-separated) first. Throws one `badInput` sentence naming
    /// the library when it cannot be opened.
    public static func load(dirs: String? = nil) throws(TrainerError) {
        guard hc_load_nvrtc(dirs ?? searchPath) == 0 else { throw .badInput("backend cuda: " + String(cString: hc_error())) }
    }

    /// NVRTC's version, e.g. "12.9".
    public static func version() throws(TrainerError) -> String {
        var major: Int32 = 0, minor: Int32 = 0
        guard hc_nvrtc_version(&major, &minor) == 0 else { throw .badInput(String(cString: hc_error())) }
        return "\(major).\(minor)"
    }

    /// The options every kernel is compiled with, for virtual architecture `arch` (e.g. `compute_90`).
    static func options(arch: String) -> [String] {
        ["--gpu-architecture=\(arch)", "-std=c++17", "--fmad=true"]
    }

    /// Compiles `source` to PTX for `arch`. A source that does not compile throws a `badInput`
    /// whose message carries NVRTC's log (file, line and error).
    public static func compile(_ source: String, name: String, arch: String) throws(TrainerError) -> String {
        let opts = options(arch: arch)
        var ptx: UnsafeMutablePointer<CChar>?, log: UnsafeMutablePointer<CChar>?
        let cOpts = opts.map { strdup($0) }
        defer { cOpts.forEach { free($0) } }
        let status = cOpts.map { UnsafePointer($0) }.withUnsafeBufferPointer { o in
            hc_nvrtc_compile(source, name, o.baseAddress, Int32(o.count), &ptx, &log)
        }
        defer { hc_free_host(ptx); hc_free_host(log) }
        let logText = log.map { String(cString: $0) }?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard status == 0, let ptx else {
            let first = String(cString: hc_error())
            throw .badInput("kernel \(first)" + (logText.isEmpty ? "" : "; NVRTC log: " + logText.replacingOccurrences(of: "\n", with: " | ")))
        }
        return String(cString: ptx)
    }
}

/// Compiled PTX kept on disk by the SHA-256 of (NVRTC version, options, source), so a node
/// compiles each kernel source once per NVRTC version: `HEARTH_KERNEL_CACHE`, else
/// `$XDG_CACHE_HOME/hearth/kernels`, else `~/.cache/hearth/kernels`. A cache that cannot be
/// written only costs the compile.
enum KernelCache {
    static var directory: String {
        let env = ProcessInfo.processInfo.environment
        if let d = env["HEARTH_KERNEL_CACHE"], !d.isEmpty { return d }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/hearth/kernels" }
        return (env["HOME"] ?? NSTemporaryDirectory()) + "/.cache/hearth/kernels"
    }

    static func key(_ source: String, arch: String, version: String) -> String {
        let text = version + "\n" + NVRTC.options(arch: arch).joined(separator: " ") + "\n" + source
        return Array(text.utf8).withUnsafeBytes { SHA256.hex($0) }
    }

    /// PTX for `unit`, from the cache or compiled (and then stored); `hit` tells which.
    static func ptx(for unit: CUDAKernels.Source, arch: String, in directory: String = directory) throws(TrainerError) -> (ptx: String, hit: Bool) {
        let version = try NVRTC.version()
        let path = directory + "/" + key(unit.code, arch: arch, version: version) + ".ptx"
        if FileIO.exists(path), let bytes = try? FileIO.read(path), !bytes.isEmpty {
            return (String(decoding: bytes, as: UTF8.self), true)
        }
        let ptx = try NVRTC.compile(unit.code, name: unit.name, arch: arch)
        if (try? FileIO.makeDirectories(directory)) != nil { try? FileIO.writeAtomically(path, Array(ptx.utf8)) }
        return (ptx, false)
    }
}
