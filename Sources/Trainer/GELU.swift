/// GPT-2's tanh approximation of GELU, elementwise.
enum GELU {
    static let k: Float = 0.797_884_560_802_865_4  // sqrt(2/pi)
    static let a: Float = 0.044715

    @inline(__always) static func value(_ x: F16) -> F16 {
        let x3: F16 = x * x * x
        let u: F16 = k * (x + a * x3)
        let th: F16 = VectorMath.tanh(u)
        return 0.5 * x * (1 + th)
    }

    @inline(__always) static func derivative(_ x: F16) -> F16 {
        let x2: F16 = x * x
        let u: F16 = k * (x + a * x2 * x)
        let th: F16 = VectorMath.tanh(u)
        let du: F16 = k * (1 + 3 * a * x2)
        let left: F16 = 0.5 * (1 + th)
        let right: F16 = 0.5 * x * (1 - th * th) * du
        return left + right
    }

    static func forward(_ par: Parallel, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        par.forEachChunk(count, grain: 4096) { _, range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                out.store16(i, value(inp.load16(i)))
                i += 16
            }
            while i < range.upperBound {
                out[i] = value(F16(repeating: inp[i]))[0]
                i += 1
            }
        }
    }

    /// `dinp = dout * gelu'(inp)` (overwrite).
    static func backward(_ par: Parallel, dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                         dout: UnsafePointer<Float>, count: Int) {
        par.forEachChunk(count, grain: 4096) { _, range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                dinp.store16(i, derivative(inp.load16(i)) * dout.load16(i))
                i += 16
            }
            while i < range.upperBound {
                dinp[i] = derivative(F16(repeating: inp[i]))[0] * dout[i]
                i += 1
            }
        }
    }
}
