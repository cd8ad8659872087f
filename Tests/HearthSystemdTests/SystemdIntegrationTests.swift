import Foundation
import HearthProcess
import HearthTesting
import Testing

/// Hearth under a real systemd 252 as PID 1 (systemd-nspawn over an overlay of this machine's
/// root): socket activation on the first `hearth` call, READY=1, STATUS=, journalctl by JOB_ID,
/// reload, the watchdog restarting a wedged daemon with its job requeued, a clean stop.
/// The checks are in Tests/Integration/nspawn-driver.sh; this test runs it and wants no failure.
@Suite(.timeLimit(.minutes(10))) struct SystemdIntegrationTests {
    @Test func hearthdUnderRealSystemd() async throws {
        try Scripts.requireRoot()
        let work = try BuiltProducts.temporaryDirectory("hearth-nspawn")
        defer { try? FileManager.default.removeItem(at: work) }
        let (status, output) = try await Scripts.run(Scripts.integration("systemd-nspawn.sh"), [try Scripts.buildDirectory(), work.path])
        let failures = output.split(separator: "\n").filter { $0.hasPrefix("not ok") }
        #expect(status == .exited(0), "\(output)")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        // The driver really ran its checks (a container that failed to boot prints none).
        #expect(output.split(separator: "\n").filter { $0.hasPrefix("ok - ") }.count >= 25, "\(output)")
    }
}
