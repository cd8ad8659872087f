import Foundation
import Testing
@testable import HearthEval
import Trainer

/// Each metric's definition on a worked example computed by hand.
@Suite struct MetricDefinitionTests {
    /// Two documents, LL −10 and −20, 3 + 5 words, 12 + 18 bytes: LL = −30 over 8 words and 30 bytes.
    @Test func perplexityWeightsByWordsAndBytes() {
        let m = PerplexityTask.metrics([.init(loglikelihood: -10, words: 3, bytes: 12), .init(loglikelihood: -20, words: 5, bytes: 18)])
        #expect(close(m[0].value, exp(30.0 / 8)))  // word_perplexity
        #expect(close(m[1].value, exp(1.0)))       // byte_perplexity
        #expect(close(m[2].value, 1 / log(2.0)))   // bits_per_byte
        #expect(m.map(\.name) == ["word_perplexity", "byte_perplexity", "bits_per_byte"])
    }

    /// Python's `len(re.split(r"\s+", s))`, leading and trailing whitespace included.
    @Test func wordsAreCountedAsTheHarness() {
        #expect(PerplexityTask.wordCount("a b") == 2)
        #expect(PerplexityTask.wordCount(" a  b\n") == 4)
        #expect(PerplexityTask.wordCount("") == 1)
        #expect(PerplexityTask.wordCount("to be or not to be\nthat is  the question\n") == 11)
    }

    /// acc takes the raw argmax; acc_norm divides by the choice's characters: −3/2 < −4/4.
    @Test func accAndAccNorm() {
        let g = MultipleChoiceTask.grade(loglikelihoods: [-3, -4], choices: ["ab", "abcd"], gold: 1)
        #expect(g.acc == 0 && g.accNorm == 1)
        // Ties go to the first choice, as numpy's argmax.
        #expect(MultipleChoiceTask.grade(loglikelihoods: [-2, -2], choices: ["x", "y"], gold: 1).acc == 0)
    }

    /// Three pairs: preferred, not preferred, a tie (not preferred): 1/3; diffs 1, 2, 0.
    @Test func crowsPairs() {
        let m = CrowsPairsTask.metrics([.init(more: -5, less: -6, biasType: "a"), .init(more: -8, less: -6, biasType: "a"),
                                        .init(more: -3, less: -3, biasType: "b")])
        #expect(close(m[0].value, 1.0 / 3) && m[0].name == "pct_stereotype")
        #expect(close(m[1].value, 1.0) && m[1].name == "likelihood_diff")
        #expect(close(m[0].stderr, (1.0 / 3 / 3).squareRoot()))  // sample sd √(1/3) over √3
    }

    /// Target A: (s −1, a −2, u −3) and (s −2, a −1, u −1.5): ss 50, lms 75; target B: (−1, −0.5, −0.2):
    /// ss 0, lms 0. Means over targets: ss 25, lms 37.5; icat = 37.5 · 25 / 50 = 18.75.
    @Test func stereoSetMacroAveragesOverTargets() {
        let m = StereoSetTask.metrics([
            .init(target: "A", stereotype: -1, antiStereotype: -2, unrelated: -3),
            .init(target: "A", stereotype: -2, antiStereotype: -1, unrelated: -1.5),
            .init(target: "B", stereotype: -1, antiStereotype: -0.5, unrelated: -0.2),
        ])
        #expect(m.map(\.name) == ["lms", "ss", "icat"])
        #expect(close(m[0].value, 37.5) && close(m[1].value, 25) && close(m[2].value, 18.75))
        #expect(StereoSetTask.icat(lms: 100, ss: 50) == 100 && StereoSetTask.icat(lms: 90, ss: 100) == 0)
    }

    @Test func lambadaPerplexityIsOverTheMeanLoglikelihood() {
        let m = LambadaTask.metrics([(-1, true), (-3, false)])
        #expect(close(m[0].value, exp(2.0)) && m[1].value == 0.5)
    }

    @Test func csvFollowsRFC4180() throws {
        let r = try CSV.parse("a,b,c\r\n1,\"x, \"\"y\"\"\",\"two\nlines\"\n,,\n", path: "t.csv")
        #expect(r == [["a", "b", "c"], ["1", "x, \"y\"", "two\nlines"], ["", "", ""]])
        #expect(throws: TrainerError.self) { _ = try CSV.parse("\"open", path: "t.csv") }
        #expect(throws: TrainerError.self) { _ = try CSV.parse("\"a\"b,c", path: "t.csv") }
    }
}
