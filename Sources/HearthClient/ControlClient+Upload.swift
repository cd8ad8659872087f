#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension ControlClient {
    /// Sends the file open at `fd` (`length` bytes from its current offset) as the body of one
    /// request, streamed in 1 MiB pieces, and reads the whole response.
    public func upload(_ method: String, _ path: String, fileFD fd: Int32, length: Int64) throws -> Reply {
        guard let socket = UnixSocket.connect(socketPath) else {
            throw Unreachable(description: "cannot reach hearthd at \(socketPath): \(String(cString: strerror(errno)))")
        }
        defer { close(socket) }
        let head = "\(method) \(path) HTTP/1.1\r\nHost: hearthd\r\nConnection: close\r\nUser-Agent: hearth\r\n"
            + "Content-Type: application/octet-stream\r\nContent-Length: \(length)\r\n\r\n"
        Self.writeAll(socket, Array(head.utf8))
        var left = length
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while left > 0 {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, Int(min(Int64($0.count), left))) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }  // the file shrank: the daemon sees a short body and stores nothing
            Self.writeAll(socket, Array(buffer[..<n]))
            left -= Int64(n)
        }
        var collected: [UInt8] = []
        var reader = ResponseReader(fd: socket)
        let status = try reader.read(onHead: { _, _ in }, onBody: { collected.append(contentsOf: $0) })
        return Reply(status: status, body: Data(collected))
    }
}
