import Foundation
import GitKit
import XCTest
@testable import KwardenBackports

final class CatalogTests: XCTestCase {
    /// rules/fixes.yaml as committed in this repository.
    var catalogPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("rules/fixes.yaml").path
    }

    func testCatalogParsesAndNamesKnownRules() throws {
        let catalog = try Catalog.load(path: catalogPath)
        XCTAssertFalse(catalog.fixes.isEmpty)
        let rules: Set<String> = ["subtract-loop-zero-divisor", "dma-free-after-failed-disable", "wildcard-packet-type",
                                  "rcu-publish-without-sync"]
        for entry in catalog.fixes {
            XCTAssertTrue(rules.contains(entry.rule), "\(entry.commit): unknown rule \(entry.rule)")
            XCTAssertNotNil(Oid(hex: entry.commit), entry.commit)
            XCTAssertFalse(entry.subject.isEmpty)
            for target in entry.fixes ?? [] { XCTAssertNotNil(Oid(hex: target), "\(entry.commit) fixes \(target)") }
        }
        XCTAssertEqual(Set(catalog.requests.map(\.id)).count, catalog.fixes.count, "no duplicate entries")
        // The follow-up fix in the catalog names the fix it repairs, which is in the catalog too.
        let ids = Set(catalog.fixes.map(\.commit))
        XCTAssertTrue(catalog.fixes.contains { ($0.fixes ?? []).contains(where: ids.contains) })
    }

    func testBadCatalogsAreRefused() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.sub("fixes.yaml")
        try "fixes:\n  - commit: 066b86787fa3\n    subject: s\n    rule: r\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Catalog.load(path: path)) {
            XCTAssertTrue(($0 as? BackportError)?.message.contains("is not a full 40-hex commit id") ?? false)
        }
        try "fixes: [".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Catalog.load(path: path)) {
            XCTAssertTrue(($0 as? BackportError)?.message.contains("is not a valid fixes catalog") ?? false)
        }
        XCTAssertThrowsError(try Catalog.load(path: scratch.sub("missing.yaml")))
    }

    /// Catalog fixes that the upstream repository does not hold are reported `unknown`, with the catalog's subject.
    func testCatalogFixesAbsentUpstreamAreUnknown() throws {
        let scratch = try ScratchDirectory()
        let repository = try Repository(initAt: scratch.sub("repo"))
        try HistoryBuilder(repository).commit(["a.c": "int a;\n"], parents: [], message: "a\n", branch: "main")
        try repository.setHead("refs/heads/main")
        let catalog = try Catalog.load(path: catalogPath)
        let report = try HistoryChecker(options: HistoryOptions(vendorPath: scratch.sub("repo")))
            .run(.requests(catalog.requests))
        XCTAssertEqual(report.fixes.map(\.status), Array(repeating: .unknown, count: catalog.fixes.count))
        XCTAssertEqual(report.fixes.map(\.subject), catalog.fixes.map(\.subject))
        XCTAssertEqual(report.fixes.map(\.rule), catalog.fixes.map(\.rule))
        XCTAssertFalse(report.hasMissingNeededFix)
    }
}
