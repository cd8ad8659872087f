import Foundation

/// A node's cache of blobs fetched from the ``BlobStore``, under its state directory.
///
/// - Verified: a blob enters `blobs/` only after its bytes hashed to its name on the way in
///   (written under `tmp/`, fsynced, renamed), so every file there is whole and right.
/// - Bounded: past ``maxBytes`` the least recently used blobs go first, never one that is
///   pinned (a running job's). Use is the file's modification time, so the order survives a
///   restart.
/// - Shared: concurrent fetches of one blob download it once; the others wait for that one.
public actor ArtifactCache {
    public nonisolated let directory: URL
    public nonisolated let store: any BlobStore
    /// The most bytes kept (pinned blobs may exceed it until unpinned).
    public let maxBytes: Int64

    private struct Entry {
        var bytes: Int64
        var lastUse: Date
    }

    private var entries: [String: Entry] = [:]
    private var pins: [String: Int] = [:]
    private var inFlight: [String: Task<Void, any Error>] = [:]
    /// Bytes downloaded from the store since this cache was opened.
    public private(set) var fetchedBytes: Int64 = 0
    /// Moves whenever a blob enters or leaves the cache: a watcher compares it with the value it
    /// last saw to know the list of ``blobNames()`` changed (the daemon records it in the fleet).
    public private(set) var generation = 0

    private var blobsDirectory: URL { directory.appendingPathComponent("blobs") }
    private var tmpDirectory: URL { directory.appendingPathComponent("tmp") }

    /// Opens (creating) the cache at `directory`; leftovers of interrupted downloads are removed.
    public init(directory: URL, store: any BlobStore, maxBytes: Int64) throws {
        self.directory = directory
        self.store = store
        self.maxBytes = maxBytes
        let fm = FileManager.default
        let blobs = directory.appendingPathComponent("blobs"), tmp = directory.appendingPathComponent("tmp")
        try? fm.removeItem(at: tmp)
        for dir in [directory, blobs, tmp] {
            try fm.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        var found: [String: Entry] = [:]
        for name in (try? fm.contentsOfDirectory(atPath: blobs.path)) ?? [] where isSHA256Hex(name) {
            var st = stat()
            guard lstat(blobs.appendingPathComponent(name).path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            found[name] = Entry(bytes: Int64(st.st_size), lastUse: Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec)))
        }
        entries = found
    }

    /// The bytes the cache holds now.
    public var usedBytes: Int64 { entries.values.reduce(0) { $0 + $1.bytes } }

    /// The SHA-256 of every cached blob, sorted.
    public func blobNames() -> [String] { entries.keys.sorted() }

    /// Whether blob `sha256` is cached.
    public func contains(_ sha256: String) -> Bool { entries[sha256] != nil }

    /// The cached file of blob `sha256`, fetching it first if needed (once, however many ask).
    /// The file is read-only; never write to it.
    public func fetch(_ sha256: String) async throws -> URL {
        guard isSHA256Hex(sha256) else { throw ArtifactError(.invalid, "\"\(sha256)\" is not a SHA-256") }
        let path = blobsDirectory.appendingPathComponent(sha256)
        if entries[sha256] != nil {
            touch(sha256)
            return path
        }
        if let running = inFlight[sha256] {
            try await running.value
            return path
        }
        let task = Task { try await self.download(sha256) }
        inFlight[sha256] = task
        defer { inFlight[sha256] = nil }
        try await task.value
        return path
    }

    /// Fetches every file of `files` and pins them until the returned pin is released.
    public func pin(_ files: [ArtifactFile]) async throws -> [String] {
        var pinned: [String] = []
        do {
            for f in files {
                pins[f.sha256, default: 0] += 1
                pinned.append(f.sha256)
                _ = try await fetch(f.sha256)
            }
        } catch {
            unpin(pinned)
            throw error
        }
        return pinned
    }

    /// Releases pins taken by ``pin(_:)``, then trims the cache to its bound.
    public func unpin(_ shas: [String]) {
        for sha in shas {
            let n = (pins[sha] ?? 1) - 1
            pins[sha] = n > 0 ? n : nil
        }
        evict()
    }

    /// Puts the files of an artifact in `destination` (which must not exist): hard links to the
    /// cached blobs when `link` (the job cannot write them: they are hearthd's, read-only), or
    /// copies owned by `owner`. Built under a temporary name and renamed into place.
    public func materialize(_ files: [ArtifactFile], into destination: URL, link: Bool, owner: (uid: uid_t, gid: gid_t)? = nil) async throws {
        let shas = try await pin(files)
        defer { unpin(shas) }
        let fm = FileManager.default
        let staging = destination.deletingLastPathComponent().appendingPathComponent(".tmp-\(destination.lastPathComponent)-\(getpid())")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        do {
            for f in files {
                let source = blobsDirectory.appendingPathComponent(f.sha256).path
                let target = staging.appendingPathComponent(f.path).path
                if !link || Foundation.link(source, target) != 0 {
                    try Self.copy(source, to: target)
                    if let owner { _ = chown(target, owner.uid, owner.gid) }
                }
            }
            if let owner { _ = chown(staging.path, owner.uid, owner.gid) }
            guard rename(staging.path, destination.path) == 0 else { throw ArtifactError.io("cannot move \(staging.path) into place") }
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }

    // MARK: Inside

    private func download(_ sha256: String) async throws {
        let tmp = tmpDirectory.appendingPathComponent("\(sha256).\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard fd >= 0 else { throw ArtifactError.io("cannot create \(tmp.path)") }
        let bytes: Int64
        do {
            bytes = try await store.read(sha256: sha256, into: fd)
            guard fsync(fd) == 0 else { throw ArtifactError.io("cannot sync \(tmp.path)") }
            close(fd)
        } catch {
            close(fd)
            unlink(tmp.path)
            throw error
        }
        guard rename(tmp.path, blobsDirectory.appendingPathComponent(sha256).path) == 0 else {
            unlink(tmp.path)
            throw ArtifactError.io("cannot move a fetched blob into the cache")
        }
        fetchedBytes += bytes
        entries[sha256] = Entry(bytes: bytes, lastUse: Date())
        generation += 1
        evict()
    }

    private func touch(_ sha256: String) {
        entries[sha256]?.lastUse = Date()
        _ = utimes(blobsDirectory.appendingPathComponent(sha256).path, nil)
    }

    /// Removes least recently used, unpinned blobs until the cache fits its bound.
    private func evict() {
        var used = usedBytes
        guard used > maxBytes else { return }
        for (sha, entry) in entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
            guard used > maxBytes else { break }
            if pins[sha] != nil || inFlight[sha] != nil { continue }
            unlink(blobsDirectory.appendingPathComponent(sha).path)
            entries[sha] = nil
            used -= entry.bytes
            generation += 1
        }
    }

    static func copy(_ source: String, to target: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw ArtifactError.io("cannot open \(source)") }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw ArtifactError.io("cannot create \(target)") }
        defer { close(output) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let n = read(input, buffer.baseAddress!, buffer.count)
            if n < 0 { if errno == EINTR { continue }; throw ArtifactError.io("cannot read \(source)") }
            if n == 0 { break }
            try writeAll(fd: output, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        guard fsync(output) == 0 else { throw ArtifactError.io("cannot sync \(target)") }
    }
}
