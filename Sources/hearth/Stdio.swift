import FoundationEssentials
import HearthClient
#if canImport(Glibc)
import Glibc
#endif

// The few things the CLI took from Foundation, written on libc so that `hearth` links only
// FoundationEssentials (no ICU, no CoreFoundation) and starts in a few milliseconds.

/// Standard streams and files.
enum Stdio {
    /// Writes to standard error, unbuffered.
    static func error(_ text: String) { writeAll(STDERR_FILENO, text) }

    /// Writes to standard output now (no buffering: a token or a row shows up as it comes).
    static func out(_ text: String) {
        fflush(nil)
        writeAll(STDOUT_FILENO, text)
    }

    /// Writes bytes to standard output as they are (a piece of a stream may end mid-character).
    static func out(bytes: ArraySlice<UInt8>) {
        fflush(nil)
        writeAll(STDOUT_FILENO, bytes)
    }

    /// `parts` with `separator` between them. The standard `joined(separator:)` looks up its
    /// element type's conformances at run time on first use, which in the static binary scans
    /// every conformance record (see ``JSONScan``); this loop is concrete.
    static func join(_ parts: [String], _ separator: String) -> String {
        var text = ""
        for (n, part) in parts.enumerated() {
            if n > 0 { text += separator }
            text += part
        }
        return text
    }

    /// Writes every byte (a pipe may take them in parts); gives up on a closed pipe.
    @discardableResult
    static func writeAll(_ fd: Int32, _ text: String) -> Bool { writeAll(fd, Array(text.utf8)[...]) }

    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
    }

    /// Everything on standard input.
    static func readStandardInput() -> Data { Data(readAll(STDIN_FILENO)) }

    /// A whole file, or a sentence saying why not.
    static func readFile(_ path: String) throws(FileError) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(message: "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        return Data(readAll(fd))
    }

    /// Writes a whole file (replacing it), or a sentence saying why not.
    static func writeFile(_ path: String, _ text: String) throws(FileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(message: "cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard writeAll(fd, text) else { throw FileError(message: "cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    private static func readAll(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        while DescriptorReads.append(from: fd, to: &result) > 0 {}
        return result
    }

    struct FileError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

extension String {
    /// printf-style formatting (`%.4f`, `%02d`) through the C library, as Foundation's
    /// `String(format:)` did; only numeric conversions are used by the CLI.
    init(format: String, _ arguments: any CVarArg...) {
        self = withVaList(arguments) { list in
            var buffer = [CChar](repeating: 0, count: 128)
            let needed = Int(vsnprintf(&buffer, buffer.count, format, list))
            if needed < buffer.count { return String(cString: buffer) }
            return Self.longFormat(format, arguments, size: needed + 1)
        }
    }

    private static func longFormat(_ format: String, _ arguments: [any CVarArg], size: Int) -> String {
        withVaList(arguments) { list in
            var buffer = [CChar](repeating: 0, count: size)
            _ = vsnprintf(&buffer, buffer.count, format, list)
            return String(cString: buffer)
        }
    }

    /// Padded with spaces (or cut) to `width` characters.
    func padded(to width: Int) -> String {
        count >= width ? String(prefix(width)) : self + String(repeating: " ", count: width - count)
    }

    /// Percent-encoded for a URL query value or path segment: only unreserved characters stay.
    var percentEncoded: String {
        var out = ""
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }
}

/// Dates as people read them, in the machine's local time (libc's `localtime_r`, which reads
/// TZ and /etc/localtime without ICU).
enum LocalTime {
    /// `strftime` of `date` with `format`, e.g. `%Y-%m-%d %H:%M:%S`.
    static func string(_ date: Date, _ format: String) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        localtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// ISO 8601 in UTC, as the API writes dates.
    static func iso8601(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }
}

/// Sleeps without Foundation's `Thread`.
func sleep(seconds: Double) { usleep(useconds_t(seconds * 1_000_000)) }
