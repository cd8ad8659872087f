import Foundation
import HearthCore
@testable import HearthScheduler

/// Random fleets and queues for property tests, reproducible from a seed.
enum RandomSnapshots {
    static let models = ["A100", "H100", "RTX4090"]
    static let zones = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo"].compactMap { TimeZone(identifier: $0) }

    static func policy(_ rng: inout SeededGenerator, accounts: Int) -> DonorPolicy {
        var p = DonorPolicy.unrestricted
        if rng.unit() < 0.5 {
            let start = Int(rng.unit() * 24), len = 1 + Int(rng.unit() * 16)
            let days = Set((0..<7).filter { _ in rng.unit() < 0.7 })
            p.availability = AvailabilitySchedule(timeZone: zones[Int(rng.unit() * Double(zones.count))],
                windows: [AvailabilityWindow(weekdays: days, startMinute: start * 60, endMinute: ((start + len) % 24) * 60)])
        }
        if rng.unit() < 0.3 {
            p.allowedKinds = Set(JobKind.allCases.filter { _ in rng.unit() < 0.6 })
        }
        if rng.unit() < 0.3 {
            p.donorAccounts = [Int64(1 + Int(rng.unit() * Double(accounts)))]
            p.reservedGPUsForDonor = 1 + Int(rng.unit() * 2)
        }
        return p
    }

    static func make(seed: UInt64, maxNodes: Int = 12, maxPending: Int = 60) -> (Snapshot, Date) {
        var rng = SeededGenerator(seed: seed)
        let now = t0.addingTimeInterval(rng.unit() * 7 * 86_400)
        let accounts = 1 + Int(rng.unit() * 5)
        var nodes: [NodeSnapshot] = []
        for i in 0..<(1 + Int(rng.unit() * Double(maxNodes))) {
            let count = [1, 2, 4, 8][Int(rng.unit() * 4)]
            let model = models[Int(rng.unit() * 3)]
            var n = NodeSnapshot.uniform(id: Int64(i + 1), count: count, model: model,
                memoryMiB: model == "RTX4090" ? 24_576 : 81_920, policy: policy(&rng, accounts: accounts))
            for g in n.gpus.indices where rng.unit() < 0.05 { n.gpus[g].healthy = false }
            n.reclaimed = rng.unit() < 0.05
            n.online = rng.unit() > 0.05
            n.cpuJobSlots = Int(rng.unit() * 3)
            nodes.append(n)
        }
        var id: Int64 = 1
        var running: [RunningJob] = []
        for n in nodes {
            var free = n.gpus.filter(\.healthy).map(\.index).shuffled(using: &rng)
            while !free.isEmpty && rng.unit() < 0.6 {
                let k = min(free.count, [1, 1, 2, 4][Int(rng.unit() * 4)])
                let a = Int64(1 + Int(rng.unit() * Double(accounts)))
                running.append(RunningJob(id: id, accountID: a, projectID: a % 2, kind: JobKind.allCases[Int(rng.unit() * 5)],
                    qos: QOS.allCases[Int(rng.unit() * 4)], nodeID: n.id, gpuIndices: Array(free.prefix(k)),
                    startedAt: now.addingTimeInterval(-rng.unit() * 7_200), timeLimit: rng.unit() < 0.2 ? nil : 600 + rng.unit() * 20_000,
                    preemptionCount: Int(rng.unit() * 4),
                    preemptionRequestedAt: rng.unit() < 0.1 ? now.addingTimeInterval(-rng.unit() * 200) : nil))
                free.removeFirst(k)
                id += 1
            }
        }
        // A few CPU-only jobs already running.
        for n in nodes where rng.unit() < 0.2 {
            running.append(RunningJob(id: id, accountID: 1, projectID: 1, kind: .command, nodeID: n.id, gpuIndices: [],
                startedAt: now.addingTimeInterval(-600), timeLimit: 3_600))
            id += 1
        }
        var pendingJobs: [PendingJob] = []
        var states: [Int64: JobState] = [:]
        for _ in 0..<Int(rng.unit() * Double(maxPending)) {
            let a = Int64(1 + Int(rng.unit() * Double(accounts)))
            var deps: [Int64] = []
            if rng.unit() < 0.1 {
                let d = 10_000 + Int64(rng.unit() * 100)
                deps.append(d)
                states[d] = [JobState.succeeded, .running, .failed, .queued][Int(rng.unit() * 4)]
            }
            pendingJobs.append(PendingJob(id: id, accountID: a, projectID: a % 2, kind: JobKind.allCases[Int(rng.unit() * 5)],
                qos: QOS.allCases[Int(rng.unit() * 4)],
                gpus: GPURequest(count: [0, 1, 1, 1, 2, 4, 8][Int(rng.unit() * 7)],
                    model: rng.unit() < 0.3 ? models[Int(rng.unit() * 3)] : nil, minMemoryMiB: rng.unit() < 0.2 ? 40_000 : 0),
                submittedAt: now.addingTimeInterval(-rng.unit() * 86_400),
                notBefore: rng.unit() < 0.05 ? now.addingTimeInterval(rng.unit() * 600) : nil,
                timeLimit: rng.unit() < 0.15 ? nil : 300 + rng.unit() * 30_000, afterOK: deps,
                preemptible: rng.unit() < 0.1 ? true : nil, preemptionCount: Int(rng.unit() * 4),
                userPriority: rng.unit() < 0.2 ? Int(rng.unit() * 2_000) - 1_000 : 0))
            id += 1
        }
        var usage = UsageSnapshot(at: now)
        for a in 1...accounts { usage.usage[Association(projectID: Int64(a) % 2, accountID: Int64(a))] = rng.unit() * 1e6 }
        return (Snapshot(pending: pendingJobs, running: running, nodes: nodes, usage: usage, dependencyStates: states), now)
    }
}
