import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// `hearth report …`: runs `hearth-report report …` (time zones need ICU, kept out of `hearth`).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "GPU-hours offered and used, by donor, project, account or the whole fleet.",
        discussion: "Run `hearth report --help` for its options.")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
    func run() throws { try ReportHelper.exec("report", arguments) }
}

/// `hearth usage …`: runs `hearth-report usage …`.
struct UsageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage", abstract: "Your GPU-hours and fair-share standing (like sshare).",
        discussion: "Run `hearth usage --help` for its options.")
    @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
    func run() throws { try ReportHelper.exec("usage", arguments) }
}

enum ReportHelper {
    /// Replaces this process with `hearth-report` from the same directory as `hearth`.
    static func exec(_ command: String, _ arguments: [String]) throws {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        let dir = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let helper = (dir.isEmpty ? "." : dir) + "/hearth-report"
        let argv = [helper, command] + arguments
        var cArgs = argv.map { strdup($0) } + [nil]
        execv(helper, &cArgs)
        Stdio.error("hearth: cannot run \(helper): \(String(cString: strerror(errno))); it is installed beside hearth\n")
        throw ExitCode(3)
    }
}
