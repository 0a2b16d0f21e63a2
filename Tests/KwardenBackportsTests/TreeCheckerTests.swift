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

    /// One upstream repository and a way to judge a fix against hand-written tree files.
    final class TreeCase {
        let scratch: ScratchDirectory
        let repository: Repository
        let builder: HistoryBuilder
        var tip: Oid?

        init() throws {
            scratch = try ScratchDirectory()
            repository = try Repository(initAt: scratch.sub("linux"))
            builder = HistoryBuilder(repository)
        }

        @discardableResult
        func commit(_ files: [String: String], _ message: String) throws -> Oid {
            tip = try builder.commit(files, parents: tip.map { [$0] } ?? [], message: message, branch: "main")
            try repository.setHead("refs/heads/main")
            return tip!
        }

        func verdicts(_ fixes: [Oid], tree files: [String: String]) throws -> [FixReport] {
            let tree = scratch.sub(UUID().uuidString)
            for (path, text) in files {
                let full = tree + "/" + path
                try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try text.write(toFile: full, atomically: true, encoding: .utf8)
            }
            return try TreeChecker(options: TreeOptions(treePath: tree, upstreamPath: scratch.sub("linux")))
                .run(.requests(fixes.map { FixRequest(id: $0.hex) })).fixes
        }
    }

    /// A hunk that removes lines up to the end of a file has no trailing context: it is applied only when the
    /// file ends where the fix makes it end, never on its leading context alone.
    func testRemovalUpToTheEndOfAFile() throws {
        let body = SourceFile(name: "legacy").lines.joined(separator: "\n") + "\n"
        let tail = "/* legacy interface */\nlegacy_one();\nlegacy_two();\n"
        let treeCase = try TreeCase()
        try treeCase.commit(["drivers/old.c": body + tail], "base\n")
        let fix = try treeCase.commit(["drivers/old.c": body + "/* legacy interface */\n"], "drivers: drop the legacy calls\n")
        let stillThere = try treeCase.verdicts([fix], tree: ["drivers/old.c": body + tail])[0]
        XCTAssertEqual(stillThere.status, .notApplied)
        XCTAssertEqual(stillThere.evidence.first?.line, "not-applied: still there: legacy_one();")
        XCTAssertEqual(stillThere.evidence.first?.lineNumber, 42)
        XCTAssertEqual(try treeCase.verdicts([fix], tree: ["drivers/old.c": body + "/* legacy interface */\n"])[0].status,
                       .applied)
        // CRLF line ends in the tree do not change the answer.
        let crlf = (body + tail).replacingOccurrences(of: "\n", with: "\r\n")
        XCTAssertEqual(try treeCase.verdicts([fix], tree: ["drivers/old.c": crlf])[0].status, .notApplied)
    }

    /// Context made only of generic lines (`if (x)`, `return;`, `else`, `}`) occurs in every function: the hunk is
    /// found by the line it adds, not by the first `else` of the file.
    func testGenericContextLines() throws {
        func function(_ n: Int, cleanup: String = "cleanup();", early: String = "return;") -> [String] {
            ["void f_\(n)(void)", "{", "\tsetup_\(n)();", "\tif (x)", "\t\t\(early)", "\telse", "\t\t\(cleanup)", "\treturn;", "}", ""]
        }
        func file(_ changed: [Int: [String]] = [:]) -> String {
            (0..<12).flatMap { changed[$0] ?? function($0) }.joined(separator: "\n") + "\n"
        }
        let treeCase = try TreeCase()
        try treeCase.commit(["kernel/gen.c": file()], "base\n")
        let fix = try treeCase.commit(["kernel/gen.c": file([8: function(8, cleanup: "cleanup_checked();")])],
                                      "kernel: check cleanup in f_8\n")
        // The vendor changed a context line of f_8 too: no exact block, and every other function has the old line.
        let vendor = file([8: function(8, cleanup: "cleanup_checked();", early: "return; /* vendor */")])
        let applied = try treeCase.verdicts([fix], tree: ["kernel/gen.c": vendor])[0]
        XCTAssertEqual(applied.status, .applied, "\(applied.evidence)")
        XCTAssertEqual(applied.evidence.first?.lineNumber, 87)
        let notApplied = try treeCase.verdicts([fix], tree: ["kernel/gen.c": file([8: function(8, early: "return; /* vendor */")])])[0]
        XCTAssertEqual(notApplied.status, .notApplied, "\(notApplied.evidence)")
    }

    /// A hunk of which neither the old nor the new lines are there is unknown (the code was rewritten), not
    /// partial; a fix of a bug the tree never had is then not needed.
    func testNeitherSideIsThere() throws {
        let path = "net/sock.c"
        let base = SourceFile(name: "sock")
        let treeCase = try TreeCase()
        try treeCase.commit([path: base.text], "base\n")
        let bug = try treeCase.commit([path: base.replacing(20, with: ["\tret = sock_fast(sk);"]).text], "net: fast path\n")
        let fix = try treeCase.commit([path: base.replacing(20, with: ["\tif (!sk)", "\t\treturn -EINVAL;", "\tret = sock_checked(sk);"]).text],
                                      "net: check sk\n\nFixes: \(bug.short(12)) (\"net: fast path\")\n")
        let rewritten = base.replacing(20, with: ["\tret = sock_vendor(sk);"]).text
        let reports = try treeCase.verdicts([fix, bug], tree: [path: rewritten])
        XCTAssertEqual(reports[1].status, .unknown)
        XCTAssertTrue(reports[1].evidence.first?.line.hasPrefix("unknown: neither the old nor the new lines are there") ?? false,
                      "\(reports[1].evidence)")
        XCTAssertEqual(reports[0].status, .unknown)
        // Without the bug (line 20 as before it), the fix is not needed.
        let never = try treeCase.verdicts([fix], tree: [path: base.text])[0]
        XCTAssertEqual(never.status, .notNeeded)
        XCTAssertEqual(never.fixes.first?.shipped, false)
    }

    /// A backport that took only the code part of a fix is applied; its test file does not decide.
    func testCodeOnlyBackportIsApplied() throws {
        let code = "drivers/net/phy.c", test = "tools/testing/selftests/net/phy.sh"
        let treeCase = try TreeCase()
        let codeFile = SourceFile(name: "phy"), testFile = SourceFile(name: "phy_test")
        try treeCase.commit([code: codeFile.text, test: testFile.text], "base\n")
        let fixedCode = codeFile.replacing(10, with: ["\tphy_lock(phydev);"]).text
        let fix = try treeCase.commit([code: fixedCode, test: testFile.replacing(5, with: ["\tcheck_lock"]).text], "net: phy: lock\n")
        let report = try treeCase.verdicts([fix], tree: [code: fixedCode, test: testFile.text])[0]
        XCTAssertEqual(report.status, .applied)
        XCTAssertEqual(report.evidence.last?.line, "applied without its test or documentation changes")
    }

    /// A fix whose lines a later checked fix changed is applied when that later fix is (and not applied when the
    /// later commit that is applied reverts it).
    func testFixesSettledByTheirFollowers() throws {
        let path = "mm/slab.c"
        let base = SourceFile(name: "slab")
        let treeCase = try TreeCase()
        let bug = try treeCase.commit([path: base.text], "base\n")
        let fix = try treeCase.commit([path: base.replacing(10, with: ["\tif (!s)", "\t\treturn;", "\tslab_free(s);"]).text],
                                      "mm: check s\n\nFixes: \(bug.short(12)) (\"base\")\n")
        let fixOfFix = try treeCase.commit([path: base.replacing(10, with: ["\tif (!s || !s->cache)", "\t\treturn;", "\tslab_free(s);"]).text],
                                           "mm: check the cache too\n\nFixes: \(fix.short(12)) (\"mm: check s\")\n")
        let both = base.replacing(10, with: ["\tif (!s || !s->cache)", "\t\treturn;", "\tslab_free(s);"]).text
        XCTAssertEqual(try treeCase.verdicts([fix, fixOfFix], tree: [path: both]).map(\.status), [.applied, .applied])
        XCTAssertEqual(try treeCase.verdicts([fix], tree: [path: both]).map(\.status), [.partial])

        let revert = try treeCase.commit([path: base.replacing(10, with: ["\tslab_free(s);"]).text],
                                         "Revert \"mm: check s\"\n\nThis reverts commit \(fixOfFix.hex).\n\nFixes: \(fixOfFix.short(12)) (\"x\")\n")
        let reverted = try treeCase.verdicts([fixOfFix, revert], tree: [path: base.replacing(10, with: ["\tslab_free(s);"]).text])
        XCTAssertEqual(reverted.map(\.status), [.notApplied, .applied])
        XCTAssertEqual(reverted[0].note, "reverted by \(revert.short()), which is applied")
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
