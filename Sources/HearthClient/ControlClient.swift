import Foundation

/// A minimal HTTP/1.1 client for the daemon's Unix socket: one request per connection.
///
/// Hand-written rather than async-http-client on purpose: the CLI makes one blocking request
/// and exits, and `hearth queue` latency is measured against Slurm's `squeue`; an event loop
/// group and TLS stack started per invocation would cost more than the request itself.
public struct ControlClient: Sendable {
    public let socketPath: String

    public init(socketPath: String) { self.socketPath = socketPath }

    /// A response: the HTTP status and the (de-chunked) body.
    public struct Reply: Sendable {
        public var status: Int
        public var body: Data
    }

    /// Why a request failed before the daemon could answer.
    public struct Unreachable: Error, CustomStringConvertible {
        public var description: String
    }

    /// Sends one request (`Connection: close`) and reads the whole response.
    /// - Parameter extraHeaders: extra header lines (tests send malformed requests with them).
    public func request(_ method: String, _ path: String, body: Data? = nil, extraHeaders: [String] = []) throws -> Reply {
        guard let fd = UnixSocket.connect(socketPath) else {
            let reason = String(cString: strerror(errno))
            throw Unreachable(description: "cannot reach hearthd at \(socketPath): \(reason). "
                + (errno == EACCES ? "Ask an admin to add you to the 'hearth' group."
                                   : "Is it running? (systemctl status hearthd, or start it with 'hearthd run')"))
        }
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: hearthd\r\nConnection: close\r\nUser-Agent: hearth\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        for line in extraHeaders { head += line + "\r\n" }
        head += "\r\n"
        var out = Data(head.utf8)
        if let body { out.append(body) }
        try writeAll(fd, out)
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            response.append(contentsOf: buffer[0..<n])
        }
        return try parse(response)
    }

    /// Writes the request; stops early when the daemon answers or closes before taking it all
    /// (a 413 for a body over its limit). MSG_NOSIGNAL: a closed socket must not SIGPIPE us.
    private func writeAll(_ fd: Int32, _ data: Data) throws {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT | POLLIN), revents: 0)
                guard poll(&pfd, 1, 30_000) > 0, pfd.revents & Int16(POLLIN | POLLHUP | POLLERR) == 0 else { return }
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                guard n > 0 else { return }
                offset += n
            }
        }
    }

    private func parse(_ response: Data) throws -> Reply {
        guard let split = response.range(of: Data("\r\n\r\n".utf8)) else {
            throw Unreachable(description: "the daemon sent no complete HTTP response")
        }
        let head = String(decoding: response[..<split.lowerBound], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw Unreachable(description: "the daemon sent a malformed status line")
        }
        var body = Data(response[split.upperBound...])
        let chunked = lines.contains { $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked") }
        if chunked { body = Self.dechunk(body) }
        return Reply(status: status, body: body)
    }

    static func dechunk(_ data: Data) -> Data {
        var out = Data()
        var rest = data[...]
        while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
            let sizeText = String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            guard rest.distance(from: start, to: rest.endIndex) >= size else { break }
            let end = rest.index(start, offsetBy: size)
            out.append(rest[start..<end])
            rest = rest[rest.index(end, offsetBy: min(2, rest.distance(from: end, to: rest.endIndex)))...]
        }
        return out
    }
}
