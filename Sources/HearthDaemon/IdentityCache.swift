import Foundation
import HearthStore
import Synchronization

/// The identities this node resolved for earlier requests on its control socket, so that a
/// request costs no database round trip (and no group lookup) for its caller: a `hearth queue`
/// is then one statement.
///
/// What an entry may be trusted for:
/// - the account's id and role, while ``ChangeEpoch`` has not moved since the entry was read:
///   a role granted or revoked anywhere in the fleet drops every node's entries as soon as its
///   notification arrives; with no listener connected nothing is kept;
/// - membership of the admin group, which no notification covers, for ``maxAge`` at most (nscd,
///   by default, keeps groups an hour);
/// - and only for the same user name and primary group as `getpwuid_r` gives now, which each
///   request still asks (a renamed or reassigned uid is a new entry).
final class IdentityCache: Sendable {
    struct Entry: Sendable {
        var name: String
        var gid: gid_t
        var accountID: Int64
        var stored: AccountStore.Role
        var inAdminGroup: Bool
        var epoch: UInt64
        var at: ContinuousClock.Instant
    }

    let changes: ChangeEpoch
    let maxAge: Duration
    private let entries = Mutex<[uid_t: Entry]>([:])
    private let reads = Atomic<Int>(0)

    init(changes: ChangeEpoch, maxAge: Duration = .seconds(10)) {
        self.changes = changes
        self.maxAge = maxAge
    }

    /// How many times an identity was read from the database rather than from this cache.
    var databaseReads: Int { reads.load(ordering: .relaxed) }

    /// The entry for `uid`, if it may still be trusted for a user called `name` in group `gid`.
    func entry(uid: uid_t, name: String, gid: gid_t) -> Entry? {
        guard let epoch = changes.current else { return nil }
        let now = ContinuousClock.now
        return entries.withLock { all in
            guard let e = all[uid] else { return nil }
            guard e.epoch == epoch, e.name == name, e.gid == gid, now - e.at < maxAge else {
                all[uid] = nil
                return nil
            }
            return e
        }
    }

    /// Keeps what was read; `entry.epoch` must be the epoch taken before the read began.
    func store(uid: uid_t, _ entry: Entry) {
        reads.add(1, ordering: .relaxed)
        entries.withLock { all in
            // A bounded table: uids calling one node are few; a flood of distinct ones only
            // costs their reads.
            if all.count >= 4096 { all.removeAll(keepingCapacity: true) }
            all[uid] = entry
        }
    }

    /// Counts a read that could not be kept (no listener connected).
    func countRead() { reads.add(1, ordering: .relaxed) }
}
