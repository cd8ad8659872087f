import HearthCore
import Foundation

/// Builds synthetic fleets of donated nodes.
public enum FleetModel {
    /// `count` nodes: 50 % with 8 GPUs, 30 % with 4, 20 % with 2 (A100 80 GiB, H100 80 GiB
    /// or RTX 4090 24 GiB). When `donorFraction > 0`, that fraction of nodes is donated
    /// with a policy: nights 19:00–08:00 plus whole weekends in one of four time zones;
    /// a quarter of those refuse serving, and a third keep one GPU for the donor's account
    /// (`donorAccountBase + node id`).
    public static func make(
        count: Int, donorFraction: Double = 0, seed: UInt64 = 7, donorAccountBase: Int64 = 10_000
    ) -> [NodeSnapshot] {
        var rng = SeededGenerator(seed: seed)
        let zones = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney"]
            .compactMap { TimeZone(identifier: $0) }
        var nodes: [NodeSnapshot] = []
        for i in 0..<count {
            let size = rng.pick([(8, 0.5), (4, 0.3), (2, 0.2)])
            let (model, mem) = rng.pick([(("A100", 81_920), 0.5), (("H100", 81_920), 0.3), (("RTX4090", 24_576), 0.2)])
            var policy = DonorPolicy.unrestricted
            if rng.unit() < donorFraction, let tz = zones.isEmpty ? nil : zones[i % zones.count] {
                let nights = AvailabilityWindow(weekdays: [0, 1, 2, 3, 4, 5], startMinute: 19 * 60, endMinute: 8 * 60)
                let weekend = AvailabilityWindow(weekdays: [0, 6], startMinute: 0, endMinute: 0)
                policy.availability = AvailabilitySchedule(timeZone: tz, windows: [nights, weekend])
                if rng.unit() < 0.25 { policy.allowedKinds = [.train, .eval] }
                if rng.unit() < 1.0 / 3 {
                    policy.donorAccounts = [donorAccountBase + Int64(i)]
                    policy.reservedGPUsForDonor = 1
                }
            }
            nodes.append(NodeSnapshot.uniform(id: Int64(i + 1), count: size, model: model, memoryMiB: mem, policy: policy))
        }
        return nodes
    }
}
