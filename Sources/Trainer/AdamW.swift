/// Hyper-parameters of AdamW and the learning-rate schedule.
public struct OptimizerConfig: Codable, Sendable, Equatable {
    /// Peak learning rate.
    public var lr: Double = 1e-3
    /// Final learning rate of the cosine decay.
    public var minLR: Double = 1e-4
    /// Linear warmup steps.
    public var warmup: Int = 100
    /// Step at which the cosine reaches `minLR` (usually the run's total steps).
    public var decaySteps: Int = 2000
    public var beta1: Double = 0.9
    public var beta2: Double = 0.99
    public var eps: Double = 1e-8
    /// Decoupled weight decay, applied to matrices and embeddings only.
    public var weightDecay: Double = 0.1
    /// Clip the global gradient norm to this value (0 disables clipping).
    public var gradClip: Double = 1.0

    public init() {}

    // Job files use snake_case (`min_lr`, `decay_steps`, `weight_decay`, `grad_clip`); every field is optional.
    enum CodingKeys: String, CodingKey {
        case lr, minLR = "minLr", warmup, decaySteps, beta1, beta2, eps, weightDecay, gradClip
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = OptimizerConfig()
        lr = try c.decodeIfPresent(Double.self, forKey: .lr) ?? d.lr
        minLR = try c.decodeIfPresent(Double.self, forKey: .minLR) ?? d.minLR
        warmup = try c.decodeIfPresent(Int.self, forKey: .warmup) ?? d.warmup
        decaySteps = try c.decodeIfPresent(Int.self, forKey: .decaySteps) ?? d.decaySteps
        beta1 = try c.decodeIfPresent(Double.self, forKey: .beta1) ?? d.beta1
        beta2 = try c.decodeIfPresent(Double.self, forKey: .beta2) ?? d.beta2
        eps = try c.decodeIfPresent(Double.self, forKey: .eps) ?? d.eps
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
        gradClip = try c.decodeIfPresent(Double.self, forKey: .gradClip) ?? d.gradClip
    }

    /// nanoGPT's schedule: linear warmup to `lr`, cosine decay to `minLR` at `decaySteps`, then flat.
    /// `it` counts optimizer steps from 0.
    public func learningRate(at it: Int) -> Double {
        if it < warmup { return lr * Double(it + 1) / Double(warmup + 1) }
        if it > decaySteps { return minLR }
        let r = Double(it - warmup) / Double(max(1, decaySteps - warmup))
        return minLR + 0.5 * (1 + cos(Double.pi * r)) * (lr - minLR)
    }
}

/// AdamW with global-norm clipping over a model's flat parameter buffer.
public final class AdamW {
    public let config: OptimizerConfig
    /// First and second moments, in the parameter layout.
    public let m: FloatBuffer, v: FloatBuffer
    /// Optimizer steps taken so far.
    public var step: Int = 0
    private let segments: [(range: Range<Int>, decay: Bool)]

    public init(_ config: OptimizerConfig, layout: ParameterLayout) {
        self.config = config
        m = FloatBuffer(layout.count); v = FloatBuffer(layout.count)
        segments = layout.tensors.map { ($0.offset..<($0.offset + $0.count), $0.decay) }
    }

    /// The global L2 norm of `grads`, summed per chunk in Double and combined in chunk order.
    public static func globalNorm(_ par: Parallel, _ grads: FloatBuffer) -> Double {
        var partial = [Double](repeating: 0, count: par.maxChunks)
        partial.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            par.forEachChunk(grads.count, grain: 1 << 14) { t, r in
                var acc = SIMD16<Float>(), s = 0.0
                var i = r.lowerBound
                // Sum in float blocks of 1024 elements, then in Double, to stay accurate and fast.
                while i < r.upperBound {
                    let end = min(r.upperBound, i + 1024)
                    while i + 16 <= end { let g = grads.p.load16(i); acc += g * g; i += 16 }
                    var tail: Float = 0
                    while i < end { tail += grads.p[i] * grads.p[i]; i += 1 }
                    s += Double(acc.sum()) + Double(tail); acc = SIMD16<Float>()
                }
                o[t] = s
            }
        }
        return partial.reduce(0, +).squareRoot()
    }

    /// Applies one update with learning rate `lr` to `params` from `grads`; returns the gradient norm
    /// before clipping.
    @discardableResult
    public func update(_ par: Parallel, params: FloatBuffer, grads: FloatBuffer, lr: Double) -> Double {
        step += 1
        let norm = AdamW.globalNorm(par, grads)
        let clip = config.gradClip > 0 ? min(1, config.gradClip / (norm + 1e-6)) : 1
        let b1 = Float(config.beta1), b2 = Float(config.beta2), eps = Float(config.eps)
        let c1 = Float(1 - pow(config.beta1, Double(step))), c2 = Float(1 - pow(config.beta2, Double(step)))
        let stepSize = Float(lr) / c1, invC2 = 1 / c2
        let decayFactor = Float(1 - lr * config.weightDecay), scale = Float(clip)
        let p = params.p, g = grads.p, m = m.p, v = v.p
        let segments = self.segments
        par.forEachChunk(params.count, grain: 1 << 14) { _, r in
            for seg in segments where seg.range.overlaps(r) {
                let lo = max(seg.range.lowerBound, r.lowerBound), hi = min(seg.range.upperBound, r.upperBound)
                let keep: Float = seg.decay ? decayFactor : 1
                // One fused, vectorised pass: the update is bound by memory traffic (p, g, m, v).
                var i = lo
                while i + 16 <= hi {
                    let gi = g.load16(i) * scale
                    let mi = b1 * m.load16(i) + (1 - b1) * gi
                    let vi = b2 * v.load16(i) + (1 - b2) * gi * gi
                    m.store16(i, mi); v.store16(i, vi)
                    let denom = (vi * invC2).squareRoot() + eps
                    p.store16(i, p.load16(i) * keep - stepSize * mi / denom)
                    i += 16
                }
                while i < hi {
                    let gi = g[i] * scale
                    let mi = b1 * m[i] + (1 - b1) * gi
                    let vi = b2 * v[i] + (1 - b2) * gi * gi
                    m[i] = mi; v[i] = vi
                    p[i] = p[i] * keep - stepSize * mi / ((vi * invC2).squareRoot() + eps)
                    i += 1
                }
            }
        }
        return norm
    }
}

#if canImport(Glibc)
import Glibc
#endif
