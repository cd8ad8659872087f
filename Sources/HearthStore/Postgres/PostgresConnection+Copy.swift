import CLibPQ
import Foundation

/// The sending side of a `COPY ... FROM STDIN`: hands bytes to libpq, which streams them to the
/// server as they come (nothing is gathered in memory beyond libpq's output buffer).
public struct PostgresCopyIn {
    let handle: OpaquePointer

    /// Sends bytes of the COPY data stream (any split: rows may span calls).
    /// - Throws: ``PostgresError`` (`connectionClosed`) when the server went away.
    public func send(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        let sent = bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32(bytes.count)) }
        if sent != 1 {
            throw PostgresError(
                code: .connectionClosed,
                message: "the PostgreSQL connection was lost during COPY: \(String(cString: PQerrorMessage(handle)).oneLine)")
        }
    }
}

extension PostgresConnection {
    /// Runs a `COPY ... FROM STDIN` statement and lets `body` stream its data.
    ///
    /// `body` runs on the connection's own queue (it may block on file reads without holding a
    /// cooperative thread). When it throws, the COPY is aborted (the server discards every row
    /// of it, and an enclosing transaction fails) and its error is rethrown.
    /// - Returns: `body`'s value.
    /// - Throws: ``PostgresError`` from the server, or `body`'s error.
    public func copyIn<T: Sendable>(unsafeSQL sql: String, _ body: @escaping @Sendable (PostgresCopyIn) throws -> T) async throws -> T {
        try await onQueue {
            let handle = try self.liveHandle()
            let start = PQexec(handle, sql)
            let status = start.map(PQresultStatus) ?? PGRES_FATAL_ERROR
            if status != PGRES_COPY_IN {
                defer { PQclear(start) }
                _ = try self.check(start, statement: nil)
                throw PostgresError(code: .server, message: "the statement is not a COPY FROM STDIN")
            }
            PQclear(start)
            let value: T
            do {
                value = try body(PostgresCopyIn(handle: handle))
            } catch {
                _ = PQputCopyEnd(handle, "the client stopped the COPY: \(error)")
                self.drainResults(handle)
                throw error
            }
            if PQputCopyEnd(handle, nil) != 1 {
                self.broken = true
                throw PostgresError(
                    code: .connectionClosed,
                    message: "the PostgreSQL connection was lost ending COPY: \(String(cString: PQerrorMessage(handle)).oneLine)")
            }
            try self.finishResults(handle)
            return value
        }
    }

    /// Runs a `COPY ... TO STDOUT` statement and hands each data message (one row; the first
    /// also carries a binary COPY's header) to `body`, in order, as it arrives.
    ///
    /// When `body` throws, the statement is cancelled and the rest of its data discarded.
    /// - Throws: ``PostgresError`` from the server, or `body`'s error.
    public func copyOut(unsafeSQL sql: String, _ body: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Void) async throws {
        try await onQueue {
            let handle = try self.liveHandle()
            let start = PQexec(handle, sql)
            let status = start.map(PQresultStatus) ?? PGRES_FATAL_ERROR
            if status != PGRES_COPY_OUT {
                defer { PQclear(start) }
                _ = try self.check(start, statement: nil)
                throw PostgresError(code: .server, message: "the statement is not a COPY TO STDOUT")
            }
            PQclear(start)
            var failure: (any Error)?
            while true {
                var buffer: UnsafeMutablePointer<CChar>?
                let n = PQgetCopyData(handle, &buffer, 0)
                if n > 0, let buffer {
                    defer { PQfreemem(buffer) }
                    guard failure == nil else { continue }
                    do {
                        try body(UnsafeRawBufferPointer(start: buffer, count: Int(n)))
                    } catch {
                        failure = error
                        if let cancel = PQgetCancel(handle) {
                            var message = [CChar](repeating: 0, count: 256)
                            _ = PQcancel(cancel, &message, Int32(message.count))
                            PQfreeCancel(cancel)
                        }
                    }
                    continue
                }
                if n == -1 { break }
                // -2: an error; the result below says which.
                break
            }
            if let failure {
                self.drainResults(handle)
                throw failure
            }
            try self.finishResults(handle)
        }
    }

    /// Reads the results after a COPY and throws the first error among them.
    private func finishResults(_ handle: OpaquePointer) throws {
        var firstError: (any Error)?
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            if firstError == nil {
                do { _ = try check(result, statement: nil) } catch { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    private func drainResults(_ handle: OpaquePointer) {
        while let result = PQgetResult(handle) { PQclear(result) }
        if PQstatus(handle) != CONNECTION_OK { broken = true }
    }
}
