import Foundation
import HearthCore
import HearthProcess
import HearthStore
import HearthSystemd
import Logging

// Under systemd each attempt is a transient unit in hearth-jobs.slice: systemd itself makes the
// user (User=, or DynamicUser= for an account with no Unix user here), the cgroup and its limits,
// the device filter, the sandbox and the job's directory (StateDirectory=, owned by that user),
// so hearthd.service keeps running unprivileged.
//
// The report channel: systemd 252 can hand a unit only its standard input, output and error as
// descriptors (`Standard*FileDescriptor=`; OpenFile= came in 253). Output and error carry the
// job's output to hearthd (which writes the log and journald entries with the job's fields), so
// the report pipe's write end is the unit's standard input and the worker writes its reports to
// descriptor 0 (`--report-fd 0`, `HEARTH_REPORT_FD=0`). A socket in the job directory would also
// work, but would need the job to connect back and hearthd to authenticate it; a pipe handed
// over by systemd is the job's and nobody else's.
//
// The job file reaches the job as a credential (`SetCredential=job.json:…`, readable by the
// unit's user only, even a dynamic one), since hearthd may not own files for other users.
extension JobRunner {
    /// Where a unit's job directory is (`StateDirectory=hearth-jobs/ID`).
    static func unitWorkDirectory(jobID: Int64) -> String { "/var/lib/hearth-jobs/\(jobID)" }

