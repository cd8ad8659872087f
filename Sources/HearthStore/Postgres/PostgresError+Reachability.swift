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
