import HearthCore

// The domain's enums travel as their raw text, the same strings as the columns' CHECK constraints
// and `job_kinds` rows; a value the enum does not know decodes as `nil` (a decoding error).

extension JobState: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { rawValue }
    public init?(postgresText: String) { self.init(rawValue: postgresText) }
}

extension JobKind: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { rawValue }
    public init?(postgresText: String) { self.init(rawValue: postgresText) }
}

extension QOS: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { rawValue }
    public init?(postgresText: String) { self.init(rawValue: postgresText) }
}

extension NodeState: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { rawValue }
    public init?(postgresText: String) { self.init(rawValue: postgresText) }
}
