import Foundation

/// PostgreSQL's binary COPY format, for the rows of `artifact_chunks (upload_id, seq, data)`:
/// a fixed header, then per row a field count and each field as a length and its bytes, all
/// big-endian; a field count of -1 ends the stream.
enum CopyBinary {
    /// `PGCOPY\n\377\r\n\0`, flags 0, no header extension.
    static let header: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]
    static let trailer: [UInt8] = [0xFF, 0xFF]

    /// The bytes before a chunk's data: 3 fields, the upload id (int8), the sequence number
    /// (int4), then the data's length.
    static func chunkRowPrefix(upload: Int64, seq: Int32, length: Int32) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(26)
        append(&out, UInt16(3))
        append(&out, UInt32(8)); append(&out, UInt64(bitPattern: upload))
        append(&out, UInt32(4)); append(&out, UInt32(bitPattern: seq))
        append(&out, UInt32(bitPattern: length))
        return out
    }

    private static func append<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }

    /// Reads the `data` field out of one COPY TO STDOUT message of `SELECT data ...` (one bytea
    /// column). Returns `nil` for the trailer.
    /// - Parameter first: the first message, which starts with the header.
    static func singleField(of message: UnsafeRawBufferPointer, first: Bool) throws -> UnsafeRawBufferPointer? {
        var at = 0
        if first {
            guard message.count >= header.count, message.prefix(11).elementsEqual(header.prefix(11)) else {
                throw ArtifactError(.io, "the server's COPY stream does not start with the binary header")
            }
            let extensionLength = Int(readU32(message, 15))
            at = header.count + extensionLength
        }
        guard message.count >= at + 2 else { throw ArtifactError(.io, "a truncated COPY row") }
        let fields = Int16(bitPattern: UInt16(readU16(message, at)))
        if fields == -1 { return nil }
        guard fields == 1, message.count >= at + 6 else { throw ArtifactError(.io, "a COPY row with \(fields) fields, expected 1") }
        let length = Int(Int32(bitPattern: readU32(message, at + 2)))
        guard length >= 0, message.count >= at + 6 + length else { throw ArtifactError(.io, "a truncated COPY field") }
        return UnsafeRawBufferPointer(rebasing: message[(at + 6)..<(at + 6 + length)])
    }

    private static func readU16(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(b[at]) << 8 | UInt16(b[at + 1])
    }

    private static func readU32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }
}
