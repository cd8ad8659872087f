/// Whether a node takes work: the `nodes.state` column.
public enum NodeState: String, Sendable, Codable, CaseIterable, Hashable {
    /// Heartbeating and accepting placements (unless its donor reclaimed it).
    case up
    /// An admin drained it: running jobs finish, nothing new is placed. `resume` makes it `up`.
    case draining
    /// It stopped heartbeating; the leader marked it. Its next heartbeat makes it `up` again.
    case down
}
