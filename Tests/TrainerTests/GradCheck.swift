@testable import Trainer

/// Finite-difference checking of an analytic gradient.
///
/// The objective is `f(x) = Σ out(x)ᵢ · wᵢ` with fixed random weights `w`, accumulated in Double;
/// the analytic gradient is the layer's backward pass fed `dout = w`. Central differences in fp32
/// with a step of `eps` are compared through the relative error ‖a − n‖ / (‖a‖ + ‖n‖) over the
/// checked coordinates, the usual gradient-check statistic.
struct GradCheck {
    var eps: Float = 1e-2

    /// Relative error between `analytic` and the numeric gradient of `objective` over `input`,
    /// probing at most `samples` evenly spaced coordinates.
    func relativeError(input: UnsafeMutablePointer<Float>, count: Int, analytic: [Float], samples: Int = 24,
                       objective: () -> Double) -> Double {
        var num2 = 0.0, an2 = 0.0, diff2 = 0.0
        let stride = max(1, count / samples)
        for i in Swift.stride(from: 0, to: count, by: stride) {
            let saved = input[i]
            input[i] = saved + eps; let fp = objective()
            input[i] = saved - eps; let fm = objective()
            input[i] = saved
            let numeric = (fp - fm) / (2 * Double(eps))
            num2 += numeric * numeric; an2 += Double(analytic[i]) * Double(analytic[i])
            diff2 += (numeric - Double(analytic[i])) * (numeric - Double(analytic[i]))
        }
        let denom = num2.squareRoot() + an2.squareRoot()
        return denom == 0 ? 0 : diff2.squareRoot() / denom
    }
}

/// Deterministic random arrays for tests.
func randomArray(_ n: Int, seed: UInt64, scale: Double = 1) -> [Float] {
    var rng = RNG(seed: seed)
    return (0..<n).map { _ in Float(rng.normal() * scale) }
}

/// `Σ aᵢ bᵢ` in Double.
func dot(_ a: UnsafePointer<Float>, _ b: [Float]) -> Double {
    var s = 0.0
    for i in 0..<b.count { s += Double(a[i]) * Double(b[i]) }
    return s
}

/// A FloatBuffer holding `values`.
func buffer(_ values: [Float]) -> FloatBuffer {
    let b = FloatBuffer(values.count)
    for (i, v) in values.enumerated() { b.p[i] = v }
    return b
}
