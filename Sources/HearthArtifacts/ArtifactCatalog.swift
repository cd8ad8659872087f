import Foundation
import HearthStore

/// The artifacts' metadata in PostgreSQL: names, versions, owners and files. Every change of
/// state is a function of Migrations/0012_artifacts.sql; this type calls them and reads the tables.
public struct ArtifactCatalog: Sendable {
    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Creates an artifact from blobs already stored; a named one gets the next version.
    public func create(
        kind: Artifact.Kind, name: String?, ownerID: Int64, projectID: Int64? = nil, files: [ArtifactFile]
    ) async throws -> Artifact {
        try Self.validate(files)
        let rows = try await client.query("""
            SELECT id FROM hearth_artifact_create(\(kind.rawValue), \(name), \(ownerID), \(projectID)::bigint,
                                                  NULL::bigint, NULL::bigint, \(Self.filesJSON(files))::jsonb)
            """)
        let id: Int64 = try rows[0].decode("id")
        guard let artifact = try await artifact(id: id) else { throw ArtifactError(.notFound, "artifact \(id) vanished") }
        return artifact
    }

    /// Stores checkpoint (`jobID`, `step`) from blobs already stored, links the job's recorded
    /// checkpoint to it and keeps only the newest `keep` stored checkpoints of the job.
    @discardableResult
    public func storeCheckpoint(jobID: Int64, step: Int, files: [ArtifactFile], keep: Int) async throws -> Int64 {
        try Self.validate(files)
        return try await client.query("""
            SELECT hearth_checkpoint_store(\(jobID), \(step)::bigint, \(Self.filesJSON(files))::jsonb, \(keep)::int) AS id
            """)[0].decode("id", as: Int64.self)
    }

    /// Removes an artifact; its blobs go at the next ``collect(grace:)`` if nothing else uses them.
    @discardableResult
    public func delete(id: Int64) async throws -> Bool {
        try await client.query("SELECT hearth_artifact_delete(\(id)) AS gone")[0].decode("gone")
    }

    /// Deletes blobs no artifact uses that are older than `grace`; returns the bytes freed.
    @discardableResult
    public func collect(grace: Duration = .seconds(3600)) async throws -> Int64 {
        try await client.query("SELECT hearth_artifact_collect(\(grace)) AS freed")[0].decode("freed")
    }

    /// One artifact with its files.
    public func artifact(id: Int64) async throws -> Artifact? {
        try await select("\(sql: Self.head) WHERE a.id = \(id)").first
    }

    /// The named artifacts of an account, newest version first within a name.
    public func list(kind: Artifact.Kind, ownerID: Int64, name: String? = nil) async throws -> [Artifact] {
        try await select("\(sql: Self.head) WHERE a.kind = \(kind.rawValue) AND a.owner_id = \(ownerID) AND (\(name)::text IS NULL OR a.name = \(name)::text) ORDER BY a.name, a.version DESC")
    }

    /// The stored checkpoints of a job, newest step first.
    public func checkpoints(jobID: Int64) async throws -> [Artifact] {
        try await select("\(sql: Self.head) WHERE a.kind = 'checkpoint' AND a.job_id = \(jobID) ORDER BY a.step DESC")
    }

    /// The artifacts whose digest is `digest` (the same content may be stored by several owners).
    public func artifacts(digest: String) async throws -> [Artifact] {
        try await select("\(sql: Self.head) WHERE a.digest = \(digest) ORDER BY a.id")
    }

    /// Whether `accountID` may read `artifact`: its owner, a member of its project, or (by the
    /// caller's own check) an admin, the same rule as for jobs (Docs/security.md).
    public func mayRead(_ artifact: Artifact, accountID: Int64) async throws -> Bool {
        if artifact.ownerID == accountID { return true }
        guard let project = artifact.projectID else { return false }
        return try await !client.query("""
            SELECT 1 AS member FROM project_members WHERE project_id = \(project) AND account_id = \(accountID)
            """).isEmpty
    }

