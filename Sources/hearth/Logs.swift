import ArgumentParser
import Foundation
import HearthAPI

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a job's history: events, training progress and worker output.",
        discussion: "With -f, follow until the job ends. On a terminal, training progress is one live bar.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The job id.") var job: Int64
    @Flag(name: [.short, .customLong("follow")], help: "Keep printing as the job goes on, until it ends.") var follow = false

    func run() throws {
        let live = follow && isatty(STDOUT_FILENO) == 1 && !global.json
        var cursor = ""
        var bar: String?
        let stamp = DateFormatter()
        stamp.dateFormat = "yyyy-MM-dd HH:mm:ss"
        while true {
            let path = "/v1/jobs/\(job)/log" + (cursor.isEmpty ? "" : "?cursor=\(cursor)")
            let (page, raw) = try global.call("GET", path, as: LogPage.self)
            if global.json {
                print(String(decoding: raw, as: UTF8.self))
            } else {
                for entry in page.entries {
                    if live && entry.kind == "progress" {
                        bar = Self.bar(entry, steps: page.steps)
                        continue
                    }
                    if bar != nil { print("\r\u{1B}[2K", terminator: "") }
                    print("\(stamp.string(from: entry.at))  \(entry.text)")
                }
                if let bar, live { print("\r\u{1B}[2K" + bar, terminator: ""); fflush(nil) }
            }
            cursor = page.cursor
            let finished = ["succeeded", "failed", "cancelled"].contains(page.state)
            if !follow || (finished && page.entries.isEmpty) { break }
            Thread.sleep(forTimeInterval: 1)
        }
        if bar != nil { print("") }
    }

    /// `[########------------]  step 120/400  loss 2.6625  5,210 tok/s  ETA 0:28`
    static func bar(_ e: LogPage.Entry, steps: Int?) -> String {
        let step = e.step ?? 0
        var text = "step \(step)"
        if let steps, steps > 0 {
            let width = 24, done = min(width, width * step / steps)
            text = "[" + String(repeating: "#", count: done) + String(repeating: "-", count: width - done) + "]  step \(step)/\(steps)"
        }
        if let loss = e.loss { text += String(format: "  loss %.4f", loss) }
        if let rate = e.tokensPerSecond { text += String(format: "  %.0f tok/s", rate) }
        return text
    }
}
