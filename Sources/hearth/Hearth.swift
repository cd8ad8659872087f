import ArgumentParser
import FoundationEssentials
import HearthAPI
import HearthClient

/// `hearth`: the CLI volunteers and admins use. It talks only to the local hearthd.
///
/// Linked statically and on FoundationEssentials only (no ICU), so a command starts in a few
/// milliseconds; `report` and `usage`, which need time zones, run `hearth-report` beside it.
@main
struct Hearth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth",
        abstract: "Submit and watch jobs on a Hearth fleet (talks to the local hearthd).",
        discussion: "Exit status: 0 success, 1 refused by the daemon, 3 daemon (or its database) unreachable, 64 bad usage (EX_USAGE).",
        subcommands: [Submit.self, Queue.self, Show.self, Logs.self, Cancel.self, Nodes.self, NodeCommand.self, PriorityCommand.self,
                      WhoAmICommand.self, ReportCommand.self, UsageCommand.self, EvalCommand.self,
                      Endpoints.self, GenerateCommand.self, GrantCommand.self, RevokeCommand.self, GrantsCommand.self,
                      LedgerCommand.self, AdminCommand.self])
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The hearthd control socket (env HEARTH_SOCKET).", valueName: "path"))
    var socket: String?

    @Flag(help: "Print JSON for scripts instead of a table.")
    var json = false

    var client: ControlClient {
        ControlClient(socketPath: socket ?? ControlSocketPath.forClient(environment: ControlSocketPath.processEnvironment()))
    }

    /// Sends a request and decodes the answer, or exits with the daemon's message.
    func call<T: Decodable>(_ method: String, _ path: String, body: Data? = nil, as type: T.Type) throws -> (T, Data) {
        do { return try client.call(method, path, body: body, as: type) } catch {
            Stdio.error("hearth: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
    }
}
