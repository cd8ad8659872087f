import Foundation

/// The keys of a JSON object, read without decoding its values: how a request body is checked for
/// unknown fields before the one decode of its fields (decoding the whole body into a `JSONValue`
/// first cost as much again: a `JSONValue` is decoded by trying each JSON type in turn).
struct JSONObjectKeys: Decodable {
    var keys: Set<String>

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        keys = Set(try decoder.container(keyedBy: Key.self).allKeys.map(\.stringValue))
    }

    /// What a body that is not a JSON object is refused with.
    enum Refusal: Error { case notJSON, notAnObject }

    /// The body's keys; throws ``Refusal`` for a body that is not JSON or not an object.
    static func of(_ data: Data) throws(Refusal) -> Set<String> {
        do { return try JSONDecoder().decode(JSONObjectKeys.self, from: data).keys } catch {
            if case .dataCorrupted = error as? DecodingError { throw .notJSON }
            throw .notAnObject
        }
    }
}
