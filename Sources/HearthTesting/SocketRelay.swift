import Foundation
import Synchronization

/// A relay between a Unix socket and PostgreSQL's, that a test can cut and restore: how the
/// chaos tests take the fleet database away from a daemon without stopping the server that
/// other tests share. Cut, it closes every relayed connection (both ends see a reset) and
/// removes its socket, so new connections fail at once, as against a server that is down.
///
/// Clients connect with `host=<directory>` (libpq finds `.s.PGSQL.5432` there).
public final class SocketRelay: Sendable {
    /// The directory holding the relay's socket (`host=` in a conninfo).
    public let directory: String
    private let target: String
    private struct State {
        var listener: Int32 = -1
        var open: Set<Int32> = []
        var generation = 0
    }
    private let state = Mutex(State())

    /// - Parameters:
    ///   - targetSocket: the server's socket file (`/run/postgresql/.s.PGSQL.5432`).
    ///   - directory: where to put the relay's own `.s.PGSQL.5432`.
    public init(targetSocket: String, directory: String) throws {
        self.target = targetSocket
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try restore()
    }

    /// The relay's socket file.
    public var socketPath: String { directory + "/.s.PGSQL.5432" }

    /// Starts accepting again (after ``cut()``).
    public func restore() throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestProcessError("relay: socket: \(String(cString: strerror(errno)))") }
        unlink(socketPath)
        guard Self.withAddress(socketPath, { bind(fd, $0, $1) }) == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw TestProcessError("relay: cannot listen on \(socketPath): \(String(cString: strerror(errno)))")
        }
        chmod(socketPath, 0o777)
        let generation = state.withLock { s -> Int in
            s.listener = fd
            s.generation += 1
            return s.generation
        }
        Thread.detachNewThread { [self] in acceptLoop(fd, generation: generation) }
    }

    /// Drops every relayed connection and stops accepting until ``restore()``.
    public func cut() {
        let (listener, open) = state.withLock { s -> (Int32, Set<Int32>) in
            defer { s.listener = -1; s.open = []; s.generation += 1 }
            return (s.listener, s.open)
        }
        unlink(socketPath)
        if listener >= 0 { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop(_ listener: Int32, generation: Int) {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            let server = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            let live = state.withLock { s -> Bool in
                guard s.generation == generation else { return false }
                s.open.insert(client)
                s.open.insert(server)
                return true
            }
            guard live, server >= 0, Self.withAddress(target, { connect(server, $0, $1) }) == 0 else {
                close(client)
                if server >= 0 { close(server) }
                continue
            }
            Thread.detachNewThread { [self] in pump(from: client, to: server) }
            Thread.detachNewThread { [self] in pump(from: server, to: client) }
        }
    }

    /// Copies one direction until either end closes; then closes both (once).
    private func pump(from a: Int32, to b: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        loop: while true {
            let n = buffer.withUnsafeMutableBytes { read(a, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            var sent = 0
            while sent < n {
                let w = buffer.withUnsafeBytes { send(b, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL)) }
                if w < 0 && errno == EINTR { continue }
                if w <= 0 { break loop }
                sent += w
            }
        }
        shutdown(a, Int32(SHUT_RDWR))
        shutdown(b, Int32(SHUT_RDWR))
        // The second pump to finish closes both descriptors.
        let last = state.withLock { s -> Bool in
            let key = -1 - Int32(min(a, b))
            if s.open.contains(key) { s.open.remove(key); return true }
            s.open.insert(key)
            s.open.remove(a)
            s.open.remove(b)
            return false
        }
        if last { close(a); close(b) }
    }

    private static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return -1 }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
