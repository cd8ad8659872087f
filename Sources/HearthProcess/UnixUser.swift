import Foundation

/// A Unix identity a process can run as: user, primary group and supplementary groups.
public struct UnixUser: Sendable, Hashable, CustomStringConvertible {
    /// The user name, or `nil` for a transient uid no account on this machine owns.
    public var name: String?
    public var uid: uid_t
    public var gid: gid_t
    /// Every group the user is in (the primary group included), as `getgrouplist` reports them.
    public var groups: [gid_t]
    /// The user's home directory (`/` for a transient uid).
    public var home: String

    public init(name: String?, uid: uid_t, gid: gid_t, groups: [gid_t], home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.home = home
    }

    public var description: String { "\(name ?? "transient user") (uid \(uid), gid \(gid))" }

    /// Looks a user up by name, thread-safely (`getpwnam_r`, `getgrouplist`): `nil` when this
    /// machine has no such user.
    public static func lookup(name: String) -> UnixUser? {
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var size = max(1024, Int(sysconf(Int32(_SC_GETPW_R_SIZE_MAX))))
        while true {
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            let rc = getpwnam_r(name, &pw, buffer, size, &result)
            if rc == ERANGE && size < 1 << 20 { size *= 4; continue }
            guard rc == 0, let found = result else { return nil }
            let uid = found.pointee.pw_uid, gid = found.pointee.pw_gid
            let home = String(cString: found.pointee.pw_dir)
            return UnixUser(name: name, uid: uid, gid: gid, groups: groupList(name: name, gid: gid), home: home)
        }
    }

    /// Whether any user of this machine has `uid` (thread-safe `getpwuid_r`).
    public static func exists(uid: uid_t) -> Bool {
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let rc = getpwuid_r(uid, &pw, &buffer, buffer.count, &result)
        return rc == 0 && result != nil
    }

    /// The name of the user running this process, if it has one.
    public static func currentName() -> String? {
        var pw = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getpwuid_r(geteuid(), &pw, &buffer, buffer.count, &result) == 0, let found = result else { return nil }
        return String(cString: found.pointee.pw_name)
    }

    static func groupList(name: String, gid: gid_t) -> [gid_t] {
        var count: Int32 = 32
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var n = count
            if getgrouplist(name, gid, &groups, &n) >= 0 { return Array(groups.prefix(Int(n))) }
            if n <= count { return [gid] }
            count = n
        }
    }
}
