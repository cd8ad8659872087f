// hearth-worker: the process `hearthd` runs for each job (see Docs/worker-contract.md).
import ArgumentParser
import Foundation
import Trainer
#if canImport(Glibc)
import Glibc
#endif

do {
    var command = try Worker.parseAsRoot()
    try command.run()
} catch {
    let code = Worker.exitCode(for: error)
    if code == .success {
        print(Worker.fullMessage(for: error))
        exit(0)
    }
    let message = Worker.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
    FileHandle.standardError.write(Data("hearth-worker: bad input: \(message)\n".utf8))
    exit(Trainer.ExitCode.badInput)
}
