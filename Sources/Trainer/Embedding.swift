/// Token plus learned position embeddings.
enum Embedding {
    /// `out[b, t, :] = wte[tokens[b, t]] + wpe[t]`.
    static func forward(_ par: Parallel, out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>,
                        wte: UnsafePointer<Float>, wpe: UnsafePointer<Float>, b: Int, t: Int, c: Int) {
        par.forEach(b * t, grain: 16) { r in
            let o = out + r * c, e = wte + Int(tokens[r]) * c, pos = wpe + (r % t) * c
            for i in 0..<c { o[i] = e[i] + pos[i] }
        }
    }

    /// Adds into `dwte` and `dwpe`; split over channels so each element has one writer and a fixed order.
    static func backward(_ par: Parallel, dwte: UnsafeMutablePointer<Float>, dwpe: UnsafeMutablePointer<Float>,
                         dout: UnsafePointer<Float>, tokens: UnsafePointer<Int32>, b: Int, t: Int, c: Int) {
        par.forEachChunk(c, grain: 16) { _, cols in
            for r in 0..<(b * t) {
                let g = dout + r * c, e = dwte + Int(tokens[r]) * c, pos = dwpe + (r % t) * c
                for i in cols { e[i] += g[i]; pos[i] += g[i] }
            }
        }
    }
}
