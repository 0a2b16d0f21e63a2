import Foundation
import XCTest
@testable import KwardenCore

/// `scan --shard K/N` and `merge`: N shards joined give the findings of one run.
final class ShardTests: CommandLineTestCase {
    func key(_ finding: [String: Any]) -> String {
        let evidence = (try? JSONSerialization.data(withJSONObject: finding["evidence"] ?? [], options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return ["fingerprint", "file", "line", "column", "rule", "confidence", "message"].map { "\(finding[$0] ?? "")" }.joined(separator: "|") + evidence
    }

    func testShardsMergedGiveTheSingleRunsFindings() throws {
        let single = try json(try kwarden(["scan", "corpus", "-q", "--format", "json"], in: Repository.root).stdout)
        for count in [2, 3] {
            var paths: [String] = []
            var parsed = 0
            for index in 1...count {
                let path = scratch + "/shard-\(index)-of-\(count).json"
                let run = try kwarden(["scan", "corpus", "-q", "--format", "json", "--shard", "\(index)/\(count)", "-o", path], in: Repository.root)
                XCTAssertNotEqual(run.status, 2, run.stderr)
                let shard = try json(try String(contentsOfFile: path, encoding: .utf8))
                XCTAssertEqual(shard["shard"] as? String, "\(index)/\(count)")
                parsed += findings(shard).isEmpty ? 0 : 1
                paths.append(path)
            }
            XCTAssertGreaterThan(parsed, 1, "the work is really split")
            let merged = try kwarden(["merge"] + paths + ["--format", "json"])
            XCTAssertEqual(merged.status, 1, merged.stderr)
            let report = try json(merged.stdout)
            XCTAssertEqual(findings(report).map(key).sorted(), findings(single).map(key).sorted(), "\(count) shards")
            XCTAssertEqual((report["summary"] as? [String: Any])?["findings"] as? Int, findings(single).count)
        }
    }

    func testSARIFShardsMergeToOneValidLog() throws {
        let single = try json(try kwarden(["scan", "corpus", "-q", "--format", "sarif"], in: Repository.root).stdout)
        var paths: [String] = []
        for index in 1...2 {
            let path = scratch + "/shard-\(index).sarif"
            _ = try kwarden(["scan", "corpus", "-q", "--format", "sarif", "--shard", "\(index)/2", "-o", path], in: Repository.root)
            paths.append(path)
        }
        let merged = try kwarden(["merge"] + paths + ["--format", "sarif"])
        XCTAssertEqual(merged.status, 1, merged.stderr)
        try assertValidSARIF(merged.stdout)
        func fingerprints(_ log: [String: Any]) -> [String] {
            (((log["runs"] as! [[String: Any]])[0]["results"] as! [[String: Any]])).map {
                ($0["partialFingerprints"] as! [String: Any])["kwardenFingerprint/v1"] as! String
            }.sorted()
        }
        XCTAssertEqual(fingerprints(try json(merged.stdout)), fingerprints(single))
    }

    func testAnIncompleteOrMixedSplitIsRefused() throws {
        var paths: [String] = []
        for index in 1...3 {
            let path = scratch + "/s\(index).json"
            _ = try kwarden(["scan", "corpus/subtract-loop-zero-divisor", "-q", "--format", "json", "--shard", "\(index)/3", "-o", path], in: Repository.root)
            paths.append(path)
        }
        let missing = try kwarden(["merge", paths[0], paths[2]])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("missing shard 2/3"), missing.stderr)
        let twice = try kwarden(["merge", paths[0], paths[1], paths[1], paths[2]])
        XCTAssertEqual(twice.status, 2)
        XCTAssertTrue(twice.stderr.contains("given twice"), twice.stderr)
        XCTAssertEqual(try kwarden(["scan", "corpus", "-q", "--shard", "4/3"], in: Repository.root).status, 2)
    }
}
