import Foundation
import HearthCore
import HearthProcess
import HearthStore
import HearthSystemd
import Logging

/// A started attempt: its process, the pipes from it, its log, and its cgroups.
struct LaunchedAttempt: Sendable {
    let process: JobProcess
    let reports: ReportPipe
    let output: ReportPipe
    let logFD: Int32
    let cgroup: AttemptCgroup?
    /// Who it runs as; `nil`: hearthd's own user.
    let user: UnixUser?
    /// The directory below which the job's checkpoints are read without following links
    /// (`nil`: the job runs as hearthd's user, whose files these are anyway).
    var checkpointRoot: String? = nil
    /// Node-cache blobs the attempt uses (its resume checkpoint), released when it ends.
    var artifactPins: [String] = []
    /// A prepare job's spec as launched (its output is stored as a dataset when it succeeds).
    var prepared: PrepareSpec? = nil

    /// Sends `signal` to the attempt (once per signal), remembering why it was stopped.
    /// SIGKILL goes to every process in the attempt's cgroup; SIGTERM to each of them too, as
    /// systemd does with KillMode=control-group, so a helper the job started may clean up.
    func stopper(state: JobRunner.SupervisionState) -> @Sendable (JobRunner.StopReason, Int32) -> Void {
        let process = process, cgroup = cgroup
        return { reason, signal in
            let first = state.withLock { s -> Bool in
                if s.stop == nil { s.stop = reason }
                return !s.signalled.contains(signal) && s.signalled.insert(signal).inserted
            }
            guard first else { return }
            process.signal(signal)
            if let cgroup {
                if signal == SIGKILL {
                    DispatchQueue.global().async { cgroup.killAll() }
                } else {
                    cgroup.signalAll(signal)
                }
            }
        }
    }

    /// Kills every process of the attempt at once.
    func killEverything() {
        process.signal(SIGKILL)
        cgroup?.killAll()
    }

    /// After the main process exited: ends whatever it left behind (off the cooperative pool,
    /// since emptying a cgroup waits for the kernel).
    func killLeftovers() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                switch process {
                case .unit(let unit, _): unit.remove()
                case .child(let child): if let cgroup { cgroup.killAll() } else { kill(-child.pid, SIGKILL) }
                }
                c.resume()
            }
        }
    }

    /// Closes the log and removes the cgroups (the pipes' read ends close when read to the end).
    func finish() {
        close(logFD)
        cgroup?.remove()
        if case .unit(let unit, _) = process { unit.remove() }
    }
}

extension JobRunner {
    /// Everything up to a running process: the job's identity, its directories and job file,
    /// its cgroups, and the process itself. Every descriptor and cgroup made here is released
    /// again when a later step fails.
    func launch(_ job: Job, lease: Lease, gpuIndices: [Int], log: Logger) async throws -> LaunchedAttempt {
        var resolved = job
        resolved.specJSON = try await SpecReferences.resolve(for: job, queue: queue)
        let account = try await queue.accountName(of: job.accountID) ?? "account \(job.accountID)"
        if configuration.isolation.transientUnits {
            return try await launchUnit(resolved, account: account, lease: lease, gpuIndices: gpuIndices, log: log)
        }
        let user = try JobIdentity.resolve(account: account, accountID: job.accountID, policy: configuration.isolation)
        let directory = try JobDirectory.prepare(jobsDirectory: configuration.jobsDirectory, jobID: job.id, user: user)
        let materialized = try await materializeInputs(
            specJSON: resolved.specJSON, job: job, inputs: .child(directory, runsAsAnotherUser: user != nil),
            outputDirectory: directory.work.appendingPathComponent("prepared-\(lease.attempt)").path, log: log)
        resolved.specJSON = materialized.specJSON
        let resume = materialized.resume, pins = materialized.pins
        let jobFile: URL
        do {
            jobFile = try writeJobFile(resolved, directory: directory, user: user, resume: resume)
        } catch {
            await releaseArtifacts(pins)
            throw error
        }
        let program = try Self.program(for: resolved, workerPath: configuration.workerPath, jobFile: jobFile.path)

        var opened: [Int32] = []
        var cgroup: AttemptCgroup?
        do {
            let reports = try ReportPipe.make()
            opened += [reports.readFD, reports.writeFD]
            let output = try ReportPipe.make()
            opened += [output.readFD, output.writeFD]
            let logFD = try openLog(directory: directory, attempt: lease.attempt)
            opened.append(logFD)
            if geteuid() == 0 && configuration.isolation.cgroups {
                do {
                    cgroup = try AttemptCgroup.create(
                        name: Self.cgroupName(job: job.id, attempt: lease.attempt), policy: configuration.isolation,
                        gpuIndices: gpuIndices)
                    if let missing = cgroup?.missing, !missing.isEmpty {
                        log.notice("this node cannot enforce the \(missing.joined(separator: ", ")) limits of the job (no such cgroup controller)")
                    }
                } catch {
                    log.warning("running the job without cgroups of its own: \(error)")
                }
            }
            let environment = Self.environment(job: job, attempt: lease.attempt, user: user, gpuIndices: gpuIndices,
                                               workDirectory: directory.work.path,
                                               serveBindAddress: configuration.serveBindAddress)
            let child = try ChildProcess.spawnIsolated(
                program.executable, program.arguments, environment: environment,
                descriptors: [nil, output.writeFD, output.writeFD, reports.writeFD], user: user,
                cgroupProcs: cgroup?.procsFDs ?? [], workingDirectory: directory.work.path)
            close(reports.writeFD)
            close(output.writeFD)
            cgroup?.closeDescriptors()
            try? ScratchFile.replace(pidFile(job.id), with: Array("\(child.pid)\n".utf8))
            return LaunchedAttempt(process: .child(child), reports: reports, output: output, logFD: logFD, cgroup: cgroup, user: user,
                                   checkpointRoot: user == nil ? nil : directory.root.path, artifactPins: pins,
                                   prepared: PrepareSpec(specJSON: resolved.specJSON))
        } catch {
            await releaseArtifacts(pins)
            opened.forEach { close($0) }
            cgroup?.closeDescriptors()
            cgroup?.remove()
            throw error
        }
    }

