import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

final class ReportTests: XCTestCase {
    func corpusResult() throws -> (ScanResult, [RuleMetadata]) {
        let rules = try RuleRegistry.load(rulesDirectory: Repository.rules)
        var options = ScanOptions(paths: [Repository.corpus], rules: rules)
        options.jobs = 2
        return (try Scanner(options: options).run(), rules.map(\.metadata))
    }

    func testTextIsCompilerStyleWithNotesAndSummary() throws {
        let (result, _) = try corpusResult()
        let text = ScanReport.text(result)
        let lines = text.split(separator: "\n").map(String.init)
        let first = try XCTUnwrap(result.findings.first)
        XCTAssertTrue(lines.contains("\(first.file):\(first.line):\(first.column): \(first.severity.rawValue): \(first.message) [\(first.rule)]"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("    ") && $0.contains(": note: `") })
        XCTAssertTrue(lines.last!.hasPrefix("kwarden: \(result.findings.count) findings;"))
    }

    func testJSONHasTheDocumentedShape() throws {
        let (result, _) = try corpusResult()
        let object = try JSONSerialization.jsonObject(with: Data(ScanReport.json(result).utf8)) as! [String: Any]
        let findings = try XCTUnwrap(object["findings"] as? [[String: Any]])
        XCTAssertEqual(findings.count, result.findings.count)
        for key in ["rule", "severity", "file", "line", "column", "function", "message", "evidence"] {
            XCTAssertNotNil(findings[0][key], "finding lacks \(key)")
        }
        let withEvidence = try XCTUnwrap(findings.first { !(($0["evidence"] as? [[String: Any]]) ?? []).isEmpty })
        let evidence = (withEvidence["evidence"] as! [[String: Any]])[0]
        for key in ["file", "line", "message"] { XCTAssertNotNil(evidence[key]) }
        XCTAssertFalse((findings[0]["file"] as! String).hasPrefix("/"), "paths are relative to the scanned root")
        let summary = try XCTUnwrap(object["summary"] as? [String: Any])
        for key in ["files_considered", "files_parsed", "files_with_errors", "files_failed", "findings", "seconds"] {
            XCTAssertNotNil(summary[key], "summary lacks \(key)")
        }
        XCTAssertEqual(summary["findings"] as? Int, result.findings.count)
    }

    func testSARIFCarriesRulesFingerprintsAndRelatedLocations() throws {
        let (result, rules) = try corpusResult()
        let log = try JSONSerialization.jsonObject(with: Data(ScanReport.sarif(result, rules: rules).utf8)) as! [String: Any]
        XCTAssertEqual(log["version"] as? String, "2.1.0")
        let run = try XCTUnwrap((log["runs"] as? [[String: Any]])?.first)
        let driver = try XCTUnwrap((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        let sarifRules = try XCTUnwrap(driver["rules"] as? [[String: Any]])
        XCTAssertEqual(sarifRules.map { $0["id"] as? String }, rules.map(\.id))
        XCTAssertNotNil((sarifRules[0]["fullDescription"] as? [String: Any])?["text"])
        let results = try XCTUnwrap(run["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, result.findings.count)
        let fingerprints = results.compactMap { ($0["partialFingerprints"] as? [String: String])?.values.first }
        XCTAssertEqual(Set(fingerprints).count, results.count, "fingerprints are unique per finding")
        XCTAssertTrue(results.contains { ($0["relatedLocations"] as? [[String: Any]])?.isEmpty == false })
        let location = try XCTUnwrap(((results[0]["locations"] as? [[String: Any]])?.first?["physicalLocation"]) as? [String: Any])
        let uri = try XCTUnwrap((location["artifactLocation"] as? [String: Any])?["uri"] as? String)
        XCTAssertFalse(uri.hasPrefix("/"))
    }
}
