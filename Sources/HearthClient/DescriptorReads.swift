#if canImport(Glibc)
import Glibc
#endif

/// Reading a descriptor into a growing byte array, for the CLI's responses and files.
public enum DescriptorReads {
    /// Reads once from `fd` (up to 64 KiB, retrying on EINTR) and appends what came to `buffer`.
    /// - Returns: how many bytes were read: 0 at end of stream, -1 on error (see `errno`).
    ///
    /// The chunk is a temporary allocation that is never zeroed: zeroing a 64 KiB array for each
    /// read was a fifth of a `hearth queue`'s instructions (callgrind).
    public static func append(from fd: Int32, to buffer: inout [UInt8]) -> Int {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 65_536) { chunk in
            while true {
                let n = read(fd, chunk.baseAddress!, chunk.count)
                if n < 0 && errno == EINTR { continue }
                if n > 0 { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[..<n])) }
                return n
            }
        }
    }
}
