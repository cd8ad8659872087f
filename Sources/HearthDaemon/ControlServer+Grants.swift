import Foundation
import HearthAPI
import HearthStore
import Hummingbird
import Logging

/// `hearth grant`, `hearth revoke`, `hearth grants`: privileges beyond the defaults (QOS high
/// and serving, non-preemptible jobs), granted by admins to accounts or projects.
extension ControlServer {
    static let grantRoutes: Set<String> = ["GET /v1/grants", "POST /v1/grants", "DELETE /v1/grants/{id}"]

    func addGrantRoutes(to router: Router<ControlContext>) {
        router.get("/v1/grants") { request, context in
            try await respond(context) { who in
                let account = request.uri.queryParameters["account"].map(String.init)
                if let account, account != who.account, !who.isAdmin {
                    throw APIFailure.forbidden("volunteers can list only the grants that apply to them; \(who.account) cannot list \(account)'s")
                }
                var id: Int64? = who.isAdmin ? nil : who.accountID
                if let account { id = try await AccountStore(client: queue.client).id(named: account) ?? -1 }
                return try await grantStore.grants(applyingTo: id).map(Self.view)
            }
        }
        router.post("/v1/grants") { request, context in
            try await respond(context, status: .created) { who in try await grant(request, who: who) }
        }
        router.delete("/v1/grants/:id") { _, context in
            try await respond(context) { who in
                guard who.isAdmin else { throw APIFailure.forbidden("only admins can revoke grants (root or members of \(adminGroup))") }
                guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
                    throw APIFailure.badRequest("a grant id is a positive number, as hearth grants shows it")
                }
                guard let revoked = try await grantStore.revoke(id: id) else {
                    throw APIFailure.notFound("no grant \(id); hearth grants lists them")
                }
                logger.notice("grant revoked", metadata: [
                    "hearth.event": "grant-revoked", "account": "\(who.account)", "grant.id": "\(id)",
                    "grant.privilege": "\(revoked.privilege.rawValue)", "grant.to": "\(revoked.account ?? "project " + (revoked.project ?? "?"))"])
                return Self.view(revoked)
            }
        }
    }

    private func grant(_ request: Request, who: Identity) async throws -> GrantView {
        guard who.isAdmin else { throw APIFailure.forbidden("only admins can grant privileges (root or members of \(adminGroup))") }
        var body = try await request.body.collect(upTo: 1 << 16)
        guard let bytes = body.readBytes(length: body.readableBytes),
              let raw = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)), let keys = raw.objectKeys else {
            throw APIFailure.badRequest("the body must be a JSON object {\"privilege\": ..., \"account\" or \"project\": ...}")
        }
        if let unknown = keys.subtracting(GrantRequest.fieldNames).sorted().first {
            throw APIFailure(status: .badRequest, error: .init(code: "unknown-field", message:
                "unknown field \"\(unknown)\"; a grant has \(GrantRequest.fieldNames.sorted().joined(separator: ", "))"))
        }
        let req: GrantRequest
        do { req = try JSONDecoder().decode(GrantRequest.self, from: Data(bytes)) } catch {
            throw APIFailure.badRequest("a field has the wrong type: \(Self.describe(error))")
        }
        guard let privilege = GrantStore.Privilege(rawValue: req.privilege) else {
            throw APIFailure.badRequest("""
                unknown privilege "\(req.privilege)"; grant one of \(GrantStore.Privilege.allCases.map(\.rawValue).joined(separator: ", ")) \
                (QOS low and normal need no grant)
                """)
        }
        guard (req.account == nil) != (req.project == nil) else {
            throw APIFailure.badRequest("a grant goes to one account or one project: give exactly one of \"account\" and \"project\"")
        }
        let made: GrantStore.Grant
        do { made = try await grantStore.grant(privilege, account: req.account, project: req.project, grantedBy: who.accountID) }
        catch let refusal as GrantStore.Refusal { throw APIFailure.notFound(refusal.message) }
        catch let error as PostgresError where error.sqlState == "23514" {
            throw APIFailure.badRequest("\"\(req.account ?? "")\" is not a valid account name (a Unix user name)")
        }
        logger.notice("privilege granted", metadata: [
            "hearth.event": "grant", "account": "\(who.account)", "grant.id": "\(made.id)",
            "grant.privilege": "\(privilege.rawValue)", "grant.to": "\(req.account ?? "project " + (req.project ?? "?"))"])
        return Self.view(made)
    }

    static func view(_ g: GrantStore.Grant) -> GrantView {
        GrantView(id: g.id, account: g.account, project: g.project, privilege: g.privilege.rawValue, grantedBy: g.grantedBy,
                  grantedAt: g.grantedAt)
    }
}
