#if canImport(Glibc)
import Glibc
#endif

/// Turns next-token logits into log-probabilities and picks tokens from them: greedily, or by
/// seeded sampling with temperature, top-k and nucleus (top-p) truncation.
public struct Sampler: Sendable {
    /// Softmax temperature; 0 picks the most likely token. Defaults to `1`.
    public var temperature: Double = 1
    /// Keep only the `topK` most likely tokens (0: all). Defaults to `0`.
    public var topK: Int = 0
    /// Keep the smallest set of most likely tokens whose mass reaches `topP`. Defaults to `1` (all).
    public var topP: Double = 1
    private var rng: RNG

    /// A sampler whose random choices are fixed by `seed`.
    public init(temperature: Double = 1, topK: Int = 0, topP: Double = 1, seed: UInt64 = 1337) {
        self.temperature = temperature; self.topK = topK; self.topP = topP
        rng = RNG(seed: seed)
    }

    /// `log softmax(logits)`, computed in double precision.
    public static func logSoftmax(_ logits: UnsafeBufferPointer<Float>) -> [Double] {
        var mx = -Double.infinity
        for x in logits { mx = max(mx, Double(x)) }
        var sum = 0.0
        for x in logits { sum += exp(Double(x) - mx) }
        let lse = mx + log(sum)
        return logits.map { Double($0) - lse }
    }

    /// `log softmax(logits)` for an array.
    public static func logSoftmax(_ logits: ArraySlice<Float>) -> [Double] {
        logits.withUnsafeBufferPointer { logSoftmax($0) }
    }

    /// The index of the largest value (the first one on ties).
    public static func argmax<C: Collection>(_ xs: C) -> Int where C.Element: Comparable, C.Index == Int {
        var best = xs.startIndex
        for i in xs.indices where xs[i] > xs[best] { best = i }
        return best - xs.startIndex
    }

    /// Picks the next token from log-probabilities `lp`.
    public mutating func pick(_ lp: [Double]) -> Int32 {
        if temperature == 0 { return Int32(Self.argmax(lp)) }
        var order = Array(lp.indices)
        if topK > 0 || topP < 1 { order.sort { lp[$0] > lp[$1] } }
        if topK > 0 && topK < order.count { order.removeLast(order.count - topK) }
        let mx = order.map { lp[$0] }.max() ?? 0
        var w = order.map { exp((lp[$0] - mx) / temperature) }
        if topP < 1 {
            let total = w.reduce(0, +)
            var acc = 0.0, keep = w.count
            for (i, wi) in w.enumerated() {
                acc += wi
                if acc >= topP * total { keep = i + 1; break }
            }
            w.removeLast(w.count - keep); order.removeLast(order.count - keep)
        }
        var u = rng.uniform() * w.reduce(0, +)
        for (i, wi) in w.enumerated() {
            if u < wi { return Int32(order[i]) }
            u -= wi
        }
        return Int32(order.last ?? 0)
    }
}
