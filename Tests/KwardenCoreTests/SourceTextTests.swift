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

    /// The one-pass matcher agrees with `containsIdentifier` name by name, at the buffer's edges,
    /// next to digits and inside longer identifiers.
    func testOnePassMatcherAgreesWithWholeWordSearch() {
        let text = SourceText("ring_free(r);\n#define RING_FREE(x) 0x1f\nstatic int nr_queues_max = x1f + dev_kfree_skb_any\n")
        let names = ["ring_free", "RING_FREE", "x1f", "nr_queues", "nr_queues_max", "dev_kfree_skb", "dev_kfree_skb_any",
                     "static", "ring", "r", "x", "absent_name", "_max", "1f"]
        let expected = Set(names.filter(text.containsIdentifier))
        XCTAssertEqual(expected, ["ring_free", "RING_FREE", "nr_queues_max", "dev_kfree_skb_any", "static", "r", "x", "x1f"])
        XCTAssertEqual(IdentifierMatcher(names).present(in: text), expected)
        XCTAssertTrue(IdentifierMatcher(["absent_name", "x"]).any(in: text))
        XCTAssertFalse(IdentifierMatcher(["absent_name", "1f", "ring", "_max"]).any(in: text))
        XCTAssertEqual(IdentifierMatcher(names).present(in: SourceText("")), [])
        XCTAssertEqual(IdentifierMatcher(["end"]).present(in: SourceText("the end")), ["end"])
    }

    /// Hundreds of names share the matcher's table (probe chains cross each other): every name
    /// is found exactly where a whole-word search finds it, in the whole text and in a range.
    func testMatcherWithManyNamesAgreesWithWholeWordSearch() {
        var lines: [String] = []
        for i in 0..<400 { lines.append("static int q\(i)_len = rx\(i * 7 % 113) + tx_\(i % 37)(ring\(i));") }
        let text = SourceText(lines.joined(separator: "\n"))
        let names = (0..<300).flatMap { ["q\($0)_len", "rx\($0)", "tx_\($0)", "ring\($0 * 3)", "absent\($0)"] }
        let matcher = IdentifierMatcher(names)
        XCTAssertEqual(matcher.present(in: text), Set(names.filter(text.containsIdentifier)))
        XCTAssertEqual(matcher.present(in: text).count, 300 + 113 + 37 + 134)
        let firstLine = 0..<lines[0].utf8.count
        XCTAssertTrue(IdentifierMatcher(["tx_0"]).any(in: text, range: firstLine))
        XCTAssertFalse(IdentifierMatcher(["tx_1", "q1_len"]).any(in: text, range: firstLine))
    }
}
