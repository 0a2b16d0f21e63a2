import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// Each rule's metadata carries triggering and non-triggering examples (shown by `kwarden explain`);
/// they must behave as labelled.
final class RuleExampleTests: XCTestCase {
    func testExamplesInRuleMetadataBehaveAsLabelled() throws {
        for rule in try RuleRegistry.load(rulesDirectory: Repository.rules) {
            let examples = try XCTUnwrap(rule.metadata.examples, "\(rule.id) has no examples")
            XCTAssertFalse(examples.triggering.isEmpty)
            XCTAssertFalse(examples.nonTriggering.isEmpty)
            for (expected, sources) in [(true, examples.triggering), (false, examples.nonTriggering)] {
                for source in sources {
                    let directory = NSTemporaryDirectory() + "kwarden-example-" + UUID().uuidString
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                    defer { try? FileManager.default.removeItem(atPath: directory) }
                    try source.write(toFile: directory + "/example.c", atomically: true, encoding: .utf8)
                    var options = ScanOptions(paths: [directory], rules: [rule])
                    options.jobs = 1
                    let result = try Scanner(options: options).run()
                    XCTAssertEqual(result.summary.filesWithErrors, 0, "example must compile:\n\(source)")
                    XCTAssertEqual(!result.findings.isEmpty, expected, "\(rule.id) example \(expected ? "should" : "should not") trigger:\n\(source)")
                }
            }
        }
    }

    func testMetadataIsCompleteForEveryRule() throws {
        for rule in try RuleRegistry.load(rulesDirectory: Repository.rules) {
            let m = rule.metadata
            XCTAssertFalse(m.title.isEmpty)
            XCTAssertGreaterThan(m.finds.count, 40, "\(m.id): say what it finds")
            XCTAssertGreaterThan(m.why.count, 40, "\(m.id): say why it matters")
        }
    }
}
