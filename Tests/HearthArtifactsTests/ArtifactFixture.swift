import Foundation
import HearthArtifacts
import HearthStore

/// Files and accounts for the artifact tests.
enum ArtifactFixture {
    /// A fresh directory under /tmp, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("hearth-artifacts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// `count` pseudo-random bytes from `seed` (incompressible, like weights).
    static func bytes(_ count: Int, seed: UInt64) -> Data {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var bytes = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            bytes[i] = UInt8(truncatingIfNeeded: state)
        }
        return Data(bytes)
    }

    /// Writes `data` to `url` and returns it opened for reading.
    static func openFile(_ url: URL, _ data: Data) throws -> Int32 {
        try data.write(to: url)
        return open(url.path, O_RDONLY | O_CLOEXEC)
    }

    /// The SHA-256 that coreutils' `sha256sum` computes (an independent implementation).
    static func sha256sum(_ url: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: out, as: UTF8.self).prefix(64))
    }

    static func account(_ client: PostgresClient, _ name: String, uid: Int) async throws -> Int64 {
        try await AccountStore(client: client).ensure(name: name, uid: uid)
    }

    static func count(_ client: PostgresClient, _ sql: PostgresQuery) async throws -> Int {
        try await client.query(sql)[0].decode("n", as: Int.self)
    }
}
