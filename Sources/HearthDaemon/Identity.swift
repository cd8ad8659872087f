import Foundation
import HearthStore

/// Who is calling the control socket, from its peer credentials (`SO_PEERCRED`).
public struct Identity: Sendable, Hashable {
    /// The caller's Unix user name, which is their account name.
    public var account: String
    public var uid: uid_t
    /// The account's id (created as a volunteer on first use).
    public var accountID: Int64
    /// `admin` for root and members of the admin group, else the account's stored role.
    public var role: AccountStore.Role

    public var isAdmin: Bool { role == .admin }

    /// Resolves a uid into an identity, creating the account on first use.
    /// - Parameter adminGroup: members of this Unix group are admins. Defaults to `hearth-admin`.
    static func resolve(uid: uid_t, adminGroup: String, accounts: AccountStore) async throws -> Identity? {
        guard let pw = getpwuid(uid) else { return nil }
        let name = String(cString: pw.pointee.pw_name)
        let gid = pw.pointee.pw_gid
        let (id, stored) = try await accounts.lookup(name: name, uid: Int(uid))
        let admin = uid == 0 || isMember(name, gid: gid, of: adminGroup)
        return Identity(account: name, uid: uid, accountID: id, role: admin ? .admin : stored)
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
