import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// Each rule's metadata carries triggering and non-triggering examples (shown by `kwarden explain`);
/// they must behave as labelled: a triggering example says on which line its finding is
/// (`// expect: <rule>`, as in the corpus), and gives exactly those findings.
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
                    let marked = source.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                        .filter { $0.element.contains("// expect: \(rule.id)") }.map { $0.offset + 1 }
                    XCTAssertEqual(!marked.isEmpty, expected, "\(rule.id): a triggering example marks its finding's line, a non-triggering one marks none:\n\(source)")
                    XCTAssertEqual(result.findings.map(\.line).sorted(), marked, "\(rule.id) example gives exactly its marked findings:\n\(source)")
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

    /// Judges see summaries, never the AST: no judge file imports ClangKit.
    func testJudgesDoNotImportClangKit() throws {
        let rules = Repository.root + "/Sources/KwardenRules"
        let judges = try FileManager.default.subpathsOfDirectory(atPath: rules).filter { $0.hasSuffix("+Judge.swift") }
        XCTAssertEqual(judges.count, RuleRegistry.ids.count, "one judge per rule: \(judges)")
        for judge in judges {
            let text = try String(contentsOfFile: rules + "/" + judge, encoding: .utf8)
            XCTAssertFalse(text.contains("import ClangKit"), "\(judge) must judge from summaries alone")
        }
    }
}
