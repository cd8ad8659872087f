import HearthCore

extension JobQueue {
    /// The name of an account (its Unix user name), which a node resolves to the user a job runs as.
    public func accountName(of accountID: Int64) async throws -> String? {
        let rows = try await client.query("SELECT name FROM accounts WHERE id = \(accountID)")
        return try rows.first?.decode("name")
    }
}
