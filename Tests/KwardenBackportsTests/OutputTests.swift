import Foundation
import XCTest
@testable import KwardenBackports

final class OutputTests: XCTestCase {
    func report() throws -> BackportReport {
        let repos = try ScenarioRepositories.separateRepositories()
        let s = repos.scenario
        return try HistoryChecker(options: HistoryOptions(vendorPath: repos.vendorPath, branch: "vendor",
                                                          upstreamPath: repos.upstreamPath))
            .run(.requests(["F1", "F4", "F6"].map { FixRequest(id: s.upstream[$0]!.hex) }))
    }

    func testJSONHasTheInterfaceKeys() throws {
        let json = try BackportOutput.json(try report())
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let fixes = try XCTUnwrap(object["fixes"] as? [[String: Any]])
        XCTAssertEqual(fixes.count, 3)
        for key in ["commit", "subject", "status", "how", "evidence", "fixes_of_fixes"] {
            XCTAssertNotNil(fixes[0][key], "fix key \(key)")
        }
        XCTAssertEqual(fixes.map { $0["status"] as? String }, ["present", "reverted", "missing"])
        XCTAssertEqual(fixes.map { $0["how"] as? String }, ["trailer", "", ""])
        let evidence = try XCTUnwrap((fixes[0]["evidence"] as? [[String: Any]])?.first)
        XCTAssertNotNil(evidence["commit"] as? String)
        XCTAssertTrue((evidence["line"] as? String)?.hasSuffix("upstream.") ?? false)
        XCTAssertEqual((fixes[0]["fixes_of_fixes"] as? [[String: Any]])?.count, 1)
        let summary = try XCTUnwrap(object["summary"] as? [String: Any])
        for key in ["present", "missing", "reverted", "not_needed", "unknown", "seconds"] {
            XCTAssertNotNil(summary[key], "summary key \(key)")
        }
        XCTAssertEqual(summary["present"] as? Int, 1)
        XCTAssertEqual(summary["missing"] as? Int, 1)
        XCTAssertEqual(summary["reverted"] as? Int, 1)
    }

    /// With --no-apply-check, text and Markdown say the apply check was not made instead of "0 apply cleanly".
    func testNoApplyCheckIsSaidSo() throws {
        let repos = try ScenarioRepositories.separateRepositories()
        let s = repos.scenario
        func run(applyCheck: Bool) throws -> BackportReport {
            try HistoryChecker(options: HistoryOptions(vendorPath: repos.vendorPath, branch: "vendor",
                                                       upstreamPath: repos.upstreamPath, applyCheck: applyCheck))
                .run(.requests(["F6", "F7"].map { FixRequest(id: s.upstream[$0]!.hex) }))
        }
        let unchecked = try run(applyCheck: false)
        let text = BackportOutput.text(unchecked), markdown = BackportOutput.markdown(unchecked)
        XCTAssertTrue(text.contains("0 present, 2 missing, 0 reverted, 0 not needed, apply not checked, 0 unknown"), text)
        XCTAssertFalse(text.contains("apply cleanly"), text)
        XCTAssertTrue(markdown.contains("| missing | 2 (apply not checked) |"), markdown)
        XCTAssertFalse(markdown.contains("apply cleanly"), markdown)
        let checked = try run(applyCheck: true)
        XCTAssertTrue(BackportOutput.text(checked).contains("2 of the missing apply cleanly"))
        XCTAssertTrue(BackportOutput.markdown(checked).contains("| missing | 2 (2 apply cleanly) |"))
    }

    func testTreeEvidenceKeepsTheEvidenceShape() throws {
        let evidence = Evidence(commit: nil, line: "applied: x();", file: "a.c", lineNumber: 3)
        let encoded = String(decoding: try JSONEncoder().encode(evidence), as: UTF8.self)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(encoded.utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["commit", "line", "file", "line_number"])
        XCTAssertTrue(object["commit"] is NSNull)
        XCTAssertEqual(try JSONDecoder().decode(Evidence.self, from: Data(encoded.utf8)), evidence)
    }

    func testTextAndMarkdown() throws {
        let report = try report()
        let text = BackportOutput.text(report)
        XCTAssertTrue(text.contains("PRESENT     \(report.fixes[0].commit.prefix(12)) net: fix zero divisor in queue selection [trailer]"), text)
        XCTAssertTrue(text.contains("REVERTED"), text)
        XCTAssertTrue(text.contains("1 present, 1 missing, 1 reverted, 0 not needed"), text)
        let markdown = BackportOutput.markdown(report)
        // Summary table first, then one section per status, work to do first.
        XCTAssertTrue(markdown.contains("| Status | Fixes |\n|---|---|\n| missing | 1 (1 apply cleanly) |\n| reverted | 1 |\n| present | 1 |\n"), markdown)
        let sections = markdown.components(separatedBy: "\n## ").dropFirst().map { $0.prefix(while: { $0 != "\n" }) }
        XCTAssertEqual(sections, ["missing (1)", "reverted (1)", "present (1)"])
        // A reverted fix's proof names the backport and the revert that stands.
        let revert = try XCTUnwrap(report.fixes[1].evidence.last?.commit)
        XCTAssertTrue(markdown.contains("; reverted by \(revert.prefix(12)) This reverts commit "), markdown)
        XCTAssertTrue(markdown.contains("| `\(report.fixes[2].commit.prefix(12))` | net: handle zero divisor in the fast path too |  | applies cleanly onto the branch; "), markdown)
        XCTAssertEqual(BackportOutput.exitStatus(report), 1)
    }
}
