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
                var table = TextTable(["NODE", "ROWS", "HEAD", "STATUS"])
                for n in v.nodes { table.add([n.node, "\(n.rows)", n.head, n.problem == nil ? "ok" : "BROKEN"]) }
                print(table.render(), terminator: "")
                for n in broken { print("node \(n.node): \(n.problem ?? "")") }
                if v.nodes.isEmpty { print("no nodes\(donor.map { " lent by \($0)" } ?? "")") }
            }
            if !broken.isEmpty { throw ExitCode(2) }
        }
    }
}
