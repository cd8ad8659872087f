/// Vectorised elementary functions on 16 floats (Cephes-style range reduction and polynomials),
/// because the scalar `expf`/`tanhf` of the C library do not vectorise.
typealias F16 = SIMD16<Float>

enum VectorMath {
    /// e^x for every lane, relative error below 2e-7 over the float range (clamped outside it).
    @inline(__always)
    static func exp(_ x0: F16) -> F16 {
        // Clamp with masks (the generic `clamped` and float→int conversions do not vectorise).
        var x = x0
        x.replace(with: -87.3, where: x .< -87.3)
        x.replace(with: 88.3, where: x .> 88.3)
        // n = round(x / ln 2) by the 1.5·2²³ trick; the low bits of `shifted` then hold n.
        let shifted = x * 1.442_695_040_888_963_4 + 12_582_912
        let n = shifted - 12_582_912
        var r = x - n * 0.693_359_375
        r = r - n * -2.121_944_400_546_905_8e-4
        // Cephes expf polynomial for e^r - 1 - r on [-ln2/2, ln2/2].
        var p = F16(repeating: 1.987_569_150_0e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let e = p * (r * r) + r + 1
        let bits = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return e * unsafeBitCast(bits, to: F16.self)
    }

    /// tanh(x) = 1 - 2 / (e^{2x} + 1), saturating cleanly at ±1.
    @inline(__always)
    static func tanh(_ x: F16) -> F16 {
        let e = exp(x * 2)
        return 1 - 2 / (e + 1)
    }

    /// Scalar e^x through the vector path, so scalar tails match vector lanes bit for bit.
    @inline(__always)
    static func exp(_ x: Float) -> Float { exp(F16(repeating: x))[0] }

    /// Scalar tanh through the vector path.
    @inline(__always)
    static func tanh(_ x: Float) -> Float { tanh(F16(repeating: x))[0] }
}

/// Loads and stores of 16 floats at a pointer (unaligned).
extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func load16(_ i: Int) -> F16 {
        UnsafeRawPointer(self + i).loadUnaligned(as: F16.self)
    }
    @inline(__always) func store16(_ i: Int, _ v: F16) {
        UnsafeMutableRawPointer(self + i).storeBytes(of: v, as: F16.self)
    }
}

extension UnsafePointer where Pointee == Float {
    @inline(__always) func load16(_ i: Int) -> F16 {
        UnsafeRawPointer(self + i).loadUnaligned(as: F16.self)
    }
}
