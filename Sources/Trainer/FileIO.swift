#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic writes (temp file, fsync, rename, fsync of the directory), so a
/// reader never sees a half-written file.
public enum FileIO {
    /// Reads a whole file.
    public static func read(_ path: String) throws(TrainerError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .badInput("cannot open \(path): \(errnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io("cannot stat \(path): \(errnoText())") }
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        let ok = bytes.withUnsafeMutableBytes { buf -> Bool in
            while done < size {
                let n = Glibc.read(fd, buf.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                done += n
            }
            return true
        }
        guard ok else { throw .io("cannot read \(path): \(errnoText())") }
        return bytes
    }

    /// Writes `chunks` to `path` atomically; the previous file (if any) stays intact on failure.
    public static func writeAtomically(_ path: String, _ chunks: [UnsafeRawBufferPointer]) throws(TrainerError) {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw pathRefusal("cannot create \(tmp)") }
        do throws(TrainerError) {
            for chunk in chunks { try writeAll(fd, chunk, path: tmp) }
            guard fsync(fd) == 0 else { throw TrainerError.io("cannot fsync \(tmp): \(errnoText())") }
            close(fd)
            guard rename(tmp, path) == 0 else { throw TrainerError.io("cannot rename \(tmp): \(errnoText())") }
            syncDirectory(of: path)
        } catch {
            close(fd); unlink(tmp)
            throw error
        }
    }

    /// Writes bytes atomically.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(TrainerError) {
        let failure = bytes.withUnsafeBytes { b -> TrainerError? in
            do throws(TrainerError) { try writeAtomically(path, [b]); return nil } catch { return error }
        }
        if let failure { throw failure }
    }

    /// Writes a string atomically.
    public static func writeAtomically(_ path: String, text: String) throws(TrainerError) {
        try writeAtomically(path, Array(text.utf8))
    }

    static func writeAll(_ fd: Int32, _ b: UnsafeRawBufferPointer, path: String) throws(TrainerError) {
        var done = 0
        while done < b.count {
            let n = write(fd, b.baseAddress! + done, b.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io("cannot write \(path): \(errnoText())") }
            done += n
        }
    }

    /// The error for a path the system refused, from `errno`: a path the job may not use (no
    /// permission, read-only, not a directory) is bad input, exit 2, since retrying on another
    /// node cannot help; anything else (disk full, an I/O error) is this node's problem, exit 3.
    static func pathRefusal(_ what: String) -> TrainerError {
        let code = errno
        let message = "\(what): \(String(cString: strerror(code)))"
        switch code {
        case EACCES, EPERM, EROFS, ENOTDIR, ENOENT, ENAMETOOLONG, ELOOP, EISDIR:
            return .badInput(message + "; the job runs as its submitter, so choose a path that user may write")
        default:
            return .io(message)
        }
    }

    /// fsyncs the directory holding `path` so a rename survives a crash.
    public static func syncDirectory(of path: String) {
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let fd = open(dir.isEmpty ? "/" : dir, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Creates a directory and its parents.
    public static func makeDirectories(_ path: String) throws(TrainerError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw pathRefusal("cannot create directory \(current)")
            }
        }
    }

    /// Whether a file or directory exists.
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Names in a directory (no `.` or `..`), or empty when it cannot be read.
    public static func list(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
