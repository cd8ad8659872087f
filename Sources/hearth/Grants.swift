import ArgumentParser
import FoundationEssentials
import HearthAPI

/// What `hearth grant` and `hearth revoke` name: `qos high`, `qos serving` or `non-preemptible`,
/// to `--account NAME` or `--project NAME`.
struct GrantTarget: ParsableArguments {
    @Argument(help: ArgumentHelp("qos LEVEL (high or serving), or non-preemptible.", valueName: "privilege"))
    var words: [String] = []
    @Option(help: "To this account (a Unix user name).") var account: String?
    @Option(help: "To every member of this project.") var project: String?

    /// The API's privilege name (`qos-high`, `qos-serving`, `non-preemptible`).
    func privilege() throws -> String { try Self.privilege(words) }

    static func privilege(_ words: [String]) throws -> String {
        switch words {
        case ["qos", "high"], ["qos", "serving"]: return "qos-" + words[1]
        case ["non-preemptible"]: return "non-preemptible"
        case ["qos", "low"], ["qos", "normal"]: throw ValidationError("QOS \(words[1]) is open to everyone; only high and serving are granted")
        default: throw ValidationError("say what: `qos high`, `qos serving` or `non-preemptible`")
        }
    }

    func validate() throws {
        guard (account == nil) != (project == nil) else { throw ValidationError("give exactly one of --account NAME and --project NAME") }
    }
}

struct GrantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant", abstract: "Grant a QOS tier or non-preemptible jobs to an account or project (admins).",
        discussion: """
            Every volunteer may submit at QOS low or normal, with priority 0 or below, preemptible. \
            Examples: hearth grant qos high --account carol; hearth grant non-preemptible --project nlp.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: GrantTarget

    func run() throws {
        let body = try JSONEncoder().encode(GrantRequest(account: target.account, project: target.project, privilege: try target.privilege()))
        let (grant, raw) = try global.call("POST", "/v1/grants", body: body, as: GrantView.self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        print("grant \(grant.id): \(grant.privilege) to \(GrantsCommand.subject(grant)) (by \(grant.grantedBy))")
    }
}

struct RevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a grant (admins): the same words as hearth grant, or --id N.",
        discussion: "Jobs already queued keep what they were submitted with; new submissions are checked against the grants left.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "The grant's id, as hearth grants shows it.") var id: Int64?
    @Argument(help: ArgumentHelp("qos LEVEL, or non-preemptible.", valueName: "privilege")) var words: [String] = []
    @Option(help: "From this account.") var account: String?
    @Option(help: "From this project.") var project: String?

    func run() throws {
        var grantID = id
        if grantID == nil {
            guard (account == nil) != (project == nil) else {
                throw ValidationError("give --id N, or the grant's words with exactly one of --account NAME and --project NAME")
            }
            let privilege = try GrantTarget.privilege(words)
            let (grants, _) = try global.call("GET", "/v1/grants", as: [GrantView].self)
            guard let match = grants.first(where: {
                $0.privilege == privilege && $0.account == account && $0.project == project
            }) else {
                throw ValidationError("no such grant: \(privilege) to \(account.map { "account \($0)" } ?? "project \(project ?? "")"); hearth grants lists them")
            }
            grantID = match.id
        }
        let (grant, raw) = try global.call("DELETE", "/v1/grants/\(grantID!)", as: GrantView.self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        print("revoked grant \(grant.id): \(grant.privilege) to \(GrantsCommand.subject(grant))")
    }
}

struct GrantsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grants", abstract: "List grants: yours (and your projects'), or all of them for admins.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only those that apply to this account (admins; volunteers see their own).") var account: String?

    func run() throws {
        let path = "/v1/grants" + (account.map { "?account=" + Queue.escape($0) } ?? "")
        let (grants, raw) = try global.call("GET", path, as: [GrantView].self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        var table = TextTable(["ID", "PRIVILEGE", "TO", "GRANTED BY", "SINCE"])
        for g in grants {
            table.add(["\(g.id)", g.privilege, Self.subject(g), g.grantedBy, TextTable.duration(Date().timeIntervalSince(g.grantedAt)) + " ago"])
        }
        print(table.render(), terminator: "")
    }

    static func subject(_ g: GrantView) -> String {
        g.account.map { "account \($0)" } ?? "project \(g.project ?? "?")"
    }
}
