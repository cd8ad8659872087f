import Testing
@testable import Trainer

/// Finite-difference gradient checks of every layer's backward pass, on 1 and 2 threads.
@Suite struct LayerGradientTests {
    let tolerance = 2e-3

    @Test(arguments: [1, 2]) func layerNorm(threads: Int) throws {
        let par = Parallel(threads: threads)
        let n = 6, c = 20
        let x = buffer(randomArray(n * c, seed: 1)), w = buffer(randomArray(c, seed: 2)), b = buffer(randomArray(c, seed: 3))
        let out = FloatBuffer(n * c), mean = FloatBuffer(n), rstd = FloatBuffer(n), wOut = randomArray(n * c, seed: 4)
        func f() -> Double {
            LayerNorm.forward(par, out: out.p, mean: mean.p, rstd: rstd.p, inp: x.p, w: w.p, b: b.p, n: n, c: c)
            return dot(out.p, wOut)
        }
        _ = f()
        let dx = FloatBuffer(n * c), dw = FloatBuffer(c), db = FloatBuffer(c), scratch = FloatBuffer(par.maxChunks * 2 * c)
        LayerNorm.backward(par, dinp: dx.p, dw: dw.p, db: db.p, dout: wOut, inp: x.p, w: w.p, mean: mean.p,
                           rstd: rstd.p, n: n, c: c, scratch: scratch.p)
        let gc = GradCheck()
        #expect(gc.relativeError(input: x.p, count: n * c, analytic: dx.array, objective: f) < tolerance)
        #expect(gc.relativeError(input: w.p, count: c, analytic: dw.array, objective: f) < tolerance)
        #expect(gc.relativeError(input: b.p, count: c, analytic: db.array, objective: f) < tolerance)
    }

    @Test(arguments: [1, 2]) func linear(threads: Int) throws {
        let par = Parallel(threads: threads)
        let n = 7, ic = 12, oc = 36
        let x = buffer(randomArray(n * ic, seed: 5)), w = buffer(randomArray(ic * oc, seed: 6, scale: 0.3))
        let b = buffer(randomArray(oc, seed: 7)), out = FloatBuffer(n * oc), wOut = randomArray(n * oc, seed: 8)
        func f() -> Double {
            Linear.forward(par, out: out.p, inp: x.p, w: w.p, b: b.p, n: n, ic: ic, oc: oc)
            return dot(out.p, wOut)
        }
        _ = f()
        let dx = FloatBuffer(n * ic), dw = FloatBuffer(ic * oc), db = FloatBuffer(oc)
        Linear.backward(par, dinp: dx.p, dw: dw.p, db: db.p, dout: wOut, inp: x.p, w: w.p, n: n, ic: ic, oc: oc)
        let gc = GradCheck()
        #expect(gc.relativeError(input: x.p, count: n * ic, analytic: dx.array, objective: f) < tolerance)
        #expect(gc.relativeError(input: w.p, count: ic * oc, analytic: dw.array, objective: f) < tolerance)
        #expect(gc.relativeError(input: b.p, count: oc, analytic: db.array, objective: f) < tolerance)
    }

    @Test(arguments: [1, 2]) func attention(threads: Int) throws {
        let par = Parallel(threads: threads)
        let b = 2, t = 5, c = 8, heads = 2
        let qkv = buffer(randomArray(b * t * 3 * c, seed: 9)), out = FloatBuffer(b * t * c)
        let att = FloatBuffer(b * heads * t * t), wOut = randomArray(b * t * c, seed: 10)
        func f() -> Double {
            Attention.forward(par, out: out.p, att: att.p, qkv: qkv.p, b: b, t: t, c: c, heads: heads)
            return dot(out.p, wOut)
        }
        _ = f()
        let dqkv = FloatBuffer(b * t * 3 * c), scratch = FloatBuffer(threads * t * t)
        Attention.backward(par, dqkv: dqkv.p, dout: wOut, qkv: qkv.p, att: att.p, b: b, t: t, c: c, heads: heads,
                           scratch: scratch.p)
        #expect(GradCheck().relativeError(input: qkv.p, count: qkv.count, analytic: dqkv.array, samples: 240,
                                          objective: f) < tolerance)
        // Causality: the first position's output depends only on the first position.
        let before = out.array
        qkv.p[(t - 1) * 3 * c + c] += 1  // a key of the last position in batch row 0
        _ = f()
        #expect(Array(out.array[0..<c]) == Array(before[0..<c]))
    }

    @Test(arguments: [1, 2]) func gelu(threads: Int) throws {
        let par = Parallel(threads: threads)
        let n = 37
        let x = buffer(randomArray(n, seed: 11, scale: 2)), out = FloatBuffer(n), wOut = randomArray(n, seed: 12)
        func f() -> Double { GELU.forward(par, out: out.p, inp: x.p, count: n); return dot(out.p, wOut) }
        _ = f()
        let dx = FloatBuffer(n)
        GELU.backward(par, dinp: dx.p, inp: x.p, dout: wOut, count: n)
        #expect(GradCheck().relativeError(input: x.p, count: n, analytic: dx.array, samples: n, objective: f) < tolerance)
    }

    @Test(arguments: [1, 2]) func embedding(threads: Int) throws {
        let par = Parallel(threads: threads)
        let b = 2, t = 3, c = 4, v = 5
        let tokens: [Int32] = [1, 4, 1, 0, 2, 4]
        let wte = buffer(randomArray(v * c, seed: 13)), wpe = buffer(randomArray(t * c, seed: 14))
        let out = FloatBuffer(b * t * c), wOut = randomArray(b * t * c, seed: 15)
        func f() -> Double {
            Embedding.forward(par, out: out.p, tokens: tokens, wte: wte.p, wpe: wpe.p, b: b, t: t, c: c)
            return dot(out.p, wOut)
        }
        _ = f()
        let dwte = FloatBuffer(v * c), dwpe = FloatBuffer(t * c)
        Embedding.backward(par, dwte: dwte.p, dwpe: dwpe.p, dout: wOut, tokens: tokens, b: b, t: t, c: c)
        let gc = GradCheck()
        #expect(gc.relativeError(input: wte.p, count: v * c, analytic: dwte.array, samples: v * c, objective: f) < tolerance)
        #expect(gc.relativeError(input: wpe.p, count: t * c, analytic: dwpe.array, samples: t * c, objective: f) < tolerance)
    }

    @Test(arguments: [1, 2]) func crossEntropy(threads: Int) throws {
        let par = Parallel(threads: threads)
        let n = 4, v = 19
        let targets: [Int32] = [3, 0, 18, 7]
        let logits = buffer(randomArray(n * v, seed: 16)), probs = FloatBuffer(n * v), losses = FloatBuffer(n)
        func f() -> Double {
            probs.p.update(from: logits.p, count: n * v)
            CrossEntropy.forward(par, probs: probs.p, losses: losses.p, targets: targets, n: n, v: v)
            return (0..<n).reduce(0.0) { $0 + Double(losses.p[$1]) } / Double(n)
        }
        _ = f()
        CrossEntropy.backward(par, probs: probs.p, targets: targets, n: n, v: v, scale: 1 / Float(n))
        let analytic = probs.array
        #expect(GradCheck().relativeError(input: logits.p, count: n * v, analytic: analytic, samples: n * v,
                                          objective: f) < tolerance)
    }
}
