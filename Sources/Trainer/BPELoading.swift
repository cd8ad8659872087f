import Foundation

extension BPETokenizer {
    /// GPT-2's byte ↔ printable-character table (`bytes_to_unicode` in OpenAI's encoder.py).
    static func byteToUnicode() -> [Unicode.Scalar] {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var extra: UInt32 = 0
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(256 + extra)!
                extra += 1
            }
        }
        return table
    }

    /// GPT-2's tokenizer from `encoder.json` and `vocab.bpe` in `directory` (as shipped by OpenAI).
    public static func gpt2(directory: String) throws(TrainerError) -> BPETokenizer {
        let encPath = directory + "/encoder.json", bpePath = directory + "/vocab.bpe"
        guard let encoder = try? JSONSerialization.jsonObject(with: Data(try FileIO.read(encPath))) as? [String: Int] else {
            throw .badInput("\(encPath) is not a GPT-2 encoder.json")
        }
        guard let merges = String(validating: try FileIO.read(bpePath), as: UTF8.self) else {
            throw .badInput("\(bpePath) is not UTF-8")
        }
        var inverse: [UInt32: UInt8] = [:]
        for (b, s) in byteToUnicode().enumerated() { inverse[s.value] = UInt8(b) }
        func bytes(_ s: Substring) throws(TrainerError) -> [UInt8] {
            var out: [UInt8] = []
            for u in s.unicodeScalars {
                guard let b = inverse[u.value] else { throw .badInput("\(encPath): token \(s) has a character outside GPT-2's byte table") }
                out.append(b)
            }
            return out
        }
        var tokens = [[UInt8]](repeating: [], count: encoder.count)
        var special: [String: Int32] = [:]
        for (s, id) in encoder {
            guard id >= 0, id < encoder.count else { throw .badInput("\(encPath): id \(id) out of range") }
            if s.hasPrefix("<|") && s.hasSuffix("|>") {
                special[s] = Int32(id); tokens[id] = Array(s.utf8)
            } else {
                tokens[id] = try bytes(Substring(s))
            }
        }
        var ids: [[UInt8]: Int32] = [:]
        for (i, t) in tokens.enumerated() where special.values.contains(Int32(i)) == false { ids[t] = Int32(i) }
        var pairs: [(Int32, Int32)] = []
        for line in merges.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#version") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let a = ids[try bytes(parts[0])], let b = ids[try bytes(parts[1])] else {
                throw .badInput("\(bpePath): bad merge line \(line)")
            }
            pairs.append((a, b))
        }
        return try BPETokenizer(tokens: tokens, merges: pairs, special: special)
    }

    /// Learns byte-level merges from `text` until the vocabulary has `vocabSize` ids (≥ 256):
    /// ids 0–255 are the bytes, each merge adds the most frequent adjacent pair within pieces
    /// (ties: the smaller pair of ids).
    public static func train(text: String, vocabSize: Int) throws(TrainerError) -> BPETokenizer {
        guard vocabSize >= 256 else { throw .badInput("a byte-level BPE vocabulary needs at least 256 ids") }
        let bytes = Array(text.utf8)
        var counts: [ArraySlice<UInt8>: Int] = [:]
        for r in PreTokenizer.split(bytes) { counts[bytes[r], default: 0] += 1 }
        var words: [[Int32]] = [], freq: [Int] = []
        for (w, c) in counts { words.append(w.map { Int32($0) }); freq.append(c) }
        var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var merges: [(Int32, Int32)] = []
        while tokens.count < vocabSize {
            var pairCounts: [UInt64: Int] = [:]
            for (w, f) in zip(words, freq) where w.count > 1 {
                for i in 0..<(w.count - 1) { pairCounts[UInt64(UInt32(w[i])) << 32 | UInt64(UInt32(w[i + 1])), default: 0] += f }
            }
            guard let best = pairCounts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) else { break }
            let a = Int32(best.key >> 32), b = Int32(truncatingIfNeeded: best.key), id = Int32(tokens.count)
            tokens.append(tokens[Int(a)] + tokens[Int(b)])
            merges.append((a, b))
            for k in words.indices where words[k].count > 1 {
                var w = words[k], i = 0
                while i < w.count - 1 {
                    if w[i] == a && w[i + 1] == b { w[i] = id; w.remove(at: i + 1) }
                    i += 1
                }
                words[k] = w
            }
        }
        return try BPETokenizer(tokens: tokens, merges: merges, special: [:])
    }
}
