import Foundation
import GitKit
import XCTest
@testable import KwardenBackports

/// What a kernel stable tree does every week (issue 16): `Fixes:` ids of other trees, backported reverts, backports
/// that leave test hunks out, odd `Fixes:` spellings, CRLF lists.
final class StableHistoryTests: XCTestCase {
    /// A full 40-hex `Fixes:` id of a commit upstream does not have (linux-next, a vendor tree) is looked up like an
    /// abbreviated one: the run goes on, the target is treated as shipped, with a note.
    func testForeignFullIdInFixesDoesNotAbortTheRun() throws {
        let history = try SmallHistory(files: ["net/ipv4/tcp.c", "net/ipv4/udp.c"])
        let foreign = "0123456789abcdef0123456789abcdef01234567"
        let fix = try history.upstream("tcp: fix a leak from net-next\n\nFixes: \(foreign) (\"tcp: next-tree change\")\n") {
            $0["net/ipv4/tcp.c"] = $0["net/ipv4/tcp.c"]!.replacing(5, with: ["\ttcp_free(sk);"])
        }
        let other = try history.upstream("udp: fix a leak\n\nFixes: \(history.vendorTip.hex) (\"base\")\n") {
            $0["net/ipv4/udp.c"] = $0["net/ipv4/udp.c"]!.replacing(5, with: ["\tudp_free(sk);"])
        }
        let report = try history.check([fix, other])
        XCTAssertEqual(report.fixes.map(\.status), [.missing, .missing])
        XCTAssertEqual(report.fixes[0].fixes.map(\.commit), [foreign])
        XCTAssertNil(report.fixes[0].fixes[0].shipped)
        XCTAssertTrue(report.fixes[0].note?.contains("Fixes: \(foreign.prefix(12)) is not in the upstream repository") ?? false,
                      "\(report.fixes[0].note ?? "no note")")
        // The same through --range, which reads every Fixes: tag of the range.
        let ranged = try HistoryChecker(options: HistoryOptions(vendorPath: history.path, branch: "vendor",
                                                                upstreamRef: "upstream"))
            .run(.range("vendor..upstream"))
        XCTAssertEqual(ranged.fixes.map(\.commit), [fix.hex, other.hex])
    }

    /// A fix that cannot be read (its `Fixes:` names an object that is not a commit) is that fix's `unknown`, with
    /// the reason; the other fixes are still decided.
    func testOneUnreadableFixIsUnknownNotAnAbort() throws {
        let history = try SmallHistory(files: ["mm/a.c", "mm/b.c"])
        let blob = try history.repository.writeBlob(Array("not a commit\n".utf8))
        let odd = try history.upstream("mm: fix a\n\nFixes: \(blob.hex) (\"a blob\")\n") {
            $0["mm/a.c"] = $0["mm/a.c"]!.replacing(5, with: ["\tfixed_a();"])
        }
        let fine = try history.upstream("mm: fix b\n") { $0["mm/b.c"] = $0["mm/b.c"]!.replacing(5, with: ["\tfixed_b();"]) }
        let report = try history.check([odd, fine])
        XCTAssertEqual(report.fixes.map(\.status), [.unknown, .missing])
        XCTAssertTrue(report.fixes[0].note?.hasPrefix("could not be checked: ") ?? false, "\(report.fixes[0].note ?? "")")
        XCTAssertEqual(report.fixes[0].subject, "mm: fix a")
        XCTAssertTrue(report.warnings.contains { $0.hasPrefix("\(odd.short()): could not be checked") }, "\(report.warnings)")
    }

    /// A stable revert that names the upstream commit (`This reverts commit <upstream id>`) reverts the branch's
    /// pick of it.
    func testRevertNamingTheUpstreamCommit() throws {
        let path = "net/core/sock.c"
        let history = try SmallHistory(files: [path])
        let fix = try history.upstream("net: fix sock leak\n") { $0[path] = $0[path]!.replacing(8, with: ["\tsock_put(sk);"]) }
        let pick = try history.vendor("net: fix sock leak\n\ncommit \(fix.hex) upstream.\n") {
            $0[path] = $0[path]!.replacing(8, with: ["\tsock_put(sk);"])
        }
        try history.vendor("vendor: other work\n") { $0[path] = $0[path]!.replacing(30, with: ["\tvendor();"]) }
        let revert = try history.vendor("Revert \"net: fix sock leak\"\n\nThis reverts commit \(fix.hex).\n") {
            $0[path] = $0[path]!.replacing(8, with: ["\tstatement_8(\(path));"]).replacing(35, with: ["\tvendor_too();"])
        }
        let report = try history.check([fix]) { $0.applyCheck = false }
        XCTAssertEqual(report.fixes[0].status, .reverted)
        XCTAssertEqual(report.fixes[0].evidence.map(\.commit), [pick.hex, revert.hex])
    }

