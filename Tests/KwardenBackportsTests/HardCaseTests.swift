import Foundation
import GitKit
import XCTest
@testable import KwardenBackports

/// One repository holding an `upstream` and a `vendor` branch forked from a shared base, built commit by commit.
final class SmallHistory {
    let scratch: ScratchDirectory
    let repository: Repository
    let builder: HistoryBuilder
    var path: String { scratch.sub("kernel") }
    var upstreamFiles: [String: SourceFile]
    var vendorFiles: [String: SourceFile]
    var upstreamTip: Oid
    var vendorTip: Oid

    init(files names: [String]) throws {
        scratch = try ScratchDirectory()
        repository = try Repository(initAt: scratch.sub("kernel"))
        builder = HistoryBuilder(repository)
        let files = Dictionary(uniqueKeysWithValues: names.map { ($0, SourceFile(name: $0)) })
        upstreamFiles = files
        vendorFiles = files
        upstreamTip = try builder.commit(files.mapValues(\.text), parents: [], message: "base\n", branch: "upstream")
        vendorTip = upstreamTip
        try repository.setReference("refs/heads/vendor", to: upstreamTip)
        try repository.setHead("refs/heads/vendor")
    }

    @discardableResult
    func upstream(_ message: String, _ change: (inout [String: SourceFile]) -> Void) throws -> Oid {
        change(&upstreamFiles)
        upstreamTip = try builder.commit(upstreamFiles.mapValues(\.text), parents: [upstreamTip], message: message,
                                         branch: "upstream")
        return upstreamTip
    }

    @discardableResult
    func vendor(_ message: String, _ change: (inout [String: SourceFile]) -> Void) throws -> Oid {
        change(&vendorFiles)
        vendorTip = try builder.commit(vendorFiles.mapValues(\.text), parents: [vendorTip], message: message,
                                       branch: "vendor", author: "Vendor Dev")
        return vendorTip
    }

    func check(_ fixes: [Oid], _ adjust: (inout HistoryOptions) -> Void = { _ in }) throws -> BackportReport {
        var options = HistoryOptions(vendorPath: path, branch: "vendor", upstreamRef: "upstream")
        adjust(&options)
        return try HistoryChecker(options: options).run(.requests(fixes.map { FixRequest(id: $0.hex) }))
    }
}

final class HardCaseTests: XCTestCase {
    /// A silent backport onto code whose surrounding lines differ: the stable patch-id differs, the zero-context
    /// one does not.
    func testPatchIDWithoutContextFindsABackportOverDifferentContext() throws {
        let history = try SmallHistory(files: ["drivers/i2c/core.c"])
        let path = "drivers/i2c/core.c"
        let fix = try history.upstream("i2c: check the adapter before use\n") {
            $0[path] = $0[path]!.replacing(20, with: ["\tif (!adap)", "\t\treturn -ENODEV;"])
        }
        try history.vendor("vendor: rework i2c timeouts\n") {
            $0[path] = $0[path]!.replacing(18, with: ["\ttimeout = vendor_timeout(adap);"])
        }
        let backport = try history.vendor("i2c: vendor null check\n") {
            $0[path] = $0[path]!.replacing(20, with: ["\tif (!adap)", "\t\treturn -ENODEV;"])
        }
        let report = try history.check([fix]).fixes[0]
        XCTAssertEqual(report.status, .present)
        XCTAssertEqual(report.how, "patch-id-nocontext")
        XCTAssertEqual(report.evidence.map(\.commit), [backport.hex])
        XCTAssertTrue(report.evidence[0].line.hasPrefix("patch-id without context "), report.evidence[0].line)

        // A different change at the same place does not match, with or without context.
        let other = try history.upstream("i2c: other check\n") {
            $0[path] = $0[path]!.replacing(30, with: ["\tif (!adap->algo)", "\t\treturn -EINVAL;"])
        }
        try history.vendor("i2c: vendor algo check\n") {
            $0[path] = $0[path]!.replacing(30, with: ["\tif (!adap->algo)", "\t\treturn -EOPNOTSUPP;"])
        }
        XCTAssertEqual(try history.check([other]).fixes[0].status, .missing)
    }

