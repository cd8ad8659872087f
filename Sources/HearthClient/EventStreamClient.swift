#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client for a serving endpoint's server-sent events (`hearth generate`):
/// POSTs JSON over TCP and hands each `data:` payload to a callback as it arrives, so tokens
/// appear as they are generated. Plain `http://host:port` URLs only (endpoints are on the fleet's
/// network).
public enum EventStreamClient {
    /// A failure to reach the endpoint or an HTTP error status with its body.
    public struct Failure: Error, CustomStringConvertible {
        public var status: Int?
        public var message: String
        public var description: String { status.map { "HTTP \($0): \(message)" } ?? message }
    }

    /// POSTs `body` to `url` + `path` and calls `onData` with every event's data until the stream
    /// ends (`data: [DONE]` included). `bearer`, when given, is sent as `Authorization: Bearer`.
    public static func post(url: String, path: String, body: Data, bearer: String? = nil,
                            onData: (String) throws -> Void) throws {
        guard let u = URL(string: url), u.scheme == "http", let host = u.host else {
            throw Failure(message: "\(url) is not an http://host:port URL")
        }
        let port = u.port ?? 80
        var hints = addrinfo(), result: UnsafeMutablePointer<addrinfo>?
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw Failure(message: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0, connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            if fd >= 0 { close(fd) }
            throw Failure(message: "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var request = Data("POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: application/json\r\n".utf8)
        if let bearer { request.append(Data("Authorization: Bearer \(bearer)\r\n".utf8)) }
        request.append(Data("Accept: text/event-stream\r\nConnection: close\r\nContent-Length: \(body.count)\r\n\r\n".utf8))
        request.append(body)
        try request.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n <= 0 { throw Failure(message: "cannot send the request: \(String(cString: strerror(errno)))") }
                done += n
            }
        }
        var reader = Reader(fd: fd)
        let head = try reader.line()
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        var chunked = false, length: Int?
        while true {
            let h = try reader.line()
            if h.isEmpty { break }
            let lower = h.lowercased()
            if lower.hasPrefix("transfer-encoding:") && lower.contains("chunked") { chunked = true }
            if lower.hasPrefix("content-length:") { length = Int(HTTPBytes.trim(h.split(separator: ":")[1])) }
        }
        var events = SSEBuffer()
        func feed(_ bytes: [UInt8]) throws {
            if !(200..<300).contains(status) { events.raw += bytes; return }
            for data in events.add(bytes) { try onData(data) }
        }
        if chunked {
            while true {
                let size = Int(try reader.line().split(separator: ";")[0], radix: 16) ?? 0
                if size == 0 { break }
                try feed(try reader.bytes(size))
                _ = try reader.line()
            }
        } else if let length {
            try feed(try reader.bytes(length))
        } else {
            try feed(reader.rest())
        }
        guard (200..<300).contains(status) else {
            throw Failure(status: status, message: String(decoding: events.raw, as: UTF8.self))
        }
    }

    /// Splits a byte stream into SSE events and returns their `data:` payloads.
    struct SSEBuffer {
        var raw: [UInt8] = []
        mutating func add(_ bytes: [UInt8]) -> [String] {
            raw += bytes
            var out: [String] = []
            while let end = Self.find(raw, [10, 10]) {
                let event = String(decoding: raw[..<end], as: UTF8.self)
                raw.removeFirst(end + 2)
                for line in event.split(separator: "\n") where line.hasPrefix("data:") {
                    out.append(HTTPBytes.trim(line.dropFirst(5)))
                }
            }
            return out
        }
        static func find(_ hay: [UInt8], _ needle: [UInt8]) -> Int? {
            guard hay.count >= needle.count else { return nil }
            for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && hay[i + 1] == needle[1] { return i }
            return nil
        }
    }

    /// Buffered reads from a socket.
    struct Reader {
        let fd: Int32
        var buffer: [UInt8] = []
        var eof = false

        init(fd: Int32) { self.fd = fd }

        mutating func fill() throws {
            var chunk = [UInt8](repeating: 0, count: 16384)
            let n = read(fd, &chunk, chunk.count)
            if n < 0 { throw Failure(message: "read failed: \(String(cString: strerror(errno)))") }
            if n == 0 { eof = true } else { buffer += chunk[..<n] }
        }

        mutating func line() throws -> String {
            while true {
                if let i = SSEBuffer.find(buffer, [13, 10]) {
                    let s = String(decoding: buffer[..<i], as: UTF8.self)
                    buffer.removeFirst(i + 2)
                    return s
                }
                if eof { throw Failure(message: "the endpoint closed the connection mid-response") }
                try fill()
            }
        }

        mutating func bytes(_ n: Int) throws -> [UInt8] {
            while buffer.count < n {
                if eof { throw Failure(message: "the endpoint closed the connection mid-response") }
                try fill()
            }
            let out = Array(buffer[..<n])
            buffer.removeFirst(n)
            return out
        }

        mutating func rest() -> [UInt8] {
            while !eof { try? fill() }
            defer { buffer = [] }
            return buffer
        }
    }
}
