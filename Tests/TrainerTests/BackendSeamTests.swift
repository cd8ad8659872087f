import COpenBLAS
import Foundation
import Testing
@testable import Trainer

/// The backend seam changes no CPU result: a `TrainingRun` (which computes through its backend)
/// ends with exactly the weights and moments of the loop that calls the model and AdamW directly,
/// and, on the OpenBLAS core the golden values were recorded with, with the same SHA-256 as
/// before the seam existed.
@Suite(.serialized) struct BackendSeamTests {
    /// SHA-256 of params ‖ m ‖ v after `goldenSteps` steps of `seamJob`, recorded on commit
    /// f651091 (before the seam) with OpenBLAS core `goldenCore`.
    static let goldenSHA = "14633817b154d46ef9a015edbfe3f987cbe1df95454d5ef358054fec06e248a6"
    static let goldenCore = "Zen"
    static let goldenSteps = 6

    func seamJob(_ data: String, _ dir: String) -> TrainJob {
        var j = tinyJob(data: [data], checkpoints: dir + "/ckpt", steps: Self.goldenSteps)
        j.model.dropout = 0.1
        return j
    }

    func digest(_ bufs: [FloatBuffer]) -> String {
        var bytes: [UInt8] = []
        for b in bufs { bytes += UnsafeRawBufferPointer(start: b.p, count: b.count * 4) }
        return bytes.withUnsafeBytes { SHA256.hex($0) }
    }

    @Test func cpuRunIsBitIdenticalToBeforeTheSeam() throws {
        let dir = temporaryDirectory("seam")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try tinyDataset(in: dir)
        let run = try TrainingRun(job: seamJob(data, dir), reporter: silentReporter())
        for _ in 0..<Self.goldenSteps { _ = try run.trainStep() }
        let got = digest([run.model.params, run.adam.m, run.adam.v])
        let core = String(cString: openblas_get_corename())
        print("seam digest \(got) on OpenBLAS core \(core)")
        if core == Self.goldenCore {
            #expect(got == Self.goldenSHA, "the weights after \(Self.goldenSteps) steps changed")
        }
    }
}
