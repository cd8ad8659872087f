import Foundation
import Testing
@testable import Trainer

/// The scorer's windows against lm-evaluation-harness's own `get_rolling_token_windows` and
/// `make_disjoint_window`, imported from the lm-eval==0.4.13 wheel that `./bootstrap` unpacks.
@Suite struct ScoringReferenceTests {
    static let harness = "/tmp/hearth-reference/pkgs/lmeval"
    /// Whether the harness's utils import here (they need numpy, requests, pyyaml and jinja2).
    static let present: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sys; sys.path.insert(0, '\(harness)'); import lm_eval.utils"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    @Test(.enabled(if: present, "SKIPPED: run ./bootstrap (unpacks lm-eval==0.4.13; needs numpy, requests, pyyaml, jinja2)"))
    func windowsEqualTheHarnesss() throws {
        // For each case the harness's windows as [context, continuation] in token positions of
        // [prefix] + tokens (the prefix is position 0, token i is position i + 1).
        let cases = [(1, 4, 1), (3, 4, 1), (4, 4, 1), (5, 4, 1), (10, 4, 1), (10, 4, 2), (37, 8, 3), (64, 16, 16), (100, 7, 1), (9, 3, 3)]
        let script = """
            import json, sys
            sys.path.insert(0, "\(Self.harness)")
            from lm_eval.utils import get_rolling_token_windows, make_disjoint_window
            out = []
            for n, t, c in \(cases.map { [$0.0, $0.1, $0.2] }):
                out.append([make_disjoint_window(w) for w in get_rolling_token_windows(list(range(1, n + 1)), 0, t, c)])
            print(json.dumps(out))
            """
        let p = Process(), pipe = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script]
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let reference = try #require(try JSONSerialization.jsonObject(with: data) as? [[[[Int]]]])
        for ((n, t, c), windows) in zip(cases, reference) {
            let ours = Scorer.windows(total: n + 1, from: 1, maxLength: t, contextLength: c)
            // The model reads context + continuation minus its last token, and predicts the continuation.
            let theirs = windows.map { w in Scorer.Window(input: w[0].first!..<(w[1].last!), predicted: w[1].first!..<(w[1].last! + 1)) }
            #expect(ours == theirs, "n \(n), max_seq_len \(t), context_len \(c)")
            for w in windows { #expect(w[0] + w[1].dropLast() == Array(w[0].first!..<w[1].last!), "contiguous input") }
        }
    }
}
