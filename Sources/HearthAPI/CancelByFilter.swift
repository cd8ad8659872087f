/// `POST /v1/jobs/cancel`: cancel every unfinished job that matches, as `scancel --user --state
/// --name` does. At least one field must be given. A volunteer's filter covers their own jobs
/// only (naming another account is refused); an admin's covers everyone's unless `user` narrows it.
public struct CancelFilterRequest: Sendable, Hashable, Codable {
    /// The account whose jobs to cancel.
    public var user: String?
    /// Only jobs in these states: `queued`, `scheduled`, `running` (finished jobs cannot be cancelled).
    public var states: [String]?
    /// Only jobs with this exact name (an array's elements have their own, `{index}` substituted).
    public var name: String?
    /// Only jobs placed on this node.
    public var node: String?

    public init(user: String? = nil, states: [String]? = nil, name: String? = nil, node: String? = nil) {
        self.user = user
        self.states = states
        self.name = name
        self.node = node
    }

    /// Whether it names nothing (which the daemon refuses: it would cancel everything in sight).
    public var isEmpty: Bool { user == nil && (states ?? []).isEmpty && name == nil && node == nil }
}

/// What `POST /v1/jobs/cancel` did.
public struct CancelFilterResponse: Sendable, Hashable, Codable {
    /// Every job the filter matched, ascending.
    public var matched: [Int64]
    /// Those cancelled now (queued or scheduled).
    public var cancelled: Int
    /// Those running: their nodes are stopping them.
    public var requested: Int

    public init(matched: [Int64], cancelled: Int, requested: Int) {
        self.matched = matched
        self.cancelled = cancelled
        self.requested = requested
    }
}
