import CDispatch  // struct stat's members, under MemberImportVisibility
import Foundation
import HearthArtifacts
import HearthCore
import HearthProcess
import HearthStore
import Logging
import Synchronization

/// The fleet's artifact store as a node uses it: the bytes (``BlobStore``), the catalog and this
/// node's cache (Docs/artifacts.md).
public struct ArtifactServices: Sendable {
    public let store: any BlobStore
    public let catalog: ArtifactCatalog
    public let cache: ArtifactCache

    public init(store: any BlobStore, catalog: ArtifactCatalog, cache: ArtifactCache) {
        self.store = store
        self.catalog = catalog
        self.cache = cache
    }
}

/// Stores an attempt's checkpoints in the fleet, one after another, in the background: training
/// never waits for the store. When several wait, only the newest is stored (it supersedes the
/// others). ``finish(within:)`` lets the end of the attempt wait for the last one.
actor CheckpointUploads {
    private let upload: @Sendable (Int, String) async -> Void
    private var pending: (step: Int, path: String)?
    private var worker: Task<Void, Never>?
    private var waiters: [@Sendable (Bool) -> Void] = []

    init(upload: @escaping @Sendable (Int, String) async -> Void) {
        self.upload = upload
    }

    /// Queues checkpoint `step` at `path` (replacing one that has not started).
    func enqueue(step: Int, path: String) {
        if let p = pending, p.step > step { return }
        pending = (step, path)
        if worker == nil { worker = Task { await self.drain() } }
    }

    private func drain() async {
        while let next = pending {
            pending = nil
            await upload(next.step, next.path)
        }
        worker = nil
        let done = waiters
        waiters = []
        done.forEach { $0(true) }
    }

    /// Waits until every queued checkpoint is stored, or `limit` passed (then `false`).
    func finish(within limit: Duration) async -> Bool {
        guard worker != nil else { return true }
        let once = Mutex(false)
        let claim: @Sendable () -> Bool = { once.withLock { done in defer { done = true }; return !done } }
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            waiters.append { ok in if claim() { c.resume(returning: ok) } }
            Task {
                try? await Task.sleep(for: limit)
                if claim() { c.resume(returning: false) }
            }
        }
    }
}

extension JobRunner {
    /// Where a train or distill attempt resumes: the newest checkpoint this job recorded when it
    /// is on this node's disk; otherwise the newest one stored in the fleet, fetched into the
    /// node cache and put in the job's `inputs/resume/step-N` (then its blobs stay pinned until
    /// ``releaseArtifacts(_:)``). A recorded checkpoint that is neither here nor stored cannot
    /// be resumed from: the attempt starts over (with a warning), rather than fail for good.
    func resumePoint(for job: Job, inputs: JobInputs, log: Logger) async throws
        -> (resume: (path: String, sha256: String)?, pins: [String])
    {
        guard [.train, .distill].contains(job.kind) else { return (nil, []) }
        let recorded = try await queue.latestCheckpoint(jobID: job.id)
        guard let artifacts = configuration.artifacts else { return (recorded.map { ($0.path, $0.sha256) }, []) }
        let stored = try await artifacts.catalog.checkpoints(jobID: job.id).first
        // A unit's own directory may be closed to hearthd (no CAP_DAC_READ_SEARCH): then the
        // recorded checkpoint is taken to be there, as it was written there.
        if let recorded, JobInputs.exists(recorded.path) != false, recorded.step >= (stored?.step ?? -1) {
            return ((recorded.path, recorded.sha256), [])
        }
        guard let stored, let step = stored.step, let model = stored.files.first(where: { $0.path == "model.safetensors" }) else {
            if let recorded {
                log.warning("checkpoint at step \(recorded.step) is not on this node and not stored in the fleet; starting over")
            }
            return (nil, [])
        }
        let target = try inputs.area("resume").appendingPathComponent(String(format: "step-%08d", step))
        if !FileManager.default.fileExists(atPath: target.path) {
            let before = await artifacts.cache.fetchedBytes
            try await artifacts.cache.materialize(stored.files, into: target, link: inputs.link)
            JobInputs.openToReaders(target)
            let fetched = await artifacts.cache.fetchedBytes - before
            log.info("resuming from the fleet's checkpoint at step \(step) (\(stored.bytes) bytes, \(fetched) fetched)",
                     metadata: ["hearth.event": "checkpoint_fetched", "checkpoint.step": "\(step)"])
        }
        let pins = try await artifacts.cache.pin(stored.files)
        return ((inputs.visible(target.path), model.sha256), pins)
    }

    /// Releases the cache pins an attempt held.
    func releaseArtifacts(_ pins: [String]) async {
        guard let artifacts = configuration.artifacts, !pins.isEmpty else { return }
        await artifacts.cache.unpin(pins)
    }

