import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// One self-contained binary: the rules' metadata is built in, so a kwarden copied anywhere works
/// with no rules/ directory around, and --rules-dir still overrides it.
final class InstallTests: CommandLineTestCase {
    func testBuiltInRulesAreTheFilesUnderRules() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Repository.rules).filter { $0.hasSuffix(".yaml") }
        XCTAssertEqual(Set(EmbeddedRules.files.keys), Set(names), "run scripts/embed-rules")
        for name in names {
            let file = try String(contentsOfFile: Repository.rules + "/" + name, encoding: .utf8)
            XCTAssertTrue(EmbeddedRules.files[name] == file, "rules/\(name) differs from its built-in copy: run scripts/embed-rules")
        }
    }

    /// The built kwarden, copied to a directory of its own outside the checkout.
    private func copiedBinary() throws -> String {
        guard let executable = Repository.executable else { throw XCTSkip("kwarden executable not built beside the tests") }
        try FileManager.default.createDirectory(atPath: scratch + "/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: executable, toPath: scratch + "/bin/kwarden")
        return scratch + "/bin/kwarden"
    }

    func testCopiedBinaryWorksFromAnUnrelatedDirectory() throws {
        let binary = try copiedBinary()
        let work = try copyCorpus(["subtract-loop-zero-divisor"], to: "work")

        let rules = try kwarden(["rules"], in: work, binary: binary, rulesDirectory: nil)
        XCTAssertEqual(rules.status, 0, rules.stderr)
        XCTAssertEqual(rules.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) },
                       RuleRegistry.ids)

        let explain = try kwarden(["explain", "subtract-loop-zero-divisor"], in: work, binary: binary, rulesDirectory: nil)
        XCTAssertEqual(explain.status, 0, explain.stderr)
        XCTAssertTrue(explain.stdout.hasPrefix("subtract-loop-zero-divisor: Unbounded subtract loop"), explain.stdout)
        XCTAssertTrue(explain.stdout.contains("What it finds"))

        // In worker processes (the default), which load the rules the same way.
        let scan = try kwarden(["scan", "--no-cache", "--quiet", "--rules", "subtract-loop-zero-divisor", "subtract-loop-zero-divisor"],
                               in: work, binary: binary, rulesDirectory: nil)
        XCTAssertEqual(scan.status, 1, scan.stderr)
        let expected = try CorpusAnnotations.read(directory: work + "/subtract-loop-zero-divisor", marker: "expect")
        let reported = scan.stdout.split(separator: "\n").filter { $0.hasSuffix("[subtract-loop-zero-divisor]") }
        XCTAssertEqual(reported.count, expected.count, scan.stdout)
        XCTAssertTrue(scan.stdout.contains(", 0 failed;"), scan.stdout)
    }

    /// `backports --catalog` reads the fixes catalog built in with the rules.
    func testCopiedBinaryChecksTheBuiltInFixesCatalog() throws {
        let binary = try copiedBinary()
        let repository = scratch + "/repo"
        for arguments in [["init", "-q", repository], ["-C", repository, "-c", "user.name=k", "-c", "user.email=k@example.org", "commit", "-q", "--allow-empty", "-m", "start"]] {
            XCTAssertEqual(try kwarden(arguments, binary: "/usr/bin/git").status, 0)
        }
        let backports = try kwarden(["backports", "--repo", repository, "--catalog", "--format", "json"], binary: binary, rulesDirectory: nil)
        XCTAssertEqual(backports.status, 0, backports.stderr)
        let checked = try XCTUnwrap(try json(backports.stdout)["fixes"] as? [[String: Any]]).compactMap { $0["commit"] as? String }
        let catalog = try String(contentsOfFile: Repository.rules + "/fixes.yaml", encoding: .utf8).split(separator: "\n")
            .compactMap { line in line.range(of: "commit: ").map { String(line[$0.upperBound...]).trimmingCharacters(in: .whitespaces) } }
        XCTAssertFalse(catalog.isEmpty)
        XCTAssertEqual(checked, catalog)
    }

    func testRulesDirectoryOverridesTheBuiltInRules() throws {
        let binary = try copiedBinary()
        let work = try copyCorpus(["subtract-loop-zero-divisor"], to: "work")
        let rules = scratch + "/my-rules"
        try FileManager.default.copyItem(atPath: Repository.rules, toPath: rules)
        let file = rules + "/subtract-loop-zero-divisor.yaml"
        let original = try String(contentsOfFile: file, encoding: .utf8)
        let title = try XCTUnwrap(original.split(separator: "\n").first { $0.hasPrefix("title: ") })
        try original.replacingOccurrences(of: String(title), with: "title: Locally edited title")
            .write(toFile: file, atomically: true, encoding: .utf8)

        let byOption = try kwarden(["rules", "--rules-dir", rules], in: work, binary: binary, rulesDirectory: nil)
        XCTAssertTrue(byOption.stdout.contains("Locally edited title"), byOption.stdout + byOption.stderr)
        let byEnvironment = try kwarden(["explain", "subtract-loop-zero-divisor"], in: work, binary: binary, rulesDirectory: rules)
        XCTAssertTrue(byEnvironment.stdout.hasPrefix("subtract-loop-zero-divisor: Locally edited title"), byEnvironment.stdout + byEnvironment.stderr)
        let scan = try kwarden(["scan", "--no-cache", "--quiet", "--rules-dir", rules, "--format", "sarif", "subtract-loop-zero-divisor"],
                               in: work, binary: binary, rulesDirectory: nil)
        XCTAssertEqual(scan.status, 1, scan.stderr)
        XCTAssertTrue(scan.stdout.contains("Locally edited title"), "the report describes the rule from --rules-dir")

        let wrong = try kwarden(["rules", "--rules-dir", work], in: work, binary: binary, rulesDirectory: nil)
        XCTAssertEqual(wrong.status, 2)
        XCTAssertTrue(wrong.stderr.contains("\(work) is not a kwarden rules directory"), wrong.stderr)
    }
}
