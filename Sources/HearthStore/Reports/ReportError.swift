/// A report that could not be made; the message says what was wrong and how to fix it.
public struct ReportError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The named donor, project or account does not exist.
        case notFound
        /// A bad range, period or time zone.
        case invalid
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
