/// GPT-2's pre-tokenisation, written out by hand: the regex
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// (tiktoken's `r50k_pat_str`), with `\s` the Unicode White_Space property as in Rust's regex.
/// Input bytes that are not valid UTF-8 become one-byte pieces, so every byte sequence splits.
enum PreTokenizer {
    /// Byte ranges of the pieces of `bytes`, in order, covering all of it.
    static func split(_ bytes: [UInt8]) -> [Range<Int>] {
        // Decode to scalars with their byte offsets; invalid bytes become nil scalars.
        var scalars: [Unicode.Scalar?] = [], offsets: [Int] = []
        var i = 0
        while i < bytes.count {
            let (s, n) = decodeOne(bytes, i)
            scalars.append(s); offsets.append(i)
            i += n
        }
        offsets.append(bytes.count)
        var pieces: [Range<Int>] = []
        var p = 0
        let n = scalars.count
        func cls(_ k: Int) -> Class { k < n ? classify(scalars[k]) : .end }
        while p < n {
            let start = p
            guard let c = scalars[p] else { pieces.append(offsets[p]..<offsets[p + 1]); p += 1; continue }
            if c == "'", let len = contraction(scalars, p + 1) {
                p += 1 + len
            } else if cls(p) == .letter || (c == " " && cls(p + 1) == .letter) {
                if c == " " { p += 1 }
                while cls(p) == .letter { p += 1 }
            } else if cls(p) == .number || (c == " " && cls(p + 1) == .number) {
                if c == " " { p += 1 }
                while cls(p) == .number { p += 1 }
            } else if cls(p) == .other || (c == " " && cls(p + 1) == .other) {
                if c == " " { p += 1 }
                while cls(p) == .other { p += 1 }
            } else {
                // Whitespace: `\s+(?!\S)` leaves the last space for the next piece when a
                // non-space follows; a single whitespace before a non-space is `\s+`.
                var q = p
                while cls(q) == .space { q += 1 }
                if q < n && q - p > 1 { q -= 1 }
                p = q
            }
            pieces.append(offsets[start]..<offsets[p])
        }
        return pieces
    }

    enum Class { case letter, number, space, other, invalid, end }

    static func classify(_ s: Unicode.Scalar?) -> Class {
        guard let s else { return .invalid }
        if s.properties.isWhitespace { return .space }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// Length of a contraction suffix (`s t re ve m ll d`) at `k`, if any.
    static func contraction(_ s: [Unicode.Scalar?], _ k: Int) -> Int? {
        func at(_ j: Int) -> Unicode.Scalar? { j < s.count ? s[j] : nil }
        switch at(k) {
        case "s", "t", "m", "d": return 1
        case "r": return at(k + 1) == "e" ? 2 : nil
        case "v": return at(k + 1) == "e" ? 2 : nil
        case "l": return at(k + 1) == "l" ? 2 : nil
        default: return nil
        }
    }

    /// One UTF-8 scalar at `i` and its length, or (nil, 1) for an invalid byte.
    static func decodeOne(_ b: [UInt8], _ i: Int) -> (Unicode.Scalar?, Int) {
        let b0 = b[i]
        if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
        let (len, minValue): (Int, UInt32) = b0 & 0xE0 == 0xC0 ? (2, 0x80) : b0 & 0xF0 == 0xE0 ? (3, 0x800)
            : b0 & 0xF8 == 0xF0 ? (4, 0x10000) : (0, 0)
        guard len > 0, i + len <= b.count else { return (nil, 1) }
        var v = UInt32(b0) & (0xFF >> (len + 1))
        for k in 1..<len {
            guard b[i + k] & 0xC0 == 0x80 else { return (nil, 1) }
            v = v << 6 | UInt32(b[i + k] & 0x3F)
        }
        guard v >= minValue, let s = Unicode.Scalar(v) else { return (nil, 1) }
        return (s, len)
    }
}
