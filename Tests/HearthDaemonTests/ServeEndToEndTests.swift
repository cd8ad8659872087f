import Foundation
import HearthAPI
import HearthCore
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// Serving through the real binaries: `hearthd` runs a serve job's `hearth-worker serve`,
/// `hearth endpoints` lists it, `hearth generate` streams from it, `hearth cancel` stops it.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ServeEndToEndTests {
    @Test func endpointsAndGenerateThroughTheCLI() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-serve-e2e")
            let worker = try #require(BuiltProducts.path("hearth-worker"))
            let data = try JobRunnerTests.Fixture.prepareData(worker: worker, in: dir)
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "serve-a", directory: dir,
                                           extraArguments: ["--heartbeat-seconds", "0.5", "--lease-seconds", "5"])
            defer { daemon.child.signal(SIGKILL) }
            let socket = daemon.socketPath

            let trainSpec = dir.appendingPathComponent("train.json")
            try EndToEndTests.spec(data, steps: 20).write(to: trainSpec, atomically: true, encoding: .utf8)
            _ = try await CLI.run(["submit", "--kind", "train", trainSpec.path], socket: socket)
            try await EndToEndTests.waitUntil("job 1 succeeded") { try await EndToEndTests.job(1, via: socket).state == .succeeded }
            let checkpoint = try #require(try await JobQueue(client: client).latestCheckpoint(jobID: 1))

            let none = try await CLI.run(["generate", "2", "the"], socket: socket)
            #expect(none.status == .exited(1) && none.stderr.contains("job 2 has no live endpoint"))

            let serveSpec = dir.appendingPathComponent("serve.json")
            try #"{"checkpoint": "\#(checkpoint.path)", "tokenizer": "\#(data)/tokenizer.json", "port": 0}"#
                .write(to: serveSpec, atomically: true, encoding: .utf8)
            let submitted = try await CLI.run(["submit", "--kind", "serve", "--name", "api", serveSpec.path], socket: socket)
            #expect(submitted.stdout == "submitted job 2\n", "\(submitted.stderr)")
            var endpoints: [EndpointView] = []
            do {
                try await EndToEndTests.waitUntil("job 2 serves", timeout: 30) {
                    let r = try await CLI.run(["endpoints", "--json"], socket: socket)
                    endpoints = try APICoding.decoder().decode([EndpointView].self, from: Data(r.stdout.utf8))
                    return !endpoints.isEmpty
                }
            } catch {
                let why = try await CLI.run(["priority", "2"], socket: socket)  // e.g. a kind the node does not run
                Issue.record("job 2 never served: \(why.stdout)")
                throw error
            }
            #expect(endpoints.first?.jobID == 2 && endpoints.first?.node == "serve-a" && endpoints.first?.context == 8)
            let table = try await CLI.run(["endpoints"], socket: socket)
            #expect(table.stdout.hasPrefix("JOBID  NODE     URL") && table.stdout.contains("2      serve-a  http://127.0.0.1:"))

            let generated = try await CLI.run(["generate", "2", "the", "--max-tokens", "5", "--temperature", "0"], socket: socket)
            #expect(generated.status == .exited(0), "\(generated.stderr)")
            #expect(generated.stdout.hasPrefix("the") && generated.stdout.count == 3 + 5 + 1, "\(generated.stdout)")
            let again = try await CLI.run(["generate", "2", "the", "--max-tokens", "5", "--temperature", "0"], socket: socket)
            #expect(again.stdout == generated.stdout, "greedy output repeats")

            _ = try await CLI.run(["cancel", "2"], socket: socket)
            try await EndToEndTests.waitUntil("job 2 cancelled") { try await EndToEndTests.job(2, via: socket).state == .cancelled }
            let after = try await CLI.run(["endpoints", "--json"], socket: socket)
            #expect(after.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
            #expect(await daemon.stop(SIGTERM) == .exited(0))
        }
    }
}
