import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

final class ConfigurationTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "kwarden-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/skip", withIntermediateDirectories: true)
        try "-std=gnu11\n".write(toFile: directory + "/compile_flags.txt", atomically: true, encoding: .utf8)
        let spinning = "struct pool { unsigned int nr; };\nunsigned int spin(struct pool *p, unsigned int v)\n{\n\twhile (v >= p->nr)\n\t\tv -= p->nr;\n\treturn v;\n}\n"
        try spinning.write(toFile: directory + "/a.c", atomically: true, encoding: .utf8)
        try spinning.write(toFile: directory + "/skip/b.c", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func testConfigurationFileIsReadAndApplied() throws {
        try """
        exclude: [skip]
        rules:
          disable: []
        lists:
          subtract-loop-zero-divisor:
            noreturn_functions: [vendor_fatal]
        flags: ["-DVENDOR=1"]
        """.write(toFile: directory + "/.kwarden.yaml", atomically: true, encoding: .utf8)
        let configuration = try TreeConfiguration.load(treeRoot: directory)
        XCTAssertEqual(configuration.exclude, ["skip"])
        XCTAssertEqual(configuration.flags, ["-DVENDOR=1"])
        XCTAssertEqual(configuration.ruleSelection(commandLine: []), RuleRegistry.ids)
        let rules = try RuleRegistry.load(rulesDirectory: Repository.rules, extraLists: configuration.lists)
        XCTAssertTrue(rules[0].metadata.list("noreturn_functions").contains("vendor_fatal"))
        var options = ScanOptions(paths: [directory], rules: rules)
        options.excludes = configuration.exclude
        let result = try Scanner(options: options).run()
        XCTAssertEqual(result.findings.map(\.file), ["a.c"])
    }

    func testUnknownKeysAreErrorsNamingTheKey() throws {
        try "exclude: [skip]\nexcludes: [typo]\n".write(toFile: directory + "/.kwarden.yaml", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TreeConfiguration.load(treeRoot: directory)) { error in
            XCTAssertTrue("\(error)".contains("unknown key 'excludes'"), "\(error)")
        }
        try "rules:\n  disabled: [x]\n".write(toFile: directory + "/.kwarden.yaml", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TreeConfiguration.load(treeRoot: directory)) { error in
            XCTAssertTrue("\(error)".contains("rules.disabled"), "\(error)")
        }
    }

    func testUnknownRuleInConfigurationIsAnError() throws {
        try "rules:\n  disable: [no-such-rule]\n".write(toFile: directory + "/.kwarden.yaml", atomically: true, encoding: .utf8)
        let configuration = try TreeConfiguration.load(treeRoot: directory)
        XCTAssertThrowsError(try configuration.validateRuleIDs())
    }

    func testBaselineRoundTripSuppressesKnownFindingsOnly() throws {
        let rules = try RuleRegistry.load(rulesDirectory: Repository.rules)
        let first = try Scanner(options: ScanOptions(paths: [directory], rules: rules)).run()
        XCTAssertEqual(first.findings.count, 2)
        let path = directory + "/baseline.json"
        try Baseline(findings: first.findings).write(to: path)
        let baseline = try Baseline.load(path)
        XCTAssertEqual(baseline.fingerprints, Set(first.findings.map(\.fingerprint)))
        XCTAssertTrue(baseline.filter(first).findings.isEmpty)

        // A new finding appears, an old one moves: only the new one is reported.
        let c = "struct ring { unsigned int n; };\nunsigned int wrap(struct ring *r, unsigned int v)\n{\n\twhile (v >= r->n)\n\t\tv -= r->n;\n\treturn v;\n}\n"
        try c.write(toFile: directory + "/c.c", atomically: true, encoding: .utf8)
        let a = try String(contentsOfFile: directory + "/a.c", encoding: .utf8)
        try ("/* moved down */\n\n" + a).write(toFile: directory + "/a.c", atomically: true, encoding: .utf8)
        let second = try Scanner(options: ScanOptions(paths: [directory], rules: rules)).run()
        XCTAssertEqual(baseline.filter(second).findings.map(\.file), ["c.c"])
        XCTAssertThrowsError(try Baseline.load(directory + "/compile_flags.txt"))
    }
}
