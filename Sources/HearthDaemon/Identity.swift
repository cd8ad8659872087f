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
    static func resolve(uid: uid_t, adminGroup: String, accounts: AccountStore, fleetWide: Bool = true) async throws -> Identity? {
        guard let pw = getpwuid(uid) else { return nil }
        let name = String(cString: pw.pointee.pw_name)
        let gid = pw.pointee.pw_gid
        let (id, stored) = try await accounts.lookup(name: name, uid: Int(uid))
        let role: AccountStore.Role = stored == .admin && !fleetWide ? .volunteer : stored
        return Identity(account: name, uid: uid, accountID: id, role: role,
                        nodeAdmin: role == .admin || uid == 0 || isMember(name, gid: gid, of: adminGroup))
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
