import ArgumentParser
import FoundationEssentials
import HearthAPI

/// `hearth ledger verify`: the database recomputes every node's hash chain.
struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "Check the accounting ledger's hash chains (fleet admins; donors their own nodes).",
        subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute each node's ledger chain and name its first broken link; exit 2 when one is broken.",
            discussion: """
                Every closed ledger row is chained by hash to the previous one of its node (Docs/accounting.md). \
                A row altered or removed behind the database's guards breaks the chain at that row. The head \
                printed for each node is what `hearth report --donor NAME` shows; compare it with an earlier report.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this donor's nodes.") var donor: String?
        @Option(help: ArgumentHelp("Count the rows that closed in this month (YYYY-MM); the chain is checked from its start.", valueName: "YYYY-MM"))
        var month: String?

        func run() throws {
            var query: [String] = []
            if let donor { query.append("donor=\(Queue.escape(donor))") }
            if let month { query.append("month=\(Queue.escape(month))") }
            let path = "/v1/ledger/verify" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            let (v, raw) = try global.call("GET", path, as: LedgerVerification.self)
            let broken = v.nodes.filter { $0.problem != nil }
            if global.json {
                print(String(decoding: raw, as: UTF8.self))
            } else {
                var table = Table(["NODE", "ROWS", "HEAD", "STATUS"])
                for n in v.nodes { table.add([n.node, "\(n.rows)", n.head, n.problem == nil ? "ok" : "BROKEN"]) }
                print(table.render(), terminator: "")
                for n in broken { print("node \(n.node): \(n.problem ?? "")") }
                if v.nodes.isEmpty { print("no nodes\(donor.map { " lent by \($0)" } ?? "")") }
            }
            if !broken.isEmpty { throw ExitCode(2) }
        }
    }
}

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
