#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client for the daemon's Unix socket: one request per connection.
///
/// Hand-written rather than async-http-client on purpose: the CLI makes one blocking request
/// and exits, and `hearth queue` latency is measured against Slurm's `squeue`; an event loop
/// group and TLS stack started per invocation would cost more than the request itself. It needs
/// only FoundationEssentials (no ICU), so the statically linked CLI starts in a few milliseconds.
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
        var collected: [UInt8] = []
        let status = try stream(method, path, body: body, extraHeaders: extraHeaders) { collected.append(contentsOf: $0) }
        return Reply(status: status, body: Data(collected))
    }

    /// Sends one request, hands the status and headers (names in lower case) to `onHead`, then the
    /// body to `onBody` piece by piece as it arrives (de-chunked), so a caller can print a long
    /// listing while the rest is still on its way.
    /// - Returns: the HTTP status.
    @discardableResult
    public func stream(_ method: String, _ path: String, body: Data? = nil, extraHeaders: [String] = [],
                       onHead: (Int, ResponseHeaders) throws -> Void = { _, _ in },
                       onBody: (ArraySlice<UInt8>) throws -> Void) throws -> Int {
        guard let fd = UnixSocket.connect(socketPath) else {
            let code = errno
            let reason = String(cString: strerror(code))
            throw Unreachable(description: "cannot reach hearthd at \(socketPath): \(reason). "
                + (code == EACCES ? "Ask an admin to add you to the 'hearth' group."
                                  : "Is it running? (systemctl status hearthd, or start it with 'hearthd run')"))
        }
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: hearthd\r\nConnection: close\r\nUser-Agent: hearth\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        for line in extraHeaders { head += line + "\r\n" }
        head += "\r\n"
        var out = Array(head.utf8)
        if let body { out.append(contentsOf: body) }
        Self.writeAll(fd, out)
        var reader = ResponseReader(fd: fd)
        return try reader.read(onHead: onHead, onBody: onBody)
    }

    /// Writes the request; stops early when the daemon answers or closes before taking it all
    /// (a 413 for a body over its limit). MSG_NOSIGNAL: a closed socket must not SIGPIPE us.
    static func writeAll(_ fd: Int32, _ data: [UInt8]) {
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

    /// Removes chunked transfer coding from a whole body (tests and callers holding the raw bytes).
    static func dechunk(_ data: Data) -> Data {
        var decoder = ChunkDecoder()
        var out: [UInt8] = []
        try? decoder.feed(Array(data)[...]) { out.append(contentsOf: $0) }
        return Data(out)
    }
}

/// A response's header fields, names in lower case, in the order they came.
public struct ResponseHeaders: Sendable {
    public var fields: [(name: String, value: String)] = []

    public init() {}

    /// The first field named `name` (give it in lower case).
    public subscript(_ name: String) -> String? {
        for field in fields where field.name == name { return field.value }
        return nil
    }
}

/// Reads one HTTP/1.1 response from a socket: the status line, the headers, then the body as
/// it arrives (by Content-Length, chunked, or until the daemon closes).
struct ResponseReader {
    let fd: Int32
    var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// Reads more bytes; `false` at end of stream.
    mutating func fill() -> Bool {
        DescriptorReads.append(from: fd, to: &buffer) > 0
    }

    mutating func read(onHead: (Int, ResponseHeaders) throws -> Void, onBody: (ArraySlice<UInt8>) throws -> Void) throws -> Int {
        var headEnd: Int?
        var searchFrom = 0
        while headEnd == nil {
            headEnd = HTTPBytes.find(buffer, HTTPBytes.crlfcrlf, from: searchFrom)
            if headEnd != nil { break }
            searchFrom = max(0, buffer.count - 3)
            guard fill() else { throw ControlClient.Unreachable(description: "the daemon sent no complete HTTP response") }
        }
        // Parsed on bytes, with no Dictionary or String splitting: each first use of such a
        // generic type costs the static CLI a scan of every protocol conformance it holds.
        let lines = HTTPBytes.lines(buffer[..<headEnd!])
        guard let statusLine = lines.first, let status = HTTPBytes.statusCode(statusLine) else {
            throw ControlClient.Unreachable(description: "the daemon sent a malformed status line")
        }
        var chunked = false
        var length: Int?
        var headers = ResponseHeaders()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = HTTPBytes.lowercased(line[..<colon])
            let value = HTTPBytes.trimmed(line[(colon + 1)...])
            headers.fields.append((name, value))
            if name == "transfer-encoding" && HTTPBytes.lowercased(Array(value.utf8)[...]).hasSuffix("chunked") { chunked = true }
            if name == "content-length" { length = Int(value) }
        }
        try onHead(status, headers)
        buffer.removeFirst(headEnd! + 4)
        if chunked {
            var decoder = ChunkDecoder()
            while true {
                if !buffer.isEmpty {
                    try decoder.feed(buffer[...], onBody)
                    buffer.removeAll(keepingCapacity: true)
                }
                if decoder.finished || !fill() { break }
            }
        } else {
            var remaining = length ?? Int.max
            while remaining > 0 {
                if !buffer.isEmpty {
                    let take = min(remaining, buffer.count)
                    try onBody(buffer[..<take])
                    remaining -= take
                    buffer.removeAll(keepingCapacity: true)
                }
                if remaining == 0 || !fill() { break }
            }
        }
        return status
    }
}

/// Incremental decoding of `Transfer-Encoding: chunked`: bytes go in as they arrive, the
/// payload comes out in the same pieces.
struct ChunkDecoder {
    private var pending: [UInt8] = []
    /// Bytes left in the current chunk's payload, then 2 for its CRLF.
    private var inChunk = 0
    private var trailer = 0
    private(set) var finished = false

