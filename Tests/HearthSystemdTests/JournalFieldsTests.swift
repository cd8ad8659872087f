import HearthSystemd
import Testing

@Suite struct JournalFieldsTests {
    @Test("well-known keys get the names admins query", arguments: [
        ("job.id", "JOB_ID"), ("node.name", "NODE"), ("account.name", "ACCOUNT"), ("project.name", "PROJECT"),
        ("hearth.event", "HEARTH_EVENT"),
    ])
    func aliases(key: String, field: String) {
        #expect(JournalFields.name(for: key) == field)
    }

    @Test("other keys become valid journal names", arguments: [
        ("worker.pid", "WORKER_PID"), ("jobID", "JOBID"), ("job-id", "JOB_ID"), ("_private", "PRIVATE"),
        ("9lives", "HEARTH_9LIVES"), ("message", "HEARTH_MESSAGE"), ("priority", "HEARTH_PRIORITY"), ("ü.x", "X"),
    ])
    func sanitised(key: String, field: String) {
        #expect(JournalFields.name(for: key) == field)
    }

    @Test func longKeysAreCutTo64Bytes() {
        let name = JournalFields.name(for: String(repeating: "a", count: 100))
        #expect(name.count == 64)
        #expect(name.allSatisfy { $0 == "A" })
    }
}
