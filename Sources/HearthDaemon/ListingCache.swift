import HearthStore
import Hummingbird
import Synchronization

/// Pages of the job listing (`GET /v1/jobs`, `hearth queue`) that this node answered before and
/// that nothing has changed since, so a repeated `hearth queue` costs no statement.
///
/// A page is kept only when it is *stable*: none of its jobs is scheduled or running (their
/// elapsed time, node and progress move without a notification), so in practice an idle queue,
/// a queue of pending jobs and listings of finished jobs. It is trusted while the node's
/// ``ChangeEpoch`` for jobs stands where it stood before the page was read. That epoch moves on
/// - every notification on the jobs channel, from any node: submissions, array expansions and
///   every change of a job's state or node (Migrations/0016), account changes (0021);
/// - every request on this node's control socket that can write (any method but GET and HEAD),
///   once it has committed and before its answer is sent, and the end of each array expansion
///   this node runs: what a volunteer just did here is in their next listing, without waiting
///   for the notification to come back;
/// - the listener connecting or dropping; while it is down nothing is kept.
///
/// A change committed on another node reaches this one with its notification, about a
/// millisecond later; that is how stale a kept page can be.
final class ListingCache: Sendable {
    /// The most pages kept (distinct filters and pages), and the most bytes they may hold
    /// together; past either, all are dropped. A page over ``largestPage`` bytes (thousands of
    /// rows, `--limit`) is not kept: such a listing is rare, and memory is the donor's.
    static let capacity = 64
    static let capacityBytes = 16 << 20
    static let largestPage = 1 << 20

    let changes: ChangeEpoch
    private struct Pages {
        var byKey: [String: (epoch: UInt64, page: APIQueries.JobPage)] = [:]
        var bytes = 0
    }
    private let pages = Mutex(Pages())

    init(changes: ChangeEpoch) { self.changes = changes }

    /// The page kept for `key` (the request's query string), if nothing changed since it was read.
    func page(for key: String) -> APIQueries.JobPage? {
        guard let epoch = changes.current else { return nil }
        return pages.withLock { pages in
            guard let kept = pages.byKey[key] else { return nil }
            if kept.epoch == epoch { return kept.page }
            pages.byKey[key] = nil
            pages.bytes -= kept.page.json.utf8.count
            return nil
        }
    }

    /// Keeps `page` for `key` if it is stable and the epoch is still `epoch`, the one read
    /// before the statement that produced the page began.
    func keep(_ page: APIQueries.JobPage, for key: String, readAt epoch: UInt64?) {
        let size = page.json.utf8.count
        guard page.stable, let epoch, size <= Self.largestPage else { return }
        // A page read across a change is never served (``page(for:)`` compares epochs); this
        // only saves storing it.
        guard changes.current == epoch else { return }
        pages.withLock { pages in
            if let old = pages.byKey.removeValue(forKey: key) { pages.bytes -= old.page.json.utf8.count }
            if pages.byKey.count >= Self.capacity || pages.bytes + size > Self.capacityBytes { pages = Pages() }
            pages.byKey[key] = (epoch, page)
            pages.bytes += size
        }
    }
}

/// Moves the listing epoch after every request that can write (any method but GET and HEAD),
/// whether it succeeded or not, before its answer leaves: the caller's next listing is read
/// afresh, not served from before their own change.
struct ListingWrites: RouterMiddleware {
    typealias Context = ControlContext
    let changes: ChangeEpoch

    func handle(_ request: Request, context: ControlContext, next: (Request, ControlContext) async throws -> Response) async throws -> Response {
        guard request.method != .get, request.method != .head else { return try await next(request, context) }
        defer { changes.changed() }
        return try await next(request, context)
    }
}
