import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// Runs every rule over corpus/ and compares with the annotations in the case files:
/// any missing or extra finding fails.
final class CorpusTests: XCTestCase {
    func testCorpusFindingsMatchAnnotationsExactly() throws {
        let result = try scanCorpus([Repository.corpus])
        XCTAssertEqual(result.summary.filesFailed, 0, "corpus files failed: \(result.failures)")
        XCTAssertEqual(result.summary.filesWithErrors, 0, "corpus files must parse cleanly: \(result.parseErrors)")

        let expected = try CorpusAnnotations.read(directory: Repository.corpus, marker: "expect")
        XCTAssertFalse(expected.isEmpty, "the corpus must carry expectations")
        let actual = result.findings.map { Expectation(file: $0.file, line: $0.line, rule: $0.rule) }
        let missing = difference(expected, actual)
        let extra = difference(actual, expected)
        XCTAssertTrue(missing.isEmpty, "missing findings:\n" + missing.map(\.description).joined(separator: "\n"))
        XCTAssertTrue(extra.isEmpty, "unexpected findings:\n" + extra.map(\.description).joined(separator: "\n")
                      + "\n" + result.findings.filter { f in extra.contains { $0.file == f.file && $0.line == f.line } }.map(\.message).joined(separator: "\n"))
    }

    func testCrossFileEvidenceIsAttached() throws {
        let result = try scanCorpus([Repository.corpus])
        let wanted = try CorpusAnnotations.read(directory: Repository.corpus, marker: "evidence")
        XCTAssertFalse(wanted.isEmpty)
        let cited = Set(result.findings.flatMap { finding in finding.evidence.map { Expectation(file: $0.file, line: $0.line, rule: finding.rule) } })
        for place in wanted {
            XCTAssertTrue(cited.contains(place), "no finding cites \(place) as evidence")
        }
    }

    /// Every rule in rules/ has both triggering and non-triggering cases in the corpus.
    func testEveryRuleHasTriggeringAndNonTriggeringCorpusFiles() throws {
        let expected = try CorpusAnnotations.read(directory: Repository.corpus, marker: "expect")
        for id in RuleRegistry.ids {
            XCTAssertTrue(expected.contains { $0.rule == id }, "\(id) has no triggering case in corpus/")
            let directory = Repository.corpus + "/" + id
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            let quiet = files.filter { file in file.hasSuffix(".c") && !expected.contains { $0.file == id + "/" + file } }
            XCTAssertFalse(quiet.isEmpty, "\(id) has no non-triggering case file in corpus/\(id)/")
        }
    }
}
