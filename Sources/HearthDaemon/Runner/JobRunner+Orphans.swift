import Foundation
import HearthStore
import HearthSystemd
import Logging

extension JobRunner {
    /// After a restart: stops the workers a previous life of this daemon left running (they stop
    /// by themselves once they notice their parent is gone; this waits for that, up to the grace
    /// period, then kills them), and requeues every job this node still held.
    public func releaseOrphans(nodeID: Int64) async throws -> [JobQueue.RescuedJob] {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: configuration.jobsDirectory.path)) ?? []
        for dir in dirs {
            guard let id = Int64(dir), let text = try? String(contentsOf: pidFile(id), encoding: .utf8) else { continue }
            let words = text.split(whereSeparator: \.isWhitespace).map(String.init)
            if words.count == 2, words[1].hasPrefix("hearth-job-"), let unit = try? TransientUnit.existing(name: words[1]) {
                // A transient unit outlives hearthd: stop it (SIGTERM to all of it, then SIGKILL; KillMode=control-group).
                unit.remove()
                try? FileManager.default.removeItem(at: pidFile(id))
                logger.notice("stopped a job unit left by an earlier run", metadata: ["job.id": "\(id)", "unit": "\(words[1])"])
                continue
            }
            guard let pid = words.first.flatMap({ pid_t($0) }), Self.isWorker(pid) else { continue }
            kill(-pid, SIGTERM)
            let deadline = ContinuousClock.now + configuration.stopGracePeriod
            while Self.isWorker(pid) && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(100)) }
            if Self.isWorker(pid) { kill(-pid, SIGKILL) }
            try? FileManager.default.removeItem(at: pidFile(id))
            logger.notice("stopped a worker left by an earlier run", metadata: ["job.id": "\(id)", "worker.pid": "\(pid)"])
        }
        return try await queue.releaseHeldJobs(nodeID: nodeID)
    }

    /// Whether `pid` is a live hearth-worker process (not a recycled pid).
    static func isWorker(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0, let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        let zombie = stat.split(separator: ")").last?.split(separator: " ").first == "Z"
        // A command job runs the volunteer's program: it is known by its cgroup instead.
        let cgroups = (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? ""
        return !zombie && (String(decoding: cmdline, as: UTF8.self).contains("hearth-worker") || cgroups.contains("/hearth-jobs/job-"))
    }
}
