import Foundation
import HearthAPI
import HearthCore
import HearthScheduler

/// Turns a node's stored policy (``PolicyDocument`` JSON in `nodes.policy`) into the scheduler's
/// ``DonorPolicy``, narrowed to the kinds the node's software runs.
enum DonorPolicyDecoding {
    /// The policy of a node. A policy that does not parse (edited by hand in the database) lends
    /// the node for nothing rather than for everything: the donor's wishes win over utilisation.
    static func policy(json: String, nodeKinds: Set<JobKind>, donorAccounts: Set<Int64>) -> DonorPolicy {
        guard let document = try? JSONDecoder().decode(PolicyDocument.self, from: Data(json.utf8)) else {
            return DonorPolicy(allowedKinds: [], donorAccounts: donorAccounts)
        }
        return policy(document, nodeKinds: nodeKinds, donorAccounts: donorAccounts)
    }

    static func policy(_ d: PolicyDocument, nodeKinds: Set<JobKind>, donorAccounts: Set<Int64>) -> DonorPolicy {
        var availability: AvailabilitySchedule?
        if let windows = d.windows, !windows.isEmpty {
            let zone = TimeZone(identifier: d.timeZone ?? "UTC") ?? TimeZone(identifier: "UTC")!
            availability = AvailabilitySchedule(timeZone: zone, windows: windows.compactMap { w in
                guard let from = PolicyDocument.minutes(w.from), let to = PolicyDocument.minutes(w.to) else { return nil }
                let days = Set(w.days.compactMap { PolicyDocument.dayNames.firstIndex(of: $0.lowercased()) })
                return AvailabilityWindow(weekdays: days, startMinute: from % 1440, endMinute: to)
            })
        }
        let allowed = d.allowedKinds.map { Set($0.compactMap { JobKind(rawValue: $0) }).intersection(nodeKinds) } ?? nodeKinds
        return DonorPolicy(
            availability: availability, allowedKinds: allowed, donorAccounts: donorAccounts,
            reservedGPUsForDonor: d.reservedGPUs ?? 0)
    }
}
