@testable import HearthDaemon
import Testing

/// The leader's periodic wait and its wait after submissions stretch with a long pass
/// (``Leader/spacing(_:lastPass:)``), so a long queue costs it a bounded share of a core; a short
/// queue keeps the fixed spacings, and a freed slot is filled as soon as before.
@Suite struct LeaderPaceTests {
    @Test func aShortPassKeepsTheFixedSpacings() {
        // About a pass over a 300-element array's pending elements.
        let pass: Duration = .milliseconds(9)
        #expect(Leader.spacing(.seconds(1), lastPass: pass) == .seconds(1))
        #expect(Leader.spacing(Leader.routineSpacing, lastPass: pass) == .milliseconds(100))
    }

    @Test func aLongPassStretchesTheWaitToTenTimesIt() {
        // About what a pass over 100,000 pending jobs took here.
        let pass: Duration = .milliseconds(400)
        #expect(Leader.spacing(.seconds(1), lastPass: pass) == .seconds(4))
        #expect(Leader.spacing(Leader.routineSpacing, lastPass: pass) == .seconds(4))
        // So those passes take at most a tenth of the time.
        #expect(pass / Leader.spacing(Leader.routineSpacing, lastPass: pass) <= 0.1)
    }

    @Test func aVeryLongPassWaitsNoLongerThanTheCap() {
        #expect(Leader.spacing(.seconds(1), lastPass: .seconds(5)) == Leader.paceCap)
        // Expired leases are rescued in the same loop: 10 s at most beside a 30 s lease.
        #expect(Leader.paceCap <= .seconds(10))
    }

    @Test func aBaseAboveTheCapIsKept() {
        #expect(Leader.spacing(.seconds(20), lastPass: .milliseconds(1)) == .seconds(20))
        #expect(Leader.spacing(.seconds(20), lastPass: .seconds(5)) == .seconds(20))
    }
}
