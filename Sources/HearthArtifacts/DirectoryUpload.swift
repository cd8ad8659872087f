import Foundation

/// Stores the regular files of one directory (a checkpoint's, a dataset's) as blobs.
///
/// hearthd runs as root and the directory is a job's: the job could have swapped a file or a
/// parent directory for a symbolic link to something it may not read. So every path component
/// below `beneath` is opened with `O_NOFOLLOW`, only regular files are taken, and, where an
/// owner is given, only files that owner owns (a file the job owns is one it could read anyway).
/// Every file is opened before the first byte is sent, so a worker deleting an old checkpoint
/// meanwhile changes nothing: the open descriptors keep the files.
public enum DirectoryUpload {
    /// Uploads every regular file directly inside `directory`.
    /// - Parameters:
    ///   - beneath: a directory that `directory` lies in and whose own path is trusted (the
    ///     job's directory, made by hearthd); the components after it are opened without
    ///     following links. `nil`: only the last component is.
    ///   - ownerUID: when set, a file owned by anyone else is refused.
    ///   - expected: SHA-256s already known by file name (a checkpoint's sidecar lists them),
    ///     so a file already stored is not read again.
    /// - Returns: the files, sorted by name.
    public static func upload(
        directory: String, beneath: String? = nil, ownerUID: uid_t? = nil, expected: [String: String] = [:],
        to store: any BlobStore
    ) async throws -> [ArtifactFile] {
        let dirFD = try openDirectory(directory, beneath: beneath)
        defer { close(dirFD) }
        var opened: [(name: String, fd: Int32)] = []
        defer { opened.forEach { close($0.fd) } }
        for name in try entries(of: dirFD) {
            let fd = openat(dirFD, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else {
                if errno == ELOOP { continue }  // a symbolic link: not part of the artifact
                throw ArtifactError.io("cannot open \(directory)/\(name)")
            }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { close(fd); continue }
            if let ownerUID, st.st_uid != ownerUID {
                close(fd)
                throw ArtifactError(.forbidden, "\(directory)/\(name) is not owned by uid \(ownerUID); refusing to store it")
            }
            guard ArtifactFile.isValidPath(name) else {
                close(fd)
                throw ArtifactError(.invalid, "\(directory)/\(name): file names in an artifact are letters, digits, '_', '.' and '-'")
            }
            opened.append((name, fd))
        }
        guard !opened.isEmpty else { throw ArtifactError(.notFound, "\(directory) holds no files to store") }
        var files: [ArtifactFile] = []
        for (name, fd) in opened {
            let blob = try await store.write(from: fd, expectedSHA256: expected[name])
            files.append(ArtifactFile(path: name, sha256: blob.sha256, bytes: blob.bytes))
        }
        return files
    }

    /// Opens `path` as a directory, following no link in the components after `beneath`.
    static func openDirectory(_ path: String, beneath: String?) throws -> Int32 {
        let flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC
        guard let beneath else {
            let fd = open(path, flags | O_NOFOLLOW)
            guard fd >= 0 else { throw ArtifactError.io("cannot open directory \(path)") }
            return fd
        }
        let root = beneath.hasSuffix("/") ? String(beneath.dropLast()) : beneath
        guard path.hasPrefix(root + "/") else {
            throw ArtifactError(.forbidden, "\(path) is not inside \(root); only files in the job's directory are stored")
        }
        var fd = open(root, flags)
        guard fd >= 0 else { throw ArtifactError.io("cannot open directory \(root)") }
        for component in path.dropFirst(root.count + 1).split(separator: "/") where component != "." {
            guard component != ".." else {
                close(fd)
                throw ArtifactError(.forbidden, "\(path) climbs out of \(root) with '..'")
            }
            let next = openat(fd, String(component), flags | O_NOFOLLOW)
            let saved = errno
            close(fd)
            guard next >= 0 else { throw ArtifactError.io("cannot open directory \(path) (at \(component))", saved) }
            fd = next
        }
        return fd
    }

    /// The names in a directory, sorted, without `.` and `..`.
    static func entries(of dirFD: Int32) throws -> [String] {
        let copy = dup(dirFD)
        guard copy >= 0, let dir = fdopendir(copy) else { throw ArtifactError.io("cannot list a directory") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
