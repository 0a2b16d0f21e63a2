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
}
