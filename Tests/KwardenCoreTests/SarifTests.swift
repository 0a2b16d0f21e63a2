import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// SARIF as GitHub code scanning and the OASIS schema take it.
final class SarifTests: CommandLineTestCase {
    func run(_ log: [String: Any]) -> [String: Any] { (log["runs"] as! [[String: Any]])[0] }
    func results(_ log: [String: Any]) -> [[String: Any]] { run(log)["results"] as! [[String: Any]] }
    func invocation(_ log: [String: Any]) -> [String: Any] { (run(log)["invocations"] as! [[String: Any]])[0] }

    func testCorpusSARIFIsValid() throws {
        let scan = try kwarden(["scan", "corpus", "-q", "--format", "sarif"], in: Repository.root)
        XCTAssertEqual(scan.status, 1)
        try assertValidSARIF(scan.stdout)
        let log = try json(scan.stdout)
        XCTAssertEqual(results(log).count, try json(try kwarden(["scan", "corpus", "-q", "--format", "json"], in: Repository.root).stdout)["summary"]
            .flatMap { ($0 as? [String: Any])?["findings"] as? Int })
        XCTAssertEqual(invocation(log)["executionSuccessful"] as? Bool, true)
    }

    func testOddFileNamesAreEncodedAndValid() throws {
        let tree = try copyCorpus([], to: "odd tree")
        let loop = "unsigned int spin(unsigned int v, unsigned int n)\n{\n\twhile (v >= n)\n\t\tv -= n;\n\treturn v;\n}\nvoid caller(void) { spin(3, 0); }\n"
        for name in ["with space.c", "hash#1.c", "größe.c", "percent%20.c"] {
            try loop.write(toFile: tree + "/" + name, atomically: true, encoding: .utf8)
        }
        let scan = try kwarden(["scan", "odd tree", "-q", "--format", "sarif"])
        XCTAssertEqual(scan.status, 1, scan.stderr)
        try assertValidSARIF(scan.stdout)
        let uris = results(try json(scan.stdout)).map {
            ((($0["locations"] as! [[String: Any]])[0]["physicalLocation"] as! [String: Any])["artifactLocation"] as! [String: Any])["uri"] as! String
        }
        XCTAssertEqual(Set(uris), ["odd%20tree/with%20space.c", "odd%20tree/hash%231.c", "odd%20tree/gr%C3%B6%C3%9Fe.c", "odd%20tree/percent%2520.c"])
    }

    func testBaselinedFindingsStayInSARIFAsUnchanged() throws {
        let tree = try copyCorpus(["subtract-loop-zero-divisor"])
        XCTAssertEqual(try kwarden(["scan", tree, "-q", "--write-baseline", "baseline.json"]).status, 1)
        // One finding more than the baseline knows.
        try "unsigned int spin(unsigned int v, unsigned int n)\n{\n\twhile (v >= n)\n\t\tv -= n;\n\treturn v;\n}\nvoid caller(void) { spin(3, 0); }\n"
            .write(toFile: tree + "/new.c", atomically: true, encoding: .utf8)
        let scan = try kwarden(["scan", tree, "-q", "--baseline", "baseline.json", "--format", "sarif"])
        XCTAssertEqual(scan.status, 1)
        try assertValidSARIF(scan.stdout)
        let states = results(try json(scan.stdout)).map { $0["baselineState"] as? String }
        XCTAssertEqual(states.filter { $0 == "new" }.count, 1)
        XCTAssertGreaterThan(states.filter { $0 == "unchanged" }.count, 5, "baselined findings are kept, not dropped")
        XCTAssertEqual(states.filter { $0 == nil }.count, 0)
        let text = try kwarden(["scan", tree, "-q", "--baseline", "baseline.json"])
        XCTAssertEqual(text.stdout.components(separatedBy: "[subtract-loop-zero-divisor]").count - 1, 1, "text shows only the new one")
    }

