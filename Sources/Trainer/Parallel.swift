import COpenBLAS
import Dispatch
import Synchronization

/// A deterministic parallel-for. Work is cut into chunks whose boundaries depend only on the loop
/// length and the thread count, never on scheduling; `threads` workers claim chunks from a shared
/// counter, so a descheduled core delays only its current chunk (other processes share these
/// machines) while every result stays bit-identical for a given thread count. Reductions keep
/// one partial per chunk and sum them in chunk order. OpenBLAS is kept single-threaded; large
/// matrix products are split into one single-threaded sgemm per chunk (see `BLAS.swift`).
public struct Parallel: Sendable {
    /// Number of worker threads.
    public let threads: Int
    /// Chunks per elementwise loop (several per thread, for balance under load).
    public let maxChunks: Int
    /// Chunks per split matrix product (fewer: each sgemm should stay large).
    public let gemmChunks: Int

    /// Creates a partitioner for `threads` (at least 1) and pins OpenBLAS to one thread.
    public init(threads: Int) {
        self.threads = max(1, threads)
        maxChunks = self.threads == 1 ? 1 : self.threads * 4
        gemmChunks = self.threads == 1 ? 1 : self.threads * 2
        openblas_set_num_threads(1)
    }

    /// The half-open range of chunk `i` when `count` items are split into `parts` chunks.
    @inline(__always)
    public static func chunk(_ i: Int, of parts: Int, count: Int) -> Range<Int> {
        let base = count / parts, extra = count % parts
        let lo = i * base + min(i, extra)
        return lo..<(lo + base + (i < extra ? 1 : 0))
    }

    /// Runs `body(worker, part)` for every part in `0..<parts` on up to `threads` workers.
    @inline(__always)
    func run(parts: Int, _ body: (Int, Int) -> Void) {
        if threads == 1 || parts <= 1 {
            for p in 0..<parts { body(0, p) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // Parts touch disjoint memory (the kernels' contract), so sharing `body` is safe.
            let shared = UncheckedSendable(body)
            let next = ChunkCounter()
            DispatchQueue.concurrentPerform(iterations: min(threads, parts)) { worker in
                while true {
                    let p = next.value.add(1, ordering: .relaxed).oldValue
                    if p >= parts { break }
                    shared.value(worker, p)
                }
            }
        }
    }

    /// Runs `body(chunk, range)` over `0..<count` cut into at most `chunks` (default `maxChunks`)
    /// chunks of at least `grain` items; `chunk` indexes per-chunk partial results.
    @inline(__always)
    public func forEachChunk(_ count: Int, grain: Int = 1, chunks: Int? = nil, _ body: (Int, Range<Int>) -> Void) {
        let parts = max(1, min(chunks ?? maxChunks, count / max(1, grain)))
        run(parts: parts) { _, p in body(p, Parallel.chunk(p, of: parts, count: count)) }
    }

    /// Runs `body(i)` for every `i` in `0..<count`, chunked as `forEachChunk`.
    @inline(__always)
    public func forEach(_ count: Int, grain: Int = 1, _ body: (Int) -> Void) {
        forEachChunk(count, grain: grain) { _, range in
            for i in range { body(i) }
        }
    }

    /// Runs `body(worker, i)` for every item `i` in `0..<count`, one item per claim; `worker`
    /// (below `threads`) indexes per-worker scratch memory.
    @inline(__always)
    public func forEachItem(_ count: Int, _ body: (Int, Int) -> Void) {
        run(parts: count, body)
    }
}

/// The shared claim counter of one parallel loop.
final class ChunkCounter: Sendable {
    let value = Atomic<Int>(0)
}

/// A value handed across threads whose safety the caller guarantees.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