    /// `job-ID-attempt-N-XXXXXXXX`: unique on the machine even where several hearthds (a fleet's
    /// databases each count jobs from 1) share its cgroup hierarchies.
    static func cgroupName(job: Int64, attempt: Int) -> String {
        "job-\(job)-attempt-\(attempt)-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    /// What to execute: the worker in the job's mode, or a `command` job's own program.
    static func program(for job: Job, workerPath: String, jobFile: String) throws -> (executable: String, arguments: [String]) {
        guard job.kind == .command else {
            // The worker mode is the job kind: train, eval, distill and serve.
            return (workerPath, [job.kind.rawValue, "--job", jobFile, "--report-fd", "3"])
        }
        if let prepare = PrepareSpec(specJSON: job.specJSON), let program = prepareProgram(prepare, workerPath: workerPath) {
            return program
        }
        let spec = (try? JSONSerialization.jsonObject(with: Data(job.specJSON.utf8))) as? [String: Any] ?? [:]
        if let argv = spec["argv"] as? [String], let first = argv.first {
            return (first, Array(argv.dropFirst()))
        }
        if let shell = spec["shell"] as? String {
            return ("/bin/sh", ["-c", shell])
        }
        throw Error(message: "command job \(job.id) has neither spec.argv nor spec.shell")
    }

    /// The job's whole environment: nothing of hearthd's (its notify socket, database URL,
    /// credentials) leaks in; the user's basics, its GPUs and where it is.
    static func environment(
        job: Job, attempt: Int, user: UnixUser?, gpuIndices: [Int], workDirectory: String, serveBindAddress: String = "127.0.0.1"
    ) -> [String: String] {
        let name = user?.name ?? (user == nil ? UnixUser.currentName() : nil)
        var env: [String: String] = [
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": user?.home ?? (ProcessInfo.processInfo.environment["HOME"] ?? "/"),
            "LANG": "C.UTF-8",
            "CUDA_VISIBLE_DEVICES": gpuIndices.map(String.init).joined(separator: ","),
            "HEARTH_JOB_ID": "\(job.id)",
            "HEARTH_ATTEMPT": "\(attempt)",
            "HEARTH_JOB_DIR": workDirectory,
            "HEARTH_REPORT_FD": "3",
            "HEARTH_SERVE_BIND_ADDRESS": serveBindAddress,
        ]
        if let name { env["USER"] = name; env["LOGNAME"] = name }
        if let index = job.arrayIndex, let array = job.arrayID {
            // An array element's place in its array (Slurm's SLURM_ARRAY_TASK_ID / SLURM_ARRAY_JOB_ID).
            env["HEARTH_ARRAY_INDEX"] = "\(index)"
            env["HEARTH_ARRAY_ID"] = "\(array)"
        }
        if let threads = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] { env["OPENBLAS_NUM_THREADS"] = threads }
        return env
    }

    /// Writes the job's spec as the worker's job file (the job's user's, read-only), with the
    /// defaults that live in the job's own directory and, for training, the checkpoint it
    /// resumes from: the newest this job recorded, never whatever sits in a directory.
    func writeJobFile(_ job: Job, directory: JobDirectory, user: UnixUser?, resume: (path: String, sha256: String)?) throws -> URL {
        guard var spec = try JSONSerialization.jsonObject(with: Data(job.specJSON.utf8)) as? [String: Any] else {
            throw Error(message: "job \(job.id)'s spec is not a JSON object")
        }
        if spec["checkpoint_dir"] == nil { spec["checkpoint_dir"] = directory.work.appendingPathComponent("checkpoints").path }
        if job.kind == .eval && spec["results_path"] == nil {
            spec["results_path"] = directory.work.appendingPathComponent("results.json").path
        }
        if [.train, .distill].contains(job.kind) {
            spec["resume"] = resume.map { ["path": $0.path, "sha256": $0.sha256] as [String: Any] } ?? "none"
        }
        let file = directory.root.appendingPathComponent("job.json")
        try ScratchFile.replace(file, with: Array(JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys])))
        // The directory is hearthd's, so the rename above cannot be redirected; the file is the job's to read.
        if let user { guard chown(file.path, user.uid, user.gid) == 0 else { throw Error(message: "cannot give \(file.path) to \(user)") } }
        chmod(file.path, 0o400)
        return file
    }

    /// `jobs/ID/worker.pid`: lets a restarted daemon find a worker its previous life left behind.
    func pidFile(_ jobID: Int64) -> URL {
        configuration.jobsDirectory.appendingPathComponent("\(jobID)/worker.pid")
    }

    private func openLog(directory: JobDirectory, attempt: Int) throws -> Int32 {
        let path = directory.root.appendingPathComponent("attempt-\(attempt).log").path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else { throw Error(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        return fd
    }
}
