import Foundation
import HearthProcess
import HearthTesting
import Testing

/// Man pages and shell completions are generated from the commands' own parsers (`./manpages`),
/// so every subcommand and flag in the code shows in them.
@Suite struct ManualTests {
    @Test func manPagesAndCompletionsCoverEverySubcommand() async throws {
        let hearth = try #require(BuiltProducts.path("hearth"))
        let bin = URL(fileURLWithPath: hearth).deletingLastPathComponent().path
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let out = try BuiltProducts.temporaryDirectory("hearth-man")
        let gen = try ChildProcess.spawn("/usr/bin/python3", [root.appendingPathComponent("manpages").path, out.path, bin],
                                         descriptors: [nil, 2, 2])
        #expect(await gen.wait() == .exited(0))
        let page = try String(contentsOf: out.appendingPathComponent("man1/hearth.1"), encoding: .utf8)
        for sub in ["submit", "queue", "show", "logs", "cancel", "nodes", "priority", "whoami"] {
            #expect(page.contains(".Ss hearth \(sub)"), "the man page documents hearth \(sub)")
        }
        #expect(page.contains(".Ss hearth node reclaim") && page.contains("--time-limit"))
        // It renders: groff turns the mdoc into text with the NAME section.
        let rendered = out.appendingPathComponent("hearth.txt").path
        let fd = open(rendered, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        let nroff = try ChildProcess.spawn("/usr/bin/groff", ["-mdoc", "-Tutf8", "-P-cbou", out.appendingPathComponent("man1/hearth.1").path],
                                           descriptors: [nil, fd, 2])
        close(fd)
        #expect(await nroff.wait() == .exited(0))
        let text = try String(contentsOfFile: rendered, encoding: .utf8)
        #expect(text.contains("NAME") && text.contains("SYNOPSIS") && text.contains("priority"))
        for tool in ["hearthd", "hearth-worker"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("man1/\(tool).1").path))
        }
        let bash = try String(contentsOf: out.appendingPathComponent("completions/bash/hearth"), encoding: .utf8)
        #expect(bash.contains("priority") && bash.contains("reclaim"))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("completions/zsh/_hearth").path))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("completions/fish/hearth.fish").path))
    }

    /// Bad usage exits 64 (EX_USAGE) with a sentence, before the daemon is asked anything.
    @Test func badUsageExits64WithTheReason() async throws {
        let noDaemon = "/nonexistent/hearth.sock"
        let duration = try await CLI.run(["submit", "--kind", "train", "--time-limit", "soon"], socket: noDaemon)
        #expect(duration.status == .exited(64) && duration.stderr.contains("--time-limit \"soon\" is not a duration"), "\(duration.stderr)")
        let job = try await CLI.run(["priority", "abc"], socket: noDaemon)
        #expect(job.status == .exited(64) && job.stderr.contains("abc"), "\(job.stderr)")
        let unreachable = try await CLI.run(["queue"], socket: noDaemon)
        #expect(unreachable.status == .exited(3))
    }
}
