import ArgumentParser
import FoundationEssentials
import HearthAPI

extension NodeCommand {
    /// `hearth node reclaim NODE`: the donor takes the node back now.
    struct Reclaim: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take your node back now: its jobs checkpoint and move elsewhere; nothing new starts on it (donor or admin).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The node's name.") var node: String
        func run() throws {
            let (r, raw) = try global.call("POST", "/v1/nodes/\(Queue.escape(node))/reclaim", as: ReclaimResponse.self)
            if global.json { print(String(decoding: raw, as: UTF8.self)); return }
            let jobs = r.preempting.isEmpty ? "no job was running on it"
                : "job(s) \(r.preempting.map(String.init).joined(separator: ", ")) are checkpointing and will move"
            print("node \(node) is reclaimed: \(jobs); `hearth node release \(node)` lends it again")
        }
    }

    /// `hearth node release NODE`: lend a reclaimed node again.
    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lend a reclaimed node again (donor or admin).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The node's name.") var node: String
        func run() throws {
            _ = try global.call("POST", "/v1/nodes/\(Queue.escape(node))/release", as: ReclaimResponse.self)
            print("node \(node) is lent again")
        }
    }

    /// `hearth node policy NODE [FILE]`: show or set the donor's policy.
    struct Policy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a node's donor policy, or set it from a JSON file (donor or admin).",
            discussion: """
                A policy: {"time_zone": "Europe/Berlin", "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], \
                "from": "19:00", "to": "07:00"}], "allowed_kinds": ["train", "eval"], "reserved_gpus": 1}. Every key \
                is optional; {} lends the node always, for every kind. Jobs running when a window closes are \
                preempted (they checkpoint) one grace period before it closes.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The node's name.") var node: String
        @Argument(help: "A JSON policy file; '-' reads standard input. Without it, the current policy is shown.") var file: String?
        func run() throws {
            let path = "/v1/nodes/\(Queue.escape(node))/policy"
            if let file {
                let data = file == "-" ? Stdio.readStandardInput() : try Submit.read(file)
                let (_, raw) = try global.call("PUT", path, body: data, as: PolicyDocument.self)
                if global.json { print(String(decoding: raw, as: UTF8.self)); return }
                print("policy of node \(node) set")
                return
            }
            let (policy, raw) = try global.call("GET", path, as: PolicyDocument.self)
            if global.json { print(String(decoding: raw, as: UTF8.self)); return }
            print(Self.describe(policy))
        }

        static func describe(_ p: PolicyDocument) -> String {
            var lines: [String] = []
            if let windows = p.windows, !windows.isEmpty {
                lines.append("Available  " + windows.map { "\($0.days.joined(separator: ",")) \($0.from)-\($0.to)" }
                    .joined(separator: "; ") + " (\(p.timeZone ?? "UTC"))")
            } else {
                lines.append("Available  always")
            }
            lines.append("Kinds      " + (p.allowedKinds.map { $0.joined(separator: ", ") } ?? "every kind"))
            lines.append("Reserved   \(p.reservedGPUs ?? 0) GPU(s) for the donor")
            return lines.joined(separator: "\n")
        }
    }
}
