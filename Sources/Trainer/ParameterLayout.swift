/// One named tensor inside the flat parameter buffer.
public struct TensorSpec: Sendable, Equatable {
    /// Name in checkpoints (GPT-2 / Hugging Face naming, e.g. `h.0.attn.c_attn.weight`).
    public let name: String
    /// Row-major shape; linear weights are `[in, out]` as in GPT-2's `Conv1D`.
    public let shape: [Int]
    /// Offset of the first element in the flat buffer.
    public let offset: Int
    /// Whether AdamW applies weight decay (matrices and embeddings, not biases or norms).
    public var decay: Bool { shape.count >= 2 }
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// Offsets of one block's tensors; `-1` when the model has no biases.
struct BlockOffsets {
    var ln1w = 0, ln1b = -1, qkvw = 0, qkvb = -1, projw = 0, projb = -1
    var ln2w = 0, ln2b = -1, fcw = 0, fcb = -1, fcpw = 0, fcpb = -1
}

/// Where every tensor of a model lives in one flat `Float` buffer (parameters, gradients and the
/// two AdamW moments all share this layout).
public struct ParameterLayout: Sendable {
    /// All tensors in buffer order.
    public let tensors: [TensorSpec]
    /// Total number of parameters.
    public let count: Int
    let wte: Int, wpe: Int, lnfw: Int, lnfb: Int
    let blocks: [BlockOffsets]

    /// Lays out the tensors of `config` (which must be valid).
    public init(_ config: ModelConfig) {
        let C = config.width, V = config.vocab, T = config.context
        var specs: [TensorSpec] = [], total = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            specs.append(TensorSpec(name: name, shape: shape, offset: total))
            defer { total += shape.reduce(1, *) }
            return total
        }
        func addBias(_ name: String, _ n: Int) -> Int { config.bias ? add(name, [n]) : -1 }
        wte = add("wte.weight", [V, C])
        wpe = add("wpe.weight", [T, C])
        var blocks: [BlockOffsets] = []
        for l in 0..<config.layers {
            var b = BlockOffsets()
            b.ln1w = add("h.\(l).ln_1.weight", [C]); b.ln1b = addBias("h.\(l).ln_1.bias", C)
            b.qkvw = add("h.\(l).attn.c_attn.weight", [C, 3 * C]); b.qkvb = addBias("h.\(l).attn.c_attn.bias", 3 * C)
            b.projw = add("h.\(l).attn.c_proj.weight", [C, C]); b.projb = addBias("h.\(l).attn.c_proj.bias", C)
            b.ln2w = add("h.\(l).ln_2.weight", [C]); b.ln2b = addBias("h.\(l).ln_2.bias", C)
            b.fcw = add("h.\(l).mlp.c_fc.weight", [C, 4 * C]); b.fcb = addBias("h.\(l).mlp.c_fc.bias", 4 * C)
            b.fcpw = add("h.\(l).mlp.c_proj.weight", [4 * C, C]); b.fcpb = addBias("h.\(l).mlp.c_proj.bias", C)
            blocks.append(b)
        }
        lnfw = add("ln_f.weight", [C]); lnfb = addBias("ln_f.bias", C)
        self.blocks = blocks
        tensors = specs
        count = total
    }

    /// Fills `p` with GPT-2's initialisation: N(0, 0.02) matrices and embeddings, residual
    /// projections scaled by 1/sqrt(2·layers), zero biases, unit LayerNorm weights.
    public func initialise(_ p: UnsafeMutablePointer<Float>, layers: Int, seed: UInt64) {
        var rng = RNG(seed: seed)
        let projStd = 0.02 / (2 * Double(layers)).squareRoot()
        for t in tensors {
            let dst = p + t.offset
            if t.shape.count == 1 {
                let one: Float = t.name.contains(".ln_") || t.name.hasPrefix("ln_") ? (t.name.hasSuffix("weight") ? 1 : 0) : 0
                dst.update(repeating: one, count: t.count)
            } else {
                let std = t.name.hasSuffix("c_proj.weight") ? projStd : 0.02
                for i in 0..<t.count { dst[i] = Float(rng.normal() * std) }
            }
        }
    }
}
