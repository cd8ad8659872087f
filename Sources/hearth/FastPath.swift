import ArgumentParser
import FoundationEssentials
import HearthAPI
#if canImport(Glibc)
import Glibc
#endif

/// `hearth queue`, `submit`, `cancel`, `show`, `logs`, `nodes` and `whoami` without ArgumentParser.
///
/// Building the parser's command tree costs more than the whole request: it reflects over every
/// command's property wrappers, and in a static binary each first dynamic cast scans every
/// protocol conformance the program holds (measured with perf: about half of a `hearth queue`'s
/// CPU time). These are the commands scripts run in loops and people run under `watch`
/// (`watch hearth nodes`), so their plain spellings are read here by hand and run the same code
/// the parsed commands run (``QueueOptions``, ``SubmitOptions``, ``CancelOptions``, `Nodes.list`,
/// `WhoAmICommand.show`).
///
/// Only what is certainly well formed is taken: the long options and short flags the commands
/// define, each at most once (`--after` repeatable), values that do not start with `-`. Anything
/// else — `--help`, an unknown or repeated flag, a missing or malformed value, standard input as
/// the file, a flag's check failing — returns `nil` before anything is sent, and the parser runs
/// from the start, so help, usage errors and their exit status stay exactly the parser's.
/// `HEARTH_CLI_PARSER=always` turns this path off (tests compare both; see ``Hearth/main()``).
enum FastPath {
    /// The exit status when the command ran here; `nil`: let ArgumentParser handle it.
    static func run(_ arguments: [String]) -> Int32? {
        guard let command = arguments.first else { return nil }
        let rest = arguments.dropFirst()
        switch command {
        case "queue":
            guard let (queue, connection) = parseQueue(rest) else { return nil }
            return finish { try queue.run(via: connection) }
        case "submit":
            guard let (submit, connection) = parseSubmit(rest) else { return nil }
            if let array = submit.array, (try? ArraySpec(parsing: array)) == nil { return nil }  // Submit.validate()
            // Every check of the file and flags happens before anything is sent: a refusal here
            // is reported by the parser, word for word.
            guard let prepared = submit.preparePlain() ?? (try? submit.prepare()) else { return nil }
            return finish { try submit.send(prepared, via: connection) }
        case "show":
            guard let (connection, jobs) = parseConnection(rest, positionals: 1...1), let job = JobReference(jobs[0]) else { return nil }
            return finish { try Show.show(job, via: connection) }
        case "logs":
            guard let (values, jobs) = scan(rest, options: ["socket"], flags: ["json", "follow"], short: [("f", "follow")]),
                  jobs.count == 1, let job = JobReference(jobs[0]) else { return nil }
            var connection = Connection()
            var follow = false
            for (name, value) in values {
                switch name {
                case "socket": connection.socket = value
                case "json": connection.json = true
                case "follow": follow = true
                default: return nil
                }
            }
            return finish { try Logs.show(job, follow: follow, via: connection) }
        case "nodes", "whoami":
            guard let connection = parseConnection(rest, positionals: 0...0)?.0 else { return nil }
            return finish { command == "nodes" ? try Nodes.list(via: connection) : try WhoAmICommand.show(via: connection) }
        case "cancel":
            // Cancel.validate(): at least one job, each a job id or an array element.
            guard let (connection, jobs) = parseConnection(rest, positionals: 1...Int.max),
                  jobs.allSatisfy({ JobReference($0) != nil }) else { return nil }
            return finish { try CancelOptions(jobs: jobs).run(via: connection) }
        default:
            return nil
        }
    }

    /// Commands that take only `--socket`, `--json` and positionals (job ids): their connection
    /// and positionals, or `nil` for anything else.
    static func parseConnection(_ arguments: ArraySlice<String>, positionals count: ClosedRange<Int>) -> (Connection, [String])? {
        guard let (values, positionals) = scan(arguments, options: ["socket"], flags: ["json"]),
              count.contains(positionals.count) else { return nil }
        var connection = Connection()
        for (name, value) in values {
            switch name {
            case "socket": connection.socket = value
            case "json": connection.json = true
            default: return nil
            }
        }
        return (connection, positionals)
    }

    /// Runs a command body; its failures end the process as ArgumentParser's `exit(withError:)` would.
    private static func finish(_ body: () throws -> Void) -> Int32 {
        do {
            try body()
            return 0
        } catch let code as ExitCode {
            return code.rawValue
        } catch {
            Stdio.error("Error: \(error)\n")
            return 1
        }
    }

