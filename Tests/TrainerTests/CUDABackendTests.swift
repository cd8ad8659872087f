import COpenBLAS
import Foundation
import Testing
@testable import Trainer
#if canImport(Glibc)
import Glibc
#endif

/// What of the CUDA backend can be checked without a GPU: every kernel compiles with the real
/// NVRTC (the `nvidia-cuda-nvrtc-cu12` wheel that ./bootstrap installs) and a broken one is
/// reported with NVRTC's log; the PTX cache; a node without CUDA refuses `cuda` in one sentence
/// (exit 2) and `auto` falls back to the CPU; checkpoints name their backend, and the
/// thread-count rule of exact resume applies between CPU runs only. The GPU itself is checked by
/// Tests/GPU/run.sh on a GPU node.
@Suite(.serialized) struct CUDABackendTests {
    /// Where the NVRTC wheel's libnvrtc.so.12 is (nil: not installed).
    static let nvrtcDir: String? = {
        let p = Process(), out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import nvidia.cuda_nvrtc as m; print(list(m.__path__)[0] + '/lib')"]
        p.standardOutput = out; p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let dir = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return p.terminationStatus == 0 && FileManager.default.fileExists(atPath: dir + "/libnvrtc.so.12") ? dir : nil
    }()

    /// Whether this machine has an NVIDIA driver (then the "CUDA is absent" tests do not apply).
    static let driverPresent: Bool = {
        guard let h = dlopen("libcuda.so.1", RTLD_NOW) else { return false }
        dlclose(h)
        return true
    }()

    static let nvrtcMissing = "SKIPPED: libnvrtc.so.12 not found (./bootstrap installs it: pip install nvidia-cuda-nvrtc-cu12)"

