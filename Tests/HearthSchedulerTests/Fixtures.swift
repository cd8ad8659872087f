import Foundation
import HearthCore
@testable import HearthScheduler

/// Monday 2026-11-02 12:00 UTC.
let t0 = Date(timeIntervalSince1970: 1_793_620_800)
let utc = TimeZone(identifier: "UTC")!

func minutes(_ m: Double) -> TimeInterval { m * 60 }
func hours(_ h: Double) -> TimeInterval { h * 3600 }

func pending(
    _ id: Int64, account: Int64 = 1, project: Int64 = 1, gpus: Int = 1, model: String? = nil, memory: Int = 0,
    kind: JobKind = .train, qos: QOS = .normal, submitted: Date = t0.addingTimeInterval(-60),
    limit: TimeInterval? = hours(1), afterOK: [Int64] = [], preemptible: Bool? = nil, preemptions: Int = 0,
    notBefore: Date? = nil
) -> PendingJob {
    PendingJob(id: id, accountID: account, projectID: project, kind: kind, qos: qos,
        gpus: GPURequest(count: gpus, model: model, minMemoryMiB: memory), submittedAt: submitted,
        notBefore: notBefore, timeLimit: limit, afterOK: afterOK, preemptible: preemptible,
        preemptionCount: preemptions)
}

func runningJob(
    _ id: Int64, node: Int64, gpus: [Int], account: Int64 = 9, project: Int64 = 9, kind: JobKind = .train,
    qos: QOS = .normal, started: Date = t0.addingTimeInterval(-hours(1)), limit: TimeInterval? = hours(3),
    preemptible: Bool? = nil, preemptions: Int = 0, preemptionRequestedAt: Date? = nil
) -> RunningJob {
    RunningJob(id: id, accountID: account, projectID: project, kind: kind, qos: qos, nodeID: node,
        gpuIndices: gpus, startedAt: started, timeLimit: limit, preemptible: preemptible,
        preemptionCount: preemptions, preemptionRequestedAt: preemptionRequestedAt)
}

func node(_ id: Int64, gpus: Int, model: String = "A100", memory: Int = 81_920, policy: DonorPolicy = .unrestricted) -> NodeSnapshot {
    NodeSnapshot.uniform(id: id, count: gpus, model: model, memoryMiB: memory, policy: policy)
}

/// A daily window in UTC; with the defaults it is open at `t0` (12:00 UTC).
func windowPolicy(openHour: Int = 6, closeHour: Int) -> DonorPolicy {
    DonorPolicy(availability: AvailabilitySchedule(timeZone: utc, windows: [.daily(fromHour: openHour, toHour: closeHour)]))
}

extension Plan {
    func placement(of job: Int64) -> (node: Int64, gpuIndices: [Int])? {
        placements.first { $0.job == job }.map { ($0.node, $0.gpuIndices) }
    }
    func preempted(_ job: Int64) -> PreemptionReason? { preemptions.first { $0.job == job }?.reason }
    func reservation(of job: Int64) -> (node: Int64, at: Date)? {
        reservations.first { $0.job == job }.map { ($0.node, $0.at) }
    }
}
