import Foundation
import HearthArtifacts
import HearthProcess
import HearthStore

/// Store and fetch throughput of one checkpoint-sized file (1.5 GiB by default) through the
/// artifact store (binary COPY of 1 MiB chunk rows, `PostgresBlobStore`), beside the physical
/// limits measured on the same machine in the same run: a raw local file copy (read, write,
/// fsync) and `psql`'s `\copy` of the very same chunk rows into and out of an identical table.
/// Run with `./bench artifacts [--mib 1536] [--rounds 2] [--dir /var/tmp/hearth-bench-artifacts]`.
@main
struct BenchArtifacts {
    static func main() async throws {
        let args = CommandLine.arguments
        func value(_ flag: String, _ fallback: String) -> String {
            args.firstIndex(of: flag).flatMap { args.indices.contains($0 + 1) ? args[$0 + 1] : nil } ?? fallback
        }
        let mib = Int(value("--mib", "1536"))!
        let rounds = Int(value("--rounds", "2"))!
        let dir = URL(fileURLWithPath: value("--dir", "/var/tmp/hearth-bench-artifacts"))
        let bytes = Int64(mib) << 20
        let chunk = PostgresBlobStore.defaultChunkSize

        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let cluster = EmbeddedPostgres(configuration: .init(stateDirectory: dir.appendingPathComponent("pg"), database: "bench"))
        let conninfo = try await cluster.start()
        defer { try? cluster.stop(); try? FileManager.default.removeItem(at: dir) }
        let client = try PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: 2, database: "bench"))
        try await Migrator(client: client).migrate()
        try await client.query("CREATE TABLE psql_chunks (upload_id bigint NOT NULL, seq integer NOT NULL, data bytea NOT NULL, PRIMARY KEY (upload_id, seq))")
        try await client.query("ALTER TABLE psql_chunks ALTER COLUMN data SET STORAGE EXTERNAL")

        let source = dir.appendingPathComponent("checkpoint.bin")
        let copyFile = dir.appendingPathComponent("psql-rows.copy")
        try writeSource(source, bytes: bytes, chunk: chunk, copyFile: copyFile)
        print("store and fetch of a \(mib) MiB file (incompressible, like weights); PostgreSQL durable (fsync on); \(rounds) rounds, best kept")

        var best: [String: Double] = [:]
        func keep(_ name: String, _ seconds: Double) {
            let rate = Double(bytes) / seconds / 1_048_576
            best[name] = max(best[name] ?? 0, rate)
            print(String(format: "  %@: %.2f s, %.0f MiB/s", name, seconds, rate))
        }
        let store = PostgresBlobStore(client: client)
        let psql = try ChildProcess.resolve("psql")
        let psqlConn = conninfo + " dbname=bench"
        for round in 1...rounds {
            print("round \(round)")
            // Start each case from the same state: nothing stored, a checkpoint of the WAL done.
            try await client.query("TRUNCATE artifact_chunks, artifact_blobs CASCADE")
            try await client.query("TRUNCATE psql_chunks")
            try await client.query("CHECKPOINT")
            keep("local copy (read, write, fsync)", try time { try localCopy(source, to: dir.appendingPathComponent("copy.bin")) })
            try? FileManager.default.removeItem(at: dir.appendingPathComponent("copy.bin"))

            try await client.query("CHECKPOINT")
            keep("psql \\copy in (same rows)", try time {
                try run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", psqlConn, "-c", "\\copy psql_chunks FROM '\(copyFile.path)' (FORMAT binary)"])
            })
            try await client.query("CHECKPOINT")
            // The other libpq path for large values: a large object (psql's \lo_import, lo_write in pieces).
            keep("psql \\lo_import (large object)", try time {
                try run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", psqlConn, "-c", "\\lo_import '\(source.path)'"])
            })
            try await client.query("CHECKPOINT")
            let fd = open(source.path, O_RDONLY | O_CLOEXEC)
            var t0 = ContinuousClock.now
            let stored = try await store.write(from: fd, expectedSHA256: nil)
            keep("artifact store (write)", seconds(since: t0))
            close(fd)

            let outCopy = dir.appendingPathComponent("psql-out.copy")
            keep("psql \\copy out (same rows)", try time {
                try run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", psqlConn, "-c",
                               "\\copy (SELECT data FROM psql_chunks ORDER BY seq) TO '\(outCopy.path)' (FORMAT binary)"])
                let out = open(outCopy.path, O_RDONLY); fsync(out); close(out)
            })
            try? FileManager.default.removeItem(at: outCopy)
            let lo: Int64 = try await client.query("SELECT max(oid::bigint) AS o FROM pg_largeobject_metadata")[0].decode("o")
            let loOut = dir.appendingPathComponent("lo-out.bin")
            keep("psql \\lo_export (large object)", try time {
                try run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", psqlConn, "-c", "\\lo_export \(lo) '\(loOut.path)'"])
                let out = open(loOut.path, O_RDONLY); fsync(out); close(out)
            })
            try? FileManager.default.removeItem(at: loOut)
            try await client.query("SELECT lo_unlink(oid) FROM pg_largeobject_metadata")
            let fetched = dir.appendingPathComponent("fetched.bin")
            t0 = ContinuousClock.now
            let out = open(fetched.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            _ = try await store.read(sha256: stored.sha256, into: out)
            fsync(out)
            close(out)
            keep("artifact store (fetch, verify, fsync)", seconds(since: t0))
            try? FileManager.default.removeItem(at: fetched)
        }
        let local = best["local copy (read, write, fsync)"]!, copyIn = best["psql \\copy in (same rows)"]!
        let copyOut = best["psql \\copy out (same rows)"]!
        let write = best["artifact store (write)"]!, read = best["artifact store (fetch, verify, fsync)"]!
        print("\n| path | MiB/s | vs psql \\copy | vs local copy |")
        print("|---|---|---|---|")
        print(String(format: "| local file copy (read, write, fsync) | %.0f | | 1.00 |", local))
        print(String(format: "| psql \\copy FROM file, binary chunk rows | %.0f | 1.00 | %.2f |", copyIn, copyIn / local))
        print(String(format: "| artifact store: store (hash + binary COPY + commit) | %.0f | %.2f | %.2f |", write, write / copyIn, write / local))
        print(String(format: "| psql \\copy TO file, same rows | %.0f | 1.00 | %.2f |", copyOut, copyOut / local))
        print(String(format: "| artifact store: fetch (COPY out + verify + fsync) | %.0f | %.2f | %.2f |", read, read / copyOut, read / local))
        let loIn = best["psql \\lo_import (large object)"]!, loOut = best["psql \\lo_export (large object)"]!
        print(String(format: "| psql \\lo_import (large object, lo_write) | %.0f | %.2f | %.2f |", loIn, loIn / copyIn, loIn / local))
        print(String(format: "| psql \\lo_export (large object, lo_read) | %.0f | %.2f | %.2f |", loOut, loOut / copyOut, loOut / local))
        client.shutdown()
    }

    /// The source file, and the same bytes as binary COPY rows of `psql_chunks` for psql.
    static func writeSource(_ url: URL, bytes: Int64, chunk: Int, copyFile: URL) throws {
        let out = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let rows = open(copyFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(out); close(rows) }
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var buffer = [UInt64](repeating: 0, count: chunk / 8)
        func put(_ fd: Int32, _ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
        put(rows, [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0])
        var left = bytes, seq: UInt32 = 0
        while left > 0 {
            for i in buffer.indices { state ^= state << 13; state ^= state >> 7; state ^= state << 17; buffer[i] = state }
            let n = Int(min(Int64(chunk), left))
            buffer.withUnsafeBytes { _ = write(out, $0.baseAddress, n) }
            var prefix: [UInt8] = [0, 3, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4]
            prefix += withUnsafeBytes(of: seq.bigEndian, Array.init)
            prefix += withUnsafeBytes(of: UInt32(n).bigEndian, Array.init)
            put(rows, prefix)
            buffer.withUnsafeBytes { _ = write(rows, $0.baseAddress, n) }
            left -= Int64(n)
            seq += 1
        }
        put(rows, [0xFF, 0xFF])
        fsync(out); fsync(rows)
    }

    static func localCopy(_ source: URL, to target: URL) throws {
        let input = open(source.path, O_RDONLY), output = open(target.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(input); close(output) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        while case let n = read(input, buffer, 1 << 20), n > 0 { _ = write(output, buffer, n) }
        fsync(output)
    }

    static func run(_ program: String, _ arguments: [String]) throws {
        let child = try ChildProcess.spawn(program, arguments, descriptors: [nil, 1, 2])
        guard child.waitBlocking() == .exited(0) else { throw BenchError("\(program) \(arguments.joined(separator: " ")) failed") }
    }

    static func time(_ body: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        try body()
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
