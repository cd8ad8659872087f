import Foundation

/// The cgroups of one attempt without systemd (hearthd as root): every process the job starts
/// is in them from its first instruction (the child joins before exec), so limits hold for all
/// of them and stopping the attempt reaches even processes that `setsid()`.
///
/// Each controller is used where the machine offers it: cgroup v2 where its controllers are
/// enabled, else the host's v1 hierarchy (`memory`, `pids`, `devices`). A v2 group (even one with
/// no controllers) also tracks the processes and kills them all at once (`cgroup.kill`).
/// Device filtering exists only in v1 (v2 needs an eBPF program; under systemd, `DeviceAllow=` does it).
final class AttemptCgroup: Sendable {
    /// A cgroup directory made for the attempt, and which version it belongs to.
    struct Group: Sendable {
        var path: String
        var v2: Bool
    }

    let groups: [Group]
    /// Open `cgroup.procs` of each group, for the child to join (``close()`` closes them).
    let procsFDs: [Int32]
    let memoryMaxBytes: Int64?
    /// Controllers whose limits are not enforced here (logged once per attempt).
    let missing: [String]

    private init(groups: [Group], procsFDs: [Int32], memoryMaxBytes: Int64?, missing: [String]) {
        self.groups = groups
        self.procsFDs = procsFDs
        self.memoryMaxBytes = memoryMaxBytes
        self.missing = missing
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Makes the attempt's cgroups, named `name` under `hearth-jobs` beside hearthd's own,
    /// with the policy's memory and task limits and, when `devices` is given, only those GPU
    /// device minors (plus the usual pseudo-devices) openable.
    static func create(name: String, policy: IsolationPolicy, gpuIndices: [Int]) throws -> AttemptCgroup {
        let root = policy.cgroupRoot
        let own = Self.ownPaths()
        var groups: [Group] = []
        var fds: [Int32] = []
        var missing: [String] = []
        func cleanup() {
            fds.forEach { close($0) }
            for g in groups.reversed() { rmdir(g.path) }
        }
        do {
            // cgroup v2: the unified mount is the root itself (pure v2) or `unified` (hybrid).
            let pureV2 = FileManager.default.fileExists(atPath: root + "/cgroup.controllers")
            let v2Mount = pureV2 ? root : root + "/unified"
            var v2Controllers: Set<String> = []
            if FileManager.default.fileExists(atPath: v2Mount + "/cgroup.controllers") {
                let parent = try Self.v2Parent(mount: v2Mount, own: own[""] ?? "/")
                v2Controllers = Set(Self.read(parent + "/cgroup.controllers").split(separator: " ").map(String.init))
                let dir = parent + "/" + name
                try Self.makeDirectory(dir)
                groups.append(Group(path: dir, v2: true))
                if v2Controllers.contains("memory"), let max = policy.memoryMaxBytes {
                    try Self.write(dir + "/memory.max", "\(max)")
                    try? Self.write(dir + "/memory.swap.max", "0")
                }
                if v2Controllers.contains("pids"), let tasks = policy.tasksMax { try Self.write(dir + "/pids.max", "\(tasks)") }
            }
            // cgroup v1 for what v2 does not offer here.
            for controller in ["memory", "pids", "devices"] where !v2Controllers.contains(controller) {
                let needed = controller == "devices" || (controller == "memory" ? policy.memoryMaxBytes != nil : policy.tasksMax != nil)
                let mount = root + "/" + controller
                guard needed else { continue }
                guard !pureV2, FileManager.default.fileExists(atPath: mount + "/cgroup.procs") else {
                    missing.append(controller)
                    continue
                }
                let base = mount + (own[controller] ?? "/").replacingOccurrences(of: "//", with: "/")
                let parent = (base.hasSuffix("/") ? base : base + "/") + "hearth-jobs"
                try Self.makeDirectory(parent)
                let dir = parent + "/" + name
                try Self.makeDirectory(dir)
                groups.append(Group(path: dir, v2: false))
                switch controller {
                case "memory":
                    let max = policy.memoryMaxBytes!
                    try Self.write(dir + "/memory.limit_in_bytes", "\(max)")
                    // With swap accounting, the limit covers swap too (else a job swaps past it).
                    if FileManager.default.fileExists(atPath: dir + "/memory.memsw.limit_in_bytes") {
                        try Self.write(dir + "/memory.memsw.limit_in_bytes", "\(max)")
                    }
                case "pids":
                    try Self.write(dir + "/pids.max", "\(policy.tasksMax!)")
                default:
                    try Self.write(dir + "/devices.deny", "a")
                    for rule in Self.deviceRules(gpuIndices: gpuIndices, major: policy.gpuDeviceMajor) {
                        try Self.write(dir + "/devices.allow", rule)
                    }
                }
            }
            if groups.isEmpty { throw Failure(description: "no writable cgroup file system under \(root)") }
            for g in groups {
                let fd = open(g.path + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
                guard fd >= 0 else { throw Failure(description: "cannot open \(g.path)/cgroup.procs: \(String(cString: strerror(errno)))") }
                fds.append(fd)
            }
        } catch {
            cleanup()
            throw error
        }
        return AttemptCgroup(groups: groups, procsFDs: fds, memoryMaxBytes: policy.memoryMaxBytes, missing: missing)
    }

    /// Devices a job may open: the usual pseudo-devices, terminals, and its own GPUs with the
    /// control devices every CUDA program opens (`nvidiactl`, `nvidia-uvm`).
    static func deviceRules(gpuIndices: [Int], major: UInt32) -> [String] {
        var rules = ["c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm",
                     "c 5:2 rwm", "c 136:* rwm"]
        if !gpuIndices.isEmpty {
            rules += gpuIndices.map { "c \(major):\($0) rwm" } + ["c \(major):255 rwm", "c \(major):254 rwm"]
            // nvidia-uvm's major is dynamic: /proc/devices names it once the driver is loaded.
            for line in Self.read("/proc/devices").split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2, parts[1].hasPrefix("nvidia-uvm") { rules.append("c \(parts[0]):* rwm") }
            }
        }
        return rules
    }

    /// Closes the `cgroup.procs` descriptors (once the child has joined).
    func closeDescriptors() { procsFDs.forEach { close($0) } }

    /// The processes still in the attempt's cgroups.
    var pids: [pid_t] {
        var all = Set<pid_t>()
        for g in groups { for l in Self.read(g.path + "/cgroup.procs").split(separator: "\n") { if let p = pid_t(l) { all.insert(p) } } }
        return Array(all)
    }

    /// Sends `signal` to every process in the attempt.
    func signalAll(_ signal: Int32) {
        for pid in pids { kill(pid, signal) }
    }

    /// Kills every process of the attempt and waits (up to `timeout`) until none is left:
    /// `cgroup.kill` where v2 has it, else SIGKILL to each member until the group is empty.
    @discardableResult
    func killAll(timeout: Duration = .seconds(10)) -> Bool {
        if let v2 = groups.first(where: \.v2), FileManager.default.fileExists(atPath: v2.path + "/cgroup.kill") {
            try? Self.write(v2.path + "/cgroup.kill", "1")
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = pids
            if left.isEmpty { return true }
            if ContinuousClock.now > deadline { return false }
            for pid in left { kill(pid, SIGKILL) }
            usleep(5_000)
        }
    }

    /// Whether the kernel killed a process of the attempt for passing its memory limit.
    var oomKilled: Bool {
        for g in groups {
            let text = g.v2 ? Self.read(g.path + "/memory.events") : Self.read(g.path + "/memory.oom_control")
            for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
                if let n = Int(line.split(separator: " ").last ?? ""), n > 0 { return true }
            }
        }
        return false
    }