    /// A vendor commit whose tree cannot be read (a damaged or partial clone) is left out of matching with a
    /// warning; the fixes are still decided.
    func testUnreadableVendorCommitIsLeftOut() throws {
        let history = try SmallHistory(files: ["a.c", "b.c"])
        let fix = try history.upstream("fix a\n") { $0["a.c"] = $0["a.c"]!.replacing(5, with: ["\tfixed_a();"]) }
        let pick = try history.vendor("a: quiet fix\n") { $0["a.c"] = $0["a.c"]!.replacing(5, with: ["\tfixed_a();"]) }
        let damaged = try history.vendor("b: vendor work\n") { $0["b.c"] = $0["b.c"]!.replacing(9, with: ["\tvendor_b();"]) }
        let tree = try history.repository.commit(damaged).treeId.hex
        let object = history.repository.gitDirectory + "objects/" + tree.prefix(2) + "/" + tree.dropFirst(2)
        try FileManager.default.removeItem(atPath: object)
        let report = try history.check([fix]) { $0.applyCheck = false }
        XCTAssertEqual(report.fixes.map(\.status), [.present])
        XCTAssertEqual(report.fixes[0].evidence.map(\.commit), [pick.hex])
        XCTAssertTrue(report.warnings.contains { $0.hasPrefix("vendor commit \(damaged.short()): its files could not be read") },
                      "\(report.warnings)")
    }

    /// An upstream revert backported silently (identical patch, no trailer) is present, its target reverted, and
    /// the upstream fix of that revert is missing: the bug the revert brought is in the branch.
    func testBackportedRevertAndTheFixOfThatRevert() throws {
        let path = "kernel/sched/core.c"
        let history = try SmallHistory(files: [path])
        let base = history.upstreamTip
        let fix = try history.upstream("sched: fix wakeup race\n\nFixes: \(base.short(12)) (\"base\")\n") {
            $0[path] = $0[path]!.replacing(10, with: ["\tsmp_mb();", "\twake_up(p);"])
        }
        // The vendor forked after the fix: it is an ancestor.
        try history.repository.setReference("refs/heads/vendor", to: fix)
        history.vendorTip = fix
        history.vendorFiles = history.upstreamFiles
        let revertMessage = "Revert \"sched: fix wakeup race\"\n\nThis reverts commit \(fix.hex).\n\n"
            + "Fixes: \(fix.short(12)) (\"sched: fix wakeup race\")\n"
        let revert = try history.upstream(revertMessage) { $0[path] = $0[path]!.replacing(10, with: ["\tstatement_10(\(path));"]).replacingTwoLines(at: 10) }
        let fixOfRevert = try history.upstream("sched: fix the race the revert brought back\n\nFixes: \(revert.short(12)) (\"Revert \\\"sched: fix wakeup race\\\"\")\n") {
            $0[path] = $0[path]!.replacing(30, with: ["\tsmp_store_release(&p->on_cpu, 0);"])
        }
        let fixOfFix = try history.upstream("sched: harden wakeup\n\nFixes: \(fix.short(12)) (\"sched: fix wakeup race\")\n") {
            $0[path] = $0[path]!.replacing(35, with: ["\tWARN_ON(p->on_cpu);"])
        }
        // The stable pick of the revert: same message, same patch, no -x.
        let pickedRevert = try history.vendor(revertMessage) {
            $0[path] = $0[path]!.replacing(10, with: ["\tstatement_10(\(path));"]).replacingTwoLines(at: 10)
        }
        let report = try history.check([fix, revert, fixOfRevert, fixOfFix])
        XCTAssertEqual(report.fixes.map(\.status), [.reverted, .present, .missing, .notNeeded])
        XCTAssertEqual(report.fixes[0].evidence.map(\.commit), [fix.hex, pickedRevert.hex])
        XCTAssertEqual(report.fixes[1].how, "patch-id")
        XCTAssertEqual(report.fixes[1].evidence.map(\.commit), [pickedRevert.hex])
        XCTAssertEqual(report.fixes[2].fixes.first?.shipped, true)
        XCTAssertEqual(report.fixes[2].evidence.first?.commit, pickedRevert.hex)
        XCTAssertEqual(report.fixes[3].evidence.map(\.line),
                       ["Fixes: \(fix.short(12)) (\"sched: fix wakeup race\") was reverted in vendor by \(pickedRevert.short(12))"])
        XCTAssertTrue(report.hasMissingNeededFix)
    }

