import Foundation

/// Turns text into token ids and back.
public protocol Tokenizer: Sendable {
    /// Number of distinct ids.
    var vocabSize: Int { get }
    /// Ids of `text`; throws `badInput` for text the tokenizer cannot represent.
    func encode(_ text: String) throws(TrainerError) -> [Int32]
    /// The bytes (UTF-8 for text) that `ids` stand for.
    func decode(_ ids: [Int32]) -> [UInt8]
    /// The tokenizer file (JSON) that `loadTokenizer` reads back.
    func serialized() -> [String: Any]
}

/// Character-level tokenizer: one id per Unicode scalar of the training text, in code-point order
/// (as nanoGPT's `shakespeare_char`). File: `{"type": "char", "version": 1, "chars": "<all chars>"}`.
public struct CharTokenizer: Tokenizer {
    /// The alphabet in id order.
    public let chars: [Unicode.Scalar]
    private let ids: [UInt32: Int32]

    /// The alphabet of `text`.
    public init(training text: String) {
        self.init(chars: Array(Set(text.unicodeScalars)).sorted { $0.value < $1.value })
    }

    public init(chars: [Unicode.Scalar]) {
        self.chars = chars
        var ids: [UInt32: Int32] = [:]
        for (i, c) in chars.enumerated() { ids[c.value] = Int32(i) }
        self.ids = ids
    }

    public var vocabSize: Int { chars.count }

    public func encode(_ text: String) throws(TrainerError) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            guard let id = ids[s.value] else {
                throw .badInput("character U+\(String(s.value, radix: 16, uppercase: true)) is not in the tokenizer's alphabet")
            }
            out.append(id)
        }
        return out
    }

    public func decode(_ ids: [Int32]) -> [UInt8] {
        var s = String.UnicodeScalarView()
        for id in ids where id >= 0 && Int(id) < chars.count { s.append(chars[Int(id)]) }
        return Array(String(s).utf8)
    }

    public func serialized() -> [String: Any] {
        var v = String.UnicodeScalarView(); v.append(contentsOf: chars)
        return ["type": "char", "version": 1, "chars": String(v)]
    }
}

/// Reads a tokenizer file written by `prepare` (char or byte-level BPE).
public func loadTokenizer(_ path: String) throws(TrainerError) -> any Tokenizer {
    let bytes = try FileIO.read(path)
    guard let obj = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
          let type = obj["type"] as? String else {
        throw .badInput("\(path) is not a tokenizer file")
    }
    let version = obj["version"] as? Int ?? 0
    switch (type, version) {
    case ("char", 1):
        guard let chars = obj["chars"] as? String else { throw .badInput("\(path): char tokenizer lacks chars") }
        return CharTokenizer(chars: Array(chars.unicodeScalars))
    case ("bpe", 1):
        return try BPETokenizer(serialized: obj, path: path)
    default:
        throw .badInput("\(path): unknown tokenizer type \(type) version \(version)")
    }
}

/// Writes a tokenizer file atomically.
public func saveTokenizer(_ tok: any Tokenizer, to path: String) throws(TrainerError) {
    guard let data = try? JSONSerialization.data(withJSONObject: tok.serialized(), options: [.sortedKeys]) else {
        throw .badInput("cannot encode tokenizer")
    }
    try FileIO.writeAtomically(path, Array(data))
}
