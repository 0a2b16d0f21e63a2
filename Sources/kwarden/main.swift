import ArgumentParser
import KwardenCore

struct KwardenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kwarden",
        abstract: "Find kernel bug patterns on the libclang AST, and check vendor kernels for upstream fixes.",
        version: Kwarden.version,
        subcommands: [BackportsCommand.self]
    )
}

KwardenCommand.main()