    /// The arguments as (flag, value) pairs and positionals, or `nil` for anything unusual.
    /// - Parameters:
    ///   - options: long names (without `--`) that take a value; `short` maps one-letter flags to them.
    ///   - flags: long names that take none.
    ///   - repeatable: options that may be given more than once.
    ///
    /// Plain arrays, not sets or dictionaries: a handful of names is searched faster than the
    /// static binary's runtime sets up its first `Set<String>` (see ``JSONScan``).
    static func scan(_ arguments: ArraySlice<String>, options: [String], flags: [String],
                     short: [(String, String)] = [], repeatable: [String] = []) -> (values: [(String, String)], positionals: [String])? {
        var values: [(String, String)] = []
        var positionals: [String] = []
        var seen: [String] = []
        var i = arguments.startIndex
        while i < arguments.endIndex {
            let arg = arguments[i]
            i += 1
            var name: String
            var inline: String?
            if arg.hasPrefix("--") {
                name = String(arg.dropFirst(2))
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
            } else if arg.hasPrefix("-") && arg.count == 2, let long = short.first(where: { $0.0 == String(arg.dropFirst()) })?.1 {
                name = long
            } else if arg.hasPrefix("-") || arg == "help" {
                return nil  // "-" (standard input), combined short flags, help: the parser's business
            } else {
                positionals.append(arg)
                continue
            }
            guard !name.isEmpty else { return nil }  // "--": the parser's business
            if !repeatable.contains(name) {
                guard !seen.contains(name) else { return nil }
                seen.append(name)
            }
            if flags.contains(name) {
                guard inline == nil else { return nil }
                values.append((name, ""))
            } else if options.contains(name) {
                let value: String
                if let inline {
                    value = inline
                } else {
                    guard i < arguments.endIndex, !arguments[i].hasPrefix("-") else { return nil }
                    value = arguments[i]
                    i += 1
                }
                values.append((name, value))
            } else {
                return nil
            }
        }
        return (values, positionals)
    }

    static func parseQueue(_ arguments: ArraySlice<String>) -> (QueueOptions, Connection)? {
        guard let (values, positionals) = scan(
            arguments, options: ["socket", "user", "state", "node", "name", "array", "limit", "after"], flags: ["json", "all", "expand"],
            short: [("u", "user"), ("s", "state"), ("t", "state"), ("n", "node"), ("a", "all")]), positionals.isEmpty else { return nil }
        var queue = QueueOptions()
        var connection = Connection()
        for (name, value) in values {
            switch name {
            case "socket": connection.socket = value
            case "json": connection.json = true
            case "user": queue.user = value
            case "state": queue.state = value
            case "node": queue.node = value
            case "name": queue.name = value
            case "all": queue.all = true
            case "expand": queue.expand = true
            case "array": guard let n = Int64(value) else { return nil }; queue.array = n
            case "limit": guard let n = Int(value) else { return nil }; queue.limit = n
            case "after": queue.after = value
            default: return nil
            }
        }
        return (queue, connection)
    }

    static func parseSubmit(_ arguments: ArraySlice<String>) -> (SubmitOptions, Connection)? {
        guard let (values, positionals) = scan(
            arguments,
            options: ["socket", "kind", "name", "gpus", "priority", "qos", "max-attempts", "idempotency-key", "after",
                      "time-limit", "gpu-model", "gpu-memory", "array", "wrap"],
            flags: ["json", "preemptible", "no-preemptible"], repeatable: ["after"]), positionals.count <= 1 else { return nil }
        var submit = SubmitOptions(file: positionals.first)
        var connection = Connection()
        var preemptibleGiven = false
        for (name, value) in values {
            switch name {
            case "socket": connection.socket = value
            case "json": connection.json = true
            case "kind": submit.kind = value
            case "name": submit.name = value
            case "gpus": guard let n = Int(value) else { return nil }; submit.gpus = n
            case "priority": guard let n = Int(value) else { return nil }; submit.priority = n
            case "qos": submit.qos = value
            case "max-attempts": guard let n = Int(value) else { return nil }; submit.maxAttempts = n
            case "idempotency-key": submit.idempotencyKey = value
            case "after": guard let n = Int64(value) else { return nil }; submit.after.append(n)
            case "time-limit": submit.timeLimit = value
            case "gpu-model": submit.gpuModel = value
            case "gpu-memory": guard let n = Int(value) else { return nil }; submit.gpuMemory = n
            case "array": submit.array = value
            case "wrap": submit.wrap = value
            case "preemptible", "no-preemptible":
                guard !preemptibleGiven else { return nil }  // both spellings: the parser decides
                preemptibleGiven = true
                submit.preemptible = name == "preemptible"
            default: return nil
            }
        }
        return (submit, connection)
    }
}
