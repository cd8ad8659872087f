import Foundation
@testable import HearthDaemon
import Logging
import Synchronization
import Testing

/// A loop that fails on every turn (an outage) writes its warning once, then at most once per
/// interval with a count, and a notice when it works again.
@Suite struct RepeatingWarningTests {
    /// Keeps what was logged, level and text.
    final class Captured: Sendable {
        let lines = Mutex<[(Logger.Level, String)]>([])
        var all: [(Logger.Level, String)] { lines.withLock { $0 } }
    }

    struct CapturingHandler: LogHandler {
        let captured: Captured
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            captured.lines.withLock { $0.append((event.level, "\(event.message)")) }
        }
    }

    private func logger(_ captured: Captured) -> Logger {
        Logger(label: "test") { _ in CapturingHandler(captured: captured) }
    }

    @Test func anOutageIsAFewLinesNotOneATurn() async throws {
        let captured = Captured()
        var warning = RepeatingWarning("the node's heartbeat", logger: logger(captured), interval: .milliseconds(300))
        for _ in 0..<50 { warning.failed("node heartbeat failed: the database is away") }
        #expect(captured.all.count == 1, "\(captured.all)")
        #expect(captured.all.first?.0 == .warning)
        #expect(captured.all.first?.1 == "node heartbeat failed: the database is away")
        #expect(warning.failuresInARow == 50)

        try await Task.sleep(for: .milliseconds(350))
        warning.failed("node heartbeat failed: the database is away")
        #expect(captured.all.count == 2)
        let repeatLine = try #require(captured.all.last?.1)
        #expect(repeatLine.hasPrefix("node heartbeat failed: the database is away (51 times since "), "\(repeatLine)")
        #expect(repeatLine.hasSuffix("; repeats are logged at most every 0.3 s)"), "\(repeatLine)")

        warning.succeeded()
        #expect(captured.all.count == 3)
        #expect(captured.all.last?.0 == .notice)
        #expect(captured.all.last?.1.hasPrefix("the node's heartbeat works again, after 51 failures since ") == true, "\(captured.all)")
        #expect(warning.failuresInARow == 0)

        // A fresh failure after the recovery is logged at once again, as a first one.
        warning.failed("node heartbeat failed: again")
        #expect(captured.all.count == 4)
        #expect(captured.all.last?.1 == "node heartbeat failed: again")
    }

    @Test func oneFailureThenSuccessNeedsNoNotice() {
        let captured = Captured()
        var warning = RepeatingWarning("reading this node's placements", logger: logger(captured))
        warning.succeeded()
        #expect(captured.all.isEmpty, "a success with nothing failed says nothing")
        warning.failed("cannot read this node's placements: x")
        warning.succeeded()
        #expect(captured.all.map(\.1) == ["cannot read this node's placements: x"], "the warning alone says it; one blip needs no all-clear")
    }
}