    func launchUnit(_ job: Job, account: String, lease: Lease, gpuIndices: [Int], log: Logger) async throws -> LaunchedAttempt {
        let policy = configuration.isolation
        let known = UnixUser.lookup(name: account)
        if let known, known.uid == 0, !policy.allowRootJobs {
            throw JobIdentity.Refusal(description: """
                jobs of \(account) (uid 0) do not run on this node: they would run as root; submit as an ordinary \
                user, or set allow_root_jobs = true in hearthd.toml
                """)
        }
        let work = Self.unitWorkDirectory(jobID: job.id)
        let directory = try JobDirectory.prepare(jobsDirectory: configuration.jobsDirectory, jobID: job.id, user: nil)
        // Fleet datasets and stored checkpoints go to hearthd's jobs/ID/inputs, bound read-only
        // into the unit's directory (the unit's user cannot reach hearthd's state directory).
        let inputs = JobInputs.unit(directory, unitDirectory: work)
        let materialized = try await materializeInputs(
            specJSON: job.specJSON, job: job, inputs: inputs, outputDirectory: work + "/prepared-\(lease.attempt)", log: log)
        var launched = job
        launched.specJSON = materialized.specJSON
        let pins = materialized.pins
        var spec: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(materialized.specJSON.utf8)) as? [String: Any] else {
                throw Error(message: "job \(job.id)'s spec is not a JSON object")
            }
            spec = object
        } catch {
            await releaseArtifacts(pins)
            throw error
        }
        if spec["checkpoint_dir"] == nil { spec["checkpoint_dir"] = work + "/checkpoints" }
        if job.kind == .eval && spec["results_path"] == nil { spec["results_path"] = work + "/results.json" }
        if [.train, .distill].contains(job.kind) {
            spec["resume"] = materialized.resume.map { ["path": $0.path, "sha256": $0.sha256] as [String: Any] } ?? "none"
        }
        let jobJSON: [UInt8], path: String, argv: [String]
        do {
            jobJSON = [UInt8](try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]))
            (path, argv) = try Self.unitCommand(for: launched, workerPath: configuration.workerPath)
        } catch {
            await releaseArtifacts(pins)
            throw error
        }
        let runAs = known ?? UnixUser(name: "hearth-a\(job.accountID)", uid: 0, gid: 0, groups: [], home: "/")
        var environment = Self.environment(job: job, attempt: lease.attempt, user: runAs, gpuIndices: gpuIndices, workDirectory: work,
                                           serveBindAddress: configuration.serveBindAddress)
        environment["HEARTH_REPORT_FD"] = "0"

        var opened: [Int32] = []
        do {
            let reports = try ReportPipe.make()
            opened += [reports.readFD, reports.writeFD]
            let output = try ReportPipe.make()
            opened += [output.readFD, output.writeFD]
            let logPath = directory.root.appendingPathComponent("attempt-\(lease.attempt).log").path
            let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o640)
            guard logFD >= 0 else { throw Error(message: "cannot open \(logPath): \(String(cString: strerror(errno)))") }
            opened.append(logFD)

            var properties: [(String, TransientUnit.Value)] = [
                ("Description", .string("Hearth job \(job.id), attempt \(lease.attempt) (\(account))")),
                ("Slice", .string(policy.slice)),
                ("ExecStart", .exec(path: path, argv: argv)),
                ("Environment", .strings(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })),
                ("SetCredential", .credentials([("job.json", jobJSON)])),
                ("StateDirectory", .strings(["hearth-jobs/\(job.id)"])),
                ("StateDirectoryMode", .uint32(0o700)),
                ("WorkingDirectory", .string(work)),
                ("StandardInputFileDescriptor", .descriptor(reports.writeFD)),
                ("StandardOutputFileDescriptor", .descriptor(output.writeFD)),
                ("StandardErrorFileDescriptor", .descriptor(output.writeFD)),
                ("RemainAfterExit", .bool(true)),
                ("KillMode", .string("control-group")),
                ("NoNewPrivileges", .bool(true)),
                ("PrivateTmp", .bool(true)),
                ("ProtectSystem", .string("strict")),
                ("ReadWritePaths", .strings([work] + (known.map { FileManager.default.fileExists(atPath: $0.home) && $0.home != "/" ? [$0.home] : [] } ?? []))),
                ("CPUAccounting", .bool(true)),
                ("DevicePolicy", .string("closed")),
                ("DeviceAllow", .devices(Self.unitDevices(gpuIndices: gpuIndices))),
                ("LogExtraFields", .byteArrays(["JOB_ID=\(job.id)", "JOB_ATTEMPT=\(lease.attempt)", "ACCOUNT=\(account)"].map { Array($0.utf8) })),
            ]
            if let known {
                properties.append(("User", .string(known.name ?? account)))
            } else {
                // No Unix user here: systemd allocates a uid for the unit's lifetime, never root or hearthd's.
                properties += [("User", .string(runAs.name!)), ("DynamicUser", .bool(true))]
            }
            if FileManager.default.fileExists(atPath: inputs.directory.path) {
                properties.append(("BindReadOnlyPaths", .bindPaths([(inputs.directory.path, inputs.visibleRoot)])))
            }
            if let max = policy.memoryMaxBytes { properties.append(("MemoryMax", .uint64(UInt64(max)))) }
            if let tasks = policy.tasksMax { properties.append(("TasksMax", .uint64(UInt64(tasks)))) }
            if let cpu = policy.cpuQuotaPercent { properties.append(("CPUQuotaPerSecUSec", .uint64(UInt64(cpu) * 10_000))) }
            if let limit = job.timeLimitSeconds { properties.append(("RuntimeMaxUSec", .uint64(UInt64(limit) * 1_000_000))) }

            let name = "hearth-job-\(job.id)-\(lease.attempt).service"
            let unit = try TransientUnit.start(name: name, properties: properties)
            close(reports.writeFD)
            close(output.writeFD)
            // The start job runs on in systemd: wait (briefly) for the main process to exist.
            var pid: pid_t = 0
            for _ in 0..<200 {
                if let s = try? unit.state() {
                    pid = pid_t(s.mainPID)
                    if pid != 0 || s.ended { break }
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            // With the unit's name, so a restarted hearthd can stop it (it is not in hearthd's cgroup).
            try? ScratchFile.replace(pidFile(job.id), with: Array("\(pid) \(name)\n".utf8))
            log.debug("started transient unit", metadata: ["unit": "\(name)"])
            return LaunchedAttempt(process: .unit(unit, mainPID: pid), reports: reports, output: output, logFD: logFD,
                                   cgroup: nil, user: known, checkpointRoot: Self.unitWorkDirectory(jobID: job.id), artifactPins: pins,
                                   prepared: PrepareSpec(specJSON: launched.specJSON))
        } catch {
            await releaseArtifacts(pins)
            opened.forEach { close($0) }
            throw error
        }
    }

    /// The unit's `ExecStart=`: the worker reads its job file from the credentials directory
    /// (whose path systemd knows only at start, hence the shell); a command job's own program.
    static func unitCommand(for job: Job, workerPath: String) throws -> (path: String, argv: [String]) {
        guard job.kind == .command else {
            return ("/bin/sh", ["/bin/sh", "-c", #"exec "$0" "$1" --job "$CREDENTIALS_DIRECTORY/job.json" --report-fd 0"#,
                                workerPath, job.kind.rawValue])
        }
        let (executable, arguments) = try program(for: job, workerPath: workerPath, jobFile: "")
        var path = executable
        if !path.hasPrefix("/") {
            guard let found = ["/usr/local/bin", "/usr/bin", "/bin"].map({ $0 + "/" + executable })
                .first(where: { access($0, X_OK) == 0 }) else {
                throw Error(message: "command job \(job.id): \(executable) is not in /usr/local/bin, /usr/bin or /bin; give its whole path")
            }
            path = found
        }
        return (path, [executable] + arguments)
    }

    /// `DeviceAllow=` of a unit: its GPUs and the control devices they need (with
    /// `DevicePolicy=closed`, which already allows /dev/null, zero, full, random, urandom, tty, ptmx).
    static func unitDevices(gpuIndices: [Int]) -> [(String, String)] {
        guard !gpuIndices.isEmpty else { return [] }
        return gpuIndices.map { ("/dev/nvidia\($0)", "rw") }
            + [("/dev/nvidiactl", "rw"), ("/dev/nvidia-uvm", "rw"), ("/dev/nvidia-uvm-tools", "rw")]
    }
}
