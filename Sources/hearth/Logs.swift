import ArgumentParser
import FoundationEssentials
import Glibc
import HearthAPI
import HearthCore

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a job's history: events, training progress and worker output.",
        discussion: "With -f, follow until the job ends. On a terminal, training progress is one live bar.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The job id, or an array element as ARRAY_INDEX.", valueName: "job"), transform: JobArgument.parse)
    var job: JobReference
    @Flag(name: [.short, .customLong("follow")], help: "Keep printing as the job goes on, until it ends.") var follow = false

    func run() throws {
        try Self.show(job, follow: follow, via: global.connection)
    }

    /// The command itself, for the parsed command and FastPath.
    static func show(_ ref: JobReference, follow: Bool, via connection: Connection) throws {
        let live = follow && isatty(STDOUT_FILENO) == 1 && !connection.json
        let job = try connection.jobID(ref)
        var cursor = ""
        var bar: String?
        var first: LogPage.Entry?  // the first progress seen, for the step rate behind the ETA
        while true {
            let path = "/v1/jobs/\(job)/log" + (cursor.isEmpty ? "" : "?cursor=\(cursor)")
            let (page, raw) = try connection.call("GET", path, as: LogPage.self)
            if connection.json {
                print(String(decoding: raw, as: UTF8.self))
            } else {
                for entry in page.entries {
                    if live && entry.kind == "progress" {
                        if first == nil || (entry.step ?? 0) < (first?.step ?? 0) { first = entry }  // a resume restarts the rate
                        bar = Self.bar(entry, steps: page.steps, since: first)
                        continue
                    }
                    if bar != nil { print("\r\u{1B}[2K", terminator: "") }
                    print("\(LocalTime.string(entry.at, "%Y-%m-%d %H:%M:%S"))  \(entry.text)")
                }
                if let bar, live { print("\r\u{1B}[2K" + bar, terminator: ""); fflush(nil) }
            }
            cursor = page.cursor
            let finished = page.state.isTerminal
            if !follow || (finished && page.entries.isEmpty) { break }
            sleep(seconds: 1)
        }
        if bar != nil { print("") }
    }

    /// `[########----------------]  step 120/400  loss 2.6625  5210 tok/s  ETA 0:28`; the ETA comes
    /// from the step rate since `since` (the first progress this command saw).
    static func bar(_ e: LogPage.Entry, steps: Int?, since: LogPage.Entry? = nil) -> String {
        let step = e.step ?? 0
        var text = "step \(step)"
        if let steps, steps > 0 {
            let width = 24, done = min(width, width * step / steps)
            text = "[" + String(repeating: "#", count: done) + String(repeating: "-", count: width - done) + "]  step \(step)/\(steps)"
        }
        if let loss = e.loss { text += String(format: "  loss %.4f", loss) }
        if let rate = e.tokensPerSecond { text += String(format: "  %.0f tok/s", rate) }
        if let eta = eta(e, steps: steps, since: since) { text += "  ETA " + TextTable.duration(eta) }
        return text
    }

    /// Seconds left at the step rate between `since` and `e`; `nil` until two progress reports are apart.
    static func eta(_ e: LogPage.Entry, steps: Int?, since: LogPage.Entry?) -> Double? {
        guard let steps, let step = e.step, let since, let from = since.step, step > from, step <= steps else { return nil }
        let elapsed = e.at.timeIntervalSince(since.at)
        guard elapsed > 0 else { return nil }
        return Double(steps - step) / (Double(step - from) / elapsed)
    }
}
