import Foundation

/// A tokenized dataset directory written by `prepare`: `index.json`, `tokenizer.json` and shards.
///
/// `index.json` (version 1): `{"format": "hearth-tokens", "version": 1, "vocab": V,
/// "tokenizer": "tokenizer.json", "splits": {"train": {"bytes": B, "shards": [{"file", "tokens",
/// "sha256"}]}, "val": {...}}}`. `bytes` is the UTF-8 size of the split's text (for bits per byte).
public struct DatasetIndex: Codable, Sendable {
    public struct Shard: Codable, Sendable {
        public var file: String
        public var tokens: Int
        public var sha256: String
    }
    public struct Split: Codable, Sendable {
        public var bytes: Int
        public var shards: [Shard]
    }
    public var format = "hearth-tokens"
    public var version = 1
    public var vocab: Int
    public var tokenizer = "tokenizer.json"
    public var splits: [String: Split]

    /// Reads and checks `dir/index.json`.
    public static func load(_ dir: String) throws(TrainerError) -> DatasetIndex {
        let path = dir + "/index.json"
        let bytes = try FileIO.read(path)
        guard let index = try? JSONDecoder().decode(DatasetIndex.self, from: Data(bytes)) else {
            throw .badInput("\(path) is not a dataset index")
        }
        guard index.format == "hearth-tokens" else { throw .badInput("\(path): unknown format \(index.format)") }
        guard index.version == 1 else { throw .badInput("\(path): unknown dataset index version \(index.version)") }
        return index
    }
}

/// The tokens of one split of a dataset, checksums verified.
public struct TokenSplit: Sendable {
    public let name: String
    public let shards: [[UInt16]]
    public let bytes: Int
    public let vocab: Int

    /// Loads split `split` of dataset `dir`, verifying every shard's SHA-256.
    public init(dir: String, split: String) throws(TrainerError) {
        let index = try DatasetIndex.load(dir)
        guard let s = index.splits[split] else { throw .badInput("\(dir) has no \(split) split") }
        var shards: [[UInt16]] = []
        for shard in s.shards {
            let path = dir + "/" + shard.file
            let bytes = try FileIO.read(path)
            let sum = bytes.withUnsafeBytes { SHA256.hex($0) }
            guard sum == shard.sha256 else { throw .badInput("\(path): checksum mismatch (corrupt shard)") }
            let tokens = try TokenFile.decode(bytes, path: path)
            guard tokens.count == shard.tokens else { throw .badInput("\(path): token count differs from the index") }
            shards.append(tokens)
        }
        name = "\(dir):\(split)"
        self.shards = shards; bytes = s.bytes; vocab = index.vocab
    }

    /// Total tokens.
    public var tokenCount: Int { shards.reduce(0) { $0 + $1.count } }
}

/// Draws training windows from a weighted mixture of datasets. Every draw comes from the RNG
/// alone, so saving the RNG state in a checkpoint makes a resumed run see the same batches.
public struct MixtureSampler: Sendable {
    public let sources: [TokenSplit]
    private let cumulative: [Double]
    /// The sampling state (saved in checkpoints).
    public var rng: RNG

    /// `weights` need not sum to one; each is relative.
    public init(sources: [TokenSplit], weights: [Double], seed: UInt64) throws(TrainerError) {
        guard !sources.isEmpty, sources.count == weights.count else { throw .badInput("a job needs at least one dataset") }
        guard weights.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw .badInput("dataset weights must be positive") }
        let total = weights.reduce(0, +)
        var acc = 0.0
        cumulative = weights.map { acc += $0 / total; return acc }
        self.sources = sources
        rng = RNG(seed: seed)
    }

    /// `b` windows of `t + 1` tokens as inputs and next-token targets, row-major `b × t`.
    public mutating func nextBatch(b: Int, t: Int) throws(TrainerError) -> (x: [Int32], y: [Int32]) {
        var x = [Int32](repeating: 0, count: b * t), y = x
        for row in 0..<b {
            let u = rng.uniform()
            let s = sources[cumulative.firstIndex { u < $0 } ?? (sources.count - 1)]
            let usable = s.shards.filter { $0.count > t }
            guard !usable.isEmpty else { throw .badInput("\(s.name) has no shard longer than the context \(t)") }
            let windows = usable.map { $0.count - t }
            var pick = rng.below(windows.reduce(0, +))
            var shard = 0
            while pick >= windows[shard] { pick -= windows[shard]; shard += 1 }
            let tokens = usable[shard]
            for i in 0..<t {
                x[row * t + i] = Int32(tokens[pick + i])
                y[row * t + i] = Int32(tokens[pick + i + 1])
            }
        }
        return (x, y)
    }
}