    /// Ids in prose and ids shorter than 12 hex digits do not make a backport.
    func testProseAndShortIdsDoNotCountAsBackports() throws {
        XCTAssertEqual(Trailers.backportReferences(in: "s\n\ncommit 066b86787f upstream.\n"), [])
        XCTAssertEqual(Trailers.backportReferences(in: "s\n\n(cherry picked from commit 066b86787fa)\n"), [])
        XCTAssertEqual(Trailers.backportReferences(in: "s\n\n[ Upstream commit 066b86787fa3 ]\n").map(\.hex), ["066b86787fa3"])

        let history = try SmallHistory(files: ["mm/slab.c", "mm/vendor.c"])
        let fix = try history.upstream("mm: fix slab leak\n") {
            $0["mm/slab.c"] = $0["mm/slab.c"]!.replacing(10, with: ["\tkfree(obj);"])
        }
        try history.vendor("mm: vendor tweak\n\nSee upstream commit \(fix.hex) for the original.\n") {
            $0["mm/vendor.c"] = $0["mm/vendor.c"]!.replacing(3, with: ["\tvendor_tweak();"])
        }
        try history.vendor("mm: another vendor tweak\n\ncommit \(fix.short(10)) upstream.\n") {
            $0["mm/vendor.c"] = $0["mm/vendor.c"]!.replacing(4, with: ["\tvendor_tweak2();"])
        }
        XCTAssertEqual(try history.check([fix]).fixes[0].status, .missing)

        let cited = try history.vendor("mm: fix slab leak\n\ncommit \(fix.short(12)) upstream.\n") {
            $0["mm/slab.c"] = $0["mm/slab.c"]!.replacing(10, with: ["\tkfree(obj);"])
        }
        let present = try history.check([fix]).fixes[0]
        XCTAssertEqual(present.status, .present)
        XCTAssertEqual(present.how, "trailer")
        XCTAssertEqual(present.evidence.map(\.commit), [cited.hex])
        XCTAssertNil(present.note)
    }

    /// A trailer on a vendor commit that touches other files than the upstream commit: present, with a warning.
    func testTrailerOnACommitTouchingOtherFilesWarns() throws {
        let history = try SmallHistory(files: ["net/a.c", "net/b.c", "net/c.c"])
        let fix = try history.upstream("net: fix a and b\n") {
            $0["net/a.c"] = $0["net/a.c"]!.replacing(5, with: ["\tfixed_a();"])
            $0["net/b.c"] = $0["net/b.c"]!.replacing(5, with: ["\tfixed_b();"])
        }
        try history.vendor("net: fix a\n\ncommit \(fix.hex) upstream.\n") {
            $0["net/a.c"] = $0["net/a.c"]!.replacing(5, with: ["\tfixed_a();"])
            $0["net/c.c"] = $0["net/c.c"]!.replacing(5, with: ["\tunrelated_c();"])
        }
        let report = try history.check([fix])
        XCTAssertEqual(report.fixes[0].status, .present)
        XCTAssertEqual(report.fixes[0].how, "trailer")
        let note = try XCTUnwrap(report.fixes[0].note)
        XCTAssertTrue(note.hasPrefix("warning: the backport citing \(fix.short()) does not touch net/b.c and also touches net/c.c"), note)
        XCTAssertEqual(report.warnings.count, 1)
    }

