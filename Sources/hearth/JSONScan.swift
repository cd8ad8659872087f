/// A strict JSON reader for the CLI's hot path: it checks that bytes are one JSON object of the
/// plainest kind and finds its top-level members, without JSONDecoder (whose first use in the
/// static binary costs about a millisecond of runtime type lookups).
///
/// It accepts a subset of what JSONDecoder accepts and says `nil` for everything else: bytes
/// outside ASCII, `\u` escapes, a key with any escape, a repeated key, numbers with an exponent or
/// more than 15 digits, nesting deeper than 64, an object of more than 64 members. Callers then
/// take the JSONDecoder path, so whatever this reader declines is handled (and refused) exactly
/// as before.
///
/// It holds no Set or Dictionary: in the static binary the first use of each such generic type
/// makes the runtime scan every protocol conformance the program holds (about 60 µs each), which
/// is more than the few short linear searches below.
struct JSONScan {
    private let bytes: [UInt8]
    private var i = 0
    private var depth = 0
    /// The top-level object's members, in order.
    private var members = Members()

    /// An object's members: key → the byte range of its value (a short list, searched in order).
    struct Members {
        // Bounds as plain integers: an array of `Range<Int>` would make the runtime look up
        // `Int: Comparable` when it is first allocated.
        fileprivate var entries: [(key: String, start: Int, end: Int)] = []

        subscript(_ key: String) -> Range<Int>? {
            for entry in entries where entry.key == key { return entry.start..<entry.end }
            return nil
        }
    }

    /// Members an object may have here; a larger one goes to JSONDecoder (the duplicate check is linear).
    private static let maxMembers = 64

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The members of `bytes` when they are one plain JSON object (whitespace around it allowed).
    static func object(_ bytes: [UInt8]) -> Members? {
        var scan = JSONScan(bytes)
        scan.space()
        guard scan.peek == UInt8(ascii: "{"), scan.value(), scan.end() else { return nil }
        return scan.members
    }

    /// The text of a member that is a string without escapes.
    static func string(_ bytes: [UInt8], _ range: Range<Int>?) -> String? {
        guard let range, range.count >= 2, bytes[range.lowerBound] == UInt8(ascii: "\""),
              !bytes[range].contains(UInt8(ascii: "\\")) else { return nil }
        return String(decoding: bytes[(range.lowerBound + 1)..<(range.upperBound - 1)], as: UTF8.self)
    }

    /// A member that is an integer.
    static func integer(_ bytes: [UInt8], _ range: Range<Int>?) -> Int64? {
        guard let range else { return nil }
        return Int64(String(decoding: bytes[range], as: UTF8.self))
    }

    /// A member that is `true` or `false`; `nil` for anything else (`null` included).
    static func bool(_ bytes: [UInt8], _ range: Range<Int>?) -> Bool? {
        guard let range else { return nil }
        switch String(decoding: bytes[range], as: UTF8.self) {
        case "true": return true
        case "false": return false
        default: return nil
        }
    }

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func space() {
        while let c = peek, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 }
    }

    private mutating func end() -> Bool {
        space()
        return i == bytes.count
    }

    private mutating func literal(_ word: String) -> Bool {
        var k = i
        for c in word.utf8 {
            guard k < bytes.count, bytes[k] == c else { return false }
            k += 1
        }
        i = k
        return true
    }

    private mutating func value() -> Bool {
        space()
        guard let c = peek else { return false }
        switch c {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string(key: false) != nil
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number()
        }
    }

    private mutating func object() -> Bool {
        depth += 1
        guard depth <= 64 else { return false }
        defer { depth -= 1 }
        i += 1
        var keys: [String] = []
        space()
        if peek == UInt8(ascii: "}") { i += 1; return true }
        while true {
            space()
            guard peek == UInt8(ascii: "\""), let key = string(key: true),
                  keys.count < Self.maxMembers, !keys.contains(key) else { return false }
            keys.append(key)
            space()
            guard peek == UInt8(ascii: ":") else { return false }
            i += 1
            space()
            let start = i
            guard value() else { return false }
            if depth == 1 { members.entries.append((key, start, i)) }
            space()
            guard let c = peek else { return false }
            i += 1
            if c == UInt8(ascii: "}") { return true }
            guard c == UInt8(ascii: ",") else { return false }
        }
    }

    private mutating func array() -> Bool {
        depth += 1
        guard depth <= 64 else { return false }
        defer { depth -= 1 }
        i += 1
        space()
        if peek == UInt8(ascii: "]") { i += 1; return true }
        while true {
            guard value() else { return false }
            space()
            guard let c = peek else { return false }
            i += 1
            if c == UInt8(ascii: "]") { return true }
            guard c == UInt8(ascii: ",") else { return false }
        }
    }

    /// A string; for a key, its text (keys may hold no escape at all).
    private mutating func string(key: Bool) -> String? {
        i += 1
        let start = i
        while let c = peek {
            switch c {
            case UInt8(ascii: "\""):
                i += 1
                return key ? String(decoding: bytes[start..<(i - 1)], as: UTF8.self) : ""
            case UInt8(ascii: "\\"):
                guard !key, i + 1 < bytes.count else { return nil }
                switch bytes[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                default:
                    return nil  // \u escapes (surrogates and all) are JSONDecoder's to judge
                }
            case 0..<0x20, 0x80...:
                return nil
            default:
                i += 1
            }
        }
        return nil
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?` with at most 15 digits: one every decoder reads the same.
    private mutating func number() -> Bool {
        if peek == UInt8(ascii: "-") { i += 1 }
        var digits = 0
        func isDigit(_ c: UInt8?) -> Bool { c.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        guard isDigit(peek) else { return false }
        if peek == UInt8(ascii: "0") {
            i += 1
            digits = 1
            if isDigit(peek) { return false }
        } else {
            while isDigit(peek) { i += 1; digits += 1 }
        }
        if peek == UInt8(ascii: ".") {
            i += 1
            guard isDigit(peek) else { return false }
            while isDigit(peek) { i += 1; digits += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") { return false }
        return digits <= 15
    }
}

/// JSON text for the few values the CLI writes by hand.
enum JSONText {
    /// `text` as a JSON string: quotes, backslashes and control characters escaped.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0}"..."\u{1F}":
                let hex = Array("0123456789abcdef")
                out += "\\u00" + String(hex[Int(scalar.value >> 4)]) + String(hex[Int(scalar.value & 15)])
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