    /// Whose files an attempt's outputs must be: its user's; for a transient unit with no user
    /// known here (a dynamic one), the owner of the unit's directory `root`; nil: anyone's (the
    /// job runs as hearthd's own user).
    static func fileOwner(user: UnixUser?, root: String?) -> uid_t? {
        if let user { return user.uid }
        guard let root else { return nil }
        var st = stat()
        return stat(root, &st) == 0 ? st.st_uid : nil
    }

    /// The uploader of one attempt's checkpoints, or `nil` when this node has no artifact store.
    func checkpointUploads(for job: Job, checkpointRoot: String?, user: UnixUser?, log: Logger) -> CheckpointUploads? {
        guard let artifacts = configuration.artifacts, [.train, .distill].contains(job.kind) else { return nil }
        let spec = (try? JSONSerialization.jsonObject(with: Data(job.specJSON.utf8))) as? [String: Any]
        let keep = (spec?["keep_checkpoints"] as? Int) ?? 2
        // As root the checkpoint is a job's file: follow no link below the job's directory, and
        // store only files the job's user owns.
        let beneath = checkpointRoot
        return CheckpointUploads { step, path in
            let clock = ContinuousClock()
            let start = clock.now
            let uid = JobRunner.fileOwner(user: user, root: beneath)
            // open(2), not access(2): access checks the real ids with no capability.
            if let beneath, case let fd = open(beneath, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd < 0 || close(fd) != 0 {
                log.warning("""
                    could not store the checkpoint at step \(step) in the fleet: hearthd may not read \(beneath) \
                    (\(String(cString: strerror(errno)))); a hearthd that runs jobs as transient units needs \
                    CAP_DAC_READ_SEARCH, as Units/hearthd.service gives it
                    """)
                return
            }
            do {
                let files = try await retryingWhileUnreachable("a checkpoint upload", log) {
                    try await DirectoryUpload.upload(directory: path, beneath: beneath, ownerUID: uid, to: artifacts.store)
                }
                try await retryingWhileUnreachable("a stored checkpoint", log) {
                    try await artifacts.catalog.storeCheckpoint(jobID: job.id, step: step, files: files, keep: keep)
                }
                let bytes = files.reduce(Int64(0)) { $0 + $1.bytes }
                log.info("checkpoint at step \(step) stored in the fleet (\(bytes) bytes in \(clock.now - start))",
                         metadata: ["hearth.event": "checkpoint_stored", "checkpoint.step": "\(step)"])
            } catch {
                if !FileManager.default.fileExists(atPath: path) {
                    // The worker wrote newer ones and removed it while its upload waited (behind an
                    // outage, or a slower upload): nothing is lost, the newest is stored next.
                    log.info("""
                        the checkpoint at step \(step) was gone before it could be stored in the fleet (the worker \
                        keeps its newest \(keep)); a newer one is stored instead
                        """, metadata: ["hearth.event": "checkpoint_superseded", "checkpoint.step": "\(step)"])
                } else {
                    log.warning("could not store the checkpoint at step \(step) in the fleet: \(error)")
                }
            }
        }
    }
}

extension JobRunner {
    /// Puts every fleet dataset a training spec names (`{"dataset": "sha256:DIGEST"}`, resolved
    /// at submission) in the job's `work/datasets/DIGEST` from the node cache, and points the
    /// spec's entry at it. The blobs stay pinned until the attempt ends.
    /// - Returns: the spec to run and the pins taken.
    func materializeDatasets(specJSON: String, job: Job, inputs: JobInputs, log: Logger) async throws
        -> (specJSON: String, pins: [String])
    {
        guard specJSON.contains("\"dataset\""),
              var spec = try JSONSerialization.jsonObject(with: Data(specJSON.utf8)) as? [String: Any],
              var data = spec["data"] as? [[String: Any]] else { return (specJSON, []) }
        guard let artifacts = configuration.artifacts else {
            throw SpecReferences.Unresolved(description: "the job names a fleet dataset, and this node has no artifact store")
        }
        var pins: [String] = []
        do {
            for i in data.indices {
                guard let reference = data[i]["dataset"] as? String else { continue }
                // The owner's right to it was checked at submission; checked again here (the
                // queue starts the job), and a name is resolved now where a path kept it.
                let dataset: Artifact
                do {
                    let admin = try await GrantStore(client: queue.client).isStoredAdmin(accountID: job.accountID)
                    dataset = try await artifacts.catalog.resolve(reference, kind: .dataset, accountID: job.accountID, isAdmin: admin)
                } catch let error as ArtifactError {
                    throw SpecReferences.Unresolved(description: """
                        dataset \(data[i]["dataset_name"] as? String ?? reference): \(error.message) (removed since submission? \
                        push it again with hearth dataset push and resubmit)
                        """)
                }
                let digest = dataset.digest
                let before = await artifacts.cache.fetchedBytes
                pins += try await artifacts.cache.pin(dataset.files)
                let target = try inputs.area("datasets").appendingPathComponent(digest)
                if !FileManager.default.fileExists(atPath: target.path) {
                    try await artifacts.cache.materialize(dataset.files, into: target, link: inputs.link)
                    JobInputs.openToReaders(target)
                    let fetched = await artifacts.cache.fetchedBytes - before
                    log.info("dataset \(dataset.label) ready (\(dataset.bytes) bytes, \(fetched) fetched)",
                             metadata: ["hearth.event": "dataset_ready", "dataset.digest": "\(digest)", "dataset.fetched_bytes": "\(fetched)"])
                }
                data[i]["path"] = inputs.visible(target.path)
                data[i]["dataset"] = nil
                data[i]["dataset_name"] = nil
            }
        } catch {
            await releaseArtifacts(pins)
            throw error
        }
        spec["data"] = data
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]), as: UTF8.self)
        return (json, pins)
    }
}

