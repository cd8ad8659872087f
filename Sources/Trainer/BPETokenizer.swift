import Foundation

/// Byte-level BPE as GPT-2: text is split by `PreTokenizer`, each piece's bytes start as one-byte
/// tokens and the adjacent pair with the lowest merge rank is merged until none applies.
///
/// File (`tokenizer.json`): `{"type": "bpe", "version": 1, "pattern": "gpt2", "tokens": [hex bytes
/// of each id], "merges": [[left, right], ...] in rank order, "special": {"<|endoftext|>": id}}`.
/// The merged id of a pair is the id whose bytes are the concatenation.
public struct BPETokenizer: Tokenizer {
    /// Bytes of each id.
    public let tokens: [[UInt8]]
    /// Merges in rank order.
    public let merges: [(Int32, Int32)]
    /// Special tokens (decoded as their text, never produced by `encode`).
    public let special: [String: Int32]
    private let byteIDs: [Int32]
    private let mergeTable: [UInt64: (rank: Int32, id: Int32)]

    public init(tokens: [[UInt8]], merges: [(Int32, Int32)], special: [String: Int32]) throws(TrainerError) {
        self.tokens = tokens; self.merges = merges; self.special = special
        var ids: [[UInt8]: Int32] = [:]
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = Int32(i) }
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            guard let id = ids[[UInt8(b)]] else { throw .badInput("BPE vocabulary lacks byte \(b)") }
            byteIDs[b] = id
        }
        var table: [UInt64: (Int32, Int32)] = [:]
        for (rank, (a, b)) in merges.enumerated() {
            guard a >= 0, b >= 0, Int(a) < tokens.count, Int(b) < tokens.count,
                  let merged = ids[tokens[Int(a)] + tokens[Int(b)]] else {
                throw .badInput("BPE merge \(rank) does not name a token")
            }
            let key = UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))
            if table[key] == nil { table[key] = (Int32(rank), merged) }
        }
        self.byteIDs = byteIDs
        mergeTable = table
    }

    public var vocabSize: Int { tokens.count }

    public func encode(_ text: String) throws(TrainerError) -> [Int32] { encode(bytes: Array(text.utf8)) }

    /// Ids of any byte sequence (invalid UTF-8 included); `decode` gives the bytes back.
    public func encode(bytes: [UInt8]) -> [Int32] {
        var out: [Int32] = []
        var cache: [ArraySlice<UInt8>: [Int32]] = [:]
        for r in PreTokenizer.split(bytes) {
            let piece = bytes[r]
            if let hit = cache[piece] { out += hit; continue }
            let ids = mergePiece(piece)
            cache[piece] = ids
            out += ids
        }
        return out
    }

    private func mergePiece(_ piece: ArraySlice<UInt8>) -> [Int32] {
        var ids = piece.map { byteIDs[Int($0)] }
        while ids.count > 1 {
            var best: (rank: Int32, at: Int, id: Int32)? = nil
            for i in 0..<(ids.count - 1) {
                let key = UInt64(UInt32(ids[i])) << 32 | UInt64(UInt32(ids[i + 1]))
                if let m = mergeTable[key], best == nil || m.rank < best!.rank { best = (m.rank, i, m.id) }
            }
            guard let b = best else { break }
            ids[b.at] = b.id
            ids.remove(at: b.at + 1)
        }
        return ids
    }

    public func decode(_ ids: [Int32]) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids where id >= 0 && Int(id) < tokens.count { out += tokens[Int(id)] }
        return out
    }

    public func serialized() -> [String: Any] {
        ["type": "bpe", "version": 1, "pattern": "gpt2",
         "tokens": tokens.map { $0.map { String(format: "%02x", $0) }.joined() },
         "merges": merges.map { [Int($0.0), Int($0.1)] },
         "special": special.mapValues { Int($0) }]
    }

    /// Reads the `serialized()` form.
    init(serialized obj: [String: Any], path: String) throws(TrainerError) {
        guard let hex = obj["tokens"] as? [String], let m = obj["merges"] as? [[Int]] else {
            throw .badInput("\(path): BPE tokenizer lacks tokens or merges")
        }
        var toks: [[UInt8]] = []
        for h in hex {
            var bytes: [UInt8] = [], i = h.startIndex
            while i < h.endIndex {
                let j = h.index(i, offsetBy: 2, limitedBy: h.endIndex) ?? h.endIndex
                guard let b = UInt8(h[i..<j], radix: 16) else { throw .badInput("\(path): bad token bytes \(h)") }
                bytes.append(b); i = j
            }
            toks.append(bytes)
        }
        guard m.allSatisfy({ $0.count == 2 }) else { throw .badInput("\(path): bad merge entry") }
        let special = (obj["special"] as? [String: Int] ?? [:]).mapValues { Int32($0) }
        try self.init(tokens: toks, merges: m.map { (Int32($0[0]), Int32($0[1])) }, special: special)
    }
}
