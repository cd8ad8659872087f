import Foundation
import HearthAPI
import HearthCore
import HearthStore
import Hummingbird
import Logging

/// `hearth cancel --user/--state/--name/--node`: every unfinished job a filter matches, as
/// `scancel -u bob -t PENDING` does.
extension ControlServer {
    static let cancelByFilterRoutes: Set<String> = ["POST /v1/jobs/cancel"]

    func addCancelByFilterRoutes(to router: Router<ControlContext>) {
        router.post("/v1/jobs/cancel") { request, context in
            try await respond(context) { who in try await cancelMatching(request, who: who) }
        }
    }

    /// The states a cancel may name: the unfinished ones.
    static let cancellableStates: [JobState] = [.queued, .scheduled, .running]

    private func cancelMatching(_ request: Request, who: Identity) async throws -> CancelFilterResponse {
        let filter = try Self.cancelFilter(try await Self.bodyBytes(request, upTo: 1 << 16, send: "a JSON filter {\"user\", \"states\", \"name\", \"node\"}"))
        // A volunteer's filter covers their own jobs; an admin's everyone's unless it names a user.
        var accountID: Int64?
        if !who.isAdmin {
            if let user = filter.user, user != who.account {
                throw APIFailure.forbidden("only admins can cancel another account's jobs; \(user)'s are theirs to cancel"
                    + (who.nodeAdmin ? " (\(notFleetAdmin(who)))" : ""))
            }
            accountID = who.accountID
        }
        await arrayExpansions.settle()
        _ = try await queue.expandArrays()  // an array's elements waiting in its template are matched too
        let states = (filter.states ?? []).isEmpty ? Self.cancellableStates.map(\.rawValue) : filter.states!
        let rows = try await queries.client.query("""
            SELECT j.id, j.state FROM jobs j
            JOIN accounts a ON a.id = j.account_id
            LEFT JOIN nodes n ON n.id = j.node_id
            WHERE j.state = ANY (\(PostgresTextArray(states))::text[])
              AND (\(accountID)::bigint IS NULL OR j.account_id = \(accountID)::bigint)
              AND (\(filter.user)::text IS NULL OR a.name = \(filter.user)::text)
              AND (\(filter.name)::text IS NULL OR j.name = \(filter.name)::text)
              AND (\(filter.node)::text IS NULL OR n.hostname = \(filter.node)::text)
            ORDER BY j.id
            """)
        let matched = try rows.map { (id: try $0.decode("id", as: Int64.self), state: try $0.decode("state", as: String.self)) }
        if matched.isEmpty { try await explainUnknown(user: filter.user, node: filter.node) }
        // Queued ones in one statement; the rest (and any placed meanwhile) one by one, through
        // their nodes.
        let done = try await queue.cancelQueued(jobIDs: matched.filter { $0.state == JobState.queued.rawValue }.map(\.id))
        var response = CancelFilterResponse(matched: matched.map(\.id), cancelled: done.count, requested: 0)
        for job in matched where !done.contains(job.id) {
            do {
                switch try await queue.cancel(jobID: job.id) {
                case .cancelled: response.cancelled += 1
                case .requested: response.requested += 1
                case .alreadyFinished: break
                }
            } catch let error as QueueError where error.code == .notFound {
                continue  // deleted meanwhile
            }
        }
        if !matched.isEmpty {
            logger.notice("jobs cancelled by filter", metadata: [
                "hearth.event": "cancelled", "account.name": "\(who.account)", "cancel.filter": "\(Self.describe(filter))",
                "cancel.matched": "\(matched.count)", "cancel.cancelled": "\(response.cancelled)", "cancel.requested": "\(response.requested)"])
        }
        return response
    }

    /// The request's filter, checked: an object with known fields, at least one of them, and
    /// only states a job can be cancelled in.
    static func cancelFilter(_ bytes: [UInt8]) throws -> CancelFilterRequest {
        try refuseUnknownFields(try jsonObject(bytes), allowed: ["user", "states", "name", "node"], what: "a cancel filter")
        let filter: CancelFilterRequest
        do { filter = try JSONDecoder().decode(CancelFilterRequest.self, from: Data(bytes)) } catch {
            throw APIFailure.badRequest("a field has the wrong type: \(describe(error))")
        }
        guard !filter.isEmpty else {
            throw APIFailure.badRequest("say which jobs to cancel: give user, states, name or node (a filter naming nothing would cancel every job in sight)")
        }
        for s in filter.states ?? [] where !cancellableStates.map(\.rawValue).contains(s) {
            let allowed = cancellableStates.map(\.rawValue).joined(separator: ", ")
            throw APIFailure.badRequest(JobState(rawValue: s) == nil
                ? "unknown state \"\(s)\"; a cancel takes \(allowed)"
                : "\(s) jobs have finished and cannot be cancelled; a cancel takes \(allowed)")
        }
        for (field, value) in [("user", filter.user), ("name", filter.name), ("node", filter.node)] where value?.isEmpty == true {
            throw APIFailure.badRequest("\"\(field)\" is empty; leave it out to match any \(field)")
        }
        return filter
    }

    /// The filter in words, for the journal: `user=alice states=queued`.
    static func describe(_ filter: CancelFilterRequest) -> String {
        var parts: [String] = []
        if let user = filter.user { parts.append("user=\(user)") }
        if let states = filter.states, !states.isEmpty { parts.append("states=\(states.joined(separator: ","))") }
        if let name = filter.name { parts.append("name=\(name)") }
        if let node = filter.node { parts.append("node=\(node)") }
        return parts.joined(separator: " ")
    }
}
