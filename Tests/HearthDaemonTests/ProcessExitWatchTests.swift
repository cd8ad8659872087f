import HearthProcess
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// ``ProcessExitWatch`` sleeps on a pidfd until a process exits: it must wake for the exit, end
/// at once when its task is cancelled, and say when it cannot watch.
@Suite struct ProcessExitWatchTests {
    @Test func wakesWhenTheProcessExits() async throws {
        let child = try ChildProcess.spawn("/bin/sleep", ["0.3"])
        let clock = ContinuousClock()
        let started = clock.now
        #expect(await ProcessExitWatch.wait(pid: child.pid) == .exited)
        #expect(clock.now - started >= .milliseconds(250), "woke before the process exited")
        // Exited, not yet reaped: waitpid finds it at once.
        var status: Int32 = 0
        #expect(waitpid(child.pid, &status, WNOHANG) == child.pid)
    }

    @Test func cancellingTheTaskEndsTheWait() async throws {
        // An hour: a loaded run has stalled a test for 40 s, and the process must outlive the wait.
        let child = try ChildProcess.spawn("/bin/sleep", ["3600"])
        defer { child.signal(SIGKILL); _ = child.waitBlocking() }
        let task = Task { await ProcessExitWatch.wait(pid: child.pid) }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        #expect(await task.value == .cancelled)
        #expect(kill(child.pid, 0) == 0, "the process should still run")
        // Cancelled before it starts: the same.
        let early = Task { () -> ProcessExitWatch.Outcome in
            withUnsafeCurrentTask { $0?.cancel() }
            return await ProcessExitWatch.wait(pid: child.pid)
        }
        #expect(await early.value == .cancelled)
    }

    @Test func aProcessThatDoesNotExistCannotBeWatched() async {
        // Past the kernel's pid_max: no such process.
        #expect(await ProcessExitWatch.wait(pid: 0x7FFF_FFF0) == .unavailable)
    }
}