    /// A fix backported in pieces by several commits that each cite it: present when together they cover it,
    /// partial (with the files left out) when they do not.
    func testSplitBackports() throws {
        let files = ["fs/ext4/inode.c", "fs/ext4/super.c", "fs/ext4/xattr.c"]
        let history = try SmallHistory(files: files)
        let fix = try history.upstream("ext4: fix three places\n") {
            for file in files { $0[file] = $0[file]!.replacing(7, with: ["\tfixed(\"\(file)\");"]) }
        }
        let base = history.vendorTip
        let first = try history.vendor("ext4: fix inode part\n\ncommit \(fix.hex) upstream.\n") {
            $0[files[0]] = $0[files[0]]!.replacing(7, with: ["\tfixed(\"\(files[0])\");"])
        }
        try history.vendor("ext4: fix super part\n\ncommit \(fix.hex) upstream.\n") {
            $0[files[1]] = $0[files[1]]!.replacing(7, with: ["\tfixed(\"\(files[1])\");"])
        }
        let partial = try history.check([fix])
        XCTAssertEqual(partial.fixes[0].status, .partial)
        XCTAssertEqual(partial.fixes[0].uncoveredFiles, ["fs/ext4/xattr.c"])
        XCTAssertEqual(partial.fixes[0].evidence.count, 3)
        XCTAssertEqual(partial.summary.partial, 1)
        XCTAssertTrue(partial.hasMissingNeededFix)

        try history.vendor("ext4: fix xattr part\n\ncommit \(fix.hex) upstream.\n") {
            $0[files[2]] = $0[files[2]]!.replacing(7, with: ["\tfixed(\"\(files[2])\");"])
        }
        let complete = try history.check([fix])
        XCTAssertEqual(complete.fixes[0].status, .present)
        XCTAssertEqual(complete.fixes[0].how, "trailer")
        XCTAssertEqual(complete.fixes[0].evidence.count, 3)
        XCTAssertNil(complete.fixes[0].note)
        XCTAssertFalse(complete.hasMissingNeededFix)
        XCTAssertNotEqual(first, base)
    }

