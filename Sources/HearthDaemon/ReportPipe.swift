import Foundation

/// The read end of a pipe from a worker (its reports, or its output), read line by line on a thread of its own.
struct ReportPipe: Sendable {
    let readFD: Int32
    let writeFD: Int32

    /// A pipe whose ends are close-on-exec here; `ChildProcess` hands the write end to the child.
    static func make() throws -> ReportPipe {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw JobRunner.Error(message: "cannot make a report pipe: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec here: only the worker gets the write end, through ChildProcess's descriptor map.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return ReportPipe(readFD: fds[0], writeFD: fds[1])
    }

    /// The lines written until every writer has closed the pipe (the worker exited).
    /// Closes the read end when done.
    func lines() -> AsyncStream<String> {
        AsyncStream { continuation in
            Task {
                for await batch in chunks() { batch.forEach { continuation.yield($0) } }
                continuation.finish()
            }
        }
    }

    /// The complete lines of each read, as they come: a natural batch for writing them out.
    func chunks() -> AsyncStream<[String]> {
        AsyncStream { continuation in
            let fd = readFD
            // A thread of its own for the job's whole life: libdispatch's global pool has only a
            // few threads per core, and blocking reads held there stall every other wait.
            Thread.detachNewThread {
                var pending = [UInt8]()
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    pending.append(contentsOf: buffer[0..<n])
                    var batch: [String] = []
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        batch.append(String(decoding: pending[..<newline], as: UTF8.self))
                        pending.removeSubrange(...newline)
                    }
                    if !batch.isEmpty { continuation.yield(batch) }
                    // A line longer than 1 MiB is not a report: drop it rather than grow without bound.
                    if pending.count > 1 << 20 { pending.removeAll() }
                }
                if !pending.isEmpty { continuation.yield([String(decoding: pending, as: UTF8.self)]) }
                close(fd)
                continuation.finish()
            }
        }
    }
}
