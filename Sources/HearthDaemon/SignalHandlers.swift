import Foundation
import HearthSystemd
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP: reload what can change at run time (today the log level, from
/// ``DaemonConfiguration/logLevelFile``), framed by `RELOADING=1` … `READY=1`, then records the
/// outcome in ``DaemonConfiguration/reloadStatusPath`` for `hearthd reload`, which waits for it
/// (systemd 252 has no `Type=notify-reload`, so `ExecReload=` must wait by itself).
/// SIGUSR2: the fault-injection hook (``FaultInjection``), when enabled.
struct SignalHandlers: Service {
    let configuration: DaemonConfiguration
    let status: DaemonStatus
    let faults: FaultInjection
    /// Trapped before READY=1 (``trapping(faults:)``): an early SIGHUP must not kill the daemon.
    let signals: UnixSignalsSequence
    let logger: Logger

    /// The signals these handlers serve, trapped from now on.
    static func trapping(faults: FaultInjection) async -> UnixSignalsSequence {
        await UnixSignalsSequence(trapping: faults.allowed ? [.sighup, .sigusr2] : [.sighup])
    }

    func run() async throws {
        var generation = ReloadStatus.read(configuration.reloadStatusPath)?.generation ?? 0
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case .sighup:
                generation += 1
                reload(generation: generation)
            case .sigusr2:
                if faults.wedge() {
                    logger.warning("fault injection: the work loop is wedged (--allow-test-hang); the watchdog should restart hearthd",
                                   metadata: ["hearth.event": "test-hang"])
                    status.override("wedged by the test hook (SIGUSR2, --allow-test-hang)")
                }
            default:
                break
            }
        }
    }

    private func reload(generation: Int) {
        status.reloading()
        var outcome = ReloadStatus(generation: generation, error: nil)
        do {
            if let level = try configuration.readLogLevel() {
                configuration.logLevel?.level = level
                logger.notice("reloaded: log level \(level)", metadata: ["hearth.event": "reloaded"])
            } else {
                logger.notice("reloaded: nothing to change", metadata: ["hearth.event": "reloaded"])
            }
        } catch {
            outcome.error = "\(error)"
            logger.error("reload failed; the previous settings stay: \(error)", metadata: ["hearth.event": "reload-failed"])
        }
        outcome.write(configuration.reloadStatusPath)
        status.ready()
    }
}

/// The outcome of the last reload, in a one-line file: `GENERATION ok` or `GENERATION failed: WHY`.
public struct ReloadStatus: Sendable, Equatable {
    public var generation: Int
    public var error: String?

    public init(generation: Int, error: String?) {
        self.generation = generation
        self.error = error
    }

    public static func read(_ path: String) -> ReloadStatus? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = line.split(separator: " ", maxSplits: 1)
        guard let first = parts.first, let generation = Int(first) else { return nil }
        let rest = parts.count > 1 ? String(parts[1]) : "ok"
        return ReloadStatus(generation: generation, error: rest == "ok" ? nil : rest)
    }

    func write(_ path: String) {
        // With a server database nothing else may have made the state directory yet.
        try? FileManager.default.createDirectory(
            at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        let text = "\(generation) " + (error.map { "failed: \($0)" } ?? "ok") + "\n"
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
