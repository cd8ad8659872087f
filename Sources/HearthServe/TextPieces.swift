import Foundation

/// Turns generated token bytes into text pieces for streaming: a UTF-8 character split across
/// tokens is held back until complete, and text that might be the start of a stop sequence is
/// held back until it is known not to be one.
struct TextPieces {
    private var pendingBytes: [UInt8] = []
    /// All complete text so far.
    private(set) var text = ""
    /// How much of `text` has been released.
    private(set) var released = 0
    let stops: [String]

    init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Adds a token's bytes; returns the text that can be sent now and whether a stop sequence
    /// was reached (the text before it is the end of the completion).
    mutating func add(_ bytes: [UInt8]) -> (piece: String, stopped: Bool) {
        pendingBytes += bytes
        let complete = Self.completePrefix(pendingBytes)
        text += String(decoding: pendingBytes[..<complete], as: UTF8.self)
        pendingBytes.removeFirst(complete)
        let chars = Array(text)
        for stop in stops {
            if let r = text.range(of: stop) {
                let end = text.distance(from: text.startIndex, to: r.lowerBound)
                let piece = end > released ? String(chars[released..<end]) : ""
                released = max(released, end)
                text = String(chars[..<end])
                return (piece, true)
            }
        }
        // Hold back the longest tail that is a proper prefix of a stop sequence.
        var hold = 0
        for stop in stops {
            let s = Array(stop)
            for k in stride(from: min(s.count - 1, chars.count), to: 0, by: -1) where Array(chars.suffix(k)) == Array(s.prefix(k)) {
                hold = max(hold, k); break
            }
        }
        let upTo = max(released, chars.count - hold)
        let piece = String(chars[released..<upTo])
        released = upTo
        return (piece, false)
    }

    /// The text still held back, released at the end of the stream.
    mutating func flush() -> String {
        text += String(decoding: pendingBytes, as: UTF8.self)
        pendingBytes = []
        let chars = Array(text)
        let piece = String(chars[released...])
        released = chars.count
        return piece
    }

    /// Length of the longest prefix of `b` that does not end inside a UTF-8 sequence.
    static func completePrefix(_ b: [UInt8]) -> Int {
        var i = b.count - 1, back = 0
        while i >= 0 && back < 4 {
            let x = b[i]
            if x & 0xC0 != 0x80 {
                let need = x >= 0xF0 ? 4 : x >= 0xE0 ? 3 : x >= 0xC0 ? 2 : 1
                return back + 1 >= need ? b.count : i
            }
            i -= 1; back += 1
        }
        return b.count
    }
}
