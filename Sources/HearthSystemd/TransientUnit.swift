import CSystemd
import Foundation

/// A transient service started through systemd's D-Bus API (`StartTransientUnit` on
/// `org.freedesktop.systemd1`, over sd-bus): what `systemd-run` does, without a child process.
///
/// The unit's properties are given as D-Bus values (``Property``); afterwards the unit is
/// watched by polling its properties, signalled with `KillUnit`, and removed with `StopUnit`
/// and `ResetFailedUnit`. The system bus is used, so the caller needs root or a polkit rule
/// allowing `org.freedesktop.systemd1.manage-units` for these units.
public final class TransientUnit: Sendable {
    /// One property of the unit, as `StartTransientUnit` takes it.
    public enum Value: Sendable {
        case string(String)
        case bool(Bool)
        case uint64(UInt64)
        /// `u`, e.g. `StateDirectoryMode=`.
        case uint32(UInt32)
        /// `aay`, e.g. `LogExtraFields=` ("FIELD=value" each).
        case byteArrays([[UInt8]])
        case strings([String])
        /// A descriptor passed with the message (`h`), e.g. `StandardOutputFileDescriptor`.
        case descriptor(Int32)
        /// `DeviceAllow=`: (path, "rw") pairs, `a(ss)`.
        case devices([(String, String)])
        /// `ExecStart=`: program and whole argv, `a(sasb)`.
        case exec(path: String, argv: [String])
        /// `SetCredential=`: (name, bytes) pairs, `a(say)`.
        case credentials([(String, [UInt8])])
        /// `BindPaths=` / `BindReadOnlyPaths=`: (source, destination) pairs, `a(ssbt)` (neither
        /// ignored when missing nor recursive).
        case bindPaths([(source: String, destination: String)])
    }

    /// A D-Bus or systemd failure, with the operation and systemd's own message.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// How the unit stands now.
    public struct State: Sendable, Hashable {
        public var activeState: String
        public var subState: String
        /// `success`, `exit-code`, `signal`, `timeout`, `oom-kill`...
        public var result: String
        /// `CLD_EXITED` (1), `CLD_KILLED` (2) or `CLD_DUMPED` (3); 0 while it runs.
        public var mainCode: Int32
        public var mainStatus: Int32
        public var mainPID: UInt32
        /// When the unit first left `inactive` (`InactiveExitTimestampMonotonic`); 0 while its
        /// start job still waits in systemd's queue (slow under load, or for a DynamicUser= unit).
        public var leftInactiveAt: UInt64
        /// Whether systemd answered at all (a failed read is not an ended unit).
        public var answered: Bool
        public init(activeState: String, subState: String, result: String, mainCode: Int32, mainStatus: Int32, mainPID: UInt32,
                    leftInactiveAt: UInt64 = 1, answered: Bool = true) {
            self.activeState = activeState
            self.subState = subState
            self.result = result
            self.mainCode = mainCode
            self.mainStatus = mainStatus
            self.mainPID = mainPID
            self.leftInactiveAt = leftInactiveAt
            self.answered = answered
        }

        /// Whether the main process has ended: the unit is `failed` or `exited`, or `inactive`
        /// after it ran. A unit still `inactive` because its start job has not run yet has not.
        public var ended: Bool {
            guard answered else { return false }
            return activeState == "failed" || subState == "exited" || (activeState == "inactive" && leftInactiveAt != 0)
        }

        /// Still waiting for its start job (never left `inactive`).
        public var notStartedYet: Bool { answered && activeState == "inactive" && leftInactiveAt == 0 }
    }

    public let name: String
    private let bus: Bus

    private init(name: String, bus: Bus) {
        self.name = name
        self.bus = bus
    }

