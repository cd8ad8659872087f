#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HearthCore

/// `GET /v1/jobs/{id}/log`: a job's history as one stream — its events, its training progress and
/// what its worker printed — in time order, from a cursor on.
public struct LogPage: Sendable, Hashable, Codable {
    /// One line of the stream.
    public struct Entry: Sendable, Hashable, Codable {
        public var at: Date
        /// `event` (a state change, a checkpoint...), `progress` (a training step) or `output` (a worker line).
        public var kind: String
        public var text: String
        public var attempt: Int?
        public var step: Int?
        public var loss: Double?
        public var tokensPerSecond: Double?

        enum CodingKeys: String, CodingKey {
            case at, kind, text, attempt, step, loss
            case tokensPerSecond = "tokens_per_s"
        }

        public init(at: Date, kind: String, text: String, attempt: Int? = nil, step: Int? = nil, loss: Double? = nil,
                    tokensPerSecond: Double? = nil) {
            self.at = at
            self.kind = kind
            self.text = text
            self.attempt = attempt
            self.step = step
            self.loss = loss
            self.tokensPerSecond = tokensPerSecond
        }
    }

    public var entries: [Entry]
    /// Pass back as `cursor` to get only what came after this page.
    public var cursor: String
    /// The job's state now: a follower stops once it is final and a page comes back empty.
    public var state: JobState
    /// The training steps the job asked for, when its spec says (for progress bars).
    public var steps: Int?

    public init(entries: [Entry], cursor: String, state: JobState, steps: Int?) {
        self.entries = entries
        self.cursor = cursor
        self.state = state
        self.steps = steps
    }
}
