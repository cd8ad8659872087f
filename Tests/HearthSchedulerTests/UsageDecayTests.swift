import Foundation
import Testing
@testable import HearthScheduler

@Suite struct UsageDecayTests {
    @Test func noDecayIsPlainGPUSeconds() {
        let v = UsageDecay.decayedGPUSeconds(gpus: 4, start: t0, end: t0.addingTimeInterval(100), now: t0.addingTimeInterval(100), halfLife: 0)
        #expect(v == 400)
    }

    @Test func matchesNumericIntegration() {
        let h = hours(2), start = t0, end = t0.addingTimeInterval(hours(3)), now = t0.addingTimeInterval(hours(5))
        let exact = UsageDecay.decayedGPUSeconds(gpus: 2, start: start, end: end, now: now, halfLife: h)
        var sum = 0.0
        let steps = 10_800
        for i in 0..<steps {
            let mid = start.addingTimeInterval(Double(i) + 0.5)
            sum += 2 * exp2(-now.timeIntervalSince(mid) / h)
        }
        #expect(abs(exact - sum) / sum < 1e-6)
    }

    @Test func usageOneHalfLifeAgoCountsHalf() {
        let h = hours(24)
        // A 1-second sliver exactly one half-life ago counts ~0.5 GPU-seconds.
        let v = UsageDecay.decayedGPUSeconds(gpus: 1, start: t0, end: t0.addingTimeInterval(1), now: t0.addingTimeInterval(h + 0.5), halfLife: h)
        #expect(abs(v - 0.5) < 1e-4)
    }

    @Test func incrementalEqualsBatch() {
        let h = hours(7)
        let rows = [
            LedgerInterval(accountID: 1, projectID: 1, gpus: 2, start: t0, end: t0.addingTimeInterval(hours(3))),
            LedgerInterval(accountID: 2, projectID: 1, gpus: 1, start: t0.addingTimeInterval(hours(1)), end: t0.addingTimeInterval(hours(6))),
        ]
        let end = t0.addingTimeInterval(hours(10))
        let batch = UsageSnapshot(ledger: rows, now: end, halfLife: h)
        // Roll forward hour by hour, charging each hour's slice of every row.
        var inc = UsageSnapshot(at: t0)
        for step in 1...10 {
            let now = t0.addingTimeInterval(hours(Double(step)))
            inc = inc.advanced(to: now, halfLife: h)
            for r in rows {
                let s = max(r.start, now.addingTimeInterval(-hours(1))), e = min(r.end!, now)
                if e > s { inc.add(LedgerInterval(accountID: r.accountID, projectID: r.projectID, gpus: r.gpus, start: s, end: e), halfLife: h) }
            }
        }
        for (k, v) in batch.usage { #expect(abs((inc.usage[k] ?? 0) - v) / v < 1e-9) }
        #expect(abs(batch.projectUsage(1) - batch.usage.values.reduce(0, +)) < 1e-6)
    }

    @Test func openRowsCountUpToNowAndFutureIsIgnored() {
        let now = t0.addingTimeInterval(100)
        let u = UsageSnapshot(ledger: [
            LedgerInterval(accountID: 1, projectID: 1, gpus: 1, start: t0, end: nil),
            LedgerInterval(accountID: 2, projectID: 1, gpus: 1, start: now.addingTimeInterval(10), end: nil),
        ], now: now, halfLife: 0)
        #expect(u.usage[Association(projectID: 1, accountID: 1)] == 100)
        #expect(u.usage[Association(projectID: 1, accountID: 2)] == nil)
    }
}
