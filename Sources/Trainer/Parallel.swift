import COpenBLAS
import Dispatch

/// A fixed-partition parallel-for: work is split into `threads` contiguous chunks that depend only
/// on the range and the thread count, never on scheduling, so every result is bit-identical for a
/// given thread count. OpenBLAS is kept single-threaded; large matrix products are split by
/// rows or columns across these same chunks instead (see `BLAS.swift`).
public struct Parallel: Sendable {
    /// Number of chunks (threads) every loop is split into.
    public let threads: Int

    /// Creates a partitioner for `threads` (at least 1) and pins OpenBLAS to one thread.
    public init(threads: Int) {
        self.threads = max(1, threads)
        openblas_set_num_threads(1)
    }

    /// The half-open range of chunk `i` when `count` items are split into `parts` chunks.
    @inline(__always)
    public static func chunk(_ i: Int, of parts: Int, count: Int) -> Range<Int> {
        let base = count / parts, extra = count % parts
        let lo = i * base + min(i, extra)
        return lo..<(lo + base + (i < extra ? 1 : 0))
    }

    /// Runs `body(chunkIndex, range)` for each of the `threads` chunks of `0..<count`, in parallel.
    /// Chunks of fewer than `grain` items are merged so tiny loops stay on one thread.
    @inline(__always)
    public func forEachChunk(_ count: Int, grain: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let parts = max(1, min(threads, count / max(1, grain)))
        if parts == 1 {
            body(0, 0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            // Each chunk touches disjoint memory (the kernels' contract), so sharing `body` is safe.
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: parts) { i in
                shared.value(i, Parallel.chunk(i, of: parts, count: count))
            }
        }
    }

    /// Runs `body(i)` for every `i` in `0..<count`, chunked as `forEachChunk`.
    @inline(__always)
    public func forEach(_ count: Int, grain: Int = 1, _ body: (Int) -> Void) {
        forEachChunk(count, grain: grain) { _, range in
            for i in range { body(i) }
        }
    }
}

/// A value handed across threads whose safety the caller guarantees.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
