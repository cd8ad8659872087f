/// Byte-level BPE (GPT-2 style). Not implemented yet: loading and training report a clear error.
public struct BPETokenizer: Tokenizer {
    public var vocabSize: Int { 0 }

    /// GPT-2's tokenizer from `encoder.json` and `vocab.bpe`.
    public static func gpt2(directory: String) throws(TrainerError) -> BPETokenizer {
        throw .badInput("byte-level BPE tokenizers are not implemented yet")
    }

    /// Learns merges from `text` up to `vocabSize` ids.
    public static func train(text: String, vocabSize: Int) throws(TrainerError) -> BPETokenizer {
        throw .badInput("byte-level BPE tokenizers are not implemented yet")
    }

    public func encode(_ text: String) throws(TrainerError) -> [Int32] { [] }
    public func decode(_ ids: [Int32]) -> [UInt8] { [] }
    public func serialized() -> [String: Any] { ["type": "bpe", "version": 1] }
}
