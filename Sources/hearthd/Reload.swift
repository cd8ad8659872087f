import ArgumentParser
import Foundation
import HearthDaemon

/// `hearthd reload --pid PID`: signals a running daemon to reload (SIGHUP) and waits until it
/// has, so `ExecReload=` is synchronous under systemd 252 (which has no `Type=notify-reload`).
struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a running hearthd re-read its reloadable settings (the log level), and wait until it has.")

    @Option(help: ArgumentHelp("The daemon's process id ($MAINPID in a unit).", valueName: "pid"))
    var pid: Int32

    @Option(name: .customLong("state-dir"), help: ArgumentHelp(
        "The daemon's state directory, when not under systemd (default: as hearthd run).", valueName: "path"))
    var stateDirectory: String?

    @Option(help: "Seconds to wait for the daemon to finish reloading.")
    var timeout = 30.0

    func run() throws {
        let state = stateDirectory.map { URL(fileURLWithPath: $0) } ?? StateDirectory.default()
        let path = DaemonConfiguration.reloadStatusPath(stateDirectory: state)
        let before = ReloadStatus.read(path)?.generation ?? 0
        guard kill(pid, SIGHUP) == 0 else {
            throw ValidationError("cannot signal process \(pid): \(String(cString: strerror(errno))); is hearthd running with that pid?")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let now = ReloadStatus.read(path), now.generation > before {
                if let error = now.error {
                    FileHandle.standardError.write(Data("hearthd reload: \(error)\n".utf8))
                    throw ExitCode(1)
                }
                print("reloaded (generation \(now.generation))")
                return
            }
            usleep(50_000)
        }
        FileHandle.standardError.write(Data("hearthd reload: no answer from pid \(pid) within \(Int(timeout)) s (\(path) unchanged)\n".utf8))
        throw ExitCode(1)
    }
}
