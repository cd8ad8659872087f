import Foundation
import HearthCore
import HearthProcess

/// One job start, timed, with and without isolation, for `./bench isolation`: the node-side work
/// between "this attempt is ours" and "its program is running" (pipes, directories, and for the
/// isolated start the identity lookup and the cgroups), then the clean-up after it exits.
/// Database calls are left out: both paths make the same ones.
public enum StartLatencyProbe {
    /// What one start cost.
    public struct Sample: Sendable {
        /// Until the program was exec'd (both spawns return only after the exec).
        public var start: Duration
        /// Start, run (`/bin/true`), reap and clean up.
        public var cycle: Duration
    }

    /// Today's start: two pipes, the job directory, `posix_spawn` as hearthd's own user with
    /// hearthd's environment in a new process group.
    public static func plain(jobsDirectory: URL, jobID: Int64) throws -> Sample {
        let clock = ContinuousClock()
        let begin = clock.now
        let reports = try ReportPipe.make(), output = try ReportPipe.make()
        let dir = jobsDirectory.appendingPathComponent("\(jobID)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let child = try ChildProcess.spawn("/bin/true", [], environment: ProcessInfo.processInfo.environment,
                                           descriptors: [nil, output.writeFD, output.writeFD, reports.writeFD], newProcessGroup: true)
        let started = clock.now
        _ = child.waitBlocking()
        for fd in [reports.readFD, reports.writeFD, output.readFD, output.writeFD] { close(fd) }
        return Sample(start: started - begin, cycle: clock.now - begin)
    }

    /// The isolated start: the account's user looked up, its directories made and given to it,
    /// the attempt's cgroups made with the policy's limits, and the program started as the user
    /// inside them with a clean environment; after it exits, the cgroups are emptied and removed.
    public static func isolated(account: String, accountID: Int64, policy: IsolationPolicy, jobsDirectory: URL, jobID: Int64) throws -> Sample {
        let clock = ContinuousClock()
        let begin = clock.now
        let user = try JobIdentity.resolve(account: account, accountID: accountID, policy: policy)
        let reports = try ReportPipe.make(), output = try ReportPipe.make()
        let dir = try JobDirectory.prepare(jobsDirectory: jobsDirectory, jobID: jobID, user: user)
        let cgroup = policy.cgroups ? try AttemptCgroup.create(name: "bench-\(getpid())-\(jobID)", policy: policy, gpuIndices: [0]) : nil
        let env = JobRunner.environment(job: .init(id: jobID, kind: .command, accountID: accountID, runAt: Date(), createdAt: Date()),
                                        attempt: 1, user: user, gpuIndices: [0], workDirectory: dir.work.path)
        let child = try ChildProcess.spawnIsolated("/bin/true", [], environment: env,
                                                   descriptors: [nil, output.writeFD, output.writeFD, reports.writeFD], user: user,
                                                   cgroupProcs: cgroup?.procsFDs ?? [], workingDirectory: dir.work.path)
        cgroup?.closeDescriptors()
        let started = clock.now
        _ = child.waitBlocking()
        cgroup?.remove()
        for fd in [reports.readFD, reports.writeFD, output.readFD, output.writeFD] { close(fd) }
        return Sample(start: started - begin, cycle: clock.now - begin)
    }
}
