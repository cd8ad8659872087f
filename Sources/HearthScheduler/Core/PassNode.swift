import HearthCore
import Foundation

/// A future claim on one GPU: `job` expects it from `start` to `end`.
struct SlotReservation {
    var job: Int64
    var start: Date
    var end: Date
}

/// One node during a pass: which GPU slots are busy, until when, and what is reserved.
///
/// Slots are positions in `gpus`, not GPU indices; `slot(ofIndex:)` maps between them.
struct PassNode {
    let id: Int64
    let gpus: [GPUSnapshot]
    let policy: DonorPolicy
    let online: Bool
    let reclaimed: Bool
    /// Online, not reclaimed, and inside the donor window now: new work may be placed.
    let acceptsWork: Bool
    /// End of the current open stretch; `.distantFuture` when the node has no window.
    let closes: Date
    /// For a node that is online and not reclaimed but outside its window now: the next
    /// open stretch, so jobs waiting for it can be given an expected start.
    let nextStretch: (opened: Date, closes: Date)?
    /// GPUs accounts outside `policy.donorAccounts` may hold together.
    let donorCap: Int
    let healthyCount: Int
    /// Copies of the policy fields the placement loop reads, so it never touches `policy`
    /// (a struct of sets and a time zone) in its hot path.
    let allowedKinds: [JobKind]?
    let donorAccounts: Set<Int64>

    var busy: [Bool]
    /// When a busy slot is expected to free (`.distantFuture` when unknown).
    var freeAt: [Date]
    /// The holder was sent SIGTERM (earlier or in this pass): the slot frees within grace.
    var freeing: [Bool]
    /// Already promised to a preemptor in this pass.
    var claimed: [Bool]
    /// Start of the earliest reservation on the slot (`.distantFuture` when none).
    var reservedFrom: [Date]
    var reservations: [[SlotReservation]]
    /// Index into `Snapshot.running` of each slot's holder, -1 when none or placed this pass.
    var holder: [Int]
    var freeCount: Int
    var nonDonorUsed: Int
    /// Indices into `Snapshot.running` of the jobs on this node.
    var runningJobs: [Int] = []
    /// CPU-only jobs allowed at once, and running (or placed in this pass).
    let cpuJobSlots: Int
    var cpuJobsRunning = 0
    /// Whether one more CPU-only job fits now.
    var cpuSlotFree: Bool { acceptsWork && cpuJobsRunning < cpuJobSlots }
    private let indexToSlot: [Int: Int]?

    init(node: NodeSnapshot, now: Date) {
        id = node.id
        gpus = node.gpus
        policy = node.policy
        online = node.online
        reclaimed = node.reclaimed
        let stretch: (opened: Date, closes: Date)?
        if let sched = node.policy.availability {
            stretch = sched.openStretch(at: now)
        } else {
            stretch = (.distantPast, .distantFuture)
        }
        acceptsWork = node.online && !node.reclaimed && stretch != nil
        closes = stretch?.closes ?? now
        if node.online && !node.reclaimed && stretch == nil, let sched = node.policy.availability,
            let opens = sched.nextOpening(after: now), let next = sched.openStretch(at: opens)
        {
            nextStretch = (opens, next.closes)
        } else {
            nextStretch = nil
        }
        healthyCount = node.gpus.count(where: \.healthy)
        donorCap = max(0, healthyCount - node.policy.reservedGPUsForDonor)
        allowedKinds = node.policy.allowedKinds.map { Array($0) }
        donorAccounts = node.policy.donorAccounts
        let n = node.gpus.count
        busy = node.gpus.map { !$0.healthy }
        freeAt = node.gpus.map { $0.healthy ? now : .distantFuture }
        freeing = Array(repeating: false, count: n)
        claimed = Array(repeating: false, count: n)
        reservedFrom = Array(repeating: .distantFuture, count: n)
        reservations = Array(repeating: [], count: n)
        holder = Array(repeating: -1, count: n)
        freeCount = acceptsWork ? healthyCount : 0
        nonDonorUsed = 0
        cpuJobSlots = node.cpuJobSlots
        let identity = node.gpus.enumerated().allSatisfy { $0.offset == $0.element.index }
        indexToSlot = identity ? nil : Dictionary(
            node.gpus.enumerated().map { ($0.element.index, $0.offset) }, uniquingKeysWith: { a, _ in a })
    }

