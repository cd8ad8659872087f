import Foundation
import HearthAPI
import HearthCore
import HearthStore
import Hummingbird
import Logging

/// Fleet-wide actions (Docs/security.md, "The fleet's trust model"): invites, revocations and
/// fleet admins. They need a fleet admin (an account marked admin in the database) calling a node
/// that holds the owner's credentials; a donated node's own login cannot make them.
extension ControlServer {
    static let fleetRoutes: Set<String> = ["POST /v1/nodes/invites", "POST /v1/nodes/{name}/revoke", "POST /v1/admins"]

    func addFleetRoutes(to router: Router<ControlContext>) {
        router.post("/v1/nodes/invites") { request, context in
            try await respond(context, status: .created) { who in try await invite(request, who: who) }
        }
        router.post("/v1/nodes/:name/revoke") { _, context in
            try await respond(context) { who in
                let name = context.parameters.get("name") ?? ""
                let owner = try authorizeFleet(who, action: "revoke node \(name)")
                guard let jobs = try await NodeLogins(client: owner).revoke(hostname: name, by: who.account) else {
                    throw APIFailure.notFound("node \"\(name)\" has no enrolled login to revoke; hearth nodes lists the nodes")
                }
                logger.notice("node revoked by \(who.account)", metadata: [
                    "node.name": "\(name)", "jobs": "\(jobs)", "hearth.event": "node-revoked"])
                return RevokeNodeResponse(node: name, requeued: jobs)
            }
        }
        router.post("/v1/admins") { request, context in
            try await respond(context) { who in
                let owner = try authorizeFleet(who, action: "mark fleet admins")
                let req: AdminRequest
                do { req = try JSONDecoder().decode(AdminRequest.self, from: try await body(request)) } catch let f as APIFailure {
                    throw f
                } catch {
                    throw APIFailure.badRequest("send {\"account\": NAME, \"admin\": true or false}")
                }
                do {
                    try await owner.query("SELECT hearth_account_set_admin(\(req.account)::text, \(req.admin)::boolean, \(who.account)::text)")
                } catch let error as PostgresError where error.sqlState == "HJ005" || error.sqlState == "23514" {
                    throw APIFailure.badRequest(error.sqlState == "23514" ? "\"\(req.account)\" is not a Unix user name" : error.message)
                }
                logger.notice("fleet admin \(req.admin ? "granted to" : "revoked from") \(req.account) by \(who.account)",
                              metadata: ["hearth.event": "fleet-admin"])
                return WhoAmI(account: req.account, uid: -1, role: req.admin ? "admin" : "volunteer")
            }
        }
    }

    private func body(_ request: Request) async throws -> Data {
        var buffer = try await request.body.collect(upTo: 1 << 16)
        guard let bytes = buffer.readBytes(length: buffer.readableBytes), !bytes.isEmpty else {
            throw APIFailure.badRequest("the request has no body; send a JSON object")
        }
        return Data(bytes)
    }

    private func invite(_ request: Request, who: Identity) async throws -> InviteResponse {
        let owner = try authorizeFleet(who, action: "invite nodes")
        let req: InviteRequest
        do { req = try JSONDecoder().decode(InviteRequest.self, from: try await body(request)) } catch let f as APIFailure {
            throw f
        } catch {
            throw APIFailure.badRequest("send {\"hostname\": NAME, \"donor\": NAME, \"valid_seconds\": N}, every field optional")
        }
        let seconds = req.validSeconds ?? 3600
        guard (1...(30 * 86_400)).contains(seconds) else {
            throw APIFailure.badRequest("an invite is valid for 1 second up to 30 days, not \(seconds) seconds")
        }
        let made = try await NodeLogins(client: owner).invite(
            by: who.account, hostname: req.hostname, donor: req.donor, validFor: .seconds(seconds))
        logger.notice("node invite made by \(who.account)", metadata: [
            "node.name": "\(req.hostname ?? "any")", "hearth.event": "node-invite"])
        return InviteResponse(token: made.token, hostname: req.hostname, expiresAt: made.expiresAt)
    }

    /// The owner's pool, when `who` is a fleet admin here; else 403 with the reason.
    func authorizeFleet(_ who: Identity, action: String) throws -> PostgresClient {
        guard who.isAdmin, let fleet else {
            throw APIFailure.forbidden("only fleet admins can \(action); \(notFleetAdmin(who))")
        }
        return fleet
    }

    /// Why `who` is not a fleet admin on this node, as a sentence's tail.
    func notFleetAdmin(_ who: Identity) -> String {
        if fleet == nil {
            return "node \(nodeName) holds only its own database login, so nobody acts fleet-wide from it "
                + "(root and members of \(adminGroup) here are admins of \(nodeName) alone); use a node with the fleet owner's credentials"
        }
        return "\(who.account) is not marked admin in the fleet's database"
            + (who.nodeAdmin ? " (root and members of \(adminGroup) are admins of \(nodeName) alone)" : "")
            + "; a fleet admin can mark an account with `hearth admin grant NAME`"
    }

    /// The pool that may change node `name`'s row: this node's own for itself, else the owner's.
    func nodeStore(for name: String) throws -> NodeStore {
        if name == nodeName { return NodeStore(client: queue.client) }
        guard let fleet else {
            throw APIFailure.forbidden("node \(nodeName) can change only its own row; act on node \(name) from a node with the fleet owner's credentials")
        }
        return NodeStore(client: fleet)
    }
}
