import Foundation
import HearthScheduler
import TOMLKit

/// `hearthd.toml`: what a file may set. Every key is optional; a missing one keeps the default,
/// and flags and environment variables override the file (Docs/configuration.md).
public struct ConfigFile: Sendable, Hashable {
    public var databaseURL: String?
    public var stateDirectory: String?
    public var socket: String?
    public var nodeName: String?
    public var donor: String?
    public var simulatedGPUs: Int?
    public var slots: Int?
    public var adminGroup: String?
    public var worker: String?
    public var leaseSeconds: Int?
    public var heartbeatSeconds: Double?
    public var graceSeconds: Int?
    public var logLevel: String?
    /// Serve Prometheus metrics at `GET /metrics` on the control socket.
    public var metrics: Bool?
    /// The address serve jobs listen on (an IPv4 or IPv6 literal); the node admin's choice, never
    /// the spec's. Defaults to `127.0.0.1` (reachable only from this node).
    public var serveBindAddress: String?
    /// `artifact_cache_gib`: the most GiB of fleet artifacts this node keeps in its cache.
    public var artifactCacheGiB: Int?
    /// `artifact_collect_interval_minutes`: how often the leader collects unused blobs; 0 = never.
    public var artifactCollectIntervalMinutes: Double?
    /// `artifact_collect_grace_minutes`: how old an unused blob must be to be collected (at least 10).
    public var artifactCollectGraceMinutes: Double?
    /// The `[scheduler]` table applied over `SchedulerPolicy.default`.
    public var scheduler = SchedulerPolicy.default
    /// `allow_root_jobs` and the `[isolation]` table applied over `IsolationPolicy()`.
    public var isolation = IsolationPolicy()

    public init() {}

    /// The default path, `/etc/hearth/hearthd.toml`.
    public static let defaultPath = "/etc/hearth/hearthd.toml"

