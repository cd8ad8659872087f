/// A zero-initialised, 64-byte aligned, fixed-size array of `Float` owned by a class so that large
/// buffers are never copied. Access goes through the raw pointer `p` in the kernels.
public final class FloatBuffer {
    /// Number of elements.
    public let count: Int
    /// The storage.
    public let p: UnsafeMutablePointer<Float>

    /// Allocates `count` zeros.
    public init(_ count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64)
        p = raw.bindMemory(to: Float.self, capacity: max(1, count))
        p.initialize(repeating: 0, count: max(1, count))
    }

    deinit { p.deallocate() }

    /// Sets every element to zero.
    public func zero() { p.update(repeating: 0, count: count) }

    /// The elements as a buffer pointer.
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: p, count: count) }

    /// A copy of the elements as an array.
    public var array: [Float] { Array(buffer) }
}
