import Testing
@testable import Trainer

/// The whole model's backward pass against finite differences of its loss, for every tensor.
@Suite struct ModelGradientTests {
    @Test(arguments: [(1, true), (2, true), (2, false)])
    func everyTensor(threads: Int, bias: Bool) throws {
        let cfg = ModelConfig(layers: 2, heads: 2, width: 16, context: 6, vocab: 11, bias: bias)
        let model = try GPT(cfg, seed: 3, threads: threads)
        // Larger weights than GPT-2's 0.02 so every gradient stands well above fp32 rounding noise.
        var rng = RNG(seed: 99)
        for s in model.layout.tensors {
            for i in 0..<s.count { model.params.p[s.offset + i] += Float(rng.normal() * 0.3) }
        }
        let b = 2, t = 5
        let x: [Int32] = (0..<(b * t)).map { Int32(($0 * 7 + 3) % 11) }
        let y: [Int32] = (0..<(b * t)).map { Int32(($0 * 5 + 1) % 11) }
        model.zeroGrad()
        _ = try model.forward(tokens: x, targets: y, b: b, t: t)
        model.backward()
        let grads = model.grads.array
        let gc = GradCheck(eps: 1e-2)
        for s in model.layout.tensors {
            let analytic = Array(grads[s.offset..<(s.offset + s.count)])
            let err = gc.relativeError(input: model.params.p + s.offset, count: s.count, analytic: analytic, samples: 12) {
                Double(try! model.forward(tokens: x, targets: y, b: b, t: t))
            }
            #expect(err < 3e-3, "\(s.name): relative error \(err)")
        }
    }

    @Test(arguments: [1, 2]) func withDropout(threads: Int) throws {
        let cfg = ModelConfig(layers: 2, heads: 2, width: 16, context: 6, vocab: 11, dropout: 0.3)
        let model = try GPT(cfg, seed: 4, threads: threads)
        var rng = RNG(seed: 98)
        for i in 0..<model.layout.count { model.params.p[i] += Float(rng.normal() * 0.3) }
        model.training = true
        model.dropoutSeed = 1234  // fixed masks make the loss a deterministic function of the weights
        let x: [Int32] = (0..<10).map { Int32(($0 * 3 + 1) % 11) }, y: [Int32] = (0..<10).map { Int32(($0 * 7 + 2) % 11) }
        model.zeroGrad()
        let lossTrain = try model.forward(tokens: x, targets: y, b: 2, t: 5)
        model.backward()
        let grads = model.grads.array
        for s in model.layout.tensors {
            let err = GradCheck(eps: 1e-2).relativeError(input: model.params.p + s.offset, count: s.count,
                                                         analytic: Array(grads[s.offset..<(s.offset + s.count)]), samples: 8) {
                Double(try! model.forward(tokens: x, targets: y, b: 2, t: 5))
            }
            #expect(err < 3e-3, "\(s.name): relative error \(err)")
        }
        model.training = false
        let lossEval = try model.forward(tokens: x, targets: y, b: 2, t: 5)
        #expect(lossEval != lossTrain)  // evaluation runs without dropout
    }

    @Test func deterministicForThreadCount() throws {
        let cfg = ModelConfig(layers: 2, heads: 2, width: 32, context: 8, vocab: 13)
        func grads(_ threads: Int) throws -> [Float] {
            let m = try GPT(cfg, seed: 5, threads: threads)
            let x: [Int32] = (0..<24).map { Int32($0 % 13) }
            _ = try m.forward(tokens: x, targets: x.reversed(), b: 3, t: 8)
            m.backward()
            return m.grads.array
        }
        #expect(try grads(2) == grads(2))
        #expect(try grads(1) == grads(1))
    }

    @Test func rejectsBadShapes() throws {
        #expect(throws: TrainerError.badInput("model.heads (3) does not divide model.width (16)")) {
            _ = try GPT(ModelConfig(layers: 1, heads: 3, width: 16, context: 4, vocab: 5))
        }
        let m = try GPT(ModelConfig(layers: 1, heads: 2, width: 8, context: 4, vocab: 5))
        #expect(throws: TrainerError.self) { try m.forward(tokens: [0, 1, 2, 3, 4], targets: nil, b: 1, t: 5) }
        #expect(throws: TrainerError.self) { try m.forward(tokens: [0, 9], targets: nil, b: 1, t: 2) }
    }
}
