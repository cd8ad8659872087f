import CSpawn
import Foundation

extension ChildProcess {
    /// Starts a job's program (fork and exec, see `hearth_spawn_as`): in a new process group, in
    /// the cgroups whose `cgroup.procs` files are open as `cgroupProcs`, as `user` (`nil` keeps
    /// this process's identity), with exactly `environment` (nothing of ours is inherited).
    ///
    /// The working directory is entered after the identity is dropped, so it must be the user's to enter.
    public static func spawnIsolated(
        _ executable: String, _ arguments: [String], environment: [String: String], descriptors: [Int32?],
        user: UnixUser?, cgroupProcs: [Int32] = [], workingDirectory: String? = nil
    ) throws -> ChildProcess {
        let path = try resolve(executable)
        let env = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        var stage: Int32 = 0
        let groups = user?.groups ?? []
        let rc = withCStringArray([path] + arguments) { argv in
            withCStringArray(env) { envp in
                descriptors.map { $0 ?? -1 }.withUnsafeBufferPointer { fds in
                    cgroupProcs.withUnsafeBufferPointer { cg in
                        groups.withUnsafeBufferPointer { gids in
                            if let user {
                                var cred = hearth_credentials(uid: user.uid, gid: user.gid, groups: gids.baseAddress,
                                                              ngroups: Int32(gids.count))
                                return hearth_spawn_as(path, argv, envp, fds.baseAddress, Int32(fds.count), workingDirectory,
                                                       &cred, cg.baseAddress, Int32(cg.count), &pid, &stage)
                            }
                            return hearth_spawn_as(path, argv, envp, fds.baseAddress, Int32(fds.count), workingDirectory,
                                                   nil, cg.baseAddress, Int32(cg.count), &pid, &stage)
                        }
                    }
                }
            }
        }
        guard rc == 0 else {
            let step = [1: "join its cgroup", 2: "make its process group", 3: "set up its descriptors",
                        4: "set its groups", 5: "set its group id", 6: "set its user id",
                        7: "enter its working directory \(workingDirectory ?? "")", 8: "execute it"][Int(stage)] ?? "fork"
            let who = user.map { " as \($0)" } ?? ""
            throw SpawnError(message: "cannot start \(path)\(who): could not \(step): \(String(cString: strerror(rc)))")
        }
        return ChildProcess(pid: pid, leadsGroup: true)
    }
}
