import CSpawn
import Glibc

/// Capabilities systemd gives a daemon (`AmbientCapabilities=`) are inherited by every program
/// it executes. hearthd keeps its own (CAP_DAC_READ_SEARCH, to read a job unit's checkpoints)
/// and gives none to its jobs or its PostgreSQL.
public enum AmbientCapabilities {
    /// Empties the ambient set; call before starting any child. Throws with errno's text.
    public static func clear() throws {
        let rc = hearth_clear_ambient_capabilities()
        // EINVAL: a kernel older than 4.3 has no ambient set, so there is nothing to inherit.
        guard rc == 0 || rc == EINVAL else {
            throw ChildProcess.SpawnError(message: "cannot clear the ambient capabilities: \(String(cString: strerror(rc)))")
        }
    }
}
