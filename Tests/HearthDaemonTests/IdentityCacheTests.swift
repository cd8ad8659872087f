import Foundation
@testable import HearthDaemon
import HearthStore
import HearthTesting
import Testing

/// A node keeps each caller's account and role between requests, and drops them as soon as the
/// accounts table changes anywhere in the fleet (the trigger of Migrations/0021, through the
/// node's listener). The tests wait for what they look for, up to a minute, instead of timing it.
@Suite struct IdentityCacheTests {
    @Test func aRoleChangedElsewhereIsSeenOnTheNextRequest() async throws {
        try await TestDatabase.with { client, _ in
            let changes = ChangeEpoch()
            let listener = JobWakeups(configuration: client.configuration, reasons: [.changed], accountChanges: changes)
            let listening = Task { await listener.run() }
            defer { listening.cancel() }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(60)
            while changes.current == nil && clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(changes.current != nil, "the listener never connected")
            // Root's account exists first (recording its uid is itself a change that notifies).
            // A notification sent after it is a fence: once it arrived, so had any before it.
            _ = try await AccountStore(client: client).ensure(name: "root", uid: 0)
            _ = try await client.query("SELECT pg_notify('hearth_jobs', 'changed') AS fence")
            while !listener.takeReasons().contains(.changed) && clock.now < deadline { await listener.wait(timeout: .seconds(1)) }

            // A long age, so only a notification can drop the entry here.
            let cache = IdentityCache(changes: changes, maxAge: .seconds(3600))
            let accounts = AccountStore(client: client)
            func root() async throws -> Identity { try #require(try await Identity.resolve(
                uid: 0, adminGroup: "hearth-admin", accounts: accounts, cache: cache)) }

            let first = try await root()
            #expect(first.account == "root" && first.role == .volunteer && first.nodeAdmin)
            #expect(cache.databaseReads == 1)
            let again = try await root()
            #expect(again == first)
            #expect(cache.databaseReads == 1, "a second request read the account again")

            // Another node's admin makes root a fleet admin: the next requests see it once the
            // notification arrives, and read the account once more to do so.
            _ = try await client.query("SELECT hearth_account_set_admin('root', true, 'test') AS old")
            var seen = try await root()
            while seen.role != .admin && clock.now < deadline { try await Task.sleep(for: .milliseconds(20)); seen = try await root() }
            #expect(seen.role == .admin && seen.isAdmin)
            #expect(cache.databaseReads == 2)

            // And revoking it is seen the same way (another admin first: the last one stays).
            _ = try await client.query("SELECT hearth_account_set_admin('hearth-t-other', true, 'test') AS old")
            _ = try await client.query("SELECT hearth_account_set_admin('root', false, 'test') AS old")
            seen = try await root()
            while seen.role == .admin && clock.now < deadline { try await Task.sleep(for: .milliseconds(20)); seen = try await root() }
            #expect(seen.role == .volunteer && !seen.isAdmin)
            // Same-node view: the stored admin role reads as volunteer where the node cannot act fleet-wide.
            let enrolled = try #require(try await Identity.resolve(uid: 0, adminGroup: "hearth-admin", accounts: accounts,
                                                                   fleetWide: false, cache: cache))
            #expect(enrolled.role == .volunteer)
        }
    }

    @Test func withoutAListenerEveryRequestReadsTheAccount() async throws {
        try await TestDatabase.with { client, _ in
            let cache = IdentityCache(changes: ChangeEpoch())  // nobody listens
            let accounts = AccountStore(client: client)
            for _ in 0..<3 {
                _ = try #require(try await Identity.resolve(uid: 0, adminGroup: "hearth-admin", accounts: accounts, cache: cache))
            }
            #expect(cache.databaseReads == 3)
        }
    }

    @Test func anEntryOlderThanItsAgeIsReadAgain() async throws {
        try await TestDatabase.with { client, _ in
            let changes = ChangeEpoch()
            let listener = JobWakeups(configuration: client.configuration, reasons: [], accountChanges: changes)
            let listening = Task { await listener.run() }
            defer { listening.cancel() }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(60)
            while changes.current == nil && clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let cache = IdentityCache(changes: changes, maxAge: .zero)
            let accounts = AccountStore(client: client)
            for _ in 0..<2 {
                _ = try #require(try await Identity.resolve(uid: 0, adminGroup: "hearth-admin", accounts: accounts, cache: cache))
            }
            #expect(cache.databaseReads == 2)
        }
    }

    @Test func passwdEntriesResolveLikeGetent() {
        let root = Identity.passwdEntry(0)
        #expect(root?.name == "root" && root?.gid == 0)
        #expect(Identity.passwdEntry(4_000_000_000) == nil)
    }
}
