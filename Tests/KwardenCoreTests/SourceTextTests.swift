import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// The byte search behind every textual preselection: edges of the buffer and identifier boundaries.
final class SourceTextTests: XCTestCase {
    func testFindsNeedlesAtTheEdgesAndNotPastThem() {
        let text = SourceText("qcount -= d; x = qcount")
        XCTAssertEqual(text.firstIndex(of: Array("qcount".utf8), from: 0), 0)
        XCTAssertEqual(text.firstIndex(of: Array("qcount".utf8), from: 1), 17)
        XCTAssertNil(text.firstIndex(of: Array("qcount".utf8), from: 18))
        XCTAssertNil(text.firstIndex(of: Array("qcountx".utf8), from: 17))
        XCTAssertNil(SourceText("ab").firstIndex(of: Array("abc".utf8), from: 0))
        XCTAssertTrue(text.contains("-= d;"))
        XCTAssertFalse(text.contains("+= d"))
    }

    func testIdentifiersMatchWholeWordsOnly() {
        let text = SourceText("dev->real_num_tx_queues = 0; nr_queues_max++;")
        XCTAssertTrue(text.containsIdentifier("real_num_tx_queues"))
        XCTAssertFalse(text.containsIdentifier("num_tx_queues"))
        XCTAssertFalse(text.containsIdentifier("nr_queues"))
        XCTAssertTrue(text.containsIdentifier("nr_queues_max"))
        XCTAssertTrue(text.containsIdentifier("dev"))
    }
}
