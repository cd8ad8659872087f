import HearthCore

extension AccountStore {
    /// The account of Unix user `name` (uid `uid`) and its role, for every request on the control
    /// socket: one read when the account exists, as it nearly always does. Only a first request
    /// (or one whose uid the account did not record yet) takes ``ensure(name:uid:role:)``'s write,
    /// so `hearth queue` does not commit a transaction (and wait for its flush) each time.
    public func lookup(name: String, uid: Int) async throws -> (id: Int64, role: Role) {
        if let row = try await client.query("SELECT id, role FROM accounts WHERE name = \(name) AND uid = \(uid)").first {
            return (try row.decode("id"), Role(rawValue: try row.decode("role")) ?? .volunteer)
        }
        let id = try await ensure(name: name, uid: uid)
        return (id, try await role(of: id))
    }
}
