/// The shape of a GPT-2 style model.
public struct ModelConfig: Codable, Sendable, Equatable {
    /// Number of transformer blocks.
    public var layers: Int
    /// Attention heads per block; must divide `width`.
    public var heads: Int
    /// Embedding width (channels).
    public var width: Int
    /// Maximum sequence length (learned positions).
    public var context: Int
    /// Vocabulary size.
    public var vocab: Int
    /// Dropout probability on embeddings and residual branches (0 disables it).
    public var dropout: Double
    /// Whether linear layers and LayerNorms have biases (GPT-2: yes).
    public var bias: Bool

    public init(layers: Int, heads: Int, width: Int, context: Int, vocab: Int,
                dropout: Double = 0, bias: Bool = true) {
        self.layers = layers; self.heads = heads; self.width = width
        self.context = context; self.vocab = vocab; self.dropout = dropout; self.bias = bias
    }

    enum CodingKeys: String, CodingKey { case layers, heads, width, context, vocab, dropout, bias }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        layers = try c.decode(Int.self, forKey: .layers)
        heads = try c.decode(Int.self, forKey: .heads)
        width = try c.decode(Int.self, forKey: .width)
        context = try c.decode(Int.self, forKey: .context)
        vocab = try c.decodeIfPresent(Int.self, forKey: .vocab) ?? 0  // 0: take it from the dataset
        dropout = try c.decodeIfPresent(Double.self, forKey: .dropout) ?? 0
        bias = try c.decodeIfPresent(Bool.self, forKey: .bias) ?? true
    }

    /// Width of one attention head.
    public var headSize: Int { width / heads }

    /// Checks the shape; every problem is a one-line `badInput` error.
    public func validate() throws(TrainerError) {
        for (name, v) in [("layers", layers), ("heads", heads), ("width", width), ("context", context), ("vocab", vocab)]
        where v <= 0 {
            throw .badInput("model.\(name) must be positive, got \(v)")
        }
        if width % heads != 0 {
            throw .badInput("model.heads (\(heads)) does not divide model.width (\(width))")
        }
        if !(0..<1).contains(dropout) {
            throw .badInput("model.dropout must be in [0, 1), got \(dropout)")
        }
    }

    /// nanoGPT's CPU Shakespeare configuration (benchmark shape S) for a vocabulary.
    public static func small(vocab: Int) -> ModelConfig {
        ModelConfig(layers: 4, heads: 4, width: 128, context: 64, vocab: vocab)
    }
}