extension JobRunner {
    /// Replaces each `"@checkpoint:JOB:STEP[/FILE]"` in a spec with the path of that stored
    /// checkpoint, put in the job's `work/checkpoints-in/job-J-step-S` from the node cache. The
    /// submitter's right to it is checked again here (the queue, not the caller, starts the job).
    func materializeCheckpointReferences(specJSON: String, job: Job, inputs: JobInputs, log: Logger) async throws
        -> (specJSON: String, pins: [String])
    {
        guard specJSON.contains("@checkpoint:"), let spec = try? JSONSerialization.jsonObject(with: Data(specJSON.utf8)) else {
            return (specJSON, [])
        }
        guard let artifacts = configuration.artifacts else {
            throw SpecReferences.Unresolved(description: "the spec names a stored checkpoint, and this node has no artifact store")
        }
        var wanted: Set<CheckpointReferences.Reference> = []
        SpecReferences.visit(spec) { if let r = CheckpointReferences.parse($0) { wanted.insert(r) }; return nil }
        let grants = GrantStore(client: queue.client)
        var paths: [CheckpointReferences.Reference: String] = [:]
        var pins: [String] = []
        do {
            for r in wanted {
                guard let owner = try await grants.ownership(ofJob: r.job) else {
                    throw SpecReferences.Unresolved(description: "the spec names a checkpoint of job \(r.job), which does not exist")
                }
                var allowed = try await grants.sharesJob(owner, with: job.accountID)
                if !allowed { allowed = try await grants.isStoredAdmin(accountID: job.accountID) }
                guard allowed else {
                    throw SpecReferences.Unresolved(description: "the spec names a checkpoint of job \(r.job), which belongs to \(owner.account)")
                }
                let stored = try await artifacts.catalog.checkpoints(jobID: r.job)
                guard let checkpoint = r.step.map({ s in stored.first { $0.step == s } }) ?? stored.first, let step = checkpoint.step else {
                    throw SpecReferences.Unresolved(description: "job \(r.job) has no stored checkpoint at step \(r.step.map(String.init) ?? "latest") any more (retention removed it?)")
                }
                pins += try await artifacts.cache.pin(checkpoint.files)
                let target = try inputs.area("checkpoints-in").appendingPathComponent("job-\(r.job)-step-\(step)")
                if !FileManager.default.fileExists(atPath: target.path) {
                    try await artifacts.cache.materialize(checkpoint.files, into: target, link: inputs.link)
                    JobInputs.openToReaders(target)
                    log.info("checkpoint of job \(r.job) at step \(step) ready", metadata: ["hearth.event": "checkpoint_ready"])
                }
                paths[r] = inputs.visible(target.path)
            }
        } catch {
            await releaseArtifacts(pins)
            throw error
        }
        let resolved = SpecReferences.visit(spec) { s in CheckpointReferences.parse(s).flatMap { r in paths[r].map { $0 + r.suffix } } }
        let data = try JSONSerialization.data(withJSONObject: resolved, options: [.sortedKeys])
        return (String(decoding: data, as: UTF8.self), pins)
    }
}

extension JobRunner {
    /// Every fleet input of an attempt, put in `inputs`: the datasets and stored checkpoints its
    /// spec names (the spec returned points at them) and the checkpoint it resumes from. On a
    /// failure nothing stays pinned.
    /// `outputDirectory`: where a prepare job writes its shards (as the job sees it).
    func materializeInputs(specJSON: String, job: Job, inputs: JobInputs, outputDirectory: String, log: Logger) async throws
        -> (specJSON: String, resume: (path: String, sha256: String)?, pins: [String])
    {
        var pins: [String] = []
        do {
            let datasets = try await materializeDatasets(specJSON: specJSON, job: job, inputs: inputs, log: log)
            pins += datasets.pins
            let references = try await materializeCheckpointReferences(specJSON: datasets.specJSON, job: job, inputs: inputs, log: log)
            pins += references.pins
            let text = try await materializeText(
                specJSON: references.specJSON, job: job, inputs: inputs, outputDirectory: outputDirectory, log: log)
            pins += text.pins
            let resumed = try await resumePoint(for: job, inputs: inputs, log: log)
            pins += resumed.pins
            return (text.specJSON, resumed.resume, pins)
        } catch {
            await releaseArtifacts(pins)
            throw error
        }
    }
}
