import CLibPQ
import Dispatch
import Foundation

/// One libpq connection.
///
/// libpq blocks, so every call into it runs on the connection's own serial dispatch queue, never
/// on Swift's cooperative thread pool: an `await` on a slow statement parks the task, not a
/// cooperative thread. Statements with bound parameters are prepared once per connection and then
/// executed by name.
///
/// Lend connections with ``PostgresClient/withConnection(_:)`` or
/// ``PostgresClient/withTransaction(_:)``; a connection is not meant to be shared by two tasks at once.
public final class PostgresConnection: @unchecked Sendable {
    // Everything below is touched only on `queue`.
    // Internal, not private: the COPY extension (PostgresConnection+Copy.swift) drives libpq too.
    var handle: OpaquePointer?
    private var preparedNames: [String: String] = [:]
    var broken = false
    private let queue: DispatchQueue

    /// The server process serving this connection (for `pg_terminate_backend` and logs).
    public let backendPID: Int32

    private init(handle: OpaquePointer, queue: DispatchQueue) {
        self.handle = handle
        self.queue = queue
        self.backendPID = PQbackendPID(handle)
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Opens a connection from a libpq conninfo string or URL; an empty string means the `PG*`
    /// environment and libpq's defaults (so `.pgpass`, `PGSERVICE` and Unix sockets work as usual).
    ///
    /// - Parameters:
    ///   - conninfo: `host=/run/postgresql dbname=hearth` or `postgresql://user@host/db?...`.
    ///   - applicationName: shown in `pg_stat_activity` unless the conninfo names one.
    /// - Throws: ``PostgresError`` with code `invalidConnectionString` or `connectionFailed`,
    ///   whose message is one line saying what was wrong and what to check.
    ///   - database: a database name that overrides the one in `conninfo`, if any.
    public static func connect(
        conninfo: String, applicationName: String = "hearth", database: String? = nil
    ) async throws -> PostgresConnection {
        try PostgresConnection.validate(conninfo: conninfo)
        let queue = DispatchQueue(label: "hearth.postgres.connection")
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result {
                    try PostgresConnection.open(
                        conninfo: conninfo, applicationName: applicationName, database: database, queue: queue)
                })
            }
        }
    }

    /// Checks a conninfo string or URL without connecting.
    /// - Throws: ``PostgresError`` (`invalidConnectionString`) naming the problem.
    public static func validate(conninfo: String) throws {
        guard !conninfo.isEmpty else { return }
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            let reason = errorMessage.map { String(cString: $0).oneLine } ?? "out of memory"
            if let errorMessage { PQfreemem(errorMessage) }
            throw PostgresError(
                code: .invalidConnectionString,
                message: "invalid PostgreSQL connection string: \(reason). Use key=value pairs "
                    + "(host=/run/postgresql dbname=hearth) or a postgresql:// URL")
        }
        PQconninfoFree(options)
    }

    private static func open(
        conninfo: String, applicationName: String, database: String?, queue: DispatchQueue
    ) throws -> PostgresConnection {
        // expand_dbname=1: the first "dbname" value may be a whole conninfo string or URL; the
        // keywords after it override it (a later plain "dbname") or fill gaps (application name).
        // Keywords before "dbname" are defaults the conninfo may override: a server that went
        // away (a partition, a failed-over host) must fail a connect or a statement in seconds,
        // not after TCP's 15-minute retransmission limit. (Unix sockets ignore the TCP ones.)
        var keywords = [
            "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
            "dbname", "fallback_application_name", "client_encoding",
        ]
        var values = ["5", "1", "5", "2", "3", "10000", conninfo, applicationName, "UTF8"]
        if let database {
            keywords.append("dbname")
            values.append(database)
        }
        let handle: OpaquePointer? = withCStrings(keywords) { k in
            withCStrings(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let handle else {
            throw PostgresError(code: .connectionFailed, message: "cannot connect to PostgreSQL: out of memory")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let reason = String(cString: PQerrorMessage(handle)).oneLine
            PQfinish(handle)
            let hint = hint(for: reason).map { (reason.hasSuffix("?") || reason.hasSuffix(".") ? " " : ". ") + $0 } ?? ""
            throw PostgresError(code: .connectionFailed, message: "cannot connect to PostgreSQL: \(reason)\(hint)")
        }
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        // Text results depend on these; a forgotten transaction must not pin the xmin horizon.
        let setup = PQexec(
            handle,
            "SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, YMD'; SET idle_in_transaction_session_timeout TO '60s'")
        defer { PQclear(setup) }
        guard PQresultStatus(setup) == PGRES_COMMAND_OK else {
            let reason = String(cString: PQerrorMessage(handle)).oneLine
            PQfinish(handle)
            throw PostgresError(code: .connectionFailed, message: "cannot set up the PostgreSQL session: \(reason)")
        }
        return PostgresConnection(handle: handle, queue: queue)
    }

    private static func hint(for reason: String) -> String? {
        if reason.contains("password authentication failed") || reason.contains("no password supplied") {
            return "Check the password in the connection string, PGPASSWORD or ~/.pgpass"
        }
        if reason.contains("No such file or directory") || reason.contains("Connection refused") {
            return "Check that the server is running and that host and port (or PGHOST, PGPORT) are right"
        }
        if reason.contains("does not exist") {
            return "Check the database and user names, or create them"
        }
        return nil
    }

    /// Whether the connection broke (the server closed it); a broken connection is discarded.
    public var isBroken: Bool { queue.sync { broken || handle == nil || PQstatus(handle) != CONNECTION_OK } }

    /// Runs one statement with its bound parameters and returns its rows.
    /// - Throws: ``PostgresError``: `server` with the SQLSTATE, or `connectionClosed`.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await onQueue { try self.run(query) }
    }

    /// Runs SQL without parameters through the simple query protocol (several statements allowed:
    /// migrations and session commands). Never pass SQL built from values here.
    public func execute(unsafeSQL sql: String) async throws {
        try await onQueue {
            let handle = try self.liveHandle()
            let result = PQexec(handle, sql)
            defer { PQclear(result) }
            _ = try self.check(result, statement: nil)
        }
    }

    /// Closes the connection now. Later calls fail with `connectionClosed`.
    public func close() {
        queue.sync {
            if let handle { PQfinish(handle) }
            handle = nil
        }
    }

    // MARK: On the queue

    func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result(catching: body)) }
        }
    }

    func liveHandle() throws -> OpaquePointer {
        guard let handle, !broken else {
            throw PostgresError(code: .connectionClosed, message: "the PostgreSQL connection is closed")
        }
        return handle
    }

    /// The SCRAM-SHA-256 verifier of `password` (libpq's `PQencryptPasswordConn`), computed in
    /// this process: what the server stores, so the password itself never crosses the wire.
    public func scramVerifier(password: String, user: String) throws -> String {
        try queue.sync {
            let handle = try liveHandle()
            guard let encrypted = PQencryptPasswordConn(handle, password, user, "scram-sha-256") else {
                throw PostgresError(code: .misuse, message: "libpq could not compute a SCRAM verifier: "
                    + String(cString: PQerrorMessage(handle)).oneLine)
            }
            defer { PQfreemem(encrypted) }
            return String(cString: encrypted)
        }
    }

    private func run(_ query: PostgresQuery) throws -> PostgresRows {
        let handle = try liveHandle()
        let result: OpaquePointer?
        if query.isPreparable {
            let name = try preparedName(for: query, handle: handle)
            result = withOptionalCStrings(query.bindings) { values in
                PQexecPrepared(handle, name, Int32(query.bindings.count), values, nil, nil, 0)
            }
        } else {
            result = withOptionalCStrings(query.bindings) { values in
                PQexecParams(handle, query.sql, Int32(query.bindings.count), nil, values, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        return try check(result, statement: nil)
    }

    private func preparedName(for query: PostgresQuery, handle: OpaquePointer) throws -> String {
        if let name = preparedNames[query.sql] { return name }
        let name = "hearth_\(preparedNames.count + 1)"
        let result = PQprepare(handle, name, query.sql, Int32(query.bindings.count), nil)
        defer { PQclear(result) }
        _ = try check(result, statement: name)
        preparedNames[query.sql] = name
        return name
    }

    /// Turns a result into rows, or into an error carrying the SQLSTATE.
    func check(_ result: OpaquePointer?, statement: String?) throws -> PostgresRows {
        guard let handle else { throw PostgresError(code: .connectionClosed, message: "the PostgreSQL connection is closed") }
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        switch status {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return rows(of: result!)
        default:
            if PQstatus(handle) != CONNECTION_OK {
                broken = true
                let reason = String(cString: PQerrorMessage(handle)).oneLine
                throw PostgresError(
                    code: .connectionClosed,
                    message: "the PostgreSQL connection was lost: \(reason.isEmpty ? "server closed the connection" : reason)",
                    sqlState: result.flatMap { field($0, "C") }, statement: statement)
            }
            let primary = result.flatMap { field($0, "M") } ?? String(cString: PQerrorMessage(handle)).oneLine
            let detail = [result.flatMap { field($0, "D") }, result.flatMap { field($0, "H") }]
                .compactMap { $0 }.joined(separator: "; ")
            throw PostgresError(
                code: .server, message: primary, sqlState: result.flatMap { field($0, "C") },
                detail: detail.isEmpty ? nil : detail, statement: statement)
        }
    }

    private func field(_ result: OpaquePointer, _ code: Unicode.Scalar) -> String? {
        guard let p = PQresultErrorField(result, Int32(code.value)) else { return nil }
        return String(cString: p)
    }

    private func rows(of result: OpaquePointer) -> PostgresRows {
        let nrows = Int(PQntuples(result)), ncols = Int(PQnfields(result))
        let columns = (0..<ncols).map { String(cString: PQfname(result, Int32($0))) }
        var values: [[String?]] = []
        values.reserveCapacity(nrows)
        for r in 0..<nrows {
            var row: [String?] = []
            row.reserveCapacity(ncols)
            for c in 0..<ncols {
                if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                    row.append(nil)
                } else {
                    row.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                }
            }
            values.append(row)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(columns: columns, values: values, affectedRows: affected)
    }

    // MARK: LISTEN / NOTIFY

    /// Waits up to `timeout` for notifications on channels this connection `LISTEN`s to, and
    /// returns at once (with none) when the calling task is cancelled: a listener can wait long
    /// without delaying shutdown. Blocks the connection's own queue (not the caller's thread).
    func waitForNotifications(timeout: Duration) async throws -> [PostgresNotification] {
        // A pipe the cancellation handler writes to wakes the poll below.
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else {
            throw PostgresError(code: .misuse, message: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        let (wakeRead, wakeWrite) = (pipeFDs[0], pipeFDs[1])
        defer { Glibc.close(wakeRead); Glibc.close(wakeWrite) }
        return try await withTaskCancellationHandler {
            try await onQueue {
                let handle = try self.liveHandle()
                var found = self.drainNotifications(handle)
                if !found.isEmpty { return found }
                var fds = [pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0),
                           pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
                let millis = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
                if poll(&fds, 2, millis) > 0, fds[0].revents != 0 {
                    if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK {
                        self.broken = true
                        throw PostgresError(
                            code: .connectionClosed,
                            message: "the PostgreSQL listening connection was lost: \(String(cString: PQerrorMessage(handle)).oneLine)")
                    }
                    found = self.drainNotifications(handle)
                }
                return found
            }
        } onCancel: {
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        }
    }

    private func drainNotifications(_ handle: OpaquePointer) -> [PostgresNotification] {
        var out: [PostgresNotification] = []
        while let n = PQnotifies(handle) {
            out.append(PostgresNotification(
                channel: String(cString: n.pointee.relname), payload: String(cString: n.pointee.extra),
                backendPID: n.pointee.be_pid))
            PQfreemem(n)
        }
        return out
    }
}

/// A `NOTIFY` received on a channel the listener subscribed to.
public struct PostgresNotification: Sendable, Hashable {
    /// The channel name.
    public var channel: String
    /// The payload string (may be empty).
    public var payload: String
    /// The server process that sent it.
    public var backendPID: Int32
}

// MARK: C string helpers

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { buffer in
        buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { body($0) }
    }
}

private func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    if strings.isEmpty { return body(nil) }
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { buffer in
        buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { body($0) }
    }
}
