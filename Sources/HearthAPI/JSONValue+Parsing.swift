/// JSON text read into a ``JSONValue`` and written back, by hand.
///
/// A submission's spec is read on every `POST /v1/jobs`. Through `Decodable`, a `JSONValue` is
/// decoded by trying each JSON type in turn, each miss an error thrown and caught, and the
/// daemon read the spec that way, wrote it back with JSONEncoder and read it again to check it:
/// together about two fifths of the event loop's time per submission (perf, issue 16). This
/// reads it in one pass over the bytes and writes it in another.
extension JSONValue {
    /// Why a text is not JSON: what was wrong and at which byte.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var offset: Int
        public var description: String { "\(message) at byte \(offset)" }
    }

    /// The deepest nesting read; deeper text is refused rather than recursed into.
    public static let maxDepth = 256

    /// Reads one JSON value (RFC 8259) filling all of `bytes`, surrounding white space allowed.
    /// Numbers become `Double`s. As JSONDecoder (which the daemon used before) does, a key given
    /// twice keeps its last value and a comma may end an array or object (`[1, 2,]`).
    public init(parsing bytes: [UInt8]) throws(ParseError) {
        var reader = JSONReader(bytes: bytes)
        self = try reader.value(depth: 0)
        reader.space()
        if reader.i < bytes.count { throw reader.error("text after the JSON value") }
    }

    /// The value as compact JSON text: object keys sorted, whole numbers below 10^15 without a
    /// fraction (as ``encode(to:)`` writes them), strings escaped as RFC 8259 requires.
    public var jsonText: String {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n):
            if n.rounded() == n, abs(n) < 1e15 {
                out.append(contentsOf: String(Int64(n)).utf8)
            } else if n.isFinite {
                out.append(contentsOf: n.description.utf8)
            } else {
                out.append(contentsOf: "null".utf8)  // not reachable from parsed text; JSON has no infinities
            }
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                o[key]!.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ s: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(c >> 4)])
                out.append(hex[Int(c & 0xF)])
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// The parser behind ``JSONValue/init(parsing:)``: recursive descent over the bytes.
private struct JSONReader {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ message: String) -> JSONValue.ParseError { .init(message: message, offset: i) }

    mutating func space() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func value(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        space()
        guard i < bytes.count else { throw error("the text ends where a value was expected") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character '\(Unicode.Scalar(bytes[i]))'")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONValue.ParseError) {
        let count = word.utf8CodeUnitCount
        guard i + count <= bytes.count else { throw error("the text ends inside a literal") }
        let matches = word.withUTF8Buffer { w in (0..<count).allSatisfy { bytes[i + $0] == w[$0] } }
        guard matches else { throw error("unexpected characters; true, false or null was expected") }
        i += count
    }

    mutating func object(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard depth <= JSONValue.maxDepth else { throw error("nested more than \(JSONValue.maxDepth) deep") }
        i += 1
        var members: [String: JSONValue] = [:]
        space()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            space()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}"), !members.isEmpty { i += 1; return .object(members) }  // a trailing comma
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("an object key (a string) was expected") }
            let key = try string()
            space()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("':' was expected after an object key") }
            i += 1
            members[key] = try value(depth: depth)
            space()
            guard i < bytes.count else { throw error("the text ends inside an object") }
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "}") { return .object(members) }
            guard c == UInt8(ascii: ",") else { i -= 1; throw error("',' or '}' was expected in an object") }
        }
    }

    mutating func array(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard depth <= JSONValue.maxDepth else { throw error("nested more than \(JSONValue.maxDepth) deep") }
        i += 1
        var elements: [JSONValue] = []
        space()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(elements) }
        while true {
            space()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]"), !elements.isEmpty { i += 1; return .array(elements) }  // a trailing comma
            elements.append(try value(depth: depth))
            space()
            guard i < bytes.count else { throw error("the text ends inside an array") }
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "]") { return .array(elements) }
            guard c == UInt8(ascii: ",") else { i -= 1; throw error("',' or ']' was expected in an array") }
        }
    }

    /// A string starting at the opening quote; returns its value, the reader past the closing quote.
    mutating func string() throws(JSONValue.ParseError) -> String {
        i += 1
        let start = i
        // Most strings have no escapes: their bytes are the value.
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                defer { i += 1 }
                return try utf8(bytes[start..<i], at: start)
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("a control character inside a string (write it as an escape such as \\n)") }
            i += 1
        }
        var out = Array(bytes[start..<i])
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "\"") { return try utf8(out[...], at: start) }
            if c < 0x20 { i -= 1; throw error("a control character inside a string (write it as an escape such as \\n)") }
            guard c == UInt8(ascii: "\\") else { out.append(c); continue }
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw error("a \\u escape of a lone surrogate")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("a \\u escape of a lone surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw error("a \\u escape of a lone surrogate")
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default:
                i -= 1
                throw error("an unknown escape '\\\(Unicode.Scalar(e))' in a string")
            }
        }
        throw error("the text ends inside a string")
    }

    mutating func hex4() throws(JSONValue.ParseError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("the text ends inside a \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw error("a \\u escape needs four hexadecimal digits")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    func utf8(_ slice: ArraySlice<UInt8>, at offset: Int) throws(JSONValue.ParseError) -> String {
        // String(validating:) refuses what is not UTF-8 instead of repairing it silently.
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw .init(message: "a string that is not valid UTF-8", offset: offset)
        }
        return s
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    mutating func number() throws(JSONValue.ParseError) -> Double {
        let start = i
        func digits(_ r: inout JSONReader) -> Int {
            let s = r.i
            while r.i < r.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(r.bytes[r.i]) { r.i += 1 }
            return r.i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) else { throw error("a digit was expected") }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { throw error("a number with a leading zero") }
        } else {
            _ = digits(&self)
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits(&self) > 0 else { throw error("a digit was expected after the decimal point") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&self) > 0 else { throw error("a digit was expected in the exponent") }
        }
        guard let n = Double(String(decoding: bytes[start..<i], as: UTF8.self)), n.isFinite else {
            throw .init(message: "a number too large for a double", offset: start)
        }
        return n
    }
}
