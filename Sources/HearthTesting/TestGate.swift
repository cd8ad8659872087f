import Foundation

/// Bounds how many tests of one process hold a test database at once.
///
/// Swift Testing starts every test of a run together. With ~300 of them each creating a database,
/// opening pools and starting daemons on a 2-core machine, the shared PostgreSQL server and the
/// process's two cooperative threads were swamped at the start: on a slower CI machine (and here
/// with the run held to 0.7 of a core) dozens of simple tests waited past their time limit for a
/// first connection. Past the gate, a test runs as it would alone; the others queue in order.
///
/// The limit is `HEARTH_TEST_DATABASES` when set (a positive number), otherwise 16. A test that
/// already holds a permit (a nested ``TestDatabase/with(maxConnections:_:)``) does not take a
/// second one, so nesting cannot deadlock.
public actor TestGate {
    /// The gate of this test process.
    public static let shared = TestGate(limit: TestGate.configuredLimit)

    /// Whether the current task (or the task it was started from) holds a permit.
    @TaskLocal static var holding = false

    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { free = max(1, limit) }

    static var configuredLimit: Int {
        if let text = ProcessInfo.processInfo.environment["HEARTH_TEST_DATABASES"], let n = Int(text), n > 0 { return n }
        return 16
    }

    /// Runs `body` holding a permit: waits for one first unless this task already holds one.
    public static func withPermit<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        if holding { return try await body() }
        await shared.acquire()
        do {
            let value = try await $holding.withValue(true) { try await body() }
            await shared.release()
            return value
        } catch {
            await shared.release()
            throw error
        }
    }

    private func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty { free += 1 } else { waiters.removeFirst().resume() }
    }
}
