import Foundation

/// Files that matter only while this machine stays up: a job's spec for its worker, a child's
/// pid for hearthd's next start. Each is written whole to a new file that is renamed over the
/// old one, so a reader never sees half of it and a process holding the old one open cannot
/// write into the new one; but not flushed to disk (Foundation's `.atomic` write does `fsync`).
///
/// A machine that crashes ends every attempt on it, and the next attempt writes them again, so
/// the flush bought nothing, and it cost an ext4 journal commit for each job started.
enum ScratchFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Replaces the file at `url` with `bytes` (mode 0600, owned by this process).
    static func replace(_ url: URL, with bytes: [UInt8]) throws {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UInt32.random(in: 0...UInt32.max)).tmp").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var done = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                done += n
            }
            return true
        }
        let writeError = errno
        close(fd)
        guard ok, rename(temporary, url.path) == 0 else {
            let reason = String(cString: strerror(ok ? errno : writeError))
            unlink(temporary)
            throw Failure(description: "cannot write \(url.path): \(reason)")
        }
    }
}
