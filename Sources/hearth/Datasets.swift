import ArgumentParser
import FoundationEssentials
import Glibc
import HearthAPI
import HearthClient

/// `hearth dataset push|list|show|rm`: prepared datasets stored in the fleet by name and version
/// (Docs/artifacts.md). A spec names one as `{"dataset": "NAME"}`, `NAME@VERSION` or `sha256:DIGEST`.
struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset", abstract: "Store prepared datasets in the fleet, by name and version.",
        subcommands: [DatasetPush.self, DatasetList.self, DatasetShow.self, DatasetRemove.self])
}

struct DatasetPush: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Upload a dataset (made by hearth-worker prepare, or raw text) as a new version of NAME.",
        discussion: """
            PATH is a dataset directory (index.json, tokenizer.json, train-*.bin, val-*.bin) or single files; \
            each file is streamed to the fleet's store once (identical files are stored once). \
            One file of plain text (UTF-8, no NUL byte) is raw text instead: it is uploaded, and a job on a node \
            prepares it with the char tokenizer (hearth-worker prepare) into the next version of NAME; hearth queue \
            shows that job (prepare-NAME). --raw and --prepared override the guess. \
            Then name it in a spec: "data": [{"dataset": "NAME"}].
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "The dataset's name; each push makes its next version.") var name: String
    @Flag(help: "PATH is raw text to prepare on a node (one file).") var raw = false
    @Flag(help: "PATH is already prepared (shards, index.json, tokenizer.json).") var prepared = false
    @Argument(help: ArgumentHelp("Dataset directories or files.", valueName: "path")) var paths: [String]

    func validate() throws {
        if raw && prepared { throw ValidationError("give --raw or --prepared, not both") }
        if raw && paths.count != 1 { throw ValidationError("--raw takes one text file") }
    }

    func run() throws {
        if raw || (!prepared && paths.count == 1 && Self.looksLikeText(paths[0])) {
            try pushText(paths[0])
            return
        }
        var files: [(name: String, path: String)] = []
        for path in paths {
            var st = stat()
            guard stat(path, &st) == 0 else { Stdio.error("hearth: cannot read \(path): \(String(cString: strerror(errno)))\n"); throw ExitCode(64) }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                for entry in try FileManager.default.contentsOfDirectory(atPath: path).sorted() where !entry.hasPrefix(".") {
                    var est = stat()
                    if stat(path + "/" + entry, &est) == 0, (est.st_mode & S_IFMT) == S_IFREG { files.append((entry, path + "/" + entry)) }
                }
            } else {
                files.append((String(path.split(separator: "/").last ?? ""), path))
            }
        }
        guard !files.isEmpty else { Stdio.error("hearth: no files to push in \(paths.joined(separator: " "))\n"); throw ExitCode(64) }
        if let twice = Dictionary(grouping: files, by: \.name).first(where: { $0.value.count > 1 }) {
            Stdio.error("hearth: two files are named \(twice.key) (\(twice.value.map(\.path).joined(separator: ", "))); a dataset holds each name once\n")
            throw ExitCode(64)
        }
        guard files.contains(where: { $0.name == "index.json" }) else {
            Stdio.error("""
                hearth: \(paths.joined(separator: " ")) is not a prepared dataset (no index.json) nor one file of UTF-8 text; \
                push a directory made by hearth-worker prepare, or a text file (--raw if it was not recognised as text)\n
                """)
            throw ExitCode(64)
        }
        var stored: [ArtifactFileView] = []
        for file in files {
            let blob = try upload(file.path)
            stored.append(ArtifactFileView(path: file.name, sha256: blob.sha256, bytes: blob.bytes))
        }
        let body = try JSONEncoder().encode(DatasetRequest(name: name, files: stored))
        let (dataset, raw) = try global.call("POST", "/v1/datasets", body: body, as: ArtifactView.self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        print("dataset \(dataset.name ?? name)@\(dataset.version ?? 0): \(dataset.files.count) files, \(dataset.bytes) bytes, sha256:\(dataset.digest)")
    }
}

extension DatasetPush {
    /// One regular file, not a part of a prepared dataset, whose first 64 KiB are UTF-8 with no NUL.
    static func looksLikeText(_ path: String) -> Bool {
        let name = String(path.split(separator: "/").last ?? "")
        guard !["index.json", "tokenizer.json"].contains(name), !name.hasSuffix(".bin") else { return false }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else { return false }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return false }
        var head = Array(buffer[0..<n])
        guard !head.contains(0) else { return false }
        // A multi-byte character cut at the end of the sample is not an error.
        while let last = head.last, last & 0xC0 == 0x80 || last >= 0xC0, head.count > n - 4 { head.removeLast() }
        return String(validating: head, as: UTF8.self) != nil
    }

    /// Streams one file to the fleet's store (`POST /v1/blobs`); exits with a sentence on failure.
    /// `requireText`: refuse anything but a non-empty regular file.
    func upload(_ path: String, requireText: Bool = false) throws -> BlobView {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { Stdio.error("hearth: cannot open \(path): \(String(cString: strerror(errno)))\n"); throw ExitCode(1) }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        if requireText, (st.st_mode & S_IFMT) != S_IFREG || st.st_size == 0 {
            Stdio.error("hearth: \(path) is not a non-empty file of text\n")
            throw ExitCode(64)
        }
        let reply: ControlClient.Reply
        do { reply = try global.client.upload("POST", "/v1/blobs", fileFD: fd, length: Int64(st.st_size)) } catch {
            Stdio.error("hearth: \(error)\n")
            throw ExitCode(3)
        }
        guard reply.status == 201, let blob = try? JSONDecoder().decode(BlobView.self, from: reply.body) else {
            let message = (try? JSONDecoder().decode(APIError.self, from: reply.body))?.message ?? "status \(reply.status)"
            Stdio.error("hearth: \(path): \(message)\n")
            throw ExitCode(1)
        }
        return blob
    }

    /// Uploads raw text; a job on a node prepares it into the next version of the dataset.
    func pushText(_ path: String) throws {
        let blob = try upload(path, requireText: true)
        let file = ArtifactFileView(path: String(path.split(separator: "/").last ?? "text"), sha256: blob.sha256, bytes: blob.bytes)
        let body = try JSONEncoder().encode(DatasetPrepareRequest(name: name, text: file))
        let (queued, raw) = try global.call("POST", "/v1/datasets/prepare", body: body, as: DatasetPrepareView.self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        print("""
            uploaded \(path) (\(blob.bytes) bytes of text); job \(queued.job) prepares it with the char tokenizer into the next \
            version of dataset \(queued.name) (hearth show \(queued.job); then hearth dataset show \(queued.name))
            """)
    }
}

struct DatasetList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Your datasets, newest version first.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let (datasets, raw) = try global.call("GET", "/v1/datasets", as: [ArtifactView].self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        var table = TextTable(["NAME", "VERSION", "FILES", "BYTES", "DIGEST", "CREATED"])
        for d in datasets {
            table.add([d.name ?? "-", "\(d.version ?? 0)", "\(d.files.count)", "\(d.bytes)", "sha256:" + d.digest.prefix(12),
                       TextTable.duration(Date().timeIntervalSince(d.createdAt)) + " ago"])
        }
        print(table.render(), terminator: "")
    }
}

struct DatasetShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "The versions and files of one dataset.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The dataset's name.") var name: String

    func run() throws {
        let (versions, raw) = try global.call("GET", "/v1/datasets?name=\(name)", as: [ArtifactView].self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        guard !versions.isEmpty else {
            Stdio.error("""
                hearth: you have no dataset "\(name)"; hearth dataset list shows yours (pushed raw text is a dataset once its \
                job, prepare-\(name) in hearth queue, has succeeded)\n
                """)
            throw ExitCode(1)
        }
        for v in versions {
            print("\(name)@\(v.version ?? 0)  sha256:\(v.digest)  \(v.bytes) bytes")
            for f in v.files { print("  \(f.path)  \(f.bytes)  \(f.sha256)") }
        }
    }
}

struct DatasetRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove a dataset (every version, or NAME@VERSION); queued jobs that name it fail to start.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("NAME or NAME@VERSION.", valueName: "dataset")) var dataset: String

    func run() throws {
        let parts = dataset.split(separator: "@", maxSplits: 1)
        let path = "/v1/datasets/\(parts[0])" + (parts.count == 2 ? "?version=\(parts[1])" : "")
        let (removed, raw) = try global.call("DELETE", path, as: [ArtifactView].self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        for r in removed { print("removed \(r.name ?? "")@\(r.version ?? 0)") }
    }
}

/// `hearth checkpoints [list] JOB` and `hearth checkpoints rm JOB [--step N]`.
struct CheckpointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoints", abstract: "A job's checkpoints stored in the fleet (any node resumes from the newest).",
        subcommands: [List.self, Remove.self], defaultSubcommand: List.self)

    /// `hearth checkpoints JOB`: newest first.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a job's stored checkpoints, newest first.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The job id, or an array element as ARRAY_INDEX.", valueName: "job"), transform: JobArgument.parse)
        var job: JobReference

        func run() throws {
            let job = try global.connection.jobID(self.job)
            let (checkpoints, raw) = try global.call("GET", "/v1/jobs/\(job)/checkpoints", as: [ArtifactView].self)
            if global.json { print(String(decoding: raw, as: UTF8.self)); return }
            var table = TextTable(["STEP", "BYTES", "DIGEST", "STORED"])
            for c in checkpoints {
                table.add(["\(c.step ?? 0)", "\(c.bytes)", "sha256:" + c.digest.prefix(12), TextTable.duration(Date().timeIntervalSince(c.createdAt)) + " ago"])
            }
            print(table.render(), terminator: "")
        }
    }

    /// `hearth checkpoints rm JOB [--step N]`: retention keeps a finished job's final checkpoint
    /// until its owner removes it.
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove an ended job's stored checkpoints (all, or one step); its owner or an admin.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The job id, or an array element as ARRAY_INDEX.", valueName: "job"), transform: JobArgument.parse)
        var job: JobReference
        @Option(help: "Remove only the checkpoint at this step (default: all of the job's).") var step: Int?

        func run() throws {
            let job = try global.connection.jobID(self.job)
            let path = "/v1/jobs/\(job)/checkpoints" + (step.map { "?step=\($0)" } ?? "")
            let (removed, raw) = try global.call("DELETE", path, as: [ArtifactView].self)
            if global.json { print(String(decoding: raw, as: UTF8.self)); return }
            for r in removed { print("removed checkpoint of job \(job) at step \(r.step ?? 0) (\(r.bytes) bytes)") }
        }
    }
}
