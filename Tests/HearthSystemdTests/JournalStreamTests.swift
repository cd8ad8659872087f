import Foundation
import HearthSystemd
import Testing

/// `JOURNAL_STREAM` is honoured only when it names the very descriptor checked.
@Suite struct JournalStreamTests {
    static func identity(_ fd: Int32) -> String {
        var st = stat()
        fstat(fd, &st)
        return "\(st.st_dev):\(st.st_ino)"
    }

    @Test func matchesOnlyTheNamedStream() throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let named = Self.identity(fds[0])
        #expect(JournalStream.isConnected(descriptor: fds[0], environment: ["JOURNAL_STREAM": named]))
        // Inherited by a child whose stderr goes elsewhere: not the journal.
        #expect(!JournalStream.isConnected(descriptor: fds[1], environment: ["JOURNAL_STREAM": named]))
        #expect(!JournalStream.isConnected(descriptor: fds[0], environment: [:]))
        #expect(!JournalStream.isConnected(descriptor: fds[0], environment: ["JOURNAL_STREAM": "garbage"]))
    }
}
