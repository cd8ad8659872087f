import Foundation
import HearthProcess
import HearthTesting
import Testing

/// Identity comes from the socket's peer credentials: real Unix users, made for the test.
@Suite(.serialized, .timeLimit(.minutes(10))) struct PeerCredentialTests {
    static let ann = "hearth-e2e-ann", bob = "hearth-e2e-bob", eve = "hearth-e2e-eve"

    /// Creates the users (ann and bob in group `hearth`, which may use the socket; eve not).
    static func makeUsers() throws {
        func run(_ program: String, _ args: [String]) throws {
            let child = try ChildProcess.spawn(program, args, descriptors: [nil, nil, nil])
            _ = child.waitBlocking()
        }
        if getgrnam("hearth") == nil { try run("/usr/sbin/groupadd", ["--system", "hearth"]) }
        for user in [ann, bob, eve] where getpwnam(user) == nil {
            try run("/usr/sbin/useradd", ["--no-create-home", "--shell", "/usr/sbin/nologin", user])
        }
        for user in [ann, bob] { try run("/usr/sbin/usermod", ["-a", "-G", "hearth", user]) }
        guard getpwnam(ann) != nil, getpwnam(bob) != nil, getpwnam(eve) != nil else {
            throw TestProcessError("could not create the test users (the tests run as root in CI)")
        }
    }

    @Test(.enabled(if: geteuid() == 0, "creating Unix users needs root; CI runs as root"))
    func volunteersCancelOnlyTheirOwnJobsAndAdminsAny() async throws {
        try Self.makeUsers()
        try await TestDatabase.with { _, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-peer")
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "peer", directory: dir,
                                           extraArguments: ["--slots", "1"])
            defer { daemon.child.signal(SIGKILL) }
            let socket = daemon.socketPath
            let mode = try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int
            #expect(mode == 0o660)

            let who = try await CLI.run(["whoami"], socket: socket, asUser: Self.ann)
            #expect(who.stdout.hasPrefix("\(Self.ann) (uid \(getpwnam(Self.ann)!.pointee.pw_uid)), volunteer"), "\(who.stderr)")

            // ann's job never runs (it asks for a GPU and the node has none), so it stays queued.
            let spec = URL(fileURLWithPath: "/var/tmp/hearth-peer-spec-\(getpid()).json")
            try #"{"argv": ["/bin/true"]}"#.write(to: spec, atomically: true, encoding: .utf8)
            chmod(spec.path, 0o644)
            defer { try? FileManager.default.removeItem(at: spec) }
            let submit = try await CLI.run(["submit", "--kind", "command", "--gpus", "1", "--name", "anns", spec.path], socket: socket,
                                           asUser: Self.ann)
            #expect(submit.status == .exited(0), "\(submit.stderr)")
            let id = try #require(submit.stdout.split(separator: " ").last.map { String($0).trimmingCharacters(in: .newlines) })

            let refused = try await CLI.run(["cancel", id], socket: socket, asUser: Self.bob)
            #expect(refused.status == .exited(1))
            #expect(refused.stderr.contains("belongs to another account; only its owner or a fleet admin can cancel it"))

            let own = try await CLI.run(["queue", "--user", Self.ann], socket: socket, asUser: Self.ann)
            #expect(own.stdout.contains("anns") && own.stdout.contains("queued"))
            // Her name is longer than the USER column: printed whole, so it can be searched for.
            #expect(own.stdout.contains(" \(Self.ann) "), "\(own.stdout)")

            let drain = try await CLI.run(["node", "drain", "peer"], socket: socket, asUser: Self.bob)
            #expect(drain.status == .exited(1) && drain.stderr.contains("only admins can drain nodes"))

            let admin = try await CLI.run(["cancel", id], socket: socket)
            #expect(admin.status == .exited(0) && admin.stdout.contains("job \(id): cancelled"))

            // An array is ann's whole: bob can cancel neither it nor one element, ann both.
            let array = try await CLI.run(["submit", "--kind", "command", "--gpus", "1", "--array", "0-9", spec.path],
                                          socket: socket, asUser: Self.ann)
            #expect(array.status == .exited(0), "\(array.stderr)")
            let arrayID = try #require(array.stdout.split(separator: " ").dropFirst(2).first.map(String.init))
            for target in [arrayID, "\(arrayID)_3"] {
                let theirs = try await CLI.run(["cancel", target], socket: socket, asUser: Self.bob)
                #expect(theirs.status == .exited(1) && theirs.stderr.contains("belongs to another account"), "\(theirs.stderr)")
            }
            let listed = try await CLI.run(["queue", "--user", Self.ann], socket: socket, asUser: Self.bob)
            #expect(listed.stdout.contains("\(arrayID)_[0-9]"), "\(listed.stdout)")
            let mine = try await CLI.run(["cancel", arrayID], socket: socket, asUser: Self.ann)
            #expect(mine.status == .exited(0) && mine.stdout.contains("array \(arrayID): 10 cancelled"), "\(mine.stdout)\(mine.stderr)")

            // Not in group hearth: the socket's permissions keep eve out before the daemon sees her.
            let outsider = try await CLI.run(["whoami"], socket: socket, asUser: Self.eve)
            #expect(outsider.status == .exited(3) && outsider.stderr.contains("Permission denied"))
        }
    }
}
