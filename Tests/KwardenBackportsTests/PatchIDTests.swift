import Foundation
import GitKit
import XCTest

/// The stable patch-id computed from libgit2 diffs must equal `git patch-id --stable` (git is used here only to
/// verify; the engine never runs it).
final class PatchIDTests: XCTestCase {
    func gitPatchID(_ repository: String, _ commit: Oid) throws -> String? {
        let diff = try runProcess(["git", "-C", repository, "diff-tree", "-p", "--root", commit.hex])
        XCTAssertEqual(diff.status, 0)
        let result = try runProcess(["git", "patch-id", "--stable"], input: diff.output)
        return result.output.split(separator: " ").first.map(String.init)
    }

    func testMatchesGitPatchIDStable() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.sub("repo")
        let repository = try Repository(initAt: path)
        let builder = HistoryBuilder(repository)
        var files: [String: String] = [
            "a.c": SourceFile(name: "a", count: 60).text,
            "b/b.c": SourceFile(name: "b").text,
            "c.txt": "no newline at the end",
            "gone.c": "int gone;\n",
        ]
        var commits: [String: Oid] = [:]
        var executable: Set<String> = []
        commits["root"] = try builder.commit(files, parents: [], message: "root\n", branch: "main")
        var tip = commits["root"]!
        func step(_ name: String, _ change: (inout [String: String]) -> Void) throws {
            change(&files)
            tip = try builder.commit(files, parents: [tip], message: name + "\n", branch: "main", executable: executable)
            commits[name] = tip
        }
        try step("two hunks and whitespace") {
            $0["a.c"] = SourceFile(name: "a", count: 60).replacing(5, with: ["  if (x)  {", "\t\treturn  1 ;", "  }"])
                .replacing(50, with: ["\tstatement_50(a, b);"]).text
        }
        try step("add, delete and no newline") {
            $0["new/file.h"] = "#define NEW 1\n"
            $0["gone.c"] = nil
            $0["c.txt"] = "no newline at the end, changed"
        }
        try step("empty file and another change") {
            $0["empty.txt"] = ""
            $0["b/b.c"] = SourceFile(name: "b").replacing(3, with: ["\tstatement_3(b, c);"]).text
        }
        try step("whitespace only") {
            $0["b/b.c"] = SourceFile(name: "b").replacing(3, with: ["    statement_3(b, c);"]).text
        }
        try step("slider") {
            // A block inserted between two identical blocks: where the diff puts it depends on the indent
            // heuristic git enables by default.
            let block = ["", "static int helper(void)", "{", "\treturn 0;", "}"]
            $0["slider.c"] = (["/* start */"] + block + ["/* end */"]).joined(separator: "\n") + "\n"
        }
        try step("slider 2") {
            let block = ["", "static int helper(void)", "{", "\treturn 0;", "}"]
            $0["slider.c"] = (["/* start */"] + block + block + ["/* end */"]).joined(separator: "\n") + "\n"
        }
        executable = ["b/b.c"]
        try step("mode only") { _ in }
        executable = ["b/b.c", "gone.sh"]
        try step("new executable and mode back") {
            $0["gone.sh"] = "#!/bin/sh\n"
            $0["a.c"] = SourceFile(name: "a", count: 60).replacing(30, with: ["\tstatement_30(a, 3);"]).text
        }
        executable = ["gone.sh"]
        try step("mode back with content") {
            $0["b/b.c"] = SourceFile(name: "b").replacing(7, with: ["\tstatement_7(b, 7);"]).text
        }
        XCTAssertEqual(commits.count, 10)
        for (name, commit) in commits {
            let ours = try repository.commit(commit).diff().stablePatchID()
            let gits = try gitPatchID(path, commit)
            XCTAssertNotNil(gits, name)
            XCTAssertEqual(ours?.hex, gits, "patch-id of '\(name)'")
            // Blob-by-blob patches from the tree comparison give the same patch-id as the tree diff.
            let parentTree = try repository.commit(commit).parentIds.first.map { try repository.commit($0).treeId }
            XCTAssertEqual(stablePatchID(try repository.filePatches(from: parentTree, to: try repository.commit(commit).treeId))?.hex,
                           gits, "blob patch-id of '\(name)'")
            // The cheap tree comparison names the same files as the full diff.
            let parent = try repository.commit(commit).parentIds.first.map { try repository.commit($0).treeId }
            XCTAssertEqual(try repository.changedPaths(from: parent, to: try repository.commit(commit).treeId),
                           try repository.commit(commit).diff().paths, "changed paths of '\(name)'")
        }
    }

    func testPatchIDIgnoresLineNumbersAndWhitespaceButNotContent() throws {
        let scratch = try ScratchDirectory()
        let repository = try Repository(initAt: scratch.sub("repo"))
        let builder = HistoryBuilder(repository)
        let original = SourceFile(name: "x")
        let one = try builder.commit(["x.c": original.text], parents: [], message: "one\n", branch: "a")
        let fixed = try builder.commit(["x.c": original.replacing(20, with: ["\tfix();"]).text], parents: [one],
                                       message: "fix\n", branch: "a")
        // Same change, 5 lines further down and indented with spaces.
        let shifted = original.inserting(["// 1", "// 2", "// 3", "// 4", "// 5"], after: 0)
        let two = try builder.commit(["x.c": shifted.text], parents: [], message: "two\n", branch: "b")
        let moved = try builder.commit(["x.c": shifted.replacing(25, with: ["    fix();"]).text], parents: [two],
                                       message: "fix elsewhere\n", branch: "b")
        let other = try builder.commit(["x.c": shifted.replacing(25, with: ["\tfix(1);"]).text], parents: [two],
                                       message: "other fix\n", branch: "c")
        let fixedID = try repository.commit(fixed).diff().stablePatchID()
        XCTAssertNotNil(fixedID)
        XCTAssertEqual(fixedID, try repository.commit(moved).diff().stablePatchID())
        XCTAssertNotEqual(fixedID, try repository.commit(other).diff().stablePatchID())
        // A revert's patch-id is the inverse diff's.
        XCTAssertNotEqual(fixedID, try repository.commit(fixed).inverseDiff().stablePatchID())
    }
}
