/// Softmax over the vocabulary and the cross-entropy loss against targets.
enum CrossEntropy {
    /// Turns `logits[n, v]` into probabilities in place and writes each row's loss (nats).
    static func forward(_ par: Parallel, probs: UnsafeMutablePointer<Float>, losses: UnsafeMutablePointer<Float>,
                        targets: UnsafePointer<Int32>?, n: Int, v: Int) {
        par.forEach(n) { r in
            let row = probs + r * v
            var mx = -Float.infinity
            for j in 0..<v { mx = max(mx, row[j]) }
            let target = targets.map { Int($0[r]) }
            let targetLogit = target.map { row[$0] } ?? 0
            var acc = F16(), j = 0
            while j + 16 <= v { let e = VectorMath.exp(row.load16(j) - mx); row.store16(j, e); acc += e; j += 16 }
            var sum = acc.sum()
            while j < v { let e = VectorMath.exp(row[j] - mx); row[j] = e; sum += e; j += 1 }
            let inv = 1 / sum
            j = 0
            while j + 16 <= v { row.store16(j, row.load16(j) * inv); j += 16 }
            while j < v { row[j] *= inv; j += 1 }
            losses[r] = target == nil ? 0 : Float(log(Double(sum))) + mx - targetLogit
        }
    }

    /// Turns the probabilities into `d(loss)/d(logits)` in place, for a loss scaled by `scale`.
    static func backward(_ par: Parallel, probs: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>,
                         n: Int, v: Int, scale: Float) {
        par.forEach(n) { r in
            let row = probs + r * v
            var j = 0
            while j + 16 <= v { row.store16(j, row.load16(j) * scale); j += 16 }
            while j < v { row[j] *= scale; j += 1 }
            row[Int(targets[r])] -= scale
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
