import Foundation

/// Reading and writing the safetensors format: an 8-byte little-endian header length, a JSON
/// header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}` padded
/// with spaces to a multiple of 8 bytes, then the raw little-endian tensor bytes.
public enum SafeTensors {
    /// One tensor to write: its name, shape and `count` floats at `data`.
    public struct Entry {
        public let name: String
        public let shape: [Int]
        public let data: UnsafePointer<Float>
        public init(name: String, shape: [Int], data: UnsafePointer<Float>) {
            self.name = name; self.shape = shape; self.data = data
        }
    }

    /// Writes `entries` (all F32) atomically to `path`; returns the file's SHA-256 (hex).
    @discardableResult
    public static func write(_ path: String, _ entries: [Entry], metadata: [String: String] = [:]) throws(TrainerError) -> String {
        var header: [String: Any] = [:]
        var offset = 0
        for e in entries {
            let bytes = e.shape.reduce(1, *) * 4
            header[e.name] = ["dtype": "F32", "shape": e.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        guard var json = try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]) else {
            throw .badInput("cannot encode safetensors header for \(path)")
        }
        while json.count % 8 != 0 { json.append(0x20) }
        var len = UInt64(json.count).littleEndian
        var hash = SHA256()
        let lenBytes = withUnsafeBytes(of: &len) { Array($0) }
        hash.update(lenBytes)
        let jsonBytes = Array(json)
        hash.update(jsonBytes)
        var chunks: [UnsafeRawBufferPointer] = []
        for e in entries {
            let raw = UnsafeRawBufferPointer(start: e.data, count: e.shape.reduce(1, *) * 4)
            hash.update(raw)
            chunks.append(raw)
        }
        let failure = lenBytes.withUnsafeBytes { l in
            jsonBytes.withUnsafeBytes { j -> TrainerError? in
                do throws(TrainerError) { try FileIO.writeAtomically(path, [l, j] + chunks); return nil } catch { return error }
            }
        }
        if let failure { throw failure }
        return hash.finalizeHex()
    }

    /// A parsed file: tensor shapes and the float data of each.
    public struct File {
        public var shapes: [String: [Int]] = [:]
        public var metadata: [String: String] = [:]
        let bytes: [UInt8]
        var ranges: [String: Range<Int>] = [:]

        /// Copies tensor `name` (which must have `shape`) into `dst`.
        public func copy(_ name: String, shape: [Int], into dst: UnsafeMutablePointer<Float>) throws(TrainerError) {
            guard let s = shapes[name], let r = ranges[name] else {
                throw .badInput("checkpoint lacks tensor \(name)")
            }
            guard s == shape else { throw .badInput("tensor \(name) has shape \(s), the model expects \(shape)") }
            bytes.withUnsafeBytes { b in
                UnsafeMutableRawPointer(dst).copyMemory(from: b.baseAddress! + r.lowerBound, byteCount: r.count)
            }
        }
    }

    /// Reads and validates a safetensors file holding F32 tensors.
    public static func read(_ path: String) throws(TrainerError) -> File {
        let bytes = try FileIO.read(path)
        guard bytes.count >= 8 else { throw .badInput("\(path) is not a safetensors file (too short)") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(bytes.count - 8) else { throw .badInput("\(path) is corrupt: header length \(n) exceeds the file") }
        let dataStart = 8 + Int(n)
        guard let obj = try? JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])) as? [String: Any] else {
            throw .badInput("\(path) is corrupt: unreadable safetensors header")
        }
        var file = File(bytes: bytes)
        for (name, value) in obj {
            if name == "__metadata__" {
                file.metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let t = value as? [String: Any], let dtype = t["dtype"] as? String,
                  let shape = t["shape"] as? [Int], let off = t["data_offsets"] as? [Int], off.count == 2 else {
                throw .badInput("\(path) is corrupt: bad entry for tensor \(name)")
            }
            guard dtype == "F32" else { throw .badInput("\(path): tensor \(name) has dtype \(dtype), expected F32") }
            let r = (dataStart + off[0])..<(dataStart + off[1])
            guard off[0] >= 0, off[0] <= off[1], r.upperBound <= bytes.count, off[1] - off[0] == shape.reduce(1, *) * 4 else {
                throw .badInput("\(path) is corrupt: tensor \(name) data out of bounds")
            }
            file.shapes[name] = shape
            file.ranges[name] = r
        }
        return file
    }
}
