import Foundation
import Trainer

/// Reads data files: JSON Lines (one object per line, blank lines skipped) and JSON documents.
enum DataFile {
    /// The objects of a JSONL file with their 1-based line numbers.
    static func jsonLines(_ path: String) throws(TrainerError) -> [(line: Int, object: [String: Any])] {
        let text = try self.text(path)
        var out: [(Int, [String: Any])] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy(\.isWhitespace) { continue }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw .badInput("\(path):\(i + 1): not a JSON object (JSONL wants one object per line)")
            }
            out.append((i + 1, obj))
        }
        return out
    }

    /// A JSON document.
    static func json(_ path: String) throws(TrainerError) -> Any {
        let bytes = try FileIO.read(path)
        guard let obj = try? JSONSerialization.jsonObject(with: Data(bytes)) else { throw .badInput("\(path) is not valid JSON") }
        return obj
    }

    /// A UTF-8 text file.
    static func text(_ path: String) throws(TrainerError) -> String {
        let bytes = try FileIO.read(path)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .badInput("\(path) is not UTF-8 text") }
        return text
    }

    /// A string field of a JSONL record, or a clear error naming the file, line and field.
    static func string(_ obj: [String: Any], _ key: String, _ path: String, _ line: Int) throws(TrainerError) -> String {
        guard let s = obj[key] as? String else { throw .badInput("\(path):\(line): field \"\(key)\" must be a string") }
        return s
    }
}
