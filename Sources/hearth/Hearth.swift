import ArgumentParser
import FoundationEssentials
import HearthAPI
import HearthClient
#if canImport(Glibc)
import Glibc
#endif

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
                      DatasetCommand.self, CheckpointsCommand.self, LedgerCommand.self, AdminCommand.self])

    /// `hearth queue`, `submit`, `cancel`, `nodes` and `whoami`, the commands scripts run in
    /// loops, take a parser-free path (FastPath.swift) when their arguments are plain; anything
    /// else, `--help` and every mistake included, goes through ArgumentParser as before.
    /// `HEARTH_CLI_PARSER=always` skips the fast path, `never` refuses what it would hand to the
    /// parser (exit 70): tests use both to hold the two paths to the same output.
    static func main() {
        let mode = getenv("HEARTH_CLI_PARSER").map { String(cString: $0) } ?? ""
        if mode != "always" {
            if let status = FastPath.run(Array(CommandLine.arguments.dropFirst())) { Glibc.exit(status) }
            if mode == "never" {
                Stdio.error("hearth: these arguments need the parser (HEARTH_CLI_PARSER=never)\n")
                Glibc.exit(70)
            }
        }
        Self.main(nil)
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The hearthd control socket (env HEARTH_SOCKET).", valueName: "path"))
    var socket: String?

    @Flag(help: "Print JSON for scripts instead of a table.")
    var json = false

    /// The same options as plain values (what the parser-free path builds too).
    var connection: Connection { Connection(socket: socket, json: json) }

    var client: ControlClient { connection.client }

    /// Sends a request and decodes the answer, or exits with the daemon's message.
    func call<T: Decodable>(_ method: String, _ path: String, body: Data? = nil, as type: T.Type) throws -> (T, Data) {
        try connection.call(method, path, body: body, as: type)
    }
}

/// `--socket` and `--json` as plain values, shared by the parsed commands and FastPath.
struct Connection {
    var socket: String?
    var json = false

    var client: ControlClient {
        ControlClient(socketPath: socket ?? ControlSocketPath.forClientFromProcessEnvironment())
    }

    /// Sends a request and decodes the answer, or exits with the daemon's message.
    func call<T: Decodable>(_ method: String, _ path: String, body: Data? = nil, as type: T.Type) throws -> (T, Data) {
        do { return try client.call(method, path, body: body, as: type) } catch {
            Stdio.error("hearth: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
    }

    /// The same for a reply already read (nothing is sent again).
    /// Status and messages as ``ControlClient/call(_:_:body:as:)`` gives them.
    func decode<T: Decodable>(_ reply: ControlClient.Reply, as type: T.Type) throws -> (T, Data) {
        guard (200..<300).contains(reply.status) else {
            let message = (try? APICoding.decoder().decode(APIError.self, from: reply.body))?.message
                ?? "the daemon answered HTTP \(reply.status)"
            Stdio.error("hearth: \(message)\n")
            // 503: the daemon is up but cannot reach its database.
            throw ExitCode(reply.status == 503 ? 3 : 1)
        }
        do { return (try APICoding.decoder().decode(T.self, from: reply.body), reply.body) } catch {
            Stdio.error("hearth: the daemon's answer could not be read: \(error)\n")
            throw ExitCode(1)
        }
    }
}
