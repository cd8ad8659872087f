import Foundation
import Testing
@testable import HearthScheduler

@Suite struct AvailabilityTests {
    @Test func overnightWindowInDonorTimeZone() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        // Weeknights 19:00–08:00 Berlin (UTC+1 in November).
        let s = AvailabilitySchedule(timeZone: berlin, windows: [AvailabilityWindow(weekdays: [1, 2, 3, 4, 5], startMinute: 19 * 60, endMinute: 8 * 60)])
        // Monday 12:00 UTC = 13:00 Berlin: closed; opens 18:00 UTC.
        #expect(!s.isOpen(at: t0))
        #expect(s.nextOpening(after: t0) == t0.addingTimeInterval(hours(6)))
        // Monday 20:00 UTC = 21:00 Berlin: open until Tuesday 07:00 UTC.
        let night = t0.addingTimeInterval(hours(8))
        let stretch = try #require(s.openStretch(at: night))
        #expect(stretch.closes == t0.addingTimeInterval(hours(19)))
        #expect(stretch.opened == t0.addingTimeInterval(hours(6)))
    }

    @Test func weekendStretchMergesAdjacentWindows() {
        let weekend = AvailabilityWindow(weekdays: [0, 6], startMinute: 0, endMinute: 0)
        // Friday 2026-11-06 20:00 UTC.
        let friday = t0.addingTimeInterval(hours(4 * 24 + 8))
        // Nights starting Mon–Fri: Sunday's night is not listed, so the stretch ends at
        // Monday 00:00 when the weekend day ends.
        let weeknights = AvailabilityWindow(weekdays: [1, 2, 3, 4, 5], startMinute: 19 * 60, endMinute: 8 * 60)
        let a = AvailabilitySchedule(timeZone: utc, windows: [weeknights, weekend])
        #expect(a.openStretch(at: friday)?.closes == t0.addingTimeInterval(hours(6 * 24 + 12)))
        // With Sunday night listed too, it runs on to Monday 08:00.
        let allNights = AvailabilityWindow(weekdays: [0, 1, 2, 3, 4, 5], startMinute: 19 * 60, endMinute: 8 * 60)
        let b = AvailabilitySchedule(timeZone: utc, windows: [allNights, weekend])
        #expect(b.openStretch(at: friday)?.closes == t0.addingTimeInterval(hours(6 * 24 + 20)))
        #expect(b.openStretch(at: friday)?.opened == t0.addingTimeInterval(hours(4 * 24 + 7)))
    }

    @Test func alwaysOpenScheduleReportsDistantFuture() {
        let s = AvailabilitySchedule(timeZone: utc, windows: [AvailabilityWindow(weekdays: Set(0..<7), startMinute: 0, endMinute: 0)])
        #expect(s.openStretch(at: t0)?.closes == .distantFuture)
    }

    @Test func emptyScheduleNeverOpens() {
        let s = AvailabilitySchedule(timeZone: utc, windows: [])
        #expect(!s.isOpen(at: t0))
        #expect(s.nextOpening(after: t0) == nil)
    }
}
