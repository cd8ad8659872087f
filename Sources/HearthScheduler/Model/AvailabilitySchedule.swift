import Foundation

/// A weekly window in the donor's local time, e.g. Mon–Fri 19:00–07:00.
public struct AvailabilityWindow: Sendable, Hashable, Codable {
    /// Days the window *starts* on, 0 = Sunday … 6 = Saturday.
    public var weekdays: Set<Int>
    /// Start, minutes after local midnight (0..<1440).
    public var startMinute: Int
    /// End, minutes after local midnight; at or before `startMinute` means the next day
    /// (an overnight window). `startMinute == endMinute` is a full 24 hours.
    public var endMinute: Int

    public init(weekdays: Set<Int>, startMinute: Int, endMinute: Int) {
        self.weekdays = weekdays.filter { (0..<7).contains($0) }
        self.startMinute = min(max(startMinute, 0), 1439)
        self.endMinute = min(max(endMinute, 0), 1440)
    }

    /// Every day, `from` to `to` hours (overnight when `to <= from`).
    public static func daily(fromHour: Int, toHour: Int) -> AvailabilityWindow {
        AvailabilityWindow(weekdays: Set(0..<7), startMinute: fromHour * 60, endMinute: toHour * 60)
    }

    var lengthSeconds: Int {
        let end = endMinute <= startMinute ? endMinute + 1440 : endMinute
        return (end - startMinute) * 60
    }
}

/// When a donor lends the node: a set of weekly windows in one time zone.
///
/// Local time is computed with the zone's UTC offset at the instant asked about; within an
/// hour of a DST change an edge may be off by that hour (documented in Docs/scheduler.md).
public struct AvailabilitySchedule: Sendable, Hashable, Codable {
    public var timeZone: TimeZone
    public var windows: [AvailabilityWindow]

    public init(timeZone: TimeZone, windows: [AvailabilityWindow]) {
        self.timeZone = timeZone
        self.windows = windows
    }

    /// The open interval containing `t`, as (opened, closes); `nil` when closed at `t`.
    /// Adjacent or overlapping windows merge; a stretch open for more than 8 days reports
    /// `closes` as `.distantFuture`.
    public func openStretch(at t: Date) -> (opened: Date, closes: Date)? {
        let offset = Double(timeZone.secondsFromGMT(for: t))
        let local = t.timeIntervalSince1970 + offset
        let stretches = localIntervals(aroundLocal: local)
        guard let hit = stretches.first(where: { $0.0 <= local && local < $0.1 }) else { return nil }
        let closes = hit.1 - local > 8 * 86_400 ? Date.distantFuture : Date(timeIntervalSince1970: hit.1 - offset)
        return (Date(timeIntervalSince1970: hit.0 - offset), closes)
    }

    /// Whether the node is lent at `t`.
    public func isOpen(at t: Date) -> Bool { openStretch(at: t) != nil }

    /// The next time at or after `t` the node opens (`t` itself when open); `nil` if no
    /// window opens within 8 days.
    public func nextOpening(after t: Date) -> Date? {
        let offset = Double(timeZone.secondsFromGMT(for: t))
        let local = t.timeIntervalSince1970 + offset
        for (start, end) in localIntervals(aroundLocal: local) where end > local {
            return Date(timeIntervalSince1970: max(start, local) - offset)
        }
        return nil
    }

    /// Merged local-time intervals (seconds since the local epoch) from yesterday to 9 days on.
    private func localIntervals(aroundLocal local: Double) -> [(Double, Double)] {
        let day = (local / 86_400).rounded(.down)
        var raw: [(Double, Double)] = []
        for d in -1...9 {
            let dayStart = (day + Double(d)) * 86_400
            // 1970-01-01 was a Thursday (4).
            let weekday = ((Int(day) + d + 4) % 7 + 7) % 7
            for w in windows where w.weekdays.contains(weekday) {
                let s = dayStart + Double(w.startMinute * 60)
                raw.append((s, s + Double(w.lengthSeconds)))
            }
        }
        raw.sort { $0.0 < $1.0 }
        var merged: [(Double, Double)] = []
        for iv in raw {
            if let last = merged.last, iv.0 <= last.1 {
                merged[merged.count - 1].1 = max(last.1, iv.1)
            } else {
                merged.append(iv)
            }
        }
        return merged
    }
}
