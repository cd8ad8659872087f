import Foundation
import HearthEval
import Testing
import Trainer

/// An eval job that names no tokenizer uses the one its checkpoint carries (the trainer copies
/// the data's tokenizer into each checkpoint), or says what to give.
@Suite struct EvalJobTokenizerTests {
    @Test func theCheckpointsTokenizerIsTheDefault() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("evaltok-\(UUID().uuidString)")
        let checkpoint = root.appendingPathComponent("step-00000010")
        try FileManager.default.createDirectory(at: checkpoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        var job = try decoder.decode(EvalJob.self, from: Data("""
            {"checkpoint": "\(checkpoint.path)", "tasks": [], "results_path": "\(root.path)/r.json"}
            """.utf8))
        #expect(throws: TrainerError.badInput("""
            no tokenizer: give "tokenizer" (the dataset's tokenizer.json); none was found in or beside \(checkpoint.path)
            """)) { try job.resolvedTokenizer() }
        try Data("{}".utf8).write(to: checkpoint.appendingPathComponent("tokenizer.json"))
        #expect(try job.resolvedTokenizer() == checkpoint.appendingPathComponent("tokenizer.json").path)
        job.tokenizer = "/elsewhere/tokenizer.json"
        #expect(try job.resolvedTokenizer() == "/elsewhere/tokenizer.json", "a given tokenizer wins")
    }
}
