import HearthCore
/// Placement failures are monotone within a pass (capacity only shrinks), so a job of the
/// same shape needing at least as many GPUs for at least as long fails too.
struct ShapeKey: Hashable {
    var model: String?
    var minMemoryMiB: Int
    var kind: JobKind
    var preemptible: Bool
    /// The account, when it is a donor account somewhere (donor shares differ); else -1.
    var account: Int64
    /// Nodes the job avoids (usually none).
    var avoidNodes: Set<Int64>

    init(_ job: PendingJob, policy: SchedulerPolicy, donorRelevant: Bool) {
        model = job.gpus.model
        minMemoryMiB = job.gpus.minMemoryMiB
        kind = job.kind
        preemptible = job.preemptible && job.preemptionCount < policy.maxPreemptionsPerJob
        account = donorRelevant ? job.accountID : -1
        avoidNodes = job.avoidNodes
    }
}

/// Numbers distinct shapes so the failure caches are arrays, not hash tables.
struct ShapeTable {
    private var ids: [ShapeKey: Int] = [:]
    private var last: (ShapeKey, Int)? = nil

    mutating func id(of key: ShapeKey) -> Int {
        if let l = last, l.0 == key { return l.1 }
        let id: Int
        if let known = ids[key] {
            id = known
        } else {
            id = ids.count
            ids[key] = id
        }
        last = (key, id)
        return id
    }
}

struct FailureCache {
    struct Failure {
        var count: Int
        var duration: Double
    }
    private var failures: [[Failure]] = []

    func knownFailure(_ shape: Int, count: Int, duration: Double) -> Bool {
        guard shape < failures.count else { return false }
        for f in failures[shape] where f.count <= count && f.duration <= duration { return true }
        return false
    }

    mutating func record(_ shape: Int, count: Int, duration: Double) {
        while failures.count <= shape { failures.append([]) }
        failures[shape].append(Failure(count: count, duration: duration))
    }
}
