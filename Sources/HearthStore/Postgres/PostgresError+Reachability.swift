extension PostgresError {
    /// The server could not be reached or went away (not: it refused the statement): worth
    /// retrying once it is back. Connection failures, a connection closed under us, and the
    /// SQLSTATEs of a server that is shutting down, crashed or still recovering (57P01–57P03, 08xxx).
    public var isUnreachable: Bool {
        if code == .connectionFailed || code == .connectionClosed { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }
}

extension PostgresError {
    /// A connection failed because no server answers there now (refused, no socket, timed out,
    /// starting up or shutting down) — not because of what was asked (a wrong password, a
    /// missing database), which waiting cannot fix.
    public var isServerDown: Bool {
        guard isUnreachable else { return false }
        let signs = [
            "Connection refused", "No such file or directory", "timeout expired", "Connection timed out",
            "No route to host", "Network is unreachable", "the database system is starting up",
            "the database system is shutting down", "the database system is in recovery mode", "server closed the connection",
            "could not translate host name", "Temporary failure in name resolution",
        ]
        return signs.contains { message.contains($0) }
    }
}
