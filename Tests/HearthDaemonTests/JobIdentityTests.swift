import Foundation
import HearthProcess
@testable import HearthDaemon
import Testing

/// Who a job runs as, decided without running anything: the rules of Docs/isolation.md.
struct JobIdentityTests {
    @Test func aDaemonThatIsNotRootRunsOnlyItsOwnUsersJobs() throws {
        let policy = IsolationPolicy()
        #expect(try JobIdentity.resolve(account: "hearth", accountID: 3, policy: policy, daemonUID: 990, daemonUser: "hearth") == nil)
        #expect {
            try JobIdentity.resolve(account: "alice", accountID: 4, policy: policy, daemonUID: 990, daemonUser: "hearth")
        } throws: { error in
            "\(error)".contains("hearthd on this node runs as hearth, not as root, so it can run only hearth's jobs and this job belongs to alice")
        }
    }

    @Test func rootsJobsNeedTheAdminsConsent() throws {
        var policy = IsolationPolicy()
        #expect { try JobIdentity.resolve(account: "root", accountID: 1, policy: policy, daemonUID: 0, daemonUser: "root") } throws: {
            "\($0)".contains("set allow_root_jobs = true in hearthd.toml")
        }
        policy.allowRootJobs = true
        #expect(try JobIdentity.resolve(account: "root", accountID: 1, policy: policy, daemonUID: 0, daemonUser: "root")?.uid == 0)
    }

    @Test func anAccountWithoutAUserGetsItsOwnTransientUIDNeverRootOrTheDaemons() throws {
        var policy = IsolationPolicy()
        policy.transientUIDs = 61_184...61_200
        let user = try #require(try JobIdentity.resolve(account: "hearth-t-nobody-here", accountID: 7, policy: policy, daemonUID: 0, daemonUser: "root"))
        #expect(user.uid == 61_191 && user.gid == 61_191 && user.groups == [61_191] && user.name == nil)
        #expect { try JobIdentity.resolve(account: "hearth-t-nobody-here", accountID: 17, policy: policy, daemonUID: 0, daemonUser: "root") } throws: {
            "\($0)".contains("past the transient uid range 61184-61200; widen [isolation] transient_uids")
        }
        // A range that reaches root (set in code; the file refuses uids under 1000): refused, never run as root.
        policy.transientUIDs = 0...100
        #expect { try JobIdentity.resolve(account: "hearth-t-nobody-here", accountID: 0, policy: policy, daemonUID: 0, daemonUser: "root") } throws: {
            "\($0)".contains("its transient uid 0 belongs to a user of this node")
        }
    }

    @Test func theIsolationTableIsReadAndCheckedByKey() throws {
        let file = try ConfigFile.parse("""
            allow_root_jobs = true
            [isolation]
            transient_uids = "70000-70999"
            memory_max_mib = 512
            tasks_max = 256
            cpu_quota_percent = 150
            """, path: "t.toml")
        #expect(file.isolation.allowRootJobs && file.isolation.transientUIDs == 70_000...70_999)
        #expect(file.isolation.memoryMaxBytes == 512 << 20 && file.isolation.tasksMax == 256 && file.isolation.cpuQuotaPercent == 150)
        #expect { try ConfigFile.parse("[isolation]\ntransient_uids = \"12-3\"\n", path: "t.toml") } throws: {
            "\($0)".contains("t.toml:2: [isolation] transient_uids: \"12-3\" is not a range of uids")
        }
        #expect { try ConfigFile.parse("[isolation]\nmemory_mib = 3\n", path: "t.toml") } throws: {
            "\($0)".contains("unknown key \"memory_mib\"")
        }
    }
}
