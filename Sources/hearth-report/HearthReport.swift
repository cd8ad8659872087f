import ArgumentParser
import Foundation
import HearthClient

/// `hearth-report`: `hearth report` and `hearth usage`, run by `hearth` (as git runs `git-NAME`).
/// A separate executable because it needs time zones, hence Foundation with ICU, which would
/// slow every other `hearth` command's start-up.
@main
struct HearthReport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth", abstract: "Usage reports (run as `hearth report` and `hearth usage`).",
        subcommands: [Report.self, Usage.self])
}

/// Options every command takes (the same as `hearth`'s).
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The hearthd control socket (env HEARTH_SOCKET).", valueName: "path"))
    var socket: String?

    @Flag(help: "Print JSON for scripts instead of a table.")
    var json = false

    /// Sends a request and decodes the answer, or exits with the daemon's message.
    func call<T: Decodable>(_ method: String, _ path: String, body: Data? = nil, as type: T.Type) throws -> (T, Data) {
        let socketPath = socket ?? ControlSocketPath.forClient(environment: ProcessInfo.processInfo.environment)
        do { return try ControlClient(socketPath: socketPath).call(method, path, body: body, as: type) } catch {
            FileHandle.standardError.write(Data("hearth: \(error.message)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }
}