    /// A stable backport that takes only the code part of a fix: found by patch-id over the files both touch (with
    /// a warning naming the test left out), or by subject when the patch differs too; leaving out code instead is
    /// not a backport.
    func testBackportsThatLeaveTestsOut() throws {
        let code = "drivers/net/phy/phy.c", other = "drivers/net/phy/mdio.c"
        let test = "tools/testing/selftests/net/phy_test.sh", doc = "Documentation/networking/phy.rst"
        let history = try SmallHistory(files: [code, other, test, doc])
        let silent = try history.upstream("net: phy: fix state machine race\n") {
            $0[code] = $0[code]!.replacing(10, with: ["\tmutex_lock(&phydev->lock);"])
            $0[test] = $0[test]!.replacing(3, with: ["\tcheck_phy_race"])
        }
        let bySubject = try history.upstream("net: phy: fix link loss\n") {
            $0[code] = $0[code]!.replacing(20, with: ["\tphy_link_down(phydev);"])
            $0[doc] = $0[doc]!.replacing(3, with: ["link loss is reported"])
        }
        let codeLeftOut = try history.upstream("net: phy: fix both\n") {
            $0[code] = $0[code]!.replacing(30, with: ["\tphy_both(phydev);"])
            $0[other] = $0[other]!.replacing(30, with: ["\tmdio_both(bus);"])
        }
        let codeOnly = try history.vendor("net: phy: lock state machine\n") {
            $0[code] = $0[code]!.replacing(10, with: ["\tmutex_lock(&phydev->lock);"])
        }
        let sameSubject = try history.vendor("net: phy: fix link loss\n") {
            $0[code] = $0[code]!.replacing(20, with: ["\tphy_link_down(phydev); /* 6.1 */"])
        }
        try history.vendor("net: phy: part of a fix\n") {
            $0[code] = $0[code]!.replacing(30, with: ["\tphy_both(phydev);"])
        }
        let report = try history.check([silent, bySubject, codeLeftOut]) { $0.applyCheck = false }
        XCTAssertEqual(report.fixes.map(\.status), [.present, .present, .missing])
        XCTAssertEqual(report.fixes[0].how, "patch-id")
        XCTAssertEqual(report.fixes[0].evidence.map(\.commit), [codeOnly.hex])
        XCTAssertTrue(report.fixes[0].evidence[0].line.hasSuffix(" over \(code)"), report.fixes[0].evidence[0].line)
        XCTAssertEqual(report.fixes[0].note, "warning: the backport of \(silent.short()) leaves out \(test)")
        XCTAssertEqual(report.fixes[1].how, "subject")
        XCTAssertEqual(report.fixes[1].evidence.map(\.commit), [sameSubject.hex])
        XCTAssertEqual(report.fixes[1].note, "warning: weaker match (same subject, different patch): the backport of "
                       + "\(bySubject.short()) leaves out \(doc)")
        XCTAssertEqual(report.warnings.count, 2)
    }

