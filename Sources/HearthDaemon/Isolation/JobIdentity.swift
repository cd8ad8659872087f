import Foundation
import HearthProcess

/// Who a job's processes run as on this node: the submitting account's Unix user, or a
/// transient uid of its own where the node has no such user; never root unless allowed, and
/// never the daemon's own uid for somebody else's job.
enum JobIdentity {
    /// A job this node will not run, with the sentence saying why.
    struct Refusal: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    /// The identity for a job of `account` (id `accountID`).
    /// - Returns: `nil` when the job runs as hearthd's own user (hearthd is not root and the job is its user's).
    /// - Throws: ``Refusal`` when this node must not run it.
    static func resolve(
        account: String, accountID: Int64, policy: IsolationPolicy,
        daemonUID: uid_t = geteuid(), daemonUser: String? = UnixUser.currentName()
    ) throws(Refusal) -> UnixUser? {
        if daemonUID != 0 {
            // Without root there is no way to become another user: run only our own user's jobs.
            if account == daemonUser { return nil }
            throw Refusal(description: """
                hearthd on this node runs as \(daemonUser ?? "uid \(daemonUID)"), not as root, so it can run only \
                \(daemonUser ?? "that user")'s jobs and this job belongs to \(account); run hearthd as root \
                (or under systemd) to run every volunteer's jobs as their own user
                """)
        }
        if let user = UnixUser.lookup(name: account) {
            if user.uid == 0 && !policy.allowRootJobs {
                throw Refusal(description: """
                    jobs of \(account) (uid 0) do not run on this node: they would run as root; submit as an ordinary \
                    user, or set allow_root_jobs = true in hearthd.toml
                    """)
            }
            return user
        }
        let offset = UInt64(max(0, accountID))
        let span = UInt64(policy.transientUIDs.upperBound - policy.transientUIDs.lowerBound)
        guard offset <= span else {
            throw Refusal(description: """
                account \(account) has no Unix user on this node and its id \(accountID) is past the transient uid range \
                \(policy.transientUIDs.lowerBound)-\(policy.transientUIDs.upperBound); widen [isolation] transient_uids \
                in hearthd.toml, or add a user \(account) to this node
                """)
        }
        let uid = policy.transientUIDs.lowerBound + UInt32(offset)
        guard uid != 0, uid != daemonUID, !UnixUser.exists(uid: uid) else {
            throw Refusal(description: """
                account \(account) has no Unix user on this node and its transient uid \(uid) belongs to a user of this \
                node; move [isolation] transient_uids in hearthd.toml to a range no user has
                """)
        }
        return UnixUser(name: nil, uid: uid, gid: uid, groups: [uid], home: "/")
    }
}
