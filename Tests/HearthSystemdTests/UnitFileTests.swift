import Foundation
import HearthProcess
import HearthTesting
import Testing

/// The units as shipped: `systemd-analyze verify` says nothing, the security exposure is at most
/// 2.0 (systemd's own timesyncd scores 2.3 here), and `./install` puts everything in its place.
@Suite(.timeLimit(.minutes(10))) struct UnitFileTests {
    @Test func verifyIsSilentAndExposureAtMost2() async throws {
        try Scripts.requireRoot()
        let (status, output) = try await Scripts.run(Scripts.integration("unit-lint.sh"), [try Scripts.buildDirectory()])
        #expect(status == .exited(0), "\(output)")
        let verify = output.components(separatedBy: "verify-begin\n").last?.components(separatedBy: "verify-end").first ?? "?"
        #expect(verify.isEmpty, "systemd-analyze verify complained:\n\(verify)")
        let line = try #require(output.split(separator: "\n").first { $0.contains("Overall exposure level for hearthd.service") })
        let score = try #require(line.split(separator: " ").compactMap { Double($0) }.first, "no score in \(line)")
        #expect(score <= 2.0, "\(line)")
    }

    @Test func installPutsFilesWhereDebianExpectsThem() async throws {
        let dest = try BuiltProducts.temporaryDirectory("hearth-install")
        defer { try? FileManager.default.removeItem(at: dest) }
        let build = try Scripts.buildDirectory()
        let (status, output) = try await Scripts.run(Scripts.repository.appendingPathComponent("install").path, [], environment: [
            "DESTDIR": dest.path, "PREFIX": "/usr/local", "BUILD_DIR": build, "PATH": "/usr/bin:/bin",
        ])
        #expect(status == .exited(0), "\(output)")
        let fm = FileManager.default
        for path in ["usr/local/bin/hearthd", "usr/local/bin/hearth", "usr/local/bin/hearth-worker"] {
            #expect(fm.isExecutableFile(atPath: dest.appendingPathComponent(path).path), "\(path)")
        }
        for path in ["usr/local/lib/systemd/system/hearthd.socket", "usr/local/lib/sysusers.d/hearth.conf",
                     "usr/local/lib/tmpfiles.d/hearth.conf", "usr/local/share/hearth/migrations/0001_schema.sql",
                     "usr/local/share/doc/hearth/admin-guide.md", "usr/local/share/man/man1/hearthd.1",
                     "usr/local/share/bash-completion/completions/hearth"] {
            #expect(fm.fileExists(atPath: dest.appendingPathComponent(path).path), "\(path)")
        }
        let unit = try String(contentsOf: dest.appendingPathComponent("usr/local/lib/systemd/system/hearthd.service"), encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/hearthd run"))
        #expect(unit.contains("ExecReload=/usr/local/bin/hearthd reload --pid $MAINPID"))
        #expect(!unit.contains("/usr/bin/"))

        let missing = try await Scripts.run(Scripts.repository.appendingPathComponent("install").path, [], environment: [
            "DESTDIR": dest.path, "BUILD_DIR": dest.appendingPathComponent("nowhere").path, "PATH": "/usr/bin:/bin",
        ])
        #expect(missing.status == .exited(1))
        #expect(missing.output.contains("run 'swift build -c release' first"))
    }
}
