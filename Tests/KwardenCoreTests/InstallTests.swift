import Foundation
import XCTest
@testable import KwardenCore

/// One self-contained binary: the rules' metadata is built in, so a kwarden copied anywhere works
/// with no rules/ directory around, and --rules-dir still overrides it.
final class InstallTests: ScratchDirectoryTestCase {

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
        try FileManager.default.createDirectory(atPath: directory + "/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: executable, toPath: directory + "/bin/kwarden")
        return directory + "/bin/kwarden"
    }

    /// A directory unrelated to the checkout holding a copy of one corpus case, its compile_flags.txt
    /// and include directory.
    private func workDirectory() throws -> String {
        let work = directory + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Repository.corpus + "/subtract-loop-zero-divisor", toPath: work + "/case")
        try FileManager.default.copyItem(atPath: Repository.corpus + "/compile_flags.txt", toPath: work + "/compile_flags.txt")
        try FileManager.default.copyItem(atPath: Repository.corpus + "/include", toPath: work + "/include")
        return work
    }

    private func run(_ binary: String, _ arguments: [String], in directory: String,
                     rulesDirectory: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["KWARDEN_RULES_DIR"] = rulesDirectory
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    func testCopiedBinaryWorksFromAnUnrelatedDirectory() throws {
        let binary = try copiedBinary()
        let work = try workDirectory()

        let rules = try run(binary, ["rules"], in: work)
        XCTAssertEqual(rules.status, 0, rules.stderr)
        XCTAssertEqual(rules.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) },
                       RuleRegistry.ids)

        let explain = try run(binary, ["explain", "subtract-loop-zero-divisor"], in: work)
        XCTAssertEqual(explain.status, 0, explain.stderr)
        XCTAssertTrue(explain.stdout.hasPrefix("subtract-loop-zero-divisor: Unbounded subtract loop"), explain.stdout)
        XCTAssertTrue(explain.stdout.contains("What it finds"))

        // In worker processes (the default), which load the rules the same way.
        let scan = try run(binary, ["scan", "--no-cache", "--quiet", "--rules", "subtract-loop-zero-divisor", "case"], in: work)
        XCTAssertEqual(scan.status, 1, scan.stderr)
        let expected = try CorpusAnnotations.read(directory: work + "/case", marker: "expect")
        let reported = scan.stdout.split(separator: "\n").filter { $0.hasSuffix("[subtract-loop-zero-divisor]") }
        XCTAssertEqual(reported.count, expected.count, scan.stdout)
        XCTAssertTrue(scan.stdout.contains(", 0 failed;"), scan.stdout)
    }

    /// `backports --catalog` reads the fixes catalog built in with the rules.
    func testCopiedBinaryChecksTheBuiltInFixesCatalog() throws {
        let binary = try copiedBinary()
        let work = try workDirectory()
        let repository = directory + "/repo"
        for arguments in [["init", "-q", repository], ["-C", repository, "-c", "user.name=k", "-c", "user.email=k@example.org", "commit", "-q", "--allow-empty", "-m", "start"]] {
            XCTAssertEqual(try run("/usr/bin/git", arguments, in: work).status, 0)
        }
        let backports = try run(binary, ["backports", "--repo", repository, "--catalog", "--format", "json"], in: work)
        XCTAssertEqual(backports.status, 0, backports.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(backports.stdout.utf8)) as? [String: Any])
        let checked = try XCTUnwrap(report["fixes"] as? [[String: Any]]).compactMap { $0["commit"] as? String }
        let catalog = try String(contentsOfFile: Repository.rules + "/fixes.yaml", encoding: .utf8).split(separator: "\n")
            .compactMap { line in line.range(of: "commit: ").map { String(line[$0.upperBound...]).trimmingCharacters(in: .whitespaces) } }
        XCTAssertFalse(catalog.isEmpty)
        XCTAssertEqual(checked, catalog)
    }

    func testRulesDirectoryOverridesTheBuiltInRules() throws {
        let binary = try copiedBinary()
        let work = try workDirectory()
        let rules = directory + "/my-rules"
        try FileManager.default.copyItem(atPath: Repository.rules, toPath: rules)
        let file = rules + "/subtract-loop-zero-divisor.yaml"
        let original = try String(contentsOfFile: file, encoding: .utf8)
        let title = try XCTUnwrap(original.split(separator: "\n").first { $0.hasPrefix("title: ") })
        try original.replacingOccurrences(of: String(title), with: "title: Locally edited title")
            .write(toFile: file, atomically: true, encoding: .utf8)

        let byOption = try run(binary, ["rules", "--rules-dir", rules], in: work)
        XCTAssertTrue(byOption.stdout.contains("Locally edited title"), byOption.stdout + byOption.stderr)
        let byEnvironment = try run(binary, ["explain", "subtract-loop-zero-divisor"], in: work, rulesDirectory: rules)
        XCTAssertTrue(byEnvironment.stdout.hasPrefix("subtract-loop-zero-divisor: Locally edited title"), byEnvironment.stdout + byEnvironment.stderr)
        let scan = try run(binary, ["scan", "--no-cache", "--quiet", "--rules-dir", rules, "--format", "sarif", "case"], in: work)
        XCTAssertEqual(scan.status, 1, scan.stderr)
        XCTAssertTrue(scan.stdout.contains("Locally edited title"), "the report describes the rule from --rules-dir")

        let wrong = try run(binary, ["rules", "--rules-dir", work], in: work)
        XCTAssertEqual(wrong.status, 2)
        XCTAssertTrue(wrong.stderr.contains("\(work) is not a kwarden rules directory"), wrong.stderr)
    }
}
