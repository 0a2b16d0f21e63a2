import Foundation
import GitKit
import XCTest
@testable import KwardenBackports

final class TreeCheckerTests: XCTestCase {
    func testTreeWrittenFromTheVendorBranch() throws {
        let repos = try ScenarioRepositories.separateRepositories()
        let s = repos.scenario
        let vendor = try Repository(open: repos.vendorPath)
        let tree = repos.scratch.sub("vendor-drop")
        try vendor.export(tree: try vendor.commit(s.vendorTip).treeId, to: tree)

        let keys = ["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F9", "F11"]
        let report = try TreeChecker(options: TreeOptions(treePath: tree, upstreamPath: repos.upstreamPath!))
            .run(.requests(keys.map { FixRequest(id: s.upstream[$0]!.short(12)) }))
        let statuses = Dictionary(uniqueKeysWithValues: zip(keys, report.fixes.map(\.status)))
        XCTAssertEqual(statuses, [
            "F1": .applied, "F2": .applied,
            "F3": .applied,        // over changed context: found near it
            "F4": .notApplied,     // backported, then reverted
            "F5": .notNeeded,      // the bug (B) is not in the tree either
            "F6": .notApplied, "F7": .notApplied,
            "F9": .notApplied,     // same subject, other change: the tree shows the difference
            "F11": .notApplied,    // picked, then undone
        ])
        let f2 = report.fixes[1]
        XCTAssertEqual(f2.evidence, [Evidence(commit: nil, line: "applied: synchronize_rcu();", file: Scenario.paths.netpoll,
                                              lineNumber: 24)])
        let f4 = report.fixes[3]
        XCTAssertEqual(f4.evidence.first?.file, Scenario.paths.util)
        XCTAssertEqual(f4.evidence.first?.lineNumber, 8)
        XCTAssertEqual(f4.evidence.first?.line, "not-applied: still there: statement_8(util);")
        XCTAssertEqual(report.summary.applied, 3)
        XCTAssertEqual(report.summary.notApplied, 5)
        XCTAssertEqual(report.summary.notNeeded, 1)
        XCTAssertTrue(report.hasMissingNeededFix)
    }

    func testTreeWrittenFromUpstreamHasEveryFix() throws {
        let repos = try ScenarioRepositories.separateRepositories()
        let upstream = try Repository(open: repos.upstreamPath!)
        let tree = repos.scratch.sub("upstream-drop")
        try upstream.export(tree: try upstream.commit(repos.scenario.upstreamTip).treeId, to: tree)
        let report = try TreeChecker(options: TreeOptions(treePath: tree, upstreamPath: repos.upstreamPath!))
            .run(.range("\(repos.scenario.base.a.hex)..master"))
        XCTAssertEqual(report.fixes.count, 10)
        XCTAssertEqual(report.fixes.filter { $0.status != .applied }.map(\.subject), [])
        XCTAssertFalse(report.hasMissingNeededFix)
    }

    func testPartialMissingFileAndRewrittenCode() throws {
        let scratch = try ScratchDirectory()
        let repository = try Repository(initAt: scratch.sub("linux"))
        let builder = HistoryBuilder(repository)
        let one = SourceFile(name: "one"), two = SourceFile(name: "two")
        let base = try builder.commit(["one.c": one.text, "two.c": two.text], parents: [], message: "base\n", branch: "main")
        let fixedOne = one.replacing(10, with: ["\tcheck_one();"]), fixedTwo = two.replacing(10, with: ["\tcheck_two();"])
        let fix = try builder.commit(["one.c": fixedOne.text, "two.c": fixedTwo.text], parents: [base],
                                     message: "fix both\n", branch: "main")
        try repository.setHead("refs/heads/main")

        func verdict(_ files: [String: String]) throws -> FixReport {
            let tree = scratch.sub(UUID().uuidString)
            try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
            for (path, text) in files { try text.write(toFile: tree + "/" + path, atomically: true, encoding: .utf8) }
            return try TreeChecker(options: TreeOptions(treePath: tree, upstreamPath: scratch.sub("linux")))
                .run(.requests([FixRequest(id: fix.hex)])).fixes[0]
        }
        XCTAssertEqual(try verdict(["one.c": fixedOne.text, "two.c": two.text]).status, .partial)
        XCTAssertEqual(try verdict(["one.c": fixedOne.text, "two.c": fixedTwo.text]).status, .applied)
        XCTAssertEqual(try verdict(["one.c": one.text, "two.c": two.text]).status, .notApplied)
        let missingFile = try verdict(["one.c": one.text])
        XCTAssertEqual(missingFile.status, .unknown)
        XCTAssertTrue(missingFile.evidence.contains { $0.file == "two.c" && $0.line == "file missing" })
        let rewritten = SourceFile(name: "rewritten")
        XCTAssertEqual(try verdict(["one.c": rewritten.text, "two.c": rewritten.text]).status, .unknown)
    }

    func testTreeModeBadInput() throws {
        let scratch = try ScratchDirectory()
        XCTAssertThrowsError(try TreeChecker(options: TreeOptions(treePath: scratch.sub("nope"), upstreamPath: scratch.path))) {
            XCTAssertTrue(($0 as? BackportError)?.message.contains("does not exist") ?? false)
        }
        XCTAssertThrowsError(try TreeChecker(options: TreeOptions(treePath: scratch.path, upstreamPath: scratch.path))) {
            XCTAssertTrue(($0 as? BackportError)?.message.contains("is not a git repository") ?? false)
        }
    }
}
