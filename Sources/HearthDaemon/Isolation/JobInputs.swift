import Foundation
import CDispatch  // struct stat's members, under MemberImportVisibility
import Glibc

/// Where a job's fleet inputs are put on this node: the datasets it names, the stored checkpoints
/// it names and the checkpoint it resumes from, fetched through the node cache.
///
/// They live in `jobs/ID/inputs`, hearthd's own directory (mode 0711, each input 0755 with its
/// files 0444), never below the job's `work` directory: hearthd (often root) never creates,
/// renames or chowns anything where the job could have planted a link. The job reads them and
/// cannot change them. A transient unit cannot reach hearthd's state directory: systemd binds
/// `jobs/ID/inputs` read-only into the unit's own directory (``visibleRoot``), and the paths in
/// the job's spec are the ones the job sees.
struct JobInputs: Sendable {
    /// The directory as hearthd sees it.
    let directory: URL
    /// The same directory as the job sees it.
    let visibleRoot: String
    /// Hard links to the cache (the job runs as another user, who cannot write hearthd's read-only
    /// files), or copies (the job runs as hearthd's user, who could write through a link).
    let link: Bool

    /// For a job running as a child of hearthd: the job sees hearthd's paths.
    static func child(_ jobDirectory: JobDirectory, runsAsAnotherUser: Bool) -> JobInputs {
        let directory = jobDirectory.root.appendingPathComponent("inputs")
        return JobInputs(directory: directory, visibleRoot: directory.path, link: runsAsAnotherUser)
    }

    /// For a transient unit whose own directory is `unitDirectory`.
    static func unit(_ jobDirectory: JobDirectory, unitDirectory: String) -> JobInputs {
        JobInputs(directory: jobDirectory.root.appendingPathComponent("inputs"), visibleRoot: unitDirectory + "/inputs", link: true)
    }

    /// `path` (below ``directory``) as the job sees it.
    func visible(_ path: String) -> String {
        let root = directory.path
        guard path == root || path.hasPrefix(root + "/") else { return path }
        return visibleRoot + path.dropFirst(root.count)
    }

    /// `inputs/KIND` (datasets, checkpoints-in, resume), made if missing, with the inputs directory.
    func area(_ kind: String) throws -> URL {
        let area = directory.appendingPathComponent(kind)
        for dir in [directory, area] {
            if mkdir(dir.path, 0o711) != 0 && errno != EEXIST {
                throw JobRunner.Error(message: "cannot make \(dir.path): \(String(cString: strerror(errno)))")
            }
            var st = stat()
            guard lstat(dir.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == geteuid() else {
                throw JobRunner.Error(message: "\(dir.path) is not a directory of hearthd's")
            }
            chmod(dir.path, 0o711)
        }
        return area
    }

    /// Makes one materialized input readable by the job, whatever hearthd's umask was: its
    /// directories 0755, its files 0444 (hard links share the cache blob's inode, read-only anyway).
    static func openToReaders(_ input: URL) {
        chmod(input.path, 0o755)
        guard let names = try? FileManager.default.subpathsOfDirectory(atPath: input.path) else { return }
        for name in names {
            let path = input.appendingPathComponent(name).path
            var st = stat()
            guard lstat(path, &st) == 0, st.st_uid == geteuid() else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: chmod(path, 0o755)
            case S_IFREG: chmod(path, 0o444)
            default: break
            }
        }
    }

    /// Whether `path` exists, as far as hearthd can tell: `nil` when it may not look (a unit's
    /// directory without CAP_DAC_READ_SEARCH).
    static func exists(_ path: String) -> Bool? {
        var st = stat()
        if stat(path, &st) == 0 { return true }
        return errno == EACCES || errno == EPERM ? nil : false
    }
}