    /// A fix whose change is in the branch although no commit shows it (folded into a larger vendor commit): the
    /// in-memory pick changes nothing, so it is present, not a clean pick to make.
    func testPickThatChangesNothingIsAlreadyApplied() throws {
        let path = "fs/ext4/inode.c"
        let history = try SmallHistory(files: [path])
        let fix = try history.upstream("ext4: fix inode leak\n") { $0[path] = $0[path]!.replacing(10, with: ["\tiput(inode);"]) }
        let needed = try history.upstream("ext4: fix another leak\n") { $0[path] = $0[path]!.replacing(30, with: ["\tbrelse(bh);"]) }
        try history.vendor("ext4: vendor rework of inode handling\n") {
            $0[path] = $0[path]!.replacing(10, with: ["\tiput(inode);"]).replacing(12, with: ["\tvendor_inode(inode);"])
        }
        let report = try history.check([fix, needed])
        XCTAssertEqual(report.fixes.map(\.status), [.present, .missing])
        XCTAssertEqual(report.fixes[0].how, "already-applied")
        XCTAssertNil(report.fixes[0].apply)
        XCTAssertEqual(report.fixes[0].evidence.map(\.line), ["cherry-picking it onto vendor changes nothing"])
        XCTAssertEqual(report.fixes[1].apply, .appliesCleanly)
        XCTAssertEqual(report.summary.present, 1)
    }

    /// The same one-line change in two functions of a file has the same patch-id without context: the enclosing
    /// function (the hunk header's heading) tells them apart.
    func testZeroContextMatchKeepsToItsFunction() throws {
        let path = "drivers/d/f.c"
        let history = try SmallHistory(files: [path])
        func functions(_ checked: Set<Int>, vendorTweak: Bool = false) -> SourceFile {
            SourceFile(lines: (0..<4).flatMap { n -> [String] in
                ["static int fn_\(n)(struct dev *d)", "{", checked.contains(n) ? "\tif (!d || !d->priv)" : "\tif (!d)",
                 "\t\treturn -EINVAL;", vendorTweak ? "\treturn op_\(n)(d); /* vendor */" : "\treturn op_\(n)(d);", "}", ""]
            })
        }
        history.upstreamFiles[path] = functions([])
        history.vendorFiles[path] = functions([], vendorTweak: true)
        try history.upstream("d: functions\n") { _ in }
        try history.vendor("d: functions, vendor flavour\n") { _ in }
        let first = try history.upstream("d: check priv in fn_1\n") { $0[path] = functions([1]) }
        let second = try history.upstream("d: check priv in fn_3\n") { $0[path] = functions([1, 3]) }
        try history.vendor("d: check priv in fn_3\n") { $0[path] = functions([3], vendorTweak: true) }
        let report = try history.check([first, second]) { $0.applyCheck = false }
        XCTAssertEqual(report.fixes.map(\.status), [.missing, .present])
        XCTAssertEqual(report.fixes[1].how, "patch-id-nocontext")
    }
}

final class InputParsingTests: XCTestCase {
    /// CRLF line endings and a tab after the id (`git log --format=%h%x09%s`) in fixes and ignore files.
    func testCRLFAndTabsInListFiles() throws {
        let fixes = try FixList.parse("066b86787fa3 net: one\r\n1234abcd5678\tnet: two\r\n# comment\r\n\r\nabcdef012345\r\n")
        XCTAssertEqual(fixes.map(\.id), ["066b86787fa3", "1234abcd5678", "abcdef012345"])
        XCTAssertEqual(fixes.map(\.subject), ["net: one", "net: two", nil])
        let ignore = try IgnoreList.parse("066b86787fa3 vendor has its own\r\n1234abcd5678\tnot for us\r\n", source: "ignore.txt")
        XCTAssertEqual(ignore.entries.map(\.id), ["066b86787fa3", "1234abcd5678"])
        XCTAssertEqual(ignore.entries.map(\.reason), ["vendor has its own", "not for us"])
        XCTAssertEqual(ignore.entries.map(\.source), ["ignore.txt:1", "ignore.txt:2"])
    }

    /// An empty fixes file (or one of comments only) is an error, not a clean report.
    func testEmptyFixesFileIsRefused() {
        for text in ["", "\n", "# nothing yet\r\n"] {
            XCTAssertThrowsError(try FixList.parse(text, source: "fixes.txt")) {
                XCTAssertEqual(($0 as? BackportError)?.message, "fixes.txt lists no commit ids")
            }
        }
    }