    /// A file that cannot be used, with the line and key at fault and how to fix it.
    public struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var line: Int?
        public var message: String
        public var description: String { "\(path)\(line.map { ":\($0)" } ?? ""): \(message)" }
    }

    /// Reads and checks `path`. A missing file is an error only when `required` (named by
    /// `--config`); the default path may be absent.
    public static func load(path: String, required: Bool) throws(Error) -> ConfigFile? {
        guard FileManager.default.fileExists(atPath: path) else {
            if required { throw Error(path: path, line: nil, message: "no such file; create it or drop --config") }
            return nil
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Error(path: path, line: nil, message: "cannot read it: \(error.localizedDescription)")
        }
        return try parse(text, path: path)
    }

    /// Parses the text of a file; `path` only names it in errors.
    public static func parse(_ text: String, path: String) throws(Error) -> ConfigFile {
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw Error(path: path, line: e.source.begin.line, message: "not valid TOML: \(e.description)")
        } catch {
            throw Error(path: path, line: nil, message: "not valid TOML: \(error)")
        }
        var reader = Reader(table: table, text: text, path: path, section: nil)
        var c = ConfigFile()
        c.databaseURL = try reader.string("database_url")
        c.stateDirectory = try reader.string("state_dir")
        c.socket = try reader.string("socket")
        c.nodeName = try reader.string("node_name")
        c.donor = try reader.string("donor")
        c.simulatedGPUs = try reader.int("simulated_gpus", 0...64)
        c.slots = try reader.int("slots", 1...1024)
        c.adminGroup = try reader.string("admin_group")
        c.worker = try reader.string("worker")
        c.leaseSeconds = try reader.int("lease_seconds", 2...86_400)
        c.heartbeatSeconds = try reader.double("heartbeat_seconds", 0.05...43_200)
        c.graceSeconds = try reader.int("grace_seconds", 1...86_400)
        c.logLevel = try reader.string("log_level", oneOf: ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        c.metrics = try reader.bool("metrics")
        c.serveBindAddress = try reader.string("serve_bind_address")
        c.artifactCacheGiB = try reader.int("artifact_cache_gib", 1...(1 << 20))
        c.artifactCollectIntervalMinutes = try reader.double("artifact_collect_interval_minutes", 0...525_600)
        c.artifactCollectGraceMinutes = try reader.double("artifact_collect_grace_minutes", 10...525_600)
        if let address = c.serveBindAddress, !Self.isAddressLiteral(address) {
            throw Error(path: path, line: reader.line(of: "serve_bind_address"), message: """
                serve_bind_address: "\(address)" is not an IP address; write one such as 127.0.0.1 (this node only), \
                0.0.0.0 (every interface) or ::1
                """)
        }
        if let lease = c.leaseSeconds, let beat = c.heartbeatSeconds, beat * 2 > Double(lease) {
            throw Error(path: path, line: reader.line(of: "heartbeat_seconds"),
                        message: "heartbeat_seconds (\(beat)) must be at most half of lease_seconds (\(lease)), or leases lapse between renewals")
        }
        if let sched = try reader.table("scheduler") {
            var s = Reader(table: sched, text: text, path: path, section: "scheduler")
            var p = SchedulerPolicy.default
            if let o = try s.string("ordering", oneOf: ["multifactor", "fifo"]) {
                p = o == "fifo" ? .fifo : p
            }
            if let v = try s.double("age_weight", 0...1e9) { p.ageWeight = v }
            if let v = try s.double("fair_share_weight", 0...1e9) { p.fairShareWeight = v }
            if let v = try s.double("size_weight", 0...1e9) { p.sizeWeight = v }
            if let v = try s.double("qos_weight", 0...1e9) { p.qosWeight = v }
            if let v = try s.double("user_priority_weight", 0...1e9) { p.userPriorityWeight = v }
            if let v = try s.double("max_age_hours", 0.001...100_000) { p.maxAge = v * 3600 }
            if let v = try s.double("usage_half_life_hours", 0.001...100_000) { p.usageHalfLife = v * 3600 }
            if let v = try s.bool("backfill") { p.backfill = v }
            if let v = try s.int("max_reservations", 0...10_000) { p.maxReservations = v }
            if let v = try s.int("max_jobs_per_pass", 1...10_000_000) { p.maxJobsPerPass = v }
            if let v = try s.bool("preemption") { p.priorityPreemption = v }
            if let v = try s.int("max_preemptors_per_pass", 0...10_000) { p.maxPreemptorsPerPass = v }
            if let v = try s.int("max_preemptions_per_job", 0...1_000) { p.maxPreemptionsPerJob = v }
            if let v = try s.double("min_run_before_preemption_seconds", 0...1e7) { p.minRunBeforePreemption = v }
            if let v = try s.double("min_useful_run_seconds", 0...1e7) { p.minUsefulRun = v }
            if let v = try s.double("starvation_age_hours", 0.001...100_000) { p.starvationAge = v * 3600 }
            try s.refuseUnknownKeys()
            c.scheduler = p
        }
        if let allow = try reader.bool("allow_root_jobs") { c.isolation.allowRootJobs = allow }
        if let iso = try reader.table("isolation") {
            var r = Reader(table: iso, text: text, path: path, section: "isolation")
            if let range = try r.string("transient_uids") {
                let parts = range.split(separator: "-").compactMap { UInt32($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 2, parts[0] >= 1000, parts[0] <= parts[1] else {
                    throw r.error("transient_uids", "\"\(range)\" is not a range of uids such as \"61184-65519\" (from 1000 up, low-high)")
                }
                c.isolation.transientUIDs = parts[0]...parts[1]
            }
            if let mib = try r.int("memory_max_mib", 16...(1 << 30)) { c.isolation.memoryMaxBytes = Int64(mib) << 20 }
            if let tasks = try r.int("tasks_max", 16...4_194_304) { c.isolation.tasksMax = tasks }
            if let cgroups = try r.bool("cgroups") { c.isolation.cgroups = cgroups }
            if let cpu = try r.int("cpu_quota_percent", 1...100_000) { c.isolation.cpuQuotaPercent = cpu }
            try r.refuseUnknownKeys()
        }
        try reader.refuseUnknownKeys()
        return c
    }
}

extension ConfigFile {
    /// Whether `text` is an IPv4 or IPv6 address literal.
    static func isAddressLiteral(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}

/// Typed access to one TOML table that remembers which keys were read, so the rest can be
/// refused as unknown, and finds a key's line in the text for error messages.
private struct Reader {
    let table: TOMLTable
    let text: String
    let path: String
    let section: String?
    var seen: Set<String> = []

    init(table: TOMLTable, text: String, path: String, section: String?) {
        self.table = table
        self.text = text
        self.path = path
        self.section = section
    }

    private var prefix: String { section.map { "[\($0)] " } ?? "" }

    func error(_ key: String, _ message: String) -> ConfigFile.Error {
        ConfigFile.Error(path: path, line: line(of: key), message: "\(prefix)\(key): \(message)")
    }

    mutating func string(_ key: String, oneOf allowed: [String]? = nil) throws(ConfigFile.Error) -> String? {
        seen.insert(key)
        guard let v = table[key] else { return nil }
        guard let s = v.string else { throw error(key, "expected a string in quotes, found \(v.type)") }
        if let allowed, !allowed.contains(s) {
            throw error(key, "\"\(s)\" is not one of \(allowed.joined(separator: ", "))")
        }
        return s
    }

    mutating func int(_ key: String, _ range: ClosedRange<Int>) throws(ConfigFile.Error) -> Int? {
        seen.insert(key)
        guard let v = table[key] else { return nil }
        guard let i = v.int else { throw error(key, "expected a whole number, found \(v.type)") }
        guard range.contains(i) else { throw error(key, "\(i) is out of range; use \(range.lowerBound) to \(range.upperBound)") }
        return i
    }

    mutating func double(_ key: String, _ range: ClosedRange<Double>) throws(ConfigFile.Error) -> Double? {
        seen.insert(key)
        guard let v = table[key] else { return nil }
        guard let d = v.double ?? v.int.map(Double.init) else { throw error(key, "expected a number, found \(v.type)") }
        guard range.contains(d) else { throw error(key, "\(d) is out of range; use \(range.lowerBound) to \(range.upperBound)") }
        return d
    }

    mutating func bool(_ key: String) throws(ConfigFile.Error) -> Bool? {
        seen.insert(key)
        guard let v = table[key] else { return nil }
        guard let b = v.bool else { throw error(key, "expected true or false, found \(v.type)") }
        return b
    }

    mutating func table(_ key: String) throws(ConfigFile.Error) -> TOMLTable? {
        seen.insert(key)
        guard let v = table[key] else { return nil }
        guard let t = v.table else { throw error(key, "expected a table ([\(key)]), found \(v.type)") }
        return t
    }

    func refuseUnknownKeys() throws(ConfigFile.Error) {
        for key in table.keys.sorted() where !seen.contains(key) {
            let near = seen.min { distance($0, key) < distance($1, key) }
            let hint = near.map { distance($0, key) <= 3 ? "; did you mean \($0)?" : "" } ?? ""
            throw ConfigFile.Error(path: path, line: line(of: key), message: "\(prefix)unknown key \"\(key)\"\(hint) (Docs/configuration.md lists every key)")
        }
    }

    /// The 1-based line where `key` is set in this reader's section, when it can be found.
    func line(of key: String) -> Int? {
        var current: String? = nil
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = raw.trimmingCharacters(in: .whitespaces)
            if l.hasPrefix("[") {
                current = l.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).nilIfEmpty
                if current == key && section == nil { return i + 1 }
                continue
            }
            guard current == section, l.hasPrefix(key) else { continue }
            let rest = l.dropFirst(key.count).trimmingCharacters(in: .whitespaces)
            if rest.hasPrefix("=") { return i + 1 }
        }
        return nil
    }

    /// Edit distance, for "did you mean".
    private func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var prev = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let old = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = old
            }
        }
        return row[b.count]
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