    func testFailuresAndParseErrorsMakeTheRunNotSuccessfulAndAreNotified() throws {
        let tree = try copyCorpus(["subtract-loop-zero-divisor/divided.c"])
        try "unsigned int broken(unsigned int v, unsigned int n)\n{\n\twhile (v >= n)\n\t\tv -= n;\n\treturn v + undeclared;\n}\n"
            .write(toFile: tree + "/broken.c", atomically: true, encoding: .utf8)
        try "unsigned int crash(unsigned int v, unsigned int n)\n{\n\twhile (v >= n)\n\t\tv -= n;\n\treturn v;\n}\n"
            .write(toFile: tree + "/crash.c", atomically: true, encoding: .utf8)
        let scan = try kwarden(["scan", tree, "-q", "--format", "sarif"], environment: ["KWARDEN_TEST_CRASH_ON": "/crash.c"])
        try assertValidSARIF(scan.stdout)
        let log = try json(scan.stdout)
        XCTAssertEqual(invocation(log)["executionSuccessful"] as? Bool, false)
        let notifications = (invocation(log)["toolExecutionNotifications"] as! [[String: Any]]).map { ($0["message"] as! [String: Any])["text"] as! String }
        XCTAssertTrue(notifications.contains { $0.hasPrefix("not scanned: libclang crashed") }, "\(notifications)")
        XCTAssertTrue(notifications.contains { $0.contains("parsed with 1 error") && $0.contains("undeclared") }, "\(notifications)")
    }

    func testCapsFollowGitHubLimitsMostConfidentFirst() throws {
        let evidence = (1...1_200).map { Evidence(file: "a.c", line: $0, message: "step \($0)") }
        var findings = [Finding(rule: "subtract-loop-zero-divisor", severity: .warning, confidence: .high, file: "a.c", line: 1, column: 1,
                                function: "f", message: "many steps", evidence: evidence, fingerprint: "big")]
        findings += (0..<ScanReport.sarifMaxResults).map {
            Finding(rule: "subtract-loop-zero-divisor", severity: .warning, confidence: .medium, file: "b.c", line: $0 + 1, column: 1,
                    function: "g", message: "m", fingerprint: "f\($0)")
        }
        let result = ScanResult(root: ".", findings: findings, summary: ScanSummary(), failures: [], parseErrors: [], notes: [])
        let log = try json(ScanReport.sarif(result, rules: []))
        let kept = results(log)
        XCTAssertEqual(kept.count, ScanReport.sarifMaxResults)
        XCTAssertEqual((kept[0]["relatedLocations"] as! [Any]).count, ScanReport.sarifMaxRelatedLocations)
        XCTAssertEqual((kept[0]["properties"] as! [String: Any])["confidence"] as? String, "high", "the most confident is kept")
        let notes = (invocation(log)["toolExecutionNotifications"] as! [[String: Any]]).map { ($0["message"] as! [String: Any])["text"] as! String }
        XCTAssertTrue(notes.contains("1 of 25001 results left out (at most 25000 per run), the least confident first"), "\(notes)")
        XCTAssertTrue(notes.contains { $0.contains("200 of 1200 evidence locations left out") }, "\(notes)")
    }

    func testAFailedRunStillWritesAValidSARIFWithTheError() throws {
        let scan = try kwarden(["scan", "no-such-tree", "-q", "--format", "sarif", "-o", "out.sarif"])
        XCTAssertEqual(scan.status, 2)
        let log = try String(contentsOfFile: scratch + "/out.sarif", encoding: .utf8)
        try assertValidSARIF(log)
        let parsed = try json(log)
        XCTAssertEqual(invocation(parsed)["executionSuccessful"] as? Bool, false)
        XCTAssertTrue("\(invocation(parsed)["toolExecutionNotifications"]!)".contains("no-such-tree"))

        let gate = try kwarden(["gate", "--repo", scratch, "--base", "HEAD~1", "--format", "sarif", "-o", "gate.sarif"])
        XCTAssertEqual(gate.status, 2)
        let gateLog = try String(contentsOfFile: scratch + "/gate.sarif", encoding: .utf8)
        try assertValidSARIF(gateLog)
        XCTAssertTrue(gateLog.contains("not a git repository"), gateLog)
    }
}
