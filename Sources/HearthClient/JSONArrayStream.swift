/// Splits a JSON array arriving in pieces into its elements' texts as each one completes, so a
/// listing can be printed row by row while the rest is still being read.
///
/// It tracks only strings, escapes and nesting depth; each element is parsed afterwards by a
/// real decoder, which reports any malformed one.
public struct JSONArrayStream: Sendable {
    private var element: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false
    /// Whether the closing `]` of the top-level array was seen.
    public private(set) var finished = false

    public init() {}

    /// Feeds the next bytes; calls `onElement` with each element completed by them.
    public mutating func feed(_ bytes: ArraySlice<UInt8>, _ onElement: ([UInt8]) throws -> Void) rethrows {
        for byte in bytes {
            if finished { return }
            if inString {
                element.append(byte)
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > 1 { element.append(byte) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                if depth >= 1 { element.append(byte) }
                if depth == 0 {
                    try flush(onElement)
                    finished = true
                }
            case UInt8(ascii: ",") where depth == 1:
                try flush(onElement)
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                if depth > 1 { element.append(byte) }
            default:
                if byte == UInt8(ascii: "\"") { inString = true }
                if depth >= 1 { element.append(byte) }
            }
        }
    }

    private mutating func flush(_ onElement: ([UInt8]) throws -> Void) rethrows {
        guard !element.isEmpty else { return }
        let done = element
        element.removeAll(keepingCapacity: true)
        try onElement(done)
    }
}
