/// Token shard files. Format version 1 (llm.c's, so other tools read it): a header of 256
/// little-endian int32 — `[0]` magic 20240520, `[1]` version 1, `[2]` token count, rest zero —
/// then the tokens as little-endian uint16.
public enum TokenFile {
    public static let magic: Int32 = 20_240_520
    public static let version: Int32 = 1
    static let headerBytes = 1024

    /// The file bytes for `tokens` (ids must be below 65,536).
    public static func encode(_ tokens: [Int32]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: headerBytes + 2 * tokens.count)
        func put32(_ v: Int32, at i: Int) {
            for k in 0..<4 { out[i + k] = UInt8(truncatingIfNeeded: v >> Int32(8 * k)) }
        }
        put32(magic, at: 0); put32(version, at: 4); put32(Int32(tokens.count), at: 8)
        for (i, t) in tokens.enumerated() {
            out[headerBytes + 2 * i] = UInt8(truncatingIfNeeded: t)
            out[headerBytes + 2 * i + 1] = UInt8(truncatingIfNeeded: t >> 8)
        }
        return out
    }

    /// Parses a shard; errors name the file and what is wrong.
    public static func decode(_ bytes: [UInt8], path: String) throws(TrainerError) -> [UInt16] {
        guard bytes.count >= headerBytes else { throw .badInput("\(path): not a token file (shorter than its header)") }
        func get32(_ i: Int) -> Int32 {
            (0..<4).reduce(Int32(0)) { $0 | Int32(bytes[i + $1]) << Int32(8 * $1) }
        }
        guard get32(0) == magic else { throw .badInput("\(path): not a token file (bad magic)") }
        guard get32(4) == version else { throw .badInput("\(path): unknown token file version \(get32(4))") }
        let n = Int(get32(8))
        guard n >= 0, bytes.count == headerBytes + 2 * n else {
            throw .badInput("\(path): token count \(n) does not match the file size")
        }
        var out = [UInt16](repeating: 0, count: n)
        for i in 0..<n { out[i] = UInt16(bytes[headerBytes + 2 * i]) | UInt16(bytes[headerBytes + 2 * i + 1]) << 8 }
        return out
    }
}
