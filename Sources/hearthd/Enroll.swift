import ArgumentParser
import Foundation
import HearthDaemon
import HearthStore

/// `hearthd enroll TOKEN --database-url URL`: this node joins a fleet with a login of its own.
struct Enroll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join a fleet with an admin's one-time token (hearth node invite): this node gets a database login of its own.",
        discussion: """
            Connects to the fleet's database as the role hearth_enroll (unless the URL names a user), makes a random \
            password, sends only its SCRAM verifier, and stores the node's credentials in the state directory \
            (\(NodeCredentials.fileName), mode 0600). hearthd run then uses them when no database URL is configured. \
            The login may only do what a node does, for this node alone (Docs/security.md).
            """)

    @Argument(help: "The join token an admin printed with `hearth node invite`.")
    var token: String

    @OptionGroup var database: DatabaseOptions

    @Option(help: "This node's name in the fleet (default: the host name). An invite for a named node enrolls that name only.")
    var nodeName: String?

    func run() async throws {
        let file = try database.file()
        guard let url = database.databaseURL ?? ProcessInfo.processInfo.environment["HEARTH_DATABASE_URL"] ?? file?.databaseURL else {
            throw ValidationError("give the fleet's database with --database-url URL (the admin who made the token knows it)")
        }
        let state = database.directory(file)
        if NodeCredentials.read(stateDirectory: state) != nil {
            throw ValidationError("""
                this node is already enrolled (\(NodeCredentials.path(stateDirectory: state).path) exists); \
                to enroll again, have an admin revoke it (hearth node revoke) and remove that file
                """)
        }
        let name = nodeName ?? file?.nodeName ?? ProcessInfo.processInfo.hostName
        let asEnroller = try PostgresConninfo.rewrite(url, overriding: Self.userGiven(url) ? [:] : ["user": "hearth_enroll"])
        let connection = try await PostgresConnection.connect(conninfo: asEnroller, applicationName: "hearthd-enroll")
        defer { connection.close() }
        let password = try PostgresConninfo.randomPassword()
        let role: String
        do {
            role = try await NodeLogins.enroll(token: token, hostname: name, password: password, on: connection)
        } catch let error as PostgresError where error.code == .server {
            throw ValidationError(error.message)
        }
        let own = try PostgresConninfo.rewrite(url, overriding: ["user": role, "password": password])
        try NodeCredentials.write(own, stateDirectory: state)
        print("""
            enrolled node \(name) as database role \(role); its credentials are in \
            \(NodeCredentials.path(stateDirectory: state).path) (mode 0600). Start it with: hearthd run --state-dir \(state.path)
            """)
    }

    /// Whether the URL names a user of its own (then it is used to enroll instead of hearth_enroll).
    static func userGiven(_ url: String) -> Bool {
        guard let rewritten = try? PostgresConninfo.rewrite(url, overriding: [:]) else { return false }
        return rewritten.split(separator: " ").contains { $0.hasPrefix("user=") }
    }
}
