import ArgumentParser
import FoundationEssentials
import HearthAPI

/// `hearth priority [JOB]`: why a pending job has its priority and why it is not running.
struct PriorityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "priority",
        abstract: "Explain pending jobs' priority factor by factor and why they wait (like sprio and squeue --start).",
        discussion: """
            Without JOB: every pending job in the order the scheduler considers them, with its reason. With JOB: \
            that job's factors (age, fair share, size, QOS, user priority), its weights and points, its fair-share \
            usage, and its expected start when a reservation was made.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("A pending job's id, or an array element as ARRAY_INDEX.", valueName: "job"), transform: JobArgument.parse)
    var job: JobReference?

    func run() throws {
        if let ref = job {
            let job = try global.connection.jobID(ref)
            let (view, raw) = try global.call("GET", "/v1/jobs/\(job)/priority", as: PriorityView.self)
            if global.json { print(String(decoding: raw, as: UTF8.self)); return }
            print(Self.detail(view), terminator: "")
            return
        }
        let (views, raw) = try global.call("GET", "/v1/priority", as: [PriorityView].self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        var table = TextTable(["RANK", "JOBID", "USER", "PRIORITY", "AGE", "FAIRSHARE", "SIZE", "QOS", "REASON", "START"])
        for v in views {
            let points = Dictionary(v.factors.map { ($0.name, $0.points) }, uniquingKeysWith: { a, _ in a })
            func p(_ name: String) -> String { String(format: "%.0f", points[name] ?? 0) }
            table.add(["\(v.rank)", "\(v.jobID)", v.account, String(format: "%.0f", v.priority), p("age"), p("fairshare"),
                       p("size"), p("qos"), v.reason, v.expectedStart.map(Self.when) ?? "-"])
        }
        print(table.render(), terminator: "")
    }

    /// The one-job report.
    static func detail(_ v: PriorityView) -> String {
        var lines = ["Job        \(v.jobID) (\(v.account))",
                     "Priority   \(String(format: "%.1f", v.priority)), rank \(v.rank) of \(v.queueLength) pending"]
        var table = TextTable(["FACTOR", "VALUE", "WEIGHT", "POINTS"])
        for f in v.factors {
            table.add([f.name, String(format: "%.3f", f.value), String(format: "%.0f", f.weight), String(format: "%.1f", f.points)])
        }
        lines.append(table.render().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        if let usage = v.decayedGPUHours, let factor = v.fairShareFactor {
            lines.append("Fair share decayed usage \(String(format: "%.2f", usage)) GPU-hours, factor \(String(format: "%.3f", factor))")
        }
        lines.append("Reason     \(v.reason): \(v.explanation)")
        if let start = v.expectedStart {
            lines.append("Expected   \(when(start))" + (v.expectedNode.map { " on \($0)" } ?? ""))
        }
        let cached = v.inputsCachedOn ?? []
        if (v.inputBytes ?? 0) > 0 || !cached.isEmpty {
            let total = v.inputBytes.map { "\(megabytes($0)) of stored inputs; " } ?? ""
            let on = cached.isEmpty ? "cached on no node yet (the node that runs it fetches them)"
                : "inputs cached on: " + cached.map { "\($0.node) (\(megabytes($0.bytes)))" }.joined(separator: ", ")
            lines.append("Locality   \(total)\(on)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Bytes in decimal megabytes, as `du --si` and `ls -lh --si` count them.
    static func megabytes(_ bytes: Int64) -> String {
        bytes < 100_000 ? "\(bytes) bytes" : String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }

    static func when(_ date: Date) -> String {
        LocalTime.string(date, "%Y-%m-%d %H:%M")
    }
}
