import ArgumentParser
import Foundation
import ClangKit
import KwardenCore
import KwardenRules
import RuleKit

struct KwardenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kwarden",
        abstract: "Find kernel bug patterns on the libclang AST, and check vendor kernels for upstream fixes.",
        discussion: "Exit status: 0 nothing found, 1 findings (or missing fixes), 2 usage error or nothing could be scanned.",
        version: Kwarden.version,
        subcommands: [ScanCommand.self, RulesCommand.self, ExplainCommand.self, BackportsCommand.self, GateCommand.self, MergeCommand.self, CacheCommand.self, WorkerCommand.self, AstCommand.self]
    )
}

ClangIndex.parseOnCallingThread()

/// ArgumentParser exits 64 on usage errors; kwarden's contract with CI is 2.
do {
    var command = try KwardenCommand.parseAsRoot()
    try command.run()
} catch let exit as ExitCode {
    Foundation.exit(exit.rawValue)
} catch {
    let code = KwardenCommand.exitCode(for: error)
    let message = KwardenCommand.fullMessage(for: error)
    if code == .success {
        print(message)
        Foundation.exit(0)
    }
    FileHandle.standardError.write(Data(("kwarden: " + message + "\n").utf8))
    Foundation.exit(2)
}