    /// Kills what is left and removes the groups.
    func remove() {
        killAll()
        for g in groups {
            // The kernel frees a group a moment after its last process is reaped.
            for _ in 0..<200 { if rmdir(g.path) == 0 || errno == ENOENT { break }; usleep(5_000) }
        }
    }

    // MARK: Helpers

    /// hearthd's own cgroup in each hierarchy, from /proc/self/cgroup ("" is v2).
    static func ownPaths() -> [String: String] {
        var paths: [String: String] = [:]
        for line in read("/proc/self/cgroup").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            for c in parts[1].split(separator: ",") { paths[String(c)] = String(parts[2]) }
            if parts[1].isEmpty { paths[""] = String(parts[2]) }
        }
        return paths
    }

    /// `hearth-jobs` in v2, beside hearthd: a group with processes cannot pass controllers to
    /// children ("no internal processes"), so where hearthd's own group is not the root, hearthd
    /// first moves itself into a leaf `hearthd` of it.
    static func v2Parent(mount: String, own: String) throws -> String {
        let base = own == "/" ? mount : mount + own
        let jobs = base + "/hearth-jobs"
        if FileManager.default.fileExists(atPath: jobs) { return jobs }
        let available = read(base + "/cgroup.controllers").split(separator: " ").filter { $0 == "memory" || $0 == "pids" }
        if !available.isEmpty {
            let enable = available.map { "+\($0)" }.joined(separator: " ")
            if (try? write(base + "/cgroup.subtree_control", enable)) == nil, own != "/" {
                try makeDirectory(base + "/hearthd")
                try write(base + "/hearthd/cgroup.procs", "0")
                try? write(base + "/cgroup.subtree_control", enable)
            }
        }
        try makeDirectory(jobs)
        if !available.isEmpty { try? write(jobs + "/cgroup.subtree_control", available.map { "+\($0)" }.joined(separator: " ")) }
        return jobs
    }

    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    static func write(_ path: String, _ value: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let n = value.withCString { Foundation.write(fd, $0, strlen($0)) }
        guard n >= 0 else { throw Failure(description: "cannot write \"\(value)\" to \(path): \(String(cString: strerror(errno)))") }
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw Failure(description: "cannot make the cgroup \(path): \(String(cString: strerror(errno)))")
        }
    }
}