    /// The vendor merged a stable release: the stable fix commit is found by ancestry through the merge, from the
    /// one walk over the branch.
    func testFixPresentThroughAMergedStableRelease() throws {
        let history = try SmallHistory(files: ["kernel/fork.c", "kernel/exit.c"])
        let base = history.upstreamTip
        try history.upstream("kernel: mainline work\n") { $0["kernel/exit.c"] = $0["kernel/exit.c"]!.replacing(2, with: ["\tnew_work();"]) }
        var stableFiles = history.vendorFiles
        stableFiles["kernel/fork.c"] = stableFiles["kernel/fork.c"]!.replacing(9, with: ["\tput_task_struct(p);"])
        let stableFix = try history.builder.commit(stableFiles.mapValues(\.text), parents: [base],
                                                   message: "fork: fix task leak\n", branch: "linux-6.1.y")
        let release = try history.builder.commit(stableFiles.mapValues(\.text), parents: [stableFix],
                                                 message: "Linux 6.1.99\n", branch: "linux-6.1.y")
        try history.vendor("vendor: own work\n") { $0["kernel/exit.c"] = $0["kernel/exit.c"]!.replacing(30, with: ["\tvendor();"]) }
        history.vendorFiles["kernel/fork.c"] = stableFiles["kernel/fork.c"]
        history.vendorTip = try history.builder.commit(history.vendorFiles.mapValues(\.text), parents: [history.vendorTip, release],
                                                       message: "Merge tag 'v6.1.99' into vendor\n", branch: "vendor")
        let start = Date()
        let report = try history.check([stableFix])
        XCTAssertEqual(report.fixes[0].status, .present)
        XCTAssertEqual(report.fixes[0].how, "ancestor")
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    /// Missing fixes are cherry-picked onto the branch in memory: clean or conflicting (with the paths), and
    /// nothing is written to the repository.
    func testApplyCheckInMemory() throws {
        let history = try SmallHistory(files: ["drivers/a.c", "drivers/b.c"])
        let clean = try history.upstream("drivers: fix a\n") {
            $0["drivers/a.c"] = $0["drivers/a.c"]!.replacing(5, with: ["\tfixed_a();"])
        }
        let conflicting = try history.upstream("drivers: fix b\n") {
            $0["drivers/b.c"] = $0["drivers/b.c"]!.replacing(30, with: ["\tfixed_b();"])
        }
        try history.vendor("drivers: vendor b\n") {
            $0["drivers/b.c"] = $0["drivers/b.c"]!.replacing(30, with: ["\tvendor_b();"])
            // An edit near fix a's change, merged automatically (the merge writes a blob: to the scratch database).
            $0["drivers/a.c"] = $0["drivers/a.c"]!.replacing(9, with: ["\tvendor_a();"])
        }
        func objectFiles() -> Set<String> {
            Set(FileManager.default.enumerator(atPath: history.path + "/.git/objects")?.compactMap { $0 as? String } ?? [])
        }
        let before = objectFiles()
        let report = try history.check([conflicting, clean])
        XCTAssertEqual(report.fixes.map(\.status), [.missing, .missing])
        XCTAssertEqual(report.fixes[0].apply, .conflicts)
        XCTAssertEqual(report.fixes[0].conflicts, ["drivers/b.c"])
        XCTAssertEqual(report.fixes[1].apply, .appliesCleanly)
        XCTAssertNil(report.fixes[1].conflicts)
        XCTAssertEqual(report.summary.appliesCleanly, 1)
        XCTAssertEqual(objectFiles(), before, "the apply check wrote to the repository")
        XCTAssertEqual(try history.repository.resolveCommit("vendor"), history.vendorTip)
        // The Markdown work list puts the clean pick first.
        let markdown = BackportOutput.markdown(report)
        let cleanLine = try XCTUnwrap(markdown.range(of: "| `\(clean.short(12))` |"))
        let conflictLine = try XCTUnwrap(markdown.range(of: "| `\(conflicting.short(12))` |"))
        XCTAssertLessThan(cleanLine.lowerBound, conflictLine.lowerBound)
        XCTAssertTrue(markdown.contains("conflicts in drivers/b.c"), markdown)

        XCTAssertNil(try history.check([clean]) { $0.applyCheck = false }.fixes[0].apply)
    }

    /// The apply check with upstream in a separate (bare) repository: the fix's objects come from there.
    func testApplyCheckAcrossRepositories() throws {
        let repos = try ScenarioRepositories.separateRepositories()
        let s = repos.scenario
        let report = try HistoryChecker(options: HistoryOptions(vendorPath: repos.vendorPath, branch: "vendor",
                                                                upstreamPath: repos.upstreamPath))
            .run(.requests(["F6", "F7", "F10"].map { FixRequest(id: s.upstream[$0]!.hex) }))
        XCTAssertEqual(report.fixes.map(\.status), [.missing, .missing, .missing])
        XCTAssertEqual(report.fixes.map(\.apply), [.appliesCleanly, .appliesCleanly, .appliesCleanly])
        XCTAssertEqual(report.warnings, [])
    }

    /// Fixes of a missing fix, and their fixes, are listed with it in the order to apply them.
    func testFixesOfMissingFixesFollowedRecursively() throws {
        let history = try SmallHistory(files: ["net/sock.c"])
        let path = "net/sock.c"
        let first = try history.upstream("net: fix sock refcount\n") { $0[path] = $0[path]!.replacing(5, with: ["\tsock_hold(sk);"]) }
        let second = try history.upstream("net: fix the refcount fix\n\nFixes: \(first.short(12)) (\"net: fix sock refcount\")\n") {
            $0[path] = $0[path]!.replacing(6, with: ["\tsock_put(sk);"])
        }
        try history.upstream("net: unrelated\n") { $0[path] = $0[path]!.replacing(30, with: ["\tunrelated();"]) }
        let third = try history.upstream("net: fix the fix of the fix\n\nFixes: \(second.short(12)) (\"net: fix the refcount fix\")\n") {
            $0[path] = $0[path]!.replacing(7, with: ["\tsock_put_final(sk);"])
        }
        let report = try history.check([first]) { $0.followUps = true }
        XCTAssertEqual(report.fixes[0].status, .missing)
        XCTAssertEqual(report.fixes[0].fixesOfFixes.map(\.commit), [second.hex, third.hex])
        XCTAssertEqual(report.fixes[0].fixesOfFixes.map(\.status), [.missing, .missing])
        let text = BackportOutput.text(report)
        XCTAssertTrue(text.contains("then apply \(second.short(12)) net: fix the refcount fix: missing\n"
                                    + "            then apply \(third.short(12)) net: fix the fix of the fix: missing"), text)
        // Without --follow-ups, only fixes among those checked are followed.
        XCTAssertEqual(try history.check([first, third]).fixes[0].fixesOfFixes.map(\.commit), [])
        XCTAssertEqual(try history.check([third, first, second]).fixes[1].fixesOfFixes.map(\.commit), [second.hex, third.hex])
    }
}