    @Test(.enabled(if: nvrtcDir != nil, Comment(rawValue: nvrtcMissing)))
    func everyKernelCompilesForHopper() throws {
        try NVRTC.load(dirs: Self.nvrtcDir!)
        let units = try CUDAKernelCheck.compileAll(arch: "compute_90")
        #expect(units.map(\.0) == CUDAKernels.all.map(\.name))
        #expect(units.allSatisfy { $0.1 > 1000 })
        // Every kernel the backend launches is defined by some unit.
        let launched = try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/Trainer/CUDA/CUDABackend.swift").path, encoding: .utf8)
        let names = Set(CUDAKernels.all.flatMap(\.kernels))
        let regex = try Regex(#"launch\("([a-z_]+)""#)
        #expect(launched.matches(of: regex).count >= 20)
        for m in launched.matches(of: regex) {
            let name = String(launched[m.range].dropFirst(8).dropLast(1))
            #expect(names.contains(name), "the backend launches \(name), which no kernel unit defines")
        }
    }

    @Test(.enabled(if: nvrtcDir != nil, Comment(rawValue: nvrtcMissing)))
    func aBrokenKernelIsAnErrorWithNVRTCsLog() throws {
        try NVRTC.load(dirs: Self.nvrtcDir!)
        let broken = #"extern "C" __global__ void broken(float* x) { x[0] = undefined_name + 1.f; }"#
        do {
            _ = try NVRTC.compile(broken, name: "broken.cu", arch: "compute_90")
            Issue.record("a broken kernel compiled")
        } catch {
            guard case .badInput(let m) = error else { Issue.record("wrong error \(error)"); return }
            #expect(m.contains("broken.cu does not compile"), "\(m)")
            #expect(m.contains("NVRTC log") && m.contains("undefined_name") && m.contains("error"), "\(m)")
            #expect(!m.contains("\n"))
        }
        // A kernel list that names an entry point the source lacks is caught too.
        let unit = CUDAKernels.Source(name: "short.cu", code: #"extern "C" __global__ void a(float* x) { x[0] = 1.f; }"#, kernels: ["a"])
        let ptx = try NVRTC.compile(unit.code, name: unit.name, arch: "compute_90")
        #expect(ptx.contains(".entry a(") && !ptx.contains(".entry b("))
    }

    @Test(.enabled(if: nvrtcDir != nil, Comment(rawValue: nvrtcMissing)))
    func ptxIsCachedByHash() throws {
        try NVRTC.load(dirs: Self.nvrtcDir!)
        let dir = temporaryDirectory("ptx-cache")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try KernelCache.ptx(for: CUDAKernels.adamW, arch: "compute_90", in: dir)
        let second = try KernelCache.ptx(for: CUDAKernels.adamW, arch: "compute_90", in: dir)
        #expect(!first.hit && second.hit && first.ptx == second.ptx)
        let key = KernelCache.key(CUDAKernels.adamW.code, arch: "compute_90", version: try NVRTC.version())
        #expect(FileIO.exists(dir + "/\(key).ptx"))
        // Another source or architecture is another entry.
        #expect(key != KernelCache.key(CUDAKernels.adamW.code + " ", arch: "compute_90", version: try NVRTC.version()))
        #expect(key != KernelCache.key(CUDAKernels.adamW.code, arch: "compute_80", version: try NVRTC.version()))
    }

    @Test(.enabled(if: !driverPresent, "SKIPPED: this machine has an NVIDIA driver"))
    func cudaWhereItIsAbsentIsOneSentenceAndAutoFallsBack() throws {
        let model = try GPT(ModelConfig(layers: 1, heads: 2, width: 16, context: 8, vocab: 11))
        do {
            _ = try Backends.make(.cuda, model: model)
            Issue.record("cuda started without a driver")
        } catch {
            guard case .badInput(let m) = error else { Issue.record("wrong error \(error)"); return }
            #expect(m.hasPrefix("backend cuda: libcuda.so.1 (the NVIDIA driver) is not installed on this node"), "\(m)")
            #expect(error.exitCode == 2 && !m.contains("\n"))
        }
        #expect(try Backends.make(.auto, model: model).name == "cpu")
    }

    @Test(.enabled(if: !driverPresent, "SKIPPED: this machine has an NVIDIA driver"))
    func workerAskedForCudaWithoutItExitsTwo() throws {
        let w = WorkerProcessTests()
        let dir = temporaryDirectory("no-cuda")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let job = try w.writeJob(dir, data: try tinyDataset(in: dir), steps: 3)
        let r = try w.run(["train", "--job", job, "--backend", "cuda"])
        #expect(r.status == 2)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(lines.first?.contains("hearth-worker: bad input: backend cuda: libcuda.so.1 (the NVIDIA driver) is not installed") == true, "\(r.stderr)")
        #expect(!FileIO.exists(dir + "/ckpt"), "nothing may be written")
        // The job file's backend is read too, and a bad value is one sentence as well.
        let viaFile = try w.writeJob(dir, data: dir + "/data", steps: 3, extra: #", "backend": "cuda""#)
        #expect(try w.run(["train", "--job", viaFile]).status == 2)
        let bad = try w.run(["train", "--job", viaFile, "--backend", "gpu"])
        #expect(bad.status == 2 && bad.stderr.contains("backend must be cpu, cuda or auto, got \"gpu\""))
        // auto trains on the CPU and says so.
        let auto = try w.run(["train", "--job", viaFile, "--backend", "auto"])
        #expect(auto.status == 0)
        #expect(auto.events.contains { $0["event"] as? String == "started" && $0["backend"] as? String == "cpu" })
        #expect(auto.stderr.contains("backend auto: training on the CPU, since CUDA did not start: "), "\(auto.stderr)")
    }

    @Test func checkpointsNameTheirBackendAndThreadsBindOnlyCPUToCPU() throws {
        let dir = temporaryDirectory("ckpt-backend")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/c", steps: 4, threads: 2), reporter: silentReporter()).run()
        let path = try #require(Checkpoint.latest(root: dir + "/c"))
        #expect(try Checkpoint.info(path).backend == "cpu")
        // CPU → CPU with another thread count: refused (exact resume needs the same partition).
        #expect(throws: TrainerError.self) {
            _ = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/c", steps: 8, threads: 1), reporter: silentReporter())
        }
        // A checkpoint a GPU wrote resumes on any thread count, at its step.
        var info = try Checkpoint.info(path)
        info.backend = "cuda"
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileIO.writeAtomically(path + "/checkpoint.json", Array(try enc.encode(info)))
        let resumed = try TrainingRun(job: tinyJob(data: [data], checkpoints: dir + "/c", steps: 8, threads: 1), reporter: silentReporter())
        #expect(resumed.step == 4)
        // A checkpoint from before the seam (no backend field) counts as a CPU one.
        let legacy = try #require(String(data: try enc.encode(info), encoding: .utf8)?.replacingOccurrences(of: "\"backend\" : \"cuda\",", with: ""))
        try FileIO.writeAtomically(path + "/checkpoint.json", text: legacy)
        #expect(try Checkpoint.info(path).backend == nil)
    }

    /// The comparison `gpu-check gradients` makes on a GPU, rehearsed CPU against CPU (2 threads
    /// against 1): every tensor agrees to rounding, so the check itself measures what it should.
    @Test func gradientCheckMachineryAgreesCPUAgainstCPU() throws {
        let cfg = ModelConfig(layers: 2, heads: 4, width: 64, context: 32, vocab: 97, dropout: 0.1)
        let r = try BackendCheck.gradients(cfg, batch: 4, seed: 3, dropout: true) { (m) throws(TrainerError) in
            CPUBackend(try GPT(m.config, seed: 0, threads: 2).copyingWeights(of: m))
        }
        #expect(r.tensors.count == ParameterLayout(cfg).tensors.count)
        #expect(r.lossDifference < 1e-5)
        #expect(r.tensors.allSatisfy { $0.relativeError < 1e-4 }, "\(r.tensors.max { $0.relativeError < $1.relativeError }!)")
        // and it does see a difference: perturb one weight of the backend's copy.
        let r2 = try BackendCheck.gradients(cfg, batch: 4, seed: 3, dropout: true) { (m) throws(TrainerError) in
            let copy = try GPT(m.config, seed: 0, threads: 2).copyingWeights(of: m)
            copy.params.p[copy.layout.blocks[1].fcw] += 0.5
            return CPUBackend(copy)
        }
        #expect(r2.tensors.contains { $0.relativeError > 1e-3 })
    }
}

/// The row-major → column-major mapping the CUDA backend hands cuBLAS, run through OpenBLAS's
/// column-major sgemm as a stand-in for cuBLAS (simulated: no GPU here), against the row-major
/// product, for every transpose, leading dimensions wider than the matrices, and strided batches.
@Suite struct ColumnMajorGemmTests {
    @Test func mappingGivesTheRowMajorProduct() {
        var rng = RNG(seed: 21)
        for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
            let m = 5, n = 7, k = 3, batch = 3
            let lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3
            let rowsA = transA ? k : m, rowsB = transB ? n : k
            let sA = rowsA * lda + 4, sB = rowsB * ldb + 2, sC = m * ldc + 1
            let A = (0..<(sA * batch)).map { _ in Float(rng.normal()) }, B = (0..<(sB * batch)).map { _ in Float(rng.normal()) }
            var want = [Float](repeating: 0.5, count: sC * batch), got = want
            for i in 0..<batch {
                A.withUnsafeBufferPointer { a in B.withUnsafeBufferPointer { b in want.withUnsafeMutableBufferPointer { c in
                    Parallel.gemm(m: m, n: n, k: k, a: a.baseAddress! + i * sA, lda: lda, transA: transA,
                                  b: b.baseAddress! + i * sB, ldb: ldb, transB: transB, c: c.baseAddress! + i * sC, ldc: ldc,
                                  alpha: 0.75, accumulate: true)
                } } }
            }
            A.withUnsafeBufferPointer { a in B.withUnsafeBufferPointer { b in got.withUnsafeMutableBufferPointer { c in
                let g = ColumnMajorGemm(m: m, n: n, k: k, a: UInt64(UInt(bitPattern: a.baseAddress!)), lda: lda, transA: transA, strideA: sA,
                                        b: UInt64(UInt(bitPattern: b.baseAddress!)), ldb: ldb, transB: transB, strideB: sB,
                                        c: UInt64(UInt(bitPattern: c.baseAddress!)), ldc: ldc, strideC: sC)
                for i in 0..<batch {
                    let pa = UnsafePointer<Float>(bitPattern: UInt(g.a))! + i * g.strideA
                    let pb = UnsafePointer<Float>(bitPattern: UInt(g.b))! + i * g.strideB
                    let pc = UnsafeMutablePointer<Float>(bitPattern: UInt(g.c))! + i * g.strideC
                    cblas_sgemm(CblasColMajor, g.transA ? CblasTrans : CblasNoTrans, g.transB ? CblasTrans : CblasNoTrans,
                                Int32(g.m), Int32(g.n), Int32(g.k), 0.75, pa, Int32(g.lda), pb, Int32(g.ldb), 1, pc, Int32(g.ldc))
                }
            } } }
            let worst = zip(want, got).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-5, "transA \(transA) transB \(transB): max difference \(worst)")
            #expect(want.filter { $0 == 0.5 }.count == got.filter { $0 == 0.5 }.count, "a padding element was written")
        }
    }
}
