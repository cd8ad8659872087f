import CSystemd
import Foundation

/// Listening sockets handed over by systemd (`.socket` units, `sd_listen_fds`).
public enum SocketActivation {
    /// A listening socket systemd passed to this process.
    public struct Socket: Sendable, Hashable {
        /// The descriptor (3 or above), close-on-exec.
        public var descriptor: Int32
        /// Its `FileDescriptorName=` (`"unknown"` when the unit sets none).
        public var name: String
    }

    /// Takes the listening Unix stream sockets passed by systemd, if any.
    ///
    /// libsystemd checks `LISTEN_PID` against our pid, marks the descriptors close-on-exec and
    /// unsets `LISTEN_*`, so worker processes inherit neither. Call it once, early; the sockets
    /// stay owned by systemd: close the descriptor when done, but never unlink the path.
    public static func takeListeningSockets() -> [Socket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return [] }
        defer {
            if let names {
                for i in 0..<Int(count) { free(names[i]) }
                free(names)
            }
        }
        var sockets: [Socket] = []
        for i in 0..<Int(count) {
            let fd = SD_LISTEN_FDS_START + Int32(i)
            let name = names?[i].map { String(cString: $0) } ?? "unknown"
            // Only a listening AF_UNIX stream socket is something hearthd can serve on.
            if sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0 {
                sockets.append(Socket(descriptor: fd, name: name))
            }
        }
        return sockets
    }

    /// The socket named `name`, or the only one passed; `nil` when not socket-activated.
    public static func takeControlSocket(named name: String = "control") -> Socket? {
        let sockets = takeListeningSockets()
        return sockets.first { $0.name == name } ?? (sockets.count == 1 ? sockets[0] : nil)
    }
}