    /// Resolves what a spec names, for `accountID`: `NAME` (the newest version), `NAME@VERSION`
    /// (the account's own), or a digest (`sha256:HEX` or bare `HEX`) of an artifact the account
    /// may read.
    /// - Throws: ``ArtifactError`` with a sentence saying what is missing or not allowed.
    public func resolve(_ reference: String, kind: Artifact.Kind, accountID: Int64, isAdmin: Bool = false) async throws -> Artifact {
        let hex = reference.hasPrefix("sha256:") ? String(reference.dropFirst(7)) : reference
        if isSHA256Hex(hex) {
            let found = try await artifacts(digest: hex).filter { $0.kind == kind }
            guard !found.isEmpty else {
                throw ArtifactError(.notFound, "no \(kind.rawValue) has digest \(hex); `hearth \(kind.rawValue) list` shows the digests of yours")
            }
            for artifact in found {
                if isAdmin { return artifact }
                if try await mayRead(artifact, accountID: accountID) { return artifact }
            }
            throw ArtifactError(.forbidden, "the \(kind.rawValue) with digest \(hex) belongs to \(found[0].owner); only its owner, its project's members and admins may use it")
        }
        let parts = reference.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        var version: Int?
        if parts.count == 2 {
            guard let v = Int(parts[1]), v >= 1 else {
                throw ArtifactError(.invalid, "\"\(reference)\": the version after @ must be a whole number from 1 (e.g. \(name)@1)")
            }
            version = v
        }
        let versions = try await list(kind: kind, ownerID: accountID, name: name)
        guard let newest = versions.first else {
            throw ArtifactError(.notFound, "you have no \(kind.rawValue) named \"\(name)\"; push one with `hearth \(kind.rawValue) push DIR --name \(name)`, or see `hearth \(kind.rawValue) list`")
        }
        guard let version else { return newest }
        guard let match = versions.first(where: { $0.version == version }) else {
            throw ArtifactError(.notFound, "\(kind.rawValue) \"\(name)\" has no version \(version) (versions: \(versions.compactMap(\.version).sorted().map(String.init).joined(separator: ", ")))")
        }
        return match
    }

    // MARK: Reading

    private static let head: SQLFragment = """
        SELECT a.id, a.kind, a.name, a.version, a.owner_id, o.name AS owner, a.project_id, a.job_id, a.step,
               a.digest, a.bytes, a.created_at,
               coalesce((SELECT string_agg(f.path || ' ' || f.sha256 || ' ' || f.bytes, E'\\n' ORDER BY f.path)
                         FROM artifact_files f WHERE f.artifact_id = a.id), '') AS files
        FROM artifacts a JOIN accounts o ON o.id = a.owner_id
        """

    private func select(_ query: PostgresQuery) async throws -> [Artifact] {
        return try await client.query(query).map { row in
            let files = try (row.decode("files", as: String.self)).split(separator: "\n").map { line -> ArtifactFile in
                let f = line.split(separator: " ")
                return ArtifactFile(path: String(f[0]), sha256: String(f[1]), bytes: Int64(f[2]) ?? 0)
            }
            return Artifact(
                id: try row.decode("id"), kind: Artifact.Kind(rawValue: try row.decode("kind")) ?? .dataset,
                name: try row.decode("name"), version: try row.decode("version"), ownerID: try row.decode("owner_id"),
                owner: try row.decode("owner"), projectID: try row.decode("project_id"), jobID: try row.decode("job_id"),
                step: try row.decode("step"), digest: try row.decode("digest"), bytes: try row.decode("bytes"),
                createdAt: try row.decode("created_at"), files: files)
        }
    }

    static func validate(_ files: [ArtifactFile]) throws {
        for f in files where !ArtifactFile.isValidPath(f.path) || !isSHA256Hex(f.sha256) || f.bytes < 0 {
            throw ArtifactError(.invalid, "\"\(f.path)\" cannot be an artifact's file: names are one path component of letters, digits, '_', '.' and '-'")
        }
    }

    static func filesJSON(_ files: [ArtifactFile]) -> String {
        let items = files.map { "{\"path\":\"\($0.path)\",\"sha256\":\"\($0.sha256)\",\"bytes\":\($0.bytes)}" }
        return "[" + items.joined(separator: ",") + "]"
    }
}