    /// `Fixes:` without a space before the parenthesis, `Fixes: commit <id>`, and CRLF messages.
    func testFixesTagSpellings() {
        let tags = Trailers.fixesTags(in: "net: x\r\n\r\nFixes: 241bad15d99a(\"net: add y\")\r\n"
                                          + "Fixes: commit 0123456789ab (\"net: add z\")\r\nFixes: deadbeefzz\r\n"
                                          + "Fixes: added locking\r\n")
        XCTAssertEqual(tags.map(\.hex), ["241bad15d99a", "0123456789ab"])
        XCTAssertEqual(tags.map(\.quotedSubject), ["net: add y", "net: add z"])
        XCTAssertEqual(Trailers.backportReferences(in: "x\r\n\r\ncommit 0123456789abcdef0123456789abcdef01234567 upstream.\r\n")
            .map(\.hex), ["0123456789abcdef0123456789abcdef01234567"])
    }

    /// Through `--range`, a fix whose only tag uses an odd spelling is checked, and its target is followed.
    func testOddFixesSpellingsAreInTheRange() throws {
        let history = try SmallHistory(files: ["fs/a.c", "fs/b.c"])
        let base = history.vendorTip
        let glued = try history.upstream("fs: fix a\n\nFixes: \(base.short(12))(\"base\")\n") {
            $0["fs/a.c"] = $0["fs/a.c"]!.replacing(5, with: ["\tfixed_a();"])
        }
        let worded = try history.upstream("fs: fix b\r\n\r\nFixes: commit \(base.short(12)) (\"base\")\r\n") {
            $0["fs/b.c"] = $0["fs/b.c"]!.replacing(5, with: ["\tfixed_b();"])
        }
        let report = try HistoryChecker(options: HistoryOptions(vendorPath: history.path, branch: "vendor",
                                                                upstreamRef: "upstream"))
            .run(.range("vendor..upstream"))
        XCTAssertEqual(report.fixes.map(\.commit), [glued.hex, worded.hex])
        XCTAssertEqual(report.fixes.map { $0.fixes.map(\.commit) }, [[base.hex], [base.hex]])
        XCTAssertEqual(report.fixes.map { $0.fixes.first?.shipped }, [true, true])

        let empty = try HistoryChecker(options: HistoryOptions(vendorPath: history.path, branch: "vendor",
                                                               upstreamRef: "upstream"))
            .run(.range("upstream..upstream"))
        XCTAssertEqual(empty.fixes, [])
        XCTAssertEqual(empty.warnings, ["no commit in upstream..upstream carries a Fixes: tag: nothing to check"])
    }
}

/// The file-by-file apply check gives libgit2's full cherry-pick answer, or leaves the case to it.
final class QuickPickTests: XCTestCase {
    func testQuickPickAgreesWithTheFullPick() throws {
        let history = try SmallHistory(files: ["a.c", "b.c"])
        let clean = try history.upstream("fix a\n") { $0["a.c"] = $0["a.c"]!.replacing(5, with: ["\tfixed_a();"]) }
        let merged = try history.upstream("fix b\n") { $0["b.c"] = $0["b.c"]!.replacing(20, with: ["\tfixed_b();"]) }
        let conflicting = try history.upstream("fix b again\n") { $0["b.c"] = $0["b.c"]!.replacing(30, with: ["\tfixed_b30();"]) }
        let there = try history.upstream("fix a again\n") { $0["a.c"] = $0["a.c"]!.replacing(35, with: ["\tfixed_a35();"]) }
        try history.vendor("vendor work\n") {
            $0["b.c"] = $0["b.c"]!.replacing(25, with: ["\tvendor_b();"]).replacing(30, with: ["\tvendor_b30();"])
            $0["a.c"] = $0["a.c"]!.replacing(35, with: ["\tfixed_a35();"])
        }
        let picker = try InMemoryCherrypicker(target: history.repository, source: history.repository)
        for (commit, expected) in [(clean, CherrypickOutcome.clean), (merged, .clean), (there, .noChange)] {
            XCTAssertEqual(try picker.quickPick(commit, onto: history.vendorTip), expected)
            XCTAssertEqual(try picker.pick(commit, onto: history.vendorTip), expected)
        }
        XCTAssertNil(try picker.quickPick(conflicting, onto: history.vendorTip))
        XCTAssertEqual(try picker.pick(conflicting, onto: history.vendorTip), .conflicts(["b.c"]))
    }
}
