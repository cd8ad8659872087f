import Foundation
import HearthAPI
@testable import HearthDaemon
import Testing

/// The daemon reads submissions with ``JSONValue/init(parsing:)`` and writes specs with
/// ``JSONValue/jsonText`` instead of JSONDecoder and JSONEncoder: they must read what JSONDecoder
/// reads, refuse what it refuses, and write text that reads back to the same value.
@Suite struct JSONValueParsingTests {
    static let accepted: [String] = [
        #"{}"#, #"[]"#, #"null"#, #"true"#, #"false"#, #"0"#, #"-0"#, #"12"#, #"-3.5"#, #"1e3"#, #"2.5E-3"#, #"1E+2"#,
        "\"\"",
        #""plain""#, #""esc \" \\ \/ \b \f \n \r \t""#, #""\u00e9 \u4e2d \ud83d\ude00""#, #""é 中 😀""#,
        #" { "a" : [ 1 , 2 , { "b" : null } ] , "c" : "d" } "#,
        #"{"model": {"layers": 1, "heads": 2, "width": 16, "context": 8}, "data": [{"path": "/tmp/q/data"}], "steps": 1}"#,
        #"{"argv": ["/bin/sh", "-c", "echo {index}"], "lr": 0.0003, "big": 12345678901234, "neg": -7}"#,
        #"[[[[[[[[[[1]]]]]]]]]]"#,
        // Not RFC 8259, but JSONDecoder reads them, and so did the daemon.
        #"[1, 2,]"#, #"{"a": 1, }"#,
    ]

    static let refused: [String] = [
        "", " ", "{", "}", "[,]", "{,}", "[1,,]", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "1.", ".5", "-", "+1", "1e", "1e+",
        "tru", "nul", "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"lone \\ud800\"", "\"lone \\udc00 low\"",
        "\"tab\there\"", "{\"a\":1} x", "[1] [2]", "NaN", "Infinity", "1e999",
    ]

    @Test(arguments: accepted) func readsWhatJSONDecoderReads(_ text: String) throws {
        let mine = try JSONValue(parsing: Array(text.utf8))
        let theirs = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(mine == theirs)
        // Written back, it reads as the same value (and JSONDecoder agrees).
        let written = mine.jsonText
        #expect(try JSONValue(parsing: Array(written.utf8)) == mine, "\(written)")
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(written.utf8)) == mine, "\(written)")
    }

    @Test(arguments: refused) func refusesWhatIsNotJSON(_ text: String) {
        #expect(throws: JSONValue.ParseError.self, "\(text)") { try JSONValue(parsing: Array(text.utf8)) }
        #expect((try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) == nil, "JSONDecoder reads \(text)")
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: [0x22, 0xFF, 0xFE, 0x22]) }
        let deep = String(repeating: "[", count: JSONValue.maxDepth + 1) + String(repeating: "]", count: JSONValue.maxDepth + 1)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: Array(deep.utf8)) }
        let fine = String(repeating: "[", count: JSONValue.maxDepth) + String(repeating: "]", count: JSONValue.maxDepth)
        #expect((try? JSONValue(parsing: Array(fine.utf8))) != nil)
    }

    @Test func anErrorSaysWhereAndWhat() throws {
        let error = try #require(throws: JSONValue.ParseError.self) { try JSONValue(parsing: Array(#"{"a": [1, 2 3]}"#.utf8)) }
        #expect(error.offset == 12)
        #expect(error.description == "',' or ']' was expected in an array at byte 12")
    }

    @Test func writesKeysSortedAndControlCharactersEscaped() {
        let value = JSONValue.object(["b": .number(2), "a": .string("x\u{1}\n\"y"), "c": .number(0.25), "d": .number(1e20)])
        #expect(value.jsonText == #"{"a":"x\u0001\n\"y","b":2,"c":0.25,"d":1e+20}"#)
    }

    @Test func aSubmissionIsReadFieldByField() throws {
        let text = #"{"kind": "train", "name": "n", "gpus": 2, "priority": -3, "qos": "high", "max_attempts": 4,"#
            + #" "idempotency_key": "k", "after_ok": [7, 9], "time_limit": 60, "preemptible": false,"#
            + #" "gpu_model": "H100", "gpu_memory_mib": 1024, "spec": {"steps": 1}}"#
        guard case .object(let o) = try JSONValue(parsing: Array(text.utf8)) else { Issue.record("not an object"); return }
        let mine = try SubmitRequest(object: o)
        #expect(mine == (try JSONDecoder().decode(SubmitRequest.self, from: Data(text.utf8))))
        // null is an absent field, as Decodable reads it.
        guard case .object(let nulls) = try JSONValue(parsing: Array(#"{"kind": "eval", "gpus": null, "spec": null}"#.utf8)) else { return }
        #expect(try SubmitRequest(object: nulls) == SubmitRequest(kind: "eval"))
    }

    @Test(arguments: [
        (#"{"name": "x"}"#, #""kind" is required"#),
        (#"{"kind": 3}"#, #""kind" must be a string, not the number 3"#),
        (#"{"kind": "train", "gpus": "two"}"#, #""gpus" must be a whole number, not a string"#),
        (#"{"kind": "train", "gpus": 1.5}"#, #""gpus" must be a whole number, not the number 1.5"#),
        (#"{"kind": "train", "after_ok": [1, "2"]}"#, #""after_ok.1" must be a job id (a whole number), not a string"#),
        (#"{"kind": "train", "after_ok": 4}"#, #""after_ok" must be a list of job ids, not the number 4"#),
        (#"{"kind": "train", "preemptible": "yes"}"#, #""preemptible" must be true or false, not a string"#),
    ])
    func aWrongFieldIsNamed(_ text: String, _ message: String) throws {
        guard case .object(let o) = try JSONValue(parsing: Array(text.utf8)) else { Issue.record("not an object"); return }
        let error = try #require(throws: SubmitRequest.FieldError.self) { try SubmitRequest(object: o) }
        #expect(error.message == message)
    }
}
