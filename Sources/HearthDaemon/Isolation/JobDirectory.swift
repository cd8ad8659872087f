import Foundation
import HearthProcess

/// A job's directories on this node: `jobs/ID` is hearthd's (its job file, logs, pid file;
/// mode 0711, so the job can reach its own part but list nothing), and `jobs/ID/work` is the
/// job's, owned by the job's user with mode 0700, where its default checkpoint and results
/// paths live. hearthd never opens anything inside `work`: the job could have put a link there.
struct JobDirectory: Sendable {
    let root: URL
    let work: URL

    /// Makes (or re-owns, for a new attempt) the directories of job `jobID`.
    static func prepare(jobsDirectory: URL, jobID: Int64, user: UnixUser?) throws -> JobDirectory {
        try makeDirectory(jobsDirectory.path, mode: 0o711)
        let root = jobsDirectory.appendingPathComponent("\(jobID)")
        try makeDirectory(root.path, mode: 0o711)
        let work = root.appendingPathComponent("work")
        try makeDirectory(work.path, mode: 0o700)
        if let user {
            guard lchown(work.path, user.uid, user.gid) == 0 else {
                throw JobRunner.Error(message: "cannot give \(work.path) to \(user): \(String(cString: strerror(errno)))")
            }
        }
        return JobDirectory(root: root, work: work)
    }

    /// mkdir, or a directory (not a link) already there, with `mode` set either way.
    private static func makeDirectory(_ path: String, mode: mode_t) throws {
        if mkdir(path, mode) != 0 && errno != EEXIST {
            if errno == ENOENT {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } else {
                throw JobRunner.Error(message: "cannot make \(path): \(String(cString: strerror(errno)))")
            }
        }
        // attributesOfItem reads the entry itself (lstat): a link is not a directory here.
        guard (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType == .typeDirectory else {
            throw JobRunner.Error(message: "\(path) is not a directory")
        }
        chmod(path, mode)
    }
}
