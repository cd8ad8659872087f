/// Keys and values of every layer for a fixed number of sequence slots, so that decoding a new
/// token attends to the cached past instead of recomputing it.
///
/// Layout per layer: `keys[slot, position, width]` and the same for values. A slot holds one
/// sequence; `length[slot]` positions of it are filled. Memory is
/// `2 × layers × slots × context × width × 4` bytes, allocated once.
public final class KVCache {
    /// Number of sequences the cache holds at once.
    public let slots: Int
    /// Positions per slot (the model's context).
    public let context: Int
    let width: Int
    let layers: Int
    let keyStore: FloatBuffer
    let valueStore: FloatBuffer
    /// Filled positions per slot.
    public private(set) var length: [Int]

    /// Allocates an empty cache for `slots` sequences of `config`'s shape.
    public init(_ config: ModelConfig, slots: Int) {
        self.slots = max(1, slots)
        context = config.context
        width = config.width
        layers = config.layers
        let perLayer = self.slots * context * width
        keyStore = FloatBuffer(layers * perLayer)
        valueStore = FloatBuffer(layers * perLayer)
        length = Array(repeating: 0, count: self.slots)
    }

    /// Bytes allocated for keys and values.
    public var bytes: Int { (keyStore.count + valueStore.count) * 4 }

    /// Forgets slot `slot`'s sequence.
    public func reset(slot: Int) { length[slot] = 0 }

    func setLength(_ n: Int, slot: Int) { length[slot] = n }

    /// Start of the keys of `slot` in `layer` (row `position` is at `+ position * width`).
    @inline(__always)
    func keys(layer: Int, slot: Int) -> UnsafeMutablePointer<Float> {
        keyStore.p + (layer * slots + slot) * context * width
    }

    @inline(__always)
    func values(layer: Int, slot: Int) -> UnsafeMutablePointer<Float> {
        valueStore.p + (layer * slots + slot) * context * width
    }
}
