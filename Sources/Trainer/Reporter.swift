import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes the JSON-lines report protocol (one object per line, `event` first in meaning) to a file
/// descriptor the parent passes (`--report-fd`, default 1).
public final class Reporter: @unchecked Sendable {
    let fd: Int32

    public init(fd: Int32) { self.fd = fd }

    /// Emits `{"event": event, ...fields}` as one line; keys are sorted so lines are stable.
    public func emit(_ event: String, _ fields: [String: Any] = [:]) {
        var obj = fields
        obj["event"] = event
        guard var data = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return
        }
        data.append(0x0A)
        data.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = write(fd, b.baseAddress! + done, b.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                done += n
            }
        }
    }
}

/// Rounds for reports (JSON numbers without float noise).
func rounded(_ x: Double, _ digits: Int = 4) -> Double {
    let f = pow(10, Double(digits))
    return (x * f).rounded() / f
}
