import Synchronization

/// A small pool of ``PostgresConnection``s that lends them for the length of a closure.
///
/// Connections open lazily up to ``Configuration/maxConnections``; a task that finds none free
/// waits for one to come back. A connection that broke (server restart, `pg_terminate_backend`)
/// is closed instead of returned, and the next lender opens a fresh one.
public final class PostgresClient: Sendable {
    /// How the pool connects and how large it grows.
    public struct Configuration: Sendable {
        /// A libpq conninfo string or URL; empty means the `PG*` environment. Defaults to `""`.
        public var conninfo: String
        /// The most connections open at once. Defaults to `8`.
        public var maxConnections: Int
        /// Shown in `pg_stat_activity`. Defaults to `"hearth"`.
        public var applicationName: String
        /// A database name overriding the conninfo's. Defaults to `nil`.
        public var database: String?

        public init(conninfo: String = "", maxConnections: Int = 8, applicationName: String = "hearth", database: String? = nil) {
            self.conninfo = conninfo
            self.database = database
            self.maxConnections = max(1, maxConnections)
            self.applicationName = applicationName
        }
    }

    private struct State {
        var idle: [PostgresConnection] = []
        var open = 0
        var waiters: [CheckedContinuation<PostgresConnection?, Never>] = []
        var closed = false
    }

    /// The configuration the pool was made with.
    public let configuration: Configuration
    private let state = Mutex(State())

    /// Makes a pool; nothing connects until the first lend.
    /// - Throws: ``PostgresError`` (`invalidConnectionString`) when the conninfo cannot be parsed.
    public init(configuration: Configuration) throws {
        try PostgresConnection.validate(conninfo: configuration.conninfo)
        self.configuration = configuration
    }

    /// Lends a connection to `body` and takes it back afterwards.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await lease()
        do {
            let value = try await body(connection)
            release(connection)
            return value
        } catch {
            release(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction: `COMMIT` when it returns, `ROLLBACK` when it throws.
    ///
    /// If the connection breaks midway the server rolls the transaction back on its own, so no
    /// half of it is ever visible.
    @discardableResult
    public func withTransaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { connection in
            try await connection.execute(unsafeSQL: "BEGIN")
            do {
                let value = try await body(connection)
                try await connection.execute(unsafeSQL: "COMMIT")
                return value
            } catch {
                if !connection.isBroken { try? await connection.execute(unsafeSQL: "ROLLBACK") }
                throw error
            }
        }
    }

    /// Runs one statement on a lent connection.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { try await $0.query(query) }
    }

    /// Closes idle connections and refuses new lends; lent connections close when returned.
    public func shutdown() {
        let (idle, waiters) = state.withLock { s -> ([PostgresConnection], [CheckedContinuation<PostgresConnection?, Never>]) in
            s.closed = true
            defer { s.idle = []; s.waiters = [] }
            s.open -= s.idle.count
            return (s.idle, s.waiters)
        }
        idle.forEach { $0.close() }
        waiters.forEach { $0.resume(returning: nil) }
    }

    /// Closes the idle connections, which a server restart left broken (a broken connection
    /// shows only when used); the next lends open fresh ones. Lent connections are not touched.
    public func discardIdleConnections() {
        let idle = state.withLock { s -> [PostgresConnection] in
            defer { s.idle = [] }
            s.open -= s.idle.count
            return s.idle
        }
        idle.forEach { $0.close() }
    }

    // MARK: Lending

    private enum Lease {
        case reuse(PostgresConnection)
        case open
        case wait
        case closed
    }

    private func lease() async throws -> PostgresConnection {
        let decision = state.withLock { s -> Lease in
            if s.closed { return .closed }
            if let c = s.idle.popLast() { return .reuse(c) }
            if s.open < configuration.maxConnections { s.open += 1; return .open }
            return .wait
        }
        switch decision {
        case .reuse(let connection):
            return connection
        case .open:
            return try await openCounted()
        case .closed:
            throw PostgresError(code: .misuse, message: "the PostgreSQL pool is shut down")
        case .wait:
            // A returning lender hands over its connection, or `nil` meaning "a slot is free: open one".
            let handed: PostgresConnection? = await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { s -> Bool in
                    if s.closed { return true }
                    s.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume(returning: nil) }
            }
            if let handed { return handed }
            if state.withLock({ $0.closed }) {
                throw PostgresError(code: .misuse, message: "the PostgreSQL pool is shut down")
            }
            return try await openCounted()
        }
    }

    /// Opens a connection for a slot already counted in `open`; gives the slot back on failure.
    private func openCounted() async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(
                conninfo: configuration.conninfo, applicationName: configuration.applicationName,
                database: configuration.database)
        } catch {
            releaseSlot()
            throw error
        }
    }

    private func release(_ connection: PostgresConnection) {
        if connection.isBroken {
            connection.close()
            releaseSlot()
            return
        }
        let (waiter, closeIt) = state.withLock { s -> (CheckedContinuation<PostgresConnection?, Never>?, Bool) in
            if s.closed { s.open -= 1; return (nil, true) }
            if !s.waiters.isEmpty { return (s.waiters.removeFirst(), false) }
            s.idle.append(connection)
            return (nil, false)
        }
        if closeIt { connection.close() }
        waiter?.resume(returning: connection)
    }

    /// A connection went away: let a waiter open a replacement in its slot.
    private func releaseSlot() {
        let waiter = state.withLock { s -> CheckedContinuation<PostgresConnection?, Never>? in
            if !s.waiters.isEmpty { return s.waiters.removeFirst() }
            s.open -= 1
            return nil
        }
        waiter?.resume(returning: nil)
    }
}
