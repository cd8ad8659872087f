import Foundation

/// Options of `hearth-worker prepare`.
public struct PrepareOptions: Sendable {
    /// Text files, or directories whose `*.txt` files are taken in name order.
    public var inputs: [String]
    /// The dataset directory to create (must not exist).
    public var output: String
    /// `char`, `gpt2:DIR` (GPT-2's `encoder.json` + `vocab.bpe` in DIR) or `bpe:VOCAB` (train merges).
    public var tokenizer: String = "char"
    /// Fraction of the text (by characters, at the end) held out as the `val` split.
    public var valFraction: Double = 0.1
    /// Maximum tokens per shard.
    public var shardTokens: Int = 1 << 24
    /// Only files whose names end with this are taken from directories.
    public var suffix: String = ".txt"

    public init(inputs: [String], output: String) { self.inputs = inputs; self.output = output }
}

/// Tokenizes text files into a dataset directory (see `DatasetIndex`): the texts joined by blank
/// lines, split by characters into train and val (as nanoGPT's prepare scripts), sharded with a
/// SHA-256 per shard. Built in a temporary directory and renamed into place.
public func prepareDataset(_ o: PrepareOptions) throws(TrainerError) -> DatasetIndex {
    guard !FileIO.exists(o.output) else { throw .badInput("\(o.output) already exists") }
    guard (0..<1).contains(o.valFraction) else { throw .badInput("--val-fraction must be in [0, 1)") }
    guard o.shardTokens > 0 else { throw .badInput("--shard-tokens must be positive") }
    var files: [String] = []
    for input in o.inputs {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir) else { throw .badInput("\(input) does not exist") }
        if isDir.boolValue {
            files += FileIO.list(input).filter { $0.hasSuffix(o.suffix) }.map { input + "/" + $0 }
        } else {
            files.append(input)
        }
    }
    guard !files.isEmpty else { throw .badInput("no input text files") }
    var texts: [String] = []
    for f in files {
        guard let s = String(validating: try FileIO.read(f), as: UTF8.self) else { throw .badInput("\(f) is not UTF-8 text") }
        texts.append(s)
    }
    let text = texts.joined(separator: "\n\n")
    let scalars = Array(text.unicodeScalars)
    let cut = Int(Double(scalars.count) * (1 - o.valFraction))
    var train = String.UnicodeScalarView(), val = String.UnicodeScalarView()
    train.append(contentsOf: scalars[..<cut]); val.append(contentsOf: scalars[cut...])
    let trainText = String(train), valText = String(val)

    let tokenizer: any Tokenizer
    if o.tokenizer == "char" {
        tokenizer = CharTokenizer(training: text)
    } else if o.tokenizer.hasPrefix("gpt2:") {
        tokenizer = try BPETokenizer.gpt2(directory: String(o.tokenizer.dropFirst(5)))
    } else if o.tokenizer.hasPrefix("bpe:"), let v = Int(o.tokenizer.dropFirst(4)) {
        tokenizer = try BPETokenizer.train(text: trainText, vocabSize: v)
    } else {
        throw .badInput("unknown tokenizer \(o.tokenizer) (use char, gpt2:DIR or bpe:VOCAB)")
    }
    guard tokenizer.vocabSize <= 65_536 else { throw .badInput("vocabulary \(tokenizer.vocabSize) exceeds token file version 1 (uint16)") }

    let tmp = o.output + ".tmp-\(getpid())"
    try FileIO.makeDirectories(tmp)
    do throws(TrainerError) {
        var splits: [String: DatasetIndex.Split] = [:]
        for (name, part) in [("train", trainText), ("val", valText)] where !part.isEmpty {
            let ids = try tokenizer.encode(part)
            var shards: [DatasetIndex.Shard] = []
            var start = 0
            while start < ids.count {
                let end = min(ids.count, start + o.shardTokens)
                let file = "\(name)-\(String(format: "%05d", shards.count)).bin"
                let bytes = TokenFile.encode(Array(ids[start..<end]))
                try FileIO.writeAtomically(tmp + "/" + file, bytes)
                shards.append(.init(file: file, tokens: end - start, sha256: bytes.withUnsafeBytes { SHA256.hex($0) }))
                start = end
            }
            splits[name] = .init(bytes: part.utf8.count, shards: shards)
        }
        try saveTokenizer(tokenizer, to: tmp + "/tokenizer.json")
        let index = DatasetIndex(vocab: tokenizer.vocabSize, splits: splits)
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let json = try? enc.encode(index) else { throw TrainerError.io("cannot encode index.json") }
        try FileIO.writeAtomically(tmp + "/index.json", Array(json))
        guard rename(tmp, o.output) == 0 else { throw TrainerError.io("cannot rename \(tmp) to \(o.output)") }
        FileIO.syncDirectory(of: o.output)
        return index
    } catch {
        Checkpoint.removeTree(tmp)
        throw error
    }
}
