import CCUDA
import Foundation

/// One argument of a kernel launch, packed at its natural alignment.
enum KernelArg {
    case ptr(UInt64), i32(Int32), i64(Int64), u64(UInt64), f32(Float)
}

/// Device memory holding `count` elements of 4 bytes (Float or Int32), freed with the object.
final class DeviceBuffer {
    let count: Int
    let address: UInt64

    init(_ count: Int, bytesPerElement: Int = 4) throws(TrainerError) {
        self.count = count
        var a: UInt64 = 0
        guard hc_malloc(&a, max(1, count) * bytesPerElement) == 0 else {
            throw .io("GPU: " + String(cString: hc_error()) + " (\(count * bytesPerElement >> 20) MiB)")
        }
        address = a
        guard hc_memset(a, 0, max(1, count) * bytesPerElement) == 0 else { throw .io("GPU: " + String(cString: hc_error())) }
    }

    deinit { _ = hc_free(address) }

    /// The address of element `i` (4-byte elements).
    subscript(_ i: Int) -> UInt64 { address + UInt64(i * 4) }
}

/// The loaded CUDA libraries, the GPU in use and the compiled kernels; one per process (the
/// shim's state is global). Everything runs on the default stream, in order.
final class CUDAContext: @unchecked Sendable {
    /// The GPU's name, compute capability and multiprocessor count.
    let deviceName: String, major: Int, minor: Int, multiprocessors: Int
    /// The libraries dlopen resolved.
    let libraries: [String]
    /// How many kernel units came from the PTX cache (the rest were compiled now).
    let cachedUnits: Int
    private var functions: [String: UnsafeMutableRawPointer] = [:]

    nonisolated(unsafe) private static var started: CUDAContext?
    private static let lock = NSLock()

    /// Starts CUDA once per process: opens the libraries (searching `HEARTH_CUDA_LIBS` first),
    /// picks the first visible GPU and loads every kernel. Throws one `badInput` sentence naming
    /// what is missing (a library, a GPU) where CUDA cannot start.
    static func start() throws(TrainerError) -> CUDAContext {
        lock.lock(); defer { lock.unlock() }
        if let started { return started }
        guard hc_load_all(NVRTC.searchPath) == 0 else { throw .badInput("backend cuda: " + String(cString: hc_error())) }
        let c = try CUDAContext()
        started = c
        return c
    }

