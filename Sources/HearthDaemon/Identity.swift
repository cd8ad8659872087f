import Foundation
import HearthStore

/// Who is calling the control socket, from its peer credentials (`SO_PEERCRED`).
public struct Identity: Sendable, Hashable {
    /// The caller's Unix user name, which is their account name.
    public var account: String
    public var uid: uid_t
    /// The account's id (created as a volunteer on first use).
    public var accountID: Int64
    /// `admin` for a fleet admin, else the account's stored role (a stored `admin` reads as
    /// `volunteer` on a node that cannot act fleet-wide).
    public var role: AccountStore.Role
    /// Root or a member of the admin group on this node: admin of this node only (drain, resume,
    /// reclaim, release, policy of this node). Docs/security.md, "The fleet's trust model".
    public var nodeAdmin: Bool = false

    /// A fleet admin: an account marked admin in the database, calling a node that holds the
    /// fleet owner's credentials (a node with only its own login cannot vouch for one).
    public var isAdmin: Bool { role == .admin }

    /// Resolves a uid into an identity, creating the account on first use.
    /// - Parameters:
    ///   - adminGroup: members of this Unix group (and root) are admins of this node. Defaults to `hearth-admin`.
    ///   - fleetWide: whether this node holds the owner's credentials, so that accounts marked
    ///     admin in the database are fleet admins here.
    ///   - cache: identities resolved before, trusted as ``IdentityCache`` says; `nil` reads every time.
    static func resolve(uid: uid_t, adminGroup: String, accounts: AccountStore, fleetWide: Bool = true,
                        cache: IdentityCache? = nil) async throws -> Identity? {
        guard let (name, gid) = passwdEntry(uid) else { return nil }
        let found: IdentityCache.Entry
        if let hit = cache?.entry(uid: uid, name: name, gid: gid) {
            found = hit
        } else {
            // The epoch before the read: a change committed while it runs moves it, and the
            // entry is then never trusted.
            let epoch = cache?.changes.current
            let start = ContinuousClock.now
            let (id, stored) = try await accounts.lookup(name: name, uid: Int(uid))
            found = .init(name: name, gid: gid, accountID: id, stored: stored,
                          inAdminGroup: uid != 0 && isMember(name, gid: gid, of: adminGroup), epoch: epoch ?? 0, at: start)
            if epoch != nil { cache?.store(uid: uid, found) } else { cache?.countRead() }
        }
        let role: AccountStore.Role = found.stored == .admin && !fleetWide ? .volunteer : found.stored
        return Identity(account: name, uid: uid, accountID: found.accountID, role: role,
                        nodeAdmin: role == .admin || uid == 0 || found.inAdminGroup)
    }

    /// The user name and primary group of `uid` (`getpwuid_r`: requests resolve concurrently).
    static func passwdEntry(_ uid: uid_t) -> (name: String, gid: gid_t)? {
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 1024)
        while true {
            // The entry's strings point into the buffer: read them while it is pinned.
            let (rc, found) = buffer.withUnsafeMutableBufferPointer { b -> (Int32, (String, gid_t)?) in
                let rc = getpwuid_r(uid, &pw, b.baseAddress!, b.count, &result)
                guard rc == 0, let entry = result else { return (rc, nil) }
                return (rc, (String(cString: entry.pointee.pw_name), entry.pointee.pw_gid))
            }
            if rc == ERANGE && buffer.count < 1 << 20 { buffer = [CChar](repeating: 0, count: buffer.count * 4); continue }
            return found
        }
    }

    static func isMember(_ user: String, gid: gid_t, of group: String) -> Bool {
        guard let gr = getgrnam(group) else { return false }
        if gr.pointee.gr_gid == gid { return true }
        var member = gr.pointee.gr_mem
        while let m = member?.pointee {
            if String(cString: m) == user { return true }
            member = member?.advanced(by: 1)
        }
        return false
    }
}
