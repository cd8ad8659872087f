import ArgumentParser
import Dispatch
import Foundation
import HearthServe
import Logging
import Trainer
#if canImport(Glibc)
import Glibc
#endif

/// `hearth-worker serve`: an OpenAI-compatible HTTP API over a checkpoint until SIGTERM.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a checkpoint over an OpenAI-compatible HTTP API until SIGTERM (then drain and exit 0).")
    @Option(help: "Serve job (JSON: checkpoint, tokenizer, host, port, max_concurrent, max_queue, threads).") var job: String
    @OptionGroup var report: ReportOptions

    func run() throws {
        let reporter = Reporter(fd: report.reportFD)
        // A parent may hand down a mask that blocks SIGTERM: unblock it so the drain can start.
        var set = sigset_t()
        sigemptyset(&set); sigaddset(&set, SIGTERM); sigaddset(&set, SIGINT)
        sigprocmask(SIG_UNBLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
        let spec: ServeJob
        do { spec = try ServeJob.load(job) } catch { runMode(reporter) { () throws(TrainerError) in throw error } }
        var logger = Logger(label: "hearth-worker.serve")
        logger.logLevel = .warning
        let app = ServeApp(job: spec, logger: logger)
        let done = DispatchSemaphore(value: 0)
        let parent = getppid()
        let task = Task {
            defer { done.signal() }
            do {
                try await app.run(stopOnSignals: true) { progress in
                    switch progress {
                    case .loading(let url):
                        reporter.emit("loading", ["url": url])
                    case .serving(let url, let model, let parameters, let context):
                        reporter.emit("serving", ["url": url, "model": model, "parameters": parameters, "context": context])
                    case .failed(let error):
                        runMode(reporter) { () throws(TrainerError) in throw error }
                    }
                }
            } catch {
                runMode(reporter) { () throws(TrainerError) in throw TrainerError.io("the server stopped: \(error)") }
            }
        }
        // Like training, stop (draining) when hearthd is gone rather than serve on unsupervised.
        Thread {
            while true {
                sleep(1)
                if parent > 1 && getppid() != parent { kill(getpid(), SIGTERM); return }
            }
        }.start()
        done.wait()
        _ = task
        reporter.emit("done", ["reason": "drained"])
        Foundation.exit(Trainer.ExitCode.success)
    }
}
