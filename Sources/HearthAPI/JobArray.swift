#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A job array's indexes in Slurm's `--array` syntax: `0-999`, `0-15:4` (a step), `1,3,5`, any
/// mix of these separated by commas, and an optional `%N` at the end (at most N elements
/// scheduled or running at once).
public struct ArraySpec: Sendable, Hashable {
    /// The indexes, ascending, each once.
    public var indexes: [Int]
    /// `%N`: at most this many elements at once; `nil` = no limit.
    public var parallel: Int?

    /// The most elements one array may have (a request carries them all).
    public static let maxElements = 10_000
    /// The largest index (Slurm's default MaxArraySize allows 0-1000; Hearth allows more).
    public static let maxIndex = 9_999_999

    public init(indexes: [Int], parallel: Int? = nil) {
        self.indexes = indexes
        self.parallel = parallel
    }

    /// A refused `--array` text; `message` says what was wrong and how to write it.
    public struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Parses Slurm's syntax.
    public init(parsing text: String) throws(SyntaxError) {
        func bad(_ what: String) -> SyntaxError {
            SyntaxError(message: "--array \"\(text)\": \(what); write ranges like 0-999, steps like 0-15:4, lists like 1,3,5, and an optional %N limit (0-999%10)")
        }
        var body = Substring(text.filter { $0 != " " })
        var parallel: Int?
        if let percent = body.firstIndex(of: "%") {
            let limit = body[body.index(after: percent)...]
            guard let n = Int(limit), n >= 1 else { throw bad("the limit after % must be a whole number of at least 1, not \"\(limit)\"") }
            parallel = n
            body = body[..<percent]
        }
        guard !body.isEmpty else { throw bad("no indexes given") }
        // Parts that each start above the last one's end (`0-999`, `1,3,5`, `0-9,20-29`) are
        // already ascending and unique, and go straight into `ordered`; a set and a sort are
        // needed only once parts overlap or come out of order. Hashing and sorting a plain
        // `0-999` had been two thirds of `hearth submit --array`'s instructions.
        var ordered: [Int] = []
        var seen: Set<Int>?
        for part in body.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw bad("an empty item between commas") }
            var range = part
            var step = 1
            if let colon = part.firstIndex(of: ":") {
                let stepText = part[part.index(after: colon)...]
                guard let s = Int(stepText), s >= 1 else { throw bad("the step after : must be a whole number of at least 1, not \"\(stepText)\"") }
                step = s
                range = part[..<colon]
            }
            let bounds = range.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count <= 2, let low = Int(bounds[0]), let high = Int(bounds.last!) else {
                throw bad("\"\(part)\" is not an index or a range of indexes (negative indexes are not allowed)")
            }
            if bounds.count == 1 && step != 1 { throw bad("\"\(part)\" has a step but no range") }
            guard low >= 0, high <= Self.maxIndex else { throw bad("indexes go from 0 to \(Self.maxIndex)") }
            guard low <= high else { throw bad("the range \(range) goes backwards; write \(high)-\(low)") }
            let tooMany = bad("an array has at most \(Self.maxElements) elements")
            if seen == nil, ordered.last.map({ $0 < low }) ?? true {
                guard ordered.count + (high - low) / step + 1 <= Self.maxElements else { throw tooMany }
                ordered.append(contentsOf: stride(from: low, through: high, by: step))
                continue
            }
            if seen == nil { seen = Set(ordered) }
            for i in stride(from: low, through: high, by: step) {
                seen!.insert(i)
                if seen!.count > Self.maxElements { throw tooMany }
            }
        }
        self.indexes = seen?.sorted() ?? ordered
        self.parallel = parallel
    }

    /// Slurm's compact form of indexes: `0-3,7,9-10` (ascending input, each once).
    public static func compress(_ indexes: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < indexes.count {
            var j = i
            while j + 1 < indexes.count && indexes[j + 1] == indexes[j] + 1 { j += 1 }
            parts.append(j == i ? "\(indexes[i])" : "\(indexes[i])-\(indexes[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// The text a spec or name becomes for element `index`: `"{index}"` as a whole JSON string
    /// becomes the number (`"seed": "{index}"` → `"seed": 7`), and `{index}` inside a string
    /// becomes its digits (`"out/run-{index}"` → `"out/run-7"`).
    public static func substitute(_ json: String, index: Int) -> String {
        json.replacing("\"{index}\"", with: "\(index)").replacing("{index}", with: "\(index)")
    }
}

/// A job as people name it on the command line: `12` (a job, or a whole array by its id) or
/// `12_7` (element 7 of array 12), as Slurm writes them.
public struct JobReference: Sendable, Hashable, CustomStringConvertible {
    public var id: Int64
    public var arrayIndex: Int?

    public init(id: Int64, arrayIndex: Int? = nil) {
        self.id = id
        self.arrayIndex = arrayIndex
    }

    /// `nil` when the text is neither `ID` nor `ID_INDEX`.
    public init?(_ text: String) {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count <= 2, let id = Int64(parts[0]), id > 0 else { return nil }
        if parts.count == 2 {
            guard let index = Int(parts[1]), index >= 0 else { return nil }
            self.init(id: id, arrayIndex: index)
        } else {
            self.init(id: id)
        }
    }

    public var description: String { arrayIndex.map { "\(id)_\($0)" } ?? "\(id)" }
}

/// Some elements of an array as `hearth queue` prints an array's queued ones and `scancel` takes
/// them: `12_[1-3,7]` (Slurm's index syntax between the brackets, without a `%` limit).
public struct ArrayElementsReference: Sendable, Hashable, CustomStringConvertible {
    public var arrayID: Int64
    /// The indexes as written between the brackets; ``parsed()`` checks them.
    public var indexes: String

    /// `nil` unless the text has the form `ID_[...]`.
    public init?(_ text: String) {
        guard text.hasSuffix("]"), let open = text.firstIndex(of: "["), open > text.startIndex,
              text[text.index(before: open)] == "_", let id = Int64(text[..<text.index(before: open)]), id > 0 else { return nil }
        arrayID = id
        indexes = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
    }

    public init(arrayID: Int64, indexes: String) {
        self.arrayID = arrayID
        self.indexes = indexes
    }

    /// The indexes, ascending, or a sentence saying what is wrong with them.
    public func parsed() throws(ArraySpec.SyntaxError) -> [Int] {
        guard !indexes.contains("%") else {
            throw ArraySpec.SyntaxError(message: "\(self): a % limit is given at submission (--array); name the elements alone, like \(arrayID)_[1-3,7]")
        }
        do { return try ArraySpec(parsing: indexes).indexes } catch {
            throw ArraySpec.SyntaxError(message: error.message.replacing("--array \"\(indexes)\"", with: "\(self)"))
        }
    }

    public var description: String { "\(arrayID)_[\(indexes)]" }
}

/// The body of `POST /v1/arrays/{id}/cancel` when it cancels some elements only.
public struct ArrayCancelRequest: Sendable, Hashable, Codable {
    /// The elements' indexes in Slurm's syntax (`1-3,7`, `0-99:2`); absent: every element.
    public var indexes: String?

    public init(indexes: String?) {
        self.indexes = indexes
    }
}

/// `POST /v1/jobs/{id}/cancel` on a whole array: what happened to its elements.
public struct ArrayCancelResponse: Sendable, Hashable, Codable {
    public var arrayID: Int64
    /// Queued (and scheduled) elements now cancelled.
    public var cancelled: Int
    /// Running elements whose nodes are stopping them.
    public var requested: Int
    /// Elements that had already finished.
    public var alreadyFinished: Int

    enum CodingKeys: String, CodingKey {
        case cancelled, requested
        case arrayID = "array_id"
        case alreadyFinished = "already_finished"
    }

    public init(arrayID: Int64, cancelled: Int, requested: Int, alreadyFinished: Int) {
        self.arrayID = arrayID
        self.cancelled = cancelled
        self.requested = requested
        self.alreadyFinished = alreadyFinished
    }
}

/// `POST /v1/arrays`: a submission (every field of ``SubmitRequest``) plus `"array"` in
/// Slurm's syntax (``ArraySpec``); `{index}` in the spec and name becomes each element's index.
public struct ArraySubmitRequest: Sendable, Hashable, Codable {
    public var submission: SubmitRequest
    public var array: String

    /// The field names an array submission may carry.
    public static let fieldNames = SubmitRequest.fieldNames.union(["array"])

    public init(submission: SubmitRequest, array: String) {
        self.submission = submission
        self.array = array
    }

    enum CodingKeys: String, CodingKey { case array }

    public init(from decoder: any Decoder) throws {
        submission = try SubmitRequest(from: decoder)
        array = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .array)
    }

    public func encode(to encoder: any Encoder) throws {
        try submission.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(array, forKey: .array)
    }
}
