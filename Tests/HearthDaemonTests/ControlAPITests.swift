import Foundation
import HearthAPI
import HearthClient
import HearthDaemon
import HearthProcess
import HearthStore
import HearthTesting
import Testing

/// The control API over its real socket: bad input gets a clear 4xx and changes nothing; the
/// daemon stays up; the OpenAPI document and the served routes agree.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ControlAPITests {
    static func error(_ reply: ControlClient.Reply) -> APIError? {
        try? APICoding.decoder().decode(APIError.self, from: reply.body)
    }

    @Test func badRequestsAreRefusedClearlyAndChangeNothing() async throws {
        try await TestDatabase.with { client, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-api")
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "api", directory: dir)
            defer { daemon.child.signal(SIGKILL) }
            let api = ControlClient(socketPath: daemon.socketPath)
            let cases: [(String, Data, Int, String, String)] = [
                ("malformed JSON", Data("{\"kind\": ".utf8), 400, "bad-request", "not valid JSON"),
                ("not an object", Data("[1]".utf8), 400, "bad-request", "must be a JSON object"),
                ("null", Data("null".utf8), 400, "bad-request", "must be a JSON object"),
                ("a string", Data(#""train""#.utf8), 400, "bad-request", "must be a JSON object"),
                ("trailing garbage", Data(#"{"kind": "train"} x"#.utf8), 400, "bad-request", "not valid JSON"),
                ("unknown field", Data(#"{"kind": "train", "gpu": 1}"#.utf8), 400, "unknown-field", "unknown field \"gpu\""),
                ("wrong type", Data(#"{"kind": "train", "gpus": "two"}"#.utf8), 400, "bad-request", "\"gpus\""),
                ("missing kind", Data(#"{"name": "x"}"#.utf8), 400, "bad-request", "\"kind\" is required"),
                ("absurd GPUs", Data(#"{"kind": "train", "gpus": 100000}"#.utf8), 400, "bad-request", "0 to 64 GPUs"),
                ("unknown kind", Data(#"{"kind": "paint"}"#.utf8), 400, "bad-request",
                 "unknown job kind \"paint\"; known kinds are train, eval, serve, distill and command"),
                ("unknown QOS", Data(#"{"kind": "eval", "qos": "urgent"}"#.utf8), 400, "bad-request",
                 "unknown QOS \"urgent\"; use one of low, normal, high, serving"),
                ("spec not an object", Data(#"{"kind": "train", "spec": 3}"#.utf8), 400, "bad-request", "\"spec\" must be a JSON object"),
                ("incomplete spec", Data(#"{"kind": "train", "spec": {"steps": 10}}"#.utf8), 400, "bad-request",
                 "lacks model, data, batch_size"),
                // Paths are opened by the job as its user, on the node; only their form is checked here.
                ("relative dataset", Data(#"{"kind": "train", "spec": {"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "ds"}], "batch_size": 4, "steps": 10}}"#.utf8),
                 400, "bad-request", "spec.data[0].path must be an absolute path"),
                ("command without a program", Data(#"{"kind": "command", "spec": {}}"#.utf8), 400, "bad-request",
                 "a command job's spec needs argv or shell"),
                ("absurd model", Data(#"{"kind": "train", "spec": {"model": {"layers": 100000}, "data": [{"path": "/tmp"}], "batch_size": 4, "steps": 10}}"#.utf8),
                 400, "bad-request", "spec.model.layers must be a whole number from 1 to 512"),
                ("command with both", Data(#"{"kind": "command", "spec": {"argv": ["/bin/true"], "shell": "true"}}"#.utf8),
                 400, "bad-request", "either argv (a list of strings) or shell"),
                ("too large", Data(("{\"kind\": \"train\", \"name\": \"" + String(repeating: "x", count: 2 << 20) + "\"}").utf8),
                 413, "too-large", "over 1 MiB"),
            ]
            for (what, body, status, code, message) in cases {
                let reply = try api.request("POST", "/v1/jobs", body: body)
                #expect(reply.status == status, "\(what): HTTP \(reply.status)")
                let e = Self.error(reply)
                #expect(e?.code == code, "\(what): \(String(describing: e))")
                #expect(e?.message.contains(message) == true, "\(what): \(String(describing: e))")
            }
            #expect(try api.request("GET", "/v1/jobs/abc").status == 400)
            #expect(try api.request("GET", "/v1/jobs/99").status == 404)
            #expect(try api.request("GET", "/v1/jobs?state=bogus").status == 400)
            let count: Int = try await client.query("SELECT count(*) AS n FROM jobs")[0].decode("n")
            #expect(count == 0, "no refused request wrote a job")

            // A client that connects and stalls does not block anyone else.
            let stalled = try #require(UnixSocket.connect(daemon.socketPath))
            defer { close(stalled) }
            _ = "POST /v1/jobs HTTP/1.1\r\nContent-Length: 100\r\n\r\n{".withCString { send(stalled, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            let ok = try api.request("POST", "/v1/jobs", body: Data(#"{"kind": "eval", "name": "after-stall"}"#.utf8))
            #expect(ok.status == 201)
            #expect(try api.request("GET", "/v1/whoami").status == 200, "the daemon is still up")
        }
    }

    /// Every path and method in Docs/api/openapi.yaml is served (a route, not the router's
    /// bare 404), and no served route is missing from the document.
    @Test func theOpenAPIDocumentMatchesTheServedRoutes() async throws {
        let yaml = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Docs/api/openapi.yaml")
        var documented: Set<String> = []
        var path: String?
        for line in try String(contentsOf: yaml, encoding: .utf8).split(separator: "\n") {
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()) }
            else if !line.hasPrefix("   ") && !line.hasPrefix("  /") { if !line.hasPrefix(" ") { path = nil } }
            if let p = path, let m = ["get", "post", "put", "delete", "patch"].first(where: { line == "    \($0):" }) {
                documented.insert("\(m.uppercased()) \(p)")
            }
        }
        #expect(documented == ControlServer.routes, "document and code disagree")
        try await TestDatabase.with { _, info in
            let dir = try BuiltProducts.temporaryDirectory("hearth-openapi")
            let daemon = try await DaemonProcess(conninfo: info.conninfo, database: info.database, nodeName: "doc", directory: dir)
            defer { daemon.child.signal(SIGKILL) }
            let api = ControlClient(socketPath: daemon.socketPath)
            for route in documented.sorted() {
                let parts = route.split(separator: " ")
                let reply = try api.request(String(parts[0]), String(parts[1]).replacingOccurrences(of: "{id}", with: "1")
                    .replacingOccurrences(of: "{name}", with: "no-such-node"),
                                            body: parts[0] == "POST" ? Data("{}".utf8) : nil)
                let served = reply.status != 404 || Self.error(reply)?.code == "not-found"
                #expect(served, "\(route) is documented but not served (HTTP \(reply.status))")
            }
            #expect(try api.request("GET", "/v1/undocumented").status == 404)
        }
    }
}
