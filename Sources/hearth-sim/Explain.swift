import ArgumentParser
import Foundation
import HearthCore
import HearthScheduler

/// `hearth-sim explain`: what `hearth priority JOB` prints, on a small fixed scenario.
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print priority explanations (sprio + squeue --start style) for a small demo queue.")

    func run() throws {
        let now = Date(timeIntervalSince1970: 1_793_620_800)  // Monday 12:00 UTC
        let night = AvailabilitySchedule(timeZone: TimeZone(identifier: "Europe/Berlin")!,
            windows: [AvailabilityWindow(weekdays: Set(0..<7), startMinute: 19 * 60, endMinute: 8 * 60)])
        let nodes = [
            NodeSnapshot.uniform(id: 1, count: 8),
            NodeSnapshot.uniform(id: 2, count: 4, model: "RTX4090", memoryMiB: 24_576,
                policy: DonorPolicy(availability: night, allowedKinds: [.train])),
        ]
        let running = [
            RunningJob(id: 10, accountID: 2, projectID: 1, nodeID: 1, gpuIndices: Array(0..<6),
                startedAt: now.addingTimeInterval(-3_600), timeLimit: 3 * 3_600),
        ]
        let pending = [
            PendingJob(id: 20, accountID: 1, projectID: 1, gpus: GPURequest(count: 8),
                submittedAt: now.addingTimeInterval(-7_200), timeLimit: 12 * 3_600),
            PendingJob(id: 21, accountID: 3, projectID: 2, gpus: GPURequest(count: 1),
                submittedAt: now.addingTimeInterval(-600), timeLimit: 4 * 3_600),
            PendingJob(id: 22, accountID: 3, projectID: 2, kind: .eval, gpus: GPURequest(count: 1),
                submittedAt: now.addingTimeInterval(-300), timeLimit: 1_800, afterOK: [19]),
            PendingJob(id: 23, accountID: 2, projectID: 1, gpus: GPURequest(count: 1),
                submittedAt: now.addingTimeInterval(-60), timeLimit: 1_800),
        ]
        let usage = UsageSnapshot(usage: [
            Association(projectID: 1, accountID: 1): 2e5, Association(projectID: 1, accountID: 2): 6e5,
            Association(projectID: 2, accountID: 3): 1e5,
        ], at: now)
        let snapshot = Snapshot(pending: pending, running: running, nodes: nodes, usage: usage,
            dependencyStates: [19: .running])
        let scheduler = Scheduler()
        for job in pending {
            if let e = scheduler.explain(job: job.id, in: snapshot, now: now) { print(e.render(now: now) + "\n") }
        }
        print("decisions:")
        for d in scheduler.schedule(snapshot, now: now).decisions { print("  \(d)") }
    }
}