    private init() throws(TrainerError) {
        var name = [CChar](repeating: 0, count: 256)
        var ma: Int32 = 0, mi: Int32 = 0, sms: Int32 = 0
        guard hc_device_info(&name, 256, &ma, &mi, &sms) == 0 else { throw .io("GPU: " + String(cString: hc_error())) }
        deviceName = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self); major = Int(ma); minor = Int(mi); multiprocessors = Int(sms)
        libraries = (0..<5).map { String(cString: hc_library(Int32($0))) }
        var hits = 0
        for unit in CUDAKernels.all {
            let (ptx, hit) = try KernelCache.ptx(for: unit, arch: "compute_\(major)\(minor)")
            if hit { hits += 1 }
            var module: UnsafeMutableRawPointer?
            guard hc_module_load(ptx, &module) == 0, let module else { throw .io("GPU: \(unit.name): " + String(cString: hc_error())) }
            for k in unit.kernels {
                var fn: UnsafeMutableRawPointer?
                guard hc_function(module, k, &fn) == 0, let fn else { throw .io("GPU: " + String(cString: hc_error())) }
                functions[k] = fn
            }
        }
        cachedUnits = hits
    }

    static func check(_ status: Int32) throws(TrainerError) {
        guard status == 0 else { throw .io("GPU: " + String(cString: hc_error())) }
    }

    /// Launches kernel `name` on a `grid` (× `gridY`) of `block`-thread blocks.
    func launch(_ name: String, grid: Int, gridY: Int = 1, block: Int = 256, shared: Int = 0, _ args: [KernelArg]) throws(TrainerError) {
        guard let fn = functions[name] else { throw .io("GPU: no kernel \(name)") }
        var buf: [UInt8] = []
        func put<T>(_ v: T) {
            let size = MemoryLayout<T>.size
            while buf.count % size != 0 { buf.append(0) }
            withUnsafeBytes(of: v) { buf += $0 }
        }
        for a in args {
            switch a {
            case .ptr(let p): put(p)
            case .i32(let v): put(v)
            case .i64(let v): put(v)
            case .u64(let v): put(v)
            case .f32(let v): put(v)
            }
        }
        while buf.count % 8 != 0 { buf.append(0) }
        let size = buf.count
        let status = buf.withUnsafeMutableBytes {
            hc_launch(fn, UInt32(max(1, grid)), UInt32(gridY), 1, UInt32(block), 1, 1, UInt32(shared), $0.baseAddress, size)
        }
        try Self.check(status)
    }

    /// Row-major `c[m,n] = alpha·op(a)·op(b) + beta·c`, `batch` times with element strides.
    func gemm(m: Int, n: Int, k: Int, a: UInt64, lda: Int, transA: Bool = false, strideA: Int = 0,
              b: UInt64, ldb: Int, transB: Bool = false, strideB: Int = 0, c: UInt64, ldc: Int, strideC: Int = 0,
              alpha: Float = 1, beta: Float = 0, batch: Int = 1, precision: CUDAPrecision) throws(TrainerError) {
        let compute: Int32 = precision == .fp32 ? 0 : precision == .tf32 ? 1 : 2
        let g = ColumnMajorGemm(m: m, n: n, k: k, a: a, lda: lda, transA: transA, strideA: strideA,
                                b: b, ldb: ldb, transB: transB, strideB: strideB, c: c, ldc: ldc, strideC: strideC)
        try Self.check(hc_gemm(g.transA ? 1 : 0, g.transB ? 1 : 0, Int32(g.m), Int32(g.n), Int32(g.k), alpha, g.a, Int32(g.lda),
                               Int64(g.strideA), g.b, Int32(g.ldb), Int64(g.strideB), beta, g.c, Int32(g.ldc), Int64(g.strideC),
                               Int32(batch), compute))
    }


    func upload(_ dst: UInt64, _ src: UnsafeRawPointer, bytes: Int) throws(TrainerError) { try Self.check(hc_htod(dst, src, bytes)) }
    func download(_ dst: UnsafeMutableRawPointer, _ src: UInt64, bytes: Int) throws(TrainerError) { try Self.check(hc_dtoh(dst, src, bytes)) }
    func upload<T>(_ dst: UInt64, array: [T]) throws(TrainerError) {
        try Self.check(array.withUnsafeBytes { hc_htod(dst, $0.baseAddress!, $0.count) })
    }
    func download<T>(_ src: UInt64, count: Int, zero: T) throws(TrainerError) -> [T] {
        var out = [T](repeating: zero, count: count)
        try Self.check(out.withUnsafeMutableBytes { hc_dtoh($0.baseAddress!, src, $0.count) })
        return out
    }
    func zero(_ p: UInt64, floats: Int) throws(TrainerError) { try Self.check(hc_memset(p, 0, floats * 4)) }
    func synchronize() throws(TrainerError) { try Self.check(hc_sync()) }
}

/// The column-major (cuBLAS) form of a row-major product: row-major `C = op(A)·op(B)` is
/// column-major `Cᵀ = op(B)ᵀ·op(A)ᵀ`, the same storage read the other way, so the operands and
/// `m`, `n` swap and the transposes stay. Checked against OpenBLAS's column-major sgemm.
struct ColumnMajorGemm: Equatable {
    let m: Int, n: Int, k: Int
    let a: UInt64, lda: Int, transA: Bool, strideA: Int
    let b: UInt64, ldb: Int, transB: Bool, strideB: Int
    let c: UInt64, ldc: Int, strideC: Int

    init(m: Int, n: Int, k: Int, a: UInt64, lda: Int, transA: Bool, strideA: Int,
         b: UInt64, ldb: Int, transB: Bool, strideB: Int, c: UInt64, ldc: Int, strideC: Int) {
        self.m = n; self.n = m; self.k = k
        self.a = b; self.lda = ldb; self.transA = transB; self.strideA = strideB
        self.b = a; self.ldb = lda; self.transB = transA; self.strideB = strideA
        self.c = c; self.ldc = ldc; self.strideC = strideC
    }
}
