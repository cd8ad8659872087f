import Foundation
import HearthStore
import Testing

@Suite struct PostgresValueTests {
    @Test func interpolatedValuesBecomeParameters() {
        let id: Int64 = 7
        let name = "x'); DROP TABLE jobs; --"
        let q: PostgresQuery = "SELECT * FROM jobs WHERE id = \(id) AND name = \(name)"
        #expect(q.sql == "SELECT * FROM jobs WHERE id = $1 AND name = $2")
        #expect(q.bindings == ["7", name])
        #expect(q.isPreparable)
    }

    @Test func identifiersAreQuotedAndNotPrepared() {
        let q: PostgresQuery = "CREATE DATABASE \(identifier: "we\"ird")"
        #expect(q.sql == #"CREATE DATABASE "we""ird""#)
        #expect(!q.isPreparable)
    }

    @Test("timestamps parse in every form the server prints", arguments: [
        ("2026-11-29 20:43:30+00", 1_795_985_010.0),
        ("2026-11-29 20:43:30.5+00", 1_795_985_010.5),
        ("2026-11-29 20:43:30.123456+00", 1_795_985_010.123456),
        ("2026-11-29 21:43:30+01", 1_795_985_010.0),
        ("2026-11-29 15:13:30-05:30", 1_795_985_010.0),
        ("1969-12-31 23:59:59+00", -1.0),
    ])
    func parsesTimestamps(text: String, epoch: Double) throws {
        let date = try #require(Date(postgresText: text))
        #expect(abs(date.timeIntervalSince1970 - epoch) < 1e-6)
    }

    @Test func datesRoundTripThroughText() throws {
        let date = Date(timeIntervalSince1970: 1_795_985_010.654321)
        let back = try #require(Date(postgresText: date.postgresText))
        #expect(abs(back.timeIntervalSince1970 - date.timeIntervalSince1970) < 1e-6)
    }

    @Test func arraysAndTextArrays() {
        #expect([1, 2, 3].postgresText == "{1,2,3}")
        #expect([Int](postgresText: "{4,5}") == [4, 5])
        #expect([Int](postgresText: "{}") == [])
        #expect(PostgresTextArray(["a", "b\"c", "d,e"]).postgresText == #"{"a","b\"c","d,e"}"#)
    }

    @Test func durationsAreIntervals() {
        #expect(Duration.seconds(30).postgresText == "30000000 microseconds")
        #expect(Duration.milliseconds(1500).postgresText == "1500000 microseconds")
    }
}
