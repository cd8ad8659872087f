import Foundation

/// An enrolled node's database credentials (`hearthd enroll`): one conninfo line with its own
/// login role and password, in a file of mode 0600 in the state directory. `hearthd run` uses
/// it when no database URL is configured.
public enum NodeCredentials {
    /// The file's name in the state directory.
    public static let fileName = "node-credentials.conninfo"

    public static func path(stateDirectory: URL) -> URL {
        stateDirectory.appendingPathComponent(fileName)
    }

    /// The stored conninfo, or `nil` when this node was not enrolled.
    public static func read(stateDirectory: URL) -> String? {
        guard let text = try? String(contentsOf: path(stateDirectory: stateDirectory), encoding: .utf8) else { return nil }
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return line.isEmpty ? nil : line
    }

    /// Writes the conninfo, readable by this user only; the file is created 0600, never wider.
    public static func write(_ conninfo: String, stateDirectory: URL) throws {
        try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let target = path(stateDirectory: stateDirectory)
        let temporary = target.appendingPathExtension("new")
        unlink(temporary.path)
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw JobRunner.Error(message: "cannot write \(temporary.path): \(String(cString: strerror(errno)))")
        }
        let bytes = Array((conninfo + "\n").utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == bytes.count, rename(temporary.path, target.path) == 0 else {
            unlink(temporary.path)
            throw JobRunner.Error(message: "cannot write \(target.path): \(String(cString: strerror(errno)))")
        }
    }
}