    /// The system bus connection, one call at a time (sd-bus objects are not thread-safe).
    final class Bus: @unchecked Sendable {
        private let lock = NSLock()
        private let handle: OpaquePointer
        init() throws {
            var b: OpaquePointer?
            let rc = sd_bus_open_system(&b)
            guard rc >= 0, let b else { throw Failure(description: "cannot connect to the system bus: \(String(cString: strerror(-rc)))") }
            handle = b
        }
        deinit { sd_bus_flush_close_unref(handle) }
        func with<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
            lock.lock()
            defer { lock.unlock() }
            return try body(handle)
        }
    }

    /// Starts a transient unit `name` (e.g. `hearth-job-7-1.service`) with `properties`; returns
    /// once systemd has accepted it (the start job runs on).
    public static func start(name: String, properties: [(String, Value)]) throws -> TransientUnit {
        let bus = try Bus()
        try bus.with { b in
            var m: OpaquePointer?
            try check(sd_bus_message_new_method_call(b, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                                     "org.freedesktop.systemd1.Manager", "StartTransientUnit"), "make the call")
            defer { sd_bus_message_unref(m) }
            try appendString(m, name)
            try appendString(m, "fail")
            try check(sd_bus_message_open_container(m, CChar(UInt8(ascii: "a")), "(sv)"), "open the properties")
            for (key, value) in properties { try append(m, key, value) }
            try check(sd_bus_message_close_container(m), "close the properties")
            try check(sd_bus_message_open_container(m, CChar(UInt8(ascii: "a")), "(sa(sv))"), "open the auxiliary units")
            try check(sd_bus_message_close_container(m), "close the auxiliary units")
            try call(b, m, "StartTransientUnit(\(name))")
        }
        return TransientUnit(name: name, bus: bus)
    }

    /// A unit started earlier (by an earlier life of this daemon), to stop and remove it.
    public static func existing(name: String) throws -> TransientUnit {
        TransientUnit(name: name, bus: try Bus())
    }

    /// Sends `signal` to `whom` (`all`, `main`) of the unit's processes.
    public func kill(_ signal: Int32, whom: String = "all") throws {
        try managerCall("KillUnit") { m in
            try Self.appendString(m, self.name)
            try Self.appendString(m, whom)
            var s = signal
            try Self.check(sd_bus_message_append_basic(m, CChar(UInt8(ascii: "i")), &s), "append the signal")
        }
    }

    /// Stops the unit (every process of it, KillMode=control-group) and forgets a failed result,
    /// so the unit is gone; errors (already gone) are ignored.
    public func remove() {
        try? managerCall("StopUnit") { m in
            try Self.appendString(m, self.name)
            try Self.appendString(m, "replace")
        }
        try? managerCall("ResetFailedUnit") { m in try Self.appendString(m, self.name) }
    }

    /// The unit's state now.
    public func state() throws -> State {
        try bus.with { b in
            var path: UnsafeMutablePointer<CChar>?
            try Self.check(sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path), "encode the unit path")
            defer { free(path) }
            func string(_ iface: String, _ member: String) -> String {
                var error = sd_bus_error(name: nil, message: nil, _need_free: 0)
                var out: UnsafeMutablePointer<CChar>?
                defer { sd_bus_error_free(&error); free(out) }
                guard sd_bus_get_property_string(b, "org.freedesktop.systemd1", path, iface, member, &error, &out) >= 0, let out else { return "" }
                return String(cString: out)
            }
            func trivial<T: FixedWidthInteger>(_ member: String, _ type: Character, _: T.Type,
                                                  iface: String = "org.freedesktop.systemd1.Service") -> T {
                var error = sd_bus_error(name: nil, message: nil, _need_free: 0)
                var out: T = 0
                defer { sd_bus_error_free(&error) }
                _ = sd_bus_get_property_trivial(b, "org.freedesktop.systemd1", path, iface, member,
                                                &error, CChar(type.asciiValue!), &out)
                return out
            }
            let active = string("org.freedesktop.systemd1.Unit", "ActiveState")
            return State(activeState: active.isEmpty ? "inactive" : active,
                         subState: string("org.freedesktop.systemd1.Unit", "SubState"),
                         result: string("org.freedesktop.systemd1.Service", "Result"),
                         mainCode: trivial("ExecMainCode", "i", Int32.self), mainStatus: trivial("ExecMainStatus", "i", Int32.self),
                         mainPID: trivial("MainPID", "u", UInt32.self),
                         leftInactiveAt: trivial("InactiveExitTimestampMonotonic", "t", UInt64.self, iface: "org.freedesktop.systemd1.Unit"),
                         answered: !active.isEmpty)
        }
    }

    /// CPU time the unit's processes used, in nanoseconds (`CPUUsageNSec`), if accounted.
    public func cpuUsageNanoseconds() -> UInt64? {
        try? bus.with { b in
            var path: UnsafeMutablePointer<CChar>?
            guard sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path) >= 0 else { return nil }
            defer { free(path) }
            var error = sd_bus_error(name: nil, message: nil, _need_free: 0)
            defer { sd_bus_error_free(&error) }
            var out: UInt64 = 0
            guard sd_bus_get_property_trivial(b, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Service", "CPUUsageNSec",
                                              &error, CChar(UInt8(ascii: "t")), &out) >= 0, out != UInt64.max else { return nil }
            return out
        }
    }

    // MARK: Message building

    private func managerCall(_ method: String, _ fill: (OpaquePointer?) throws -> Void) throws {
        try bus.with { b in
            var m: OpaquePointer?
            try Self.check(sd_bus_message_new_method_call(b, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                                          "org.freedesktop.systemd1.Manager", method), "make the call")
            defer { sd_bus_message_unref(m) }
            try fill(m)
            try Self.call(b, m, "\(method)(\(name))")
        }
    }

    private static func call(_ b: OpaquePointer, _ m: OpaquePointer?, _ what: String) throws {
        var error = sd_bus_error(name: nil, message: nil, _need_free: 0)
        var reply: OpaquePointer?
        defer { sd_bus_error_free(&error); sd_bus_message_unref(reply) }
        let rc = sd_bus_call(b, m, 30_000_000, &error, &reply)
        guard rc >= 0 else {
            let message = error.message.map { String(cString: $0) } ?? String(cString: strerror(-rc))
            throw Failure(description: "systemd refused \(what): \(message)")
        }
    }

    private static func check(_ rc: Int32, _ what: String) throws {
        guard rc >= 0 else { throw Failure(description: "sd-bus could not \(what): \(String(cString: strerror(-rc)))") }
    }

    private static func appendString(_ m: OpaquePointer?, _ s: String) throws {
        try s.withCString { try check(sd_bus_message_append_basic(m, CChar(UInt8(ascii: "s")), $0), "append \"\(s)\"") }
    }

    private static func append(_ m: OpaquePointer?, _ key: String, _ value: Value) throws {
        func open(_ type: Character, _ contents: String) throws {
            try check(sd_bus_message_open_container(m, CChar(type.asciiValue!), contents), "open \(type)\(contents) for \(key)")
        }
        func close() throws { try check(sd_bus_message_close_container(m), "close a container of \(key)") }
        try open("r", "sv")
        try appendString(m, key)
        switch value {
        case .string(let s):
            try open("v", "s"); try appendString(m, s); try close()
        case .bool(let b):
            var v: Int32 = b ? 1 : 0
            try open("v", "b"); try check(sd_bus_message_append_basic(m, CChar(UInt8(ascii: "b")), &v), "append \(key)"); try close()
        case .uint64(let n):
            var v = n
            try open("v", "t"); try check(sd_bus_message_append_basic(m, CChar(UInt8(ascii: "t")), &v), "append \(key)"); try close()
        case .uint32(let n):
            var v = n
            try open("v", "u"); try check(sd_bus_message_append_basic(m, CChar(UInt8(ascii: "u")), &v), "append \(key)"); try close()
        case .byteArrays(let arrays):
            try open("v", "aay"); try open("a", "ay")
            for bytes in arrays {
                try bytes.withUnsafeBytes { try check(sd_bus_message_append_array(m, CChar(UInt8(ascii: "y")), $0.baseAddress, $0.count), "append \(key)") }
            }
            try close(); try close()
        case .strings(let list):
            try open("v", "as"); try open("a", "s")
            for s in list { try appendString(m, s) }
            try close(); try close()
        case .descriptor(let fd):
            var v = fd
            try open("v", "h"); try check(sd_bus_message_append_basic(m, CChar(UInt8(ascii: "h")), &v), "append \(key)"); try close()
        case .devices(let pairs):
            try open("v", "a(ss)"); try open("a", "(ss)")
            for (path, access) in pairs { try open("r", "ss"); try appendString(m, path); try appendString(m, access); try close() }
            try close(); try close()
        case .exec(let path, let argv):
            try open("v", "a(sasb)"); try open("a", "(sasb)"); try open("r", "sasb")
            try appendString(m, path)
            try open("a", "s"); for a in argv { try appendString(m, a) }; try close()
            var ignoreFailure: Int32 = 0
            try check(sd_bus_message_append_basic(m, CChar(UInt8(ascii: "b")), &ignoreFailure), "append \(key)")
            try close(); try close(); try close()
        case .credentials(let pairs):
            try open("v", "a(say)"); try open("a", "(say)")
            for (name, bytes) in pairs {
                try open("r", "say"); try appendString(m, name)
                try bytes.withUnsafeBytes { try check(sd_bus_message_append_array(m, CChar(UInt8(ascii: "y")), $0.baseAddress, $0.count), "append \(key)") }
                try close()
            }
            try close(); try close()
        case .bindPaths(let pairs):
            try open("v", "a(ssbt)"); try open("a", "(ssbt)")
            for (source, destination) in pairs {
                try open("r", "ssbt"); try appendString(m, source); try appendString(m, destination)
                var ignoreMissing: Int32 = 0
                try check(sd_bus_message_append_basic(m, CChar(UInt8(ascii: "b")), &ignoreMissing), "append \(key)")
                var flags: UInt64 = 0
                try check(sd_bus_message_append_basic(m, CChar(UInt8(ascii: "t")), &flags), "append \(key)")
                try close()
            }
            try close(); try close()
        }
        try close()
    }
}
