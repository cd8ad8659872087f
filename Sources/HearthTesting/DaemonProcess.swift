import Foundation
import HearthClient
import HearthProcess

/// A real `hearthd run` child process for end-to-end tests.
public final class DaemonProcess: Sendable {
    public let child: ChildProcess
    public let socketPath: String
    public let logPath: String
    public let nodeName: String

    /// Starts `hearthd run` against a test database and waits until its socket accepts.
    /// - Parameter allowRootJobs: run jobs root submits (the suites submit as the test process,
    ///   root); the isolation tests turn it off and submit as other users. Defaults to `true`.
    /// - Parameter enrolled: start without `--database-url`, so the daemon uses the credentials
    ///   `hearthd enroll` left in its state directory (`directory/nodeName`).
    public init(conninfo: String, database: String, nodeName: String, directory: URL, extraArguments: [String] = [],
                allowRootJobs: Bool = true, enrolled: Bool = false) async throws {
        guard let hearthd = BuiltProducts.path("hearthd") else { throw TestProcessError("hearthd is not built (swift build)") }
        self.nodeName = nodeName
        socketPath = directory.appendingPathComponent("\(nodeName).sock").path
        logPath = directory.appendingPathComponent("\(nodeName).log").path
        let fd = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(fd) }
        child = try ChildProcess.spawn(hearthd, [
            "run"] + (enrolled ? [] : ["--database-url", conninfo + " dbname=\(database)"]) + [
            "--state-dir", directory.appendingPathComponent(nodeName).path, "--socket", socketPath, "--node-name", nodeName,
        ] + (allowRootJobs ? ["--allow-root-jobs"] : []) + extraArguments, descriptors: [nil, fd, fd])
        let deadline = Date().addingTimeInterval(30)
        // "ready" is logged once the socket has its permissions and the node is registered. The
        // wait suspends (never blocks a thread of the concurrency pool the other tests share).
        while !UnixSocket.accepts(socketPath) || !log.contains(" ready") {
            if Date() > deadline {
                child.signal(SIGKILL)
                throw TestProcessError("hearthd \(nodeName) did not open its socket in 30 s: \(log)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The daemon's log so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends a signal and waits for the daemon to exit.
    @discardableResult
    public func stop(_ signal: Int32 = SIGTERM) async -> ChildProcess.Termination {
        child.signal(signal)
        return await child.wait()
    }

}

/// Runs the built `hearth` CLI, optionally as another Unix user (through runuser).
public enum CLI {
    public struct Result: Sendable {
        public var status: ChildProcess.Termination
        public var stdout: String
        public var stderr: String
    }

    /// - Parameter environment: variables added to the CLI's small fixed environment.
    public static func run(_ arguments: [String], socket: String, asUser user: String? = nil, stdin: String? = nil,
                           environment: [String: String] = [:]) async throws -> Result {
        guard let hearth = BuiltProducts.path("hearth") else { throw TestProcessError("hearth is not built (swift build)") }
        let dir = try BuiltProducts.temporaryDirectory("hearth-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out").path, err = dir.appendingPathComponent("err").path
        let o = open(out, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644), e = open(err, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        var program = hearth
        var args = arguments + ["--socket", socket]
        if let user {
            program = "/usr/sbin/runuser"
            args = ["-u", user, "--", hearth] + args
        }
        let child = try ChildProcess.spawn(program, args, environment: ["PATH": "/usr/bin:/bin", "NO_COLOR": "1"].merging(environment) { $1 },
                                           descriptors: [nil, o, e])
        close(o)
        close(e)
        let status = await child.wait()
        return Result(status: status, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}

public struct TestProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
