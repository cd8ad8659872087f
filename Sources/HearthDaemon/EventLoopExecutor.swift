import NIOCore

/// Runs Swift tasks on a NIO event loop: a control connection's handling is preferred onto the
/// loop that owns its socket (`withTaskExecutorPreference`), so reading the request, the
/// handler's own code and writing the answer take no hop between NIO's threads and Swift's pool.
/// A request was 14 context switches for `/v1/health` when every part of it changed threads.
///
/// Only code that awaits belongs there: a handler that computes for long holds up the other
/// connections on its loop, as it would hold up Swift's pool of as many threads.
final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}
