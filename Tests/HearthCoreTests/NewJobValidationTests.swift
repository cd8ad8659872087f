import HearthCore
import Testing

@Suite struct NewJobValidationTests {
    @Test func acceptsAPlainSubmission() throws {
        try NewJob(kind: .train, accountID: 1, specJSON: #"{"steps": 10}"#).validate()
    }

    @Test("refuses bad fields with a message that names the field", arguments: [
        (NewJob(kind: .train, accountID: 1, gpus: 65), "GPUs"),
        (NewJob(kind: .train, accountID: 1, priority: 5000), "priority"),
        (NewJob(kind: .train, accountID: 1, maxAttempts: 0), "attempts"),
        (NewJob(kind: .train, accountID: 1, specJSON: "[1,2]"), "JSON object"),
        (NewJob(kind: .train, accountID: 1, specJSON: "{nope"), "JSON object"),
        (NewJob(kind: .train, accountID: 1, idempotencyKey: ""), "idempotency key"),
        (NewJob(kind: .train, accountID: 1, name: String(repeating: "x", count: 201)), "name"),
    ])
    func refuses(job: NewJob, mentions: String) {
        #expect(throws: JobValidationError.self) { try job.validate() }
        do {
            try job.validate()
        } catch {
            #expect(error.message.contains(mentions))
        }
    }

    @Test func terminalStatesHoldNoLease() {
        for state in JobState.allCases {
            #expect(!(state.isTerminal && state.holdsLease))
        }
        #expect(JobState.allCases.filter(\.holdsLease) == [.scheduled, .running])
    }
}
