import Foundation
import HearthProcess
import HearthTesting
import Testing

/// The journal handler against a real systemd-journald, read back with journalctl: `hearthd run`
/// with its stderr on a journal stream (as under systemd), a job submitted through the CLI whose
/// worker fails, and the entries found by the fields admins query.
@Suite(.timeLimit(.minutes(10))) struct JournalTests {
    static func entries(_ journal: String, _ matches: [String]) async throws -> [[String: Any]] {
        let r = try await Scripts.run("/usr/bin/journalctl", ["-D", journal, "--no-pager", "-o", "json"] + matches)
        return r.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test func structuredEntriesReachJournald() async throws {
        try Scripts.requireRoot()
        try await TestDatabase.with { _, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-journal")
            defer { try? FileManager.default.removeItem(at: dir) }
            let build = try Scripts.buildDirectory()
            let socket = dir.appendingPathComponent("j.sock").path
            let spec = dir.appendingPathComponent("bad.json")
            // Accepted at submission (real data), refused by the worker: 3 heads do not divide a width of 16.
            try """
                {"model": {"layers": 1, "heads": 3, "width": 16, "context": 8}, "data": [{"path": "\(dir.path)/data"}],
                 "batch_size": 4, "steps": 10}
                """.write(to: spec, atomically: true, encoding: .utf8)
            try String(repeating: "the quick brown fox jumps over a lazy dog ", count: 300)
                .write(to: dir.appendingPathComponent("input.txt"), atomically: true, encoding: .utf8)
            // Inside the journald namespace: start the daemon, submit a job it cannot run, let it fail, stop.
            let script = """
                set -e
                "$B/hearth-worker" prepare "$D/input.txt" --out "$D/data" >/dev/null 2>&1
                "$B/hearthd" run --database-url "$DB" --state-dir "$D/state" --socket "$S" --node-name journal-node --allow-root-jobs &
                pid=$!
                for i in $(seq 1 200); do [ -S "$S" ] && "$B/hearth" whoami --socket "$S" >/dev/null 2>&1 && break; sleep 0.1; done
                "$B/hearth" submit --kind train --name broken --socket "$S" "$D/bad.json" > "$D/submitted"
                for i in $(seq 1 200); do "$B/hearth" show 1 --json --socket "$S" | grep -q '"state" *: *"failed"' && break; sleep 0.1; done
                kill -TERM $pid; wait $pid
                """
            let out = dir.appendingPathComponent("out")
            let run = try await Scripts.run(Scripts.integration("journald.sh"), [out.path, "hearthd.service", "--", "/bin/bash", "-c", script], environment: [
                "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "B": build, "D": dir.path, "S": socket, "DB": info.conninfo + " dbname=\(info.database)",
            ])
            let journal = out.appendingPathComponent("journal").path
            // The script's own output went to the journal too (systemd-cat): show it on failure.
            let all = try await Scripts.run("/usr/bin/journalctl", ["-D", journal, "--no-pager", "-o", "cat"])
            #expect(run.status == .exited(0), "\(run.output)\n\(all.output.suffix(3000))")

            let submitted = try await Self.entries(journal, ["-u", "hearthd.service", "JOB_ID=1", "HEARTH_EVENT=submitted"])
            #expect(submitted.count == 1, "\(submitted)")
            let s = try #require(submitted.first)
            #expect(s["MESSAGE"] as? String == "job submitted")
            #expect(s["ACCOUNT"] as? String == "root")
            #expect(s["NODE"] as? String == "journal-node")
            #expect(s["PRIORITY"] as? String == "6")
            #expect(s["SYSLOG_IDENTIFIER"] as? String == "hearthd")
            #expect((s["CODE_FILE"] as? String)?.hasSuffix("ControlServer.swift") == true)

            // The failure is a warning, and the worker's own stderr line carries the job's fields.
            let failed = try await Self.entries(journal, ["-u", "hearthd.service", "JOB_ID=1", "HEARTH_EVENT=failed"])
            #expect(failed.first?["PRIORITY"] as? String == "4", "\(failed)")
            let worker = try await Self.entries(journal, ["-u", "hearthd.service", "JOB_ID=1", "HEARTH_SOURCE=worker"])
            #expect(worker.contains { ($0["MESSAGE"] as? String)?.hasPrefix("hearth-worker: ") == true }, "\(worker)")
            let nodeUp = try await Self.entries(journal, ["-u", "hearthd.service", "NODE=journal-node", "HEARTH_EVENT=node-up"])
            #expect(nodeUp.count == 1)
            // Native entries only: hearthd's messages did not also come as plain stream lines.
            let stream = try await Self.entries(journal, ["-u", "hearthd.service", "_TRANSPORT=stdout"])
            #expect(!stream.contains { ($0["MESSAGE"] as? String)?.contains("job submitted") == true }, "\(stream.prefix(3))")
            #expect(try await Self.entries(journal, ["-u", "hearthd.service", "_TRANSPORT=journal"]).count >= 4)
        }
    }
}
