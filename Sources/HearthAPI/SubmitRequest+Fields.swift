/// A submission read from a JSON object already parsed (``JSONValue/init(parsing:)``), without a
/// second decode: the fields as `Decodable` reads them (a `null` is an absent field), a wrong type
/// refused with a sentence that names the field.
extension SubmitRequest {
    /// A field of the wrong type, or `kind` missing: ``message`` names the field.
    public struct FieldError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public init(object o: [String: JSONValue]) throws(FieldError) {
        guard let kind = try Self.string(o, "kind") else { throw FieldError(message: "\"kind\" is required") }
        self.init(kind: kind)
        name = try Self.string(o, "name")
        spec = o["spec"].flatMap { $0 == .null ? nil : $0 }
        gpus = try Self.int(o, "gpus")
        priority = try Self.int(o, "priority")
        qos = try Self.string(o, "qos")
        maxAttempts = try Self.int(o, "max_attempts")
        idempotencyKey = try Self.string(o, "idempotency_key")
        switch o["after_ok"] {
        case nil, .null?: afterOK = nil
        case .array(let ids)?:
            var out: [Int64] = []
            for (i, id) in ids.enumerated() {
                guard let n = Self.whole(id) else { throw Self.wrong("after_ok.\(i)", "a job id (a whole number)", id) }
                out.append(n)
            }
            afterOK = out
        case let other?: throw Self.wrong("after_ok", "a list of job ids", other)
        }
        timeLimit = try Self.int(o, "time_limit")
        switch o["preemptible"] {
        case nil, .null?: preemptible = nil
        case .bool(let b)?: preemptible = b
        case let other?: throw Self.wrong("preemptible", "true or false", other)
        }
        gpuModel = try Self.string(o, "gpu_model")
        gpuMemoryMiB = try Self.int(o, "gpu_memory_mib")
    }

    private static func string(_ o: [String: JSONValue], _ key: String) throws(FieldError) -> String? {
        switch o[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let other?: throw wrong(key, "a string", other)
        }
    }

    private static func int(_ o: [String: JSONValue], _ key: String) throws(FieldError) -> Int? {
        guard let v = o[key], v != .null else { return nil }
        guard let n = whole(v) else { throw wrong(key, "a whole number", v) }
        return Int(n)
    }

    /// A number with no fraction that a `Double` holds exactly (|n| ≤ 2^53).
    private static func whole(_ v: JSONValue) -> Int64? {
        guard case .number(let n) = v, n.rounded() == n, abs(n) <= 9_007_199_254_740_992 else { return nil }
        return Int64(n)
    }

    private static func wrong(_ key: String, _ expected: String, _ found: JSONValue) -> FieldError {
        let what: String
        switch found {
        case .null: what = "null"
        case .bool: what = "true or false"
        case .number(let n): what = "the number \(n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : n.description)"
        case .string: what = "a string"
        case .array: what = "a list"
        case .object: what = "an object"
        }
        return FieldError(message: "\"\(key)\" must be \(expected), not \(what)")
    }
}