    mutating func feed(_ bytes: ArraySlice<UInt8>, _ onBody: (ArraySlice<UInt8>) throws -> Void) throws {
        var rest = bytes
        while !rest.isEmpty && !finished {
            if inChunk > 0 {
                let take = min(inChunk, rest.count)
                try onBody(rest.prefix(take))
                rest = rest.dropFirst(take)
                inChunk -= take
                if inChunk == 0 { trailer = 2 }
                continue
            }
            if trailer > 0 {
                let take = min(trailer, rest.count)
                rest = rest.dropFirst(take)
                trailer -= take
                continue
            }
            // A size line: hex digits, optional extensions, CRLF.
            pending.append(contentsOf: rest)
            rest = []
            guard let end = HTTPBytes.find(pending, HTTPBytes.crlf, from: 0) else { return }
            let line = pending[..<end]
            let sizeText = HTTPBytes.trimmed(line[..<(line.firstIndex(of: UInt8(ascii: ";")) ?? line.endIndex)])
            guard let size = Int(sizeText, radix: 16) else { finished = true; return }
            rest = pending[(end + 2)...]
            pending = []
            if size == 0 { finished = true; return }
            inChunk = size
            rest = ArraySlice(Array(rest))
        }
    }
}

/// Byte-level helpers without Foundation's string extensions (which need ICU-backed Foundation).
enum HTTPBytes {
    static let crlf: [UInt8] = [13, 10]
    static let crlfcrlf: [UInt8] = [13, 10, 13, 10]

    static func find(_ hay: [UInt8], _ needle: [UInt8], from start: Int) -> Int? {
        guard hay.count >= needle.count, start <= hay.count - needle.count else { return nil }
        var i = start
        while i <= hay.count - needle.count {
            if hay[i] == needle[0] {
                var match = true
                for k in 1..<needle.count where hay[i + k] != needle[k] { match = false; break }
                if match { return i }
            }
            i += 1
        }
        return nil
    }

    /// The lines of a response head (split at CRLF).
    static func lines(_ head: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = head.startIndex
        var i = head.startIndex
        while i < head.endIndex {
            if head[i] == 13, i + 1 < head.endIndex, head[i + 1] == 10 {
                lines.append(head[start..<i])
                i += 2
                start = i
            } else {
                i += 1
            }
        }
        lines.append(head[start..<head.endIndex])
        return lines
    }

    /// The status code of `HTTP/1.1 200 OK`: the three digits after the first space.
    static func statusCode(_ line: ArraySlice<UInt8>) -> Int? {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        var code = 0
        var digits = 0
        for c in line[(space + 1)...] {
            guard c != UInt8(ascii: " ") else { break }
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), digits < 3 else { return nil }
            code = code * 10 + Int(c - UInt8(ascii: "0"))
            digits += 1
        }
        return digits == 3 ? code : nil
    }

    /// ASCII letters in lower case (header names are ASCII).
    static func lowercased(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// Leading and trailing spaces and tabs removed.
    static func trim<S: StringProtocol>(_ s: S) -> String {
        var sub = Substring(s)
        while let c = sub.first, c == " " || c == "\t" { sub = sub.dropFirst() }
        while let c = sub.last, c == " " || c == "\t" { sub = sub.dropLast() }
        return String(sub)
    }

    /// The same on bytes.
    static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
        var sub = bytes
        while let c = sub.first, c == 32 || c == 9 { sub = sub.dropFirst() }
        while let c = sub.last, c == 32 || c == 9 { sub = sub.dropLast() }
        return String(decoding: sub, as: UTF8.self)
    }
}

extension ControlClient {
    /// Why ``call(_:_:body:as:)`` gave no value: the sentence to print and the CLI's exit status
    /// (3: the daemon is unreachable; 1: it refused, or its answer could not be read).
    public struct CallFailure: Error, CustomStringConvertible {
        public var exitCode: Int32
        public var message: String
        public var description: String { message }
    }

    /// Sends a request and decodes a 2xx answer as `T`; anything else is a ``CallFailure``
    /// carrying the daemon's own error sentence.
    public func call<T: Decodable>(_ method: String, _ path: String, body: Data? = nil, as type: T.Type) throws(CallFailure) -> (T, Data) {
        let reply: Reply
        do { reply = try request(method, path, body: body) } catch {
            throw CallFailure(exitCode: 3, message: "\(error)")
        }
        try Self.check(reply.status, reply.body)
        do { return (try APIDecoding.decoder().decode(T.self, from: reply.body), reply.body) } catch {
            throw CallFailure(exitCode: 1, message: "the daemon's answer could not be read: \(error)")
        }
    }

    /// Throws the daemon's error sentence for a status outside 2xx.
    static func check(_ status: Int, _ body: Data) throws(CallFailure) {
        guard !(200..<300).contains(status) else { return }
        let message = (try? APIDecoding.decoder().decode(ErrorBody.self, from: body))?.message
            ?? "the daemon answered HTTP \(status)"
        // 503: the daemon is up but cannot reach its database (GET /health says since when).
        throw CallFailure(exitCode: status == 503 ? 3 : 1, message: message)
    }

    /// The `message` of the API's error body (HearthAPI's `APIError`; this target does not depend on it).
    struct ErrorBody: Decodable { var message: String }
}

/// ISO 8601 dates, as the API writes them (HearthAPI's `APICoding`, which this target does not import).
enum APIDecoding {
    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
