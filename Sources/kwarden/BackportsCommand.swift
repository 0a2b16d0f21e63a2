import ArgumentParser
import KwardenBackports

/// `kwarden backports`: owned by the backport checker (issue 3).
struct BackportsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backports",
        abstract: "Check whether upstream fix commits are present in a vendor kernel.")
    func run() throws { print(Backports.engineVersion) }
}