    func slot(ofIndex index: Int) -> Int? {
        if let m = indexToSlot { return m[index] }
        return index >= 0 && index < gpus.count ? index : nil
    }

    /// Whether the donor's window leaves room for `job` starting at `t`. For a node open
    /// now, `t` is taken to lie in the current stretch.
    func windowFits(start t: Date, duration: TimeInterval, effectivelyPreemptible: Bool, policy p: SchedulerPolicy) -> Bool {
        fits(start: t, closes: closes, duration: duration, effectivelyPreemptible: effectivelyPreemptible, policy: p)
    }

    /// The close of the stretch a job starting at `t` would run in (the current one when
    /// open now, else the next one), or `nil` when `t` is in neither.
    func stretchCloses(forStart t: Date) -> Date? {
        if acceptsWork { return t < closes ? closes : nil }
        if let next = nextStretch, t >= next.opened, t < next.closes { return next.closes }
        return nil
    }

    func fits(start t: Date, closes: Date, duration: TimeInterval, effectivelyPreemptible: Bool, policy p: SchedulerPolicy) -> Bool {
        if closes == .distantFuture { return true }
        if effectivelyPreemptible {
            return closes.timeIntervalSince(t) - p.preemptionGrace >= p.minUsefulRun
        }
        return duration.isFinite && t.addingTimeInterval(duration) <= closes
    }

    /// Whether the node can take `job` now (kind, window, donor share, enough usable GPUs
    /// not reserved before `end`). A method, so callers borrow the node in place instead
    /// of copying it (and retaining a dozen arrays) in the placement loop.
    func canHostNow(
        _ job: PendingJob, need: Int, end: Date, duration: TimeInterval, preemptible: Bool, now: Date,
        policy: SchedulerPolicy
    ) -> Bool {
        if let kinds = allowedKinds, !kinds.contains(job.kind) { return false }
        if job.avoidNodes.contains(id) { return false }
        guard windowFits(start: now, duration: duration, effectivelyPreemptible: preemptible, policy: policy)
        else { return false }
        if nonDonorUsed + need > donorCap && (donorAccounts.isEmpty || !donorAccounts.contains(job.accountID)) {
            return false
        }
        var usable = 0
        for s in gpus.indices where usable < need && !busy[s] && reservedFrom[s] >= end && job.gpus.accepts(gpus[s]) {
            usable += 1
        }
        return usable == need
    }

    /// Healthy GPUs that accept `request`, busy or not.
    func matchingCount(_ request: GPURequest) -> Int {
        var c = 0
        for g in gpus where request.accepts(g) { c += 1 }
        return c
    }

    /// Marks `slots` busy for a job placed now that ends at `end`.
    mutating func occupy(_ slots: [Int], until end: Date, nonDonor: Bool) {
        for s in slots {
            busy[s] = true
            freeAt[s] = end
        }
        if acceptsWork { freeCount -= slots.count }
        if nonDonor { nonDonorUsed += slots.count }
    }

    /// Reserves `slots` for `job` over [start, end).
    mutating func reserve(_ slots: [Int], job: Int64, from start: Date, to end: Date) {
        for s in slots {
            reservations[s].append(SlotReservation(job: job, start: start, end: end))
            if start < reservedFrom[s] { reservedFrom[s] = start }
        }
    }

    /// Whether no reservation on `slot` overlaps [start, end).
    func slotUnreserved(_ slot: Int, from start: Date, to end: Date) -> Bool {
        if reservedFrom[slot] >= end { return true }
        for r in reservations[slot] where r.start < end && start < r.end { return false }
        return true
    }
}
