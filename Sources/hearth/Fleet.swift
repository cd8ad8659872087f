import ArgumentParser
import FoundationEssentials
import HearthAPI

extension NodeCommand {
    /// `hearth node invite`: a one-time join token for a new node.
    struct Invite: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a one-time, expiring join token for a new node (fleet admins); the node runs `hearthd enroll TOKEN`.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The only node name the token enrolls (default: any).") var name: String?
        @Option(help: "The account lending the node (created as a donor if new).") var donor: String?
        @Option(help: "How long the token stays valid, in seconds (default 3600, at most 30 days).") var validSeconds: Int?
        func run() throws {
            let body = try JSONEncoder().encode(InviteRequest(hostname: name, donor: donor, validSeconds: validSeconds))
            let (r, raw) = try global.call("POST", "/v1/nodes/invites", body: body, as: InviteResponse.self)
            if global.json { print(String(decoding: raw, as: UTF8.self)); return }
            print(r.token)
            Stdio.error("valid once, until \(r.expiresAt) (UTC); on the new node: hearthd enroll TOKEN --database-url URL\(name.map { " --node-name \($0)" } ?? "")\n")
        }
    }

    /// `hearth node revoke NODE`: cut a node off the fleet.
    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cut a node off (fleet admins): its database login can no longer log in and its jobs are requeued.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The node's name.") var node: String
        func run() throws {
            let (r, raw) = try global.call("POST", "/v1/nodes/\(Queue.escape(node))/revoke", as: RevokeNodeResponse.self)
            if global.json { print(String(decoding: raw, as: UTF8.self)); return }
            let jobs = r.requeued.isEmpty ? "it held no jobs" : "job(s) \(r.requeued.map(String.init).joined(separator: ", ")) requeued"
            print("node \(node) is revoked: its login can no longer connect; \(jobs)")
        }
    }
}

/// `hearth admin grant|revoke NAME`: fleet admins by name.
struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Mark an account a fleet admin, or unmark it (fleet admins; recorded with who and when).",
        subcommands: [Grant.self, Revoke.self])

    struct Grant: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an account a fleet admin.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The account (a Unix user name).") var account: String
        func run() throws {
            _ = try global.call("POST", "/v1/admins", body: try JSONEncoder().encode(AdminRequest(account: account, admin: true)), as: WhoAmI.self)
            print("\(account) is a fleet admin")
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a fleet admin an ordinary account again.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The account.") var account: String
        func run() throws {
            _ = try global.call("POST", "/v1/admins", body: try JSONEncoder().encode(AdminRequest(account: account, admin: false)), as: WhoAmI.self)
            print("\(account) is no longer a fleet admin")
        }
    }
}
