import Foundation
import GitKit
import XCTest

/// A scratch directory removed when the test case ends.
final class ScratchDirectory {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("kwarden-backports-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func sub(_ name: String) -> String { path + "/" + name }
}

/// Builds history with libgit2 through GitKit. Commits are deterministic (fixed names, a clock that advances
/// one minute per commit), so replaying the same steps in two repositories yields the same ids.
final class HistoryBuilder {
    let repository: Repository
    private(set) var clock: Int64 = 1_700_000_000

    init(_ repository: Repository) { self.repository = repository }

    /// Commits `files` (the whole tree) on top of `parents`, moving `branch` to the new commit.
    @discardableResult
    func commit(_ files: [String: String], parents: [Oid], message: String, branch: String,
                author: String = "Upstream Dev", executable: Set<String> = []) throws -> Oid {
        clock += 60
        let tree = try repository.writeTree(files: files, executable: executable)
        let signature = Signature(name: author, email: author.lowercased().replacingOccurrences(of: " ", with: ".") + "@example.org",
                                  time: clock)
        return try repository.createCommit(tree: tree, parents: parents, message: message, author: signature,
                                           updateRef: "refs/heads/" + branch)
    }
}

/// A numbered C-like source file whose lines tests replace one by one.
struct SourceFile {
    var lines: [String]

    init(name: String, count: Int = 40) {
        lines = (1...count).map { "\tstatement_\($0)(\(name));" }
    }

    var text: String { lines.joined(separator: "\n") + "\n" }

    func replacing(_ lineNumber: Int, with newLines: [String]) -> SourceFile {
        var copy = self
        copy.lines.replaceSubrange((lineNumber - 1)...(lineNumber - 1), with: newLines)
        return copy
    }

    func inserting(_ newLines: [String], after lineNumber: Int) -> SourceFile {
        var copy = self
        copy.lines.insert(contentsOf: newLines, at: lineNumber)
        return copy
    }
}

/// Runs a command for verification only (the engine never shells out).
func runProcess(_ arguments: [String], in directory: String? = nil, input: String? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = Pipe()
    let inputPipe = Pipe()
    process.standardInput = inputPipe
    try process.run()
    if let input { inputPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try inputPipe.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
