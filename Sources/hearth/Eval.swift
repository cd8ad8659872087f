import ArgumentParser
import FoundationEssentials
import HearthAPI
import HearthCore

/// `hearth eval`: what eval jobs measured.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Show and compare the results of eval jobs.",
        subcommands: [EvalShow.self, EvalCompare.self])
}

struct EvalShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One eval job's results, per task and metric.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The eval job's id, or an array element as ARRAY_INDEX.", valueName: "job"), transform: JobArgument.parse)
    var job: JobReference

    func run() throws {
        let job = try global.connection.jobID(self.job)
        let (view, raw) = try global.call("GET", "/v1/jobs/\(job)/eval", as: EvalResultsView.self)
        if global.json { print(String(decoding: raw, as: UTF8.self)); return }
        print("Job \(view.job) \(view.name) (\(view.kind), \(view.state))")
        guard let first = view.results.first else {
            print(view.kind == .eval ? "no results yet" : "job \(view.job) is a \(view.kind) job; only eval jobs record results")
            return
        }
        print("Checkpoint step \(first.checkpointStep), \(first.checkpointPath) (sha256 \(first.checkpointSHA256.prefix(12)))")
        var table = TextTable(["TASK", "METRIC", "VALUE", "SAMPLES"])
        for r in view.results { table.add([r.task, r.metric, EvalCompare.format(r.value), "\(r.samples)"]) }
        print(table.render(), terminator: "")
    }
}

struct EvalCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "Eval jobs side by side (e.g. the checkpoints of one run), one column per job.",
        discussion: """
            Rows are task and metric; DELTA is the last job's value minus the first's. A task scored on a \
            different number of documents in some job is marked with *.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("Two or more eval job ids or array elements (ARRAY_INDEX), in the order to show them.", valueName: "job"),
              transform: JobArgument.parse)
    var jobs: [JobReference]

    func validate() throws { if jobs.count < 2 { throw ValidationError("name at least two eval jobs to compare") } }

    func run() throws {
        var views: [EvalResultsView] = [], raws: [String] = []
        for ref in jobs {
            let id = try global.connection.jobID(ref)
            let (v, raw) = try global.call("GET", "/v1/jobs/\(id)/eval", as: EvalResultsView.self)
            views.append(v); raws.append(String(decoding: raw, as: UTF8.self))
        }
        if global.json { print("[" + raws.joined(separator: ",") + "]"); return }
        var keys: [String] = []
        var values: [String: [Int: EvalMetricView]] = [:]
        for (i, v) in views.enumerated() {
            for r in v.results {
                let key = r.task + "\u{0}" + r.metric
                if values[key] == nil { keys.append(key) }
                values[key, default: [:]][i] = r
            }
        }
        let header = views.map { v in "JOB \(v.job)" + (v.results.first.map { " @\($0.checkpointStep)" } ?? "") }
        var table = TextTable(["TASK", "METRIC"] + header + ["DELTA"])
        for key in keys.sorted() {
            let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
            let row = values[key]!
            let samples = Set(row.values.map(\.samples))
            let cells = views.indices.map { row[$0].map { Self.format($0.value) } ?? "-" }
            let delta = row[0].flatMap { a in row[views.count - 1].map { Self.format($0.value - a.value, signed: true) } } ?? "-"
            table.add([parts[0] + (samples.count > 1 ? "*" : ""), parts[1]] + cells + [delta])
        }
        print(table.render(), terminator: "")
        if keys.isEmpty { print("none of these jobs has recorded results") }
    }

    /// Four significant decimals for small values, two for large (perplexities).
    static func format(_ x: Double, signed: Bool = false) -> String {
        let s = abs(x) >= 1000 ? String(format: "%.2f", x) : String(format: "%.4f", x)
        return signed && x >= 0 ? "+" + s : s
    }
}
