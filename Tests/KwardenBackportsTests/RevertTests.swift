import Foundation
import GitKit
import XCTest
@testable import KwardenBackports

/// Reverts of a fix the branch has by ancestry, and a revert of that revert.
final class RevertTests: XCTestCase {
    func testRevertOfAnAncestorAndRevertOfTheRevert() throws {
        let scratch = try ScratchDirectory()
        let repository = try Repository(initAt: scratch.sub("kernel"))
        let builder = HistoryBuilder(repository)
        let original = SourceFile(name: "sched")
        let fixed = original.replacing(12, with: ["\tif (!rq)", "\t\treturn;"])
        let base = try builder.commit(["kernel/sched.c": original.text], parents: [], message: "base\n", branch: "upstream")
        let fix = try builder.commit(["kernel/sched.c": fixed.text], parents: [base],
                                     message: "sched: fix NULL runqueue\n", branch: "upstream")
        try repository.setReference("refs/heads/vendor", to: fix)
        let revert = try builder.commit(["kernel/sched.c": original.text], parents: [fix],
                                        message: "Revert \"sched: fix NULL runqueue\"\n\nThis reverts commit \(fix.hex).\n",
                                        branch: "vendor", author: "Vendor Dev")
        try repository.setHead("refs/heads/vendor")

        func check() throws -> FixReport {
            try HistoryChecker(options: HistoryOptions(vendorPath: scratch.sub("kernel"), branch: "vendor",
                                                       upstreamRef: "upstream"))
                .run(.requests([FixRequest(id: fix.short(12))])).fixes[0]
        }
        let reverted = try check()
        XCTAssertEqual(reverted.status, .reverted)
        XCTAssertEqual(reverted.evidence.map(\.commit), [fix.hex, revert.hex])

        // Reapplied by reverting the revert: present again, by ancestry.
        let reapply = try builder.commit(["kernel/sched.c": fixed.text], parents: [revert],
                                         message: "Revert \"Revert \\\"sched: fix NULL runqueue\\\"\"\n\nThis reverts commit \(revert.hex).\n",
                                         branch: "vendor", author: "Vendor Dev")
        let present = try check()
        XCTAssertEqual(present.status, .present)
        XCTAssertEqual(present.how, "ancestor")
        XCTAssertNotEqual(reapply, revert)

        // An undo without a revert message is recognised by its inverse patch.
        try builder.commit(["kernel/sched.c": original.text], parents: [reapply], message: "sched: simplify\n",
                           branch: "vendor", author: "Vendor Dev")
        let undone = try check()
        XCTAssertEqual(undone.status, .reverted)
        XCTAssertTrue(undone.evidence.last?.line.hasPrefix("inverse patch of") ?? false, "\(undone.evidence)")
    }
}
