import ArgumentParser
import Foundation
import HearthAPI
import HearthClient

/// `hearth`: the CLI volunteers and admins use. It talks only to the local hearthd.
@main
struct Hearth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth",
        abstract: "Submit and watch jobs on a Hearth fleet (talks to the local hearthd).",
        discussion: "Exit status: 0 success, 1 refused by the daemon, 3 daemon (or its database) unreachable, 64 bad usage (EX_USAGE).",
        subcommands: [Submit.self, Queue.self, Show.self, Logs.self, Cancel.self, Nodes.self, NodeCommand.self, PriorityCommand.self,
                      WhoAmICommand.self, Report.self, Usage.self, EvalCommand.self,
                      Endpoints.self, GenerateCommand.self])
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The hearthd control socket (env HEARTH_SOCKET).", valueName: "path"))
    var socket: String?

    @Flag(help: "Print JSON for scripts instead of a table.")
    var json = false

    var client: ControlClient {
        ControlClient(socketPath: socket ?? Self.defaultSocket())
    }

    /// The daemon's default: `/run/hearth/hearth.sock`, unless HEARTH_SOCKET says otherwise.
    static func defaultSocket() -> String {
        let env = ProcessInfo.processInfo.environment
        if let s = env["HEARTH_SOCKET"], !s.isEmpty { return s }
        if FileManager.default.fileExists(atPath: "/run/hearth/hearth.sock") { return "/run/hearth/hearth.sock" }
        if let runtime = env["XDG_RUNTIME_DIR"], FileManager.default.fileExists(atPath: runtime + "/hearth.sock") {
            return runtime + "/hearth.sock"
        }
        return "/run/hearth/hearth.sock"
    }

    /// Sends a request and decodes the answer, or exits with the daemon's message.
    func call<T: Decodable>(_ method: String, _ path: String, body: Data? = nil, as type: T.Type) throws -> (T, Data) {
        let reply: ControlClient.Reply
        do {
            reply = try client.request(method, path, body: body)
        } catch {
            FileHandle.standardError.write(Data("hearth: \(error)\n".utf8))
            throw ExitCode(3)
        }
        guard (200..<300).contains(reply.status) else {
            let message = (try? APICoding.decoder().decode(APIError.self, from: reply.body))?.message
                ?? "the daemon answered HTTP \(reply.status)"
            FileHandle.standardError.write(Data("hearth: \(message)\n".utf8))
            // 503: the daemon is up but cannot reach its database (GET /health says since when).
            throw ExitCode(reply.status == 503 ? 3 : 1)
        }
        do {
            return (try APICoding.decoder().decode(T.self, from: reply.body), reply.body)
        } catch {
            FileHandle.standardError.write(Data("hearth: the daemon's answer could not be read: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
