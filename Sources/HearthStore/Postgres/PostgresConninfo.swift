import CLibPQ
import Foundation

/// Rewriting connection strings and computing password verifiers, for node credentials
/// (`hearthd enroll`, Docs/security.md).
public enum PostgresConninfo {
    /// `conninfo` (key=value pairs or a URL) as key=value pairs with `overrides` replacing or
    /// adding keywords (`user`, `password`, `dbname`...). Keywords it leaves unset stay unset.
    /// - Throws: ``PostgresError`` (`invalidConnectionString`) when `conninfo` cannot be parsed.
    public static func rewrite(_ conninfo: String, overriding overrides: [String: String]) throws -> String {
        try PostgresConnection.validate(conninfo: conninfo)
        var pairs: [(String, String)] = []
        if !conninfo.isEmpty, let options = PQconninfoParse(conninfo, nil) {
            var option = options
            while let keyword = option.pointee.keyword {
                if let value = option.pointee.val { pairs.append((String(cString: keyword), String(cString: value))) }
                option = option.advanced(by: 1)
            }
            PQconninfoFree(options)
        }
        pairs.removeAll { overrides[$0.0] != nil }
        pairs += overrides.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return pairs.map { "\($0.0)=\(quote($0.1))" }.joined(separator: " ")
    }

    /// A value as libpq's key=value syntax wants it: single-quoted, with `\` and `'` escaped.
    static func quote(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// A random password: 32 bytes from the kernel, hex.
    public static func randomPassword() throws -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        guard fd >= 0, read(fd, &bytes, bytes.count) == bytes.count else {
            if fd >= 0 { close(fd) }
            throw PostgresError(code: .misuse, message: "cannot read /dev/urandom for a password")
        }
        close(fd)
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}
