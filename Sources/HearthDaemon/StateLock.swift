import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One hearthd per state directory: an exclusive `flock(2)` on `<state>/hearthd.lock`, held for
/// the daemon's whole life and released by the kernel however it ends (a `kill -9` included).
///
/// Two daemons on one state directory would share its jobs' folders and its embedded PostgreSQL:
/// a second one started while the first was still stopping connected to the first's server,
/// which then shut down under it, and the first's exit removed the second's control socket.
final class StateLock: Sendable {
    /// The lock file's name inside the state directory; it holds the owner's pid, for the message.
    static let fileName = "hearthd.lock"

    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Takes the lock, creating the state directory if needed.
    /// - Throws: when another process holds it (naming its pid and how to proceed), or when the
    ///   directory or the file cannot be created.
    static func acquire(stateDirectory: URL) throws -> StateLock {
        try makeDirectory(stateDirectory.path)
        let path = stateDirectory.appendingPathComponent(fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw JobRunner.Error(message: "cannot open \(path): \(String(cString: strerror(errno))); check the state directory's owner and mode")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let holder = Self.holder(fd)
            close(fd)
            guard reason == EWOULDBLOCK else {
                throw JobRunner.Error(message: "cannot lock \(path): \(String(cString: strerror(reason)))")
            }
            throw JobRunner.Error(message: """
                another hearthd\(holder.map { " (pid \($0))" } ?? "") is using the state directory \(stateDirectory.path); \
                stop it first (systemctl stop hearthd, or wait for it to finish stopping), or give this one its own --state-dir
                """)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return StateLock(descriptor: fd)
    }

    /// `mkdir -p`, with a refusal that names the folder, the reason and what to do.
    private static func makeDirectory(_ path: String) throws {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            built += "/" + part
            if mkdir(built, 0o755) != 0 && errno != EEXIST {
                throw JobRunner.Error(message: """
                    cannot create the state directory \(path) (at \(built): \(String(cString: strerror(errno)))); \
                    choose one this user can write with --state-dir, or run hearthd as the user that owns it
                    """)
            }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw JobRunner.Error(message: "the state directory \(path) is not a directory; choose another with --state-dir")
        }
    }

    /// The pid the holder wrote, if it reads as one.
    private static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Lets the next daemon in; the pid is left in the file (it is only read while locked).
    func release() {
        close(descriptor)
    }
}
