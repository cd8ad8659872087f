import HearthStore
import Logging
import Synchronization

/// Arrays submitted through this daemon whose elements are still being written.
///
/// A submitted array is one row until ``JobQueue/expandArrays(arrayID:)`` writes its other
/// elements (Migrations/0019_array_templates.sql). The daemon that took the submission does that
/// right after answering, off the submitter's path; a request here that lists or names elements
/// first waits for those writes (``settle()``), so what a volunteer submitted is what the next
/// `hearth queue` shows. A daemon that dies meanwhile leaves the template to the fleet leader, which
/// expands every template before each scheduling pass.
final class ArrayExpansions: Sendable {
    private let running = Mutex<[Int64: Task<Void, Never>]>([:])

    /// Writes array `arrayID`'s elements in the background, then moves `changes` (what this node
    /// keeps of job listings), so a listing that waited in ``settle()`` reads them.
    func start(_ arrayID: Int64, queue: JobQueue, changes: ChangeEpoch?, logger: Logger) {
        // Registered under the lock the task takes to remove itself, so it cannot end unregistered.
        running.withLock { running in
            running[arrayID] = Task {
                // The answer is written after the handler returns: let it leave before this
                // statement (100 ms of PostgreSQL's CPU for 1,000 elements) competes with it.
                // Readers wait for this task whatever its start, so nothing sees a half array.
                try? await Task.sleep(for: .milliseconds(20))
                do {
                    try await queue.expandArrays(arrayID: arrayID)
                } catch {
                    // Not lost: the leader's next pass writes them, and readers of the array expand it.
                    logger.warning("could not write an array's elements yet; the scheduler will", metadata: [
                        "job.id": "\(arrayID)", "error": "\(error)"])
                }
                changes?.changed()
                _ = self.running.withLock { $0.removeValue(forKey: arrayID) }
            }
        }
    }

    /// Returns once every expansion started before the call has ended.
    func settle() async {
        for task in running.withLock({ Array($0.values) }) { await task.value }
    }
}
