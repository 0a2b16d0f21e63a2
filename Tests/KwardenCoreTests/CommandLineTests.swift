import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// Runs the built `kwarden` in a scratch directory, as a user or a CI job would.
class CommandLineTestCase: XCTestCase {
    var scratch: String!

    override func setUpWithError() throws {
        scratch = PathPresenter.standardized(NSTemporaryDirectory() + "kwarden-cli-" + UUID().uuidString)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs the built kwarden (or `binary`) in `directory`, with $KWARDEN_RULES_DIR set to `rulesDirectory`
    /// (unset when nil).
    func kwarden(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:],
                 binary: String? = nil, rulesDirectory: String? = Repository.rules) throws -> Run {
        guard let executable = binary ?? Repository.executable else { throw XCTSkip("kwarden executable not built beside the tests") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory ?? scratch)
        var env = ProcessInfo.processInfo.environment
        env["KWARDEN_RULES_DIR"] = rulesDirectory
        env["XDG_CACHE_HOME"] = scratch + "/xdg-cache"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes while the process runs, so that a large report cannot block it.
        let errorReader = PipeReader(err.fileHandleForReading)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errorReader.wait(), as: UTF8.self))
    }

    /// A copy of corpus cases (with the corpus's flags and include directory) under `scratch/name`.
    func copyCorpus(_ cases: [String], to name: String = "tree") throws -> String {
        let tree = scratch + "/" + name
        let fm = FileManager.default
        try fm.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try fm.copyItem(atPath: Repository.corpus + "/compile_flags.txt", toPath: tree + "/compile_flags.txt")
        try fm.copyItem(atPath: Repository.corpus + "/include", toPath: tree + "/include")
        for item in cases { try fm.copyItem(atPath: Repository.corpus + "/" + item, toPath: tree + "/" + (item as NSString).lastPathComponent) }
        return tree
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func findings(_ report: [String: Any]) -> [[String: Any]] { report["findings"] as? [[String: Any]] ?? [] }

    static let sarifSchema = Repository.root + "/Tests/KwardenCoreTests/Fixtures/sarif-schema-2.1.0.json"

    /// Validates `log` against the official SARIF 2.1.0 schema with Debian's python3-jsonschema
    /// (Draft 4) and python3-rfc3987, without which URI formats would go unchecked.
    func assertValidSARIF(_ log: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = scratch + "/log-\(UUID().uuidString).sarif"
        try log.write(toFile: path, atomically: true, encoding: .utf8)
        let script = """
        import json, sys, jsonschema, rfc3987
        schema = json.load(open(sys.argv[1]))
        log = json.load(open(sys.argv[2]))
        errors = sorted(jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).iter_errors(log), key=str)
        for error in errors[:5]:
            print(list(error.absolute_path), error.message)
        sys.exit(1 if errors else 0)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, CommandLineTestCase.sarifSchema, path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let said = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertFalse(said.contains("No module named"), "python3-jsonschema and python3-rfc3987 are needed (scripts/setup installs them): \(said)", file: file, line: line)
        XCTAssertEqual(process.terminationStatus, 0, "not valid SARIF 2.1.0: \(said)", file: file, line: line)
    }

}

/// `kwarden` as a user and a CI job run it: exit codes, paths, inputs checked up front, the
/// result cache across processes, configuration mistakes.
final class CommandLineTests: CommandLineTestCase {
    // MARK: Nothing scanned is an error

    func testNothingToScanExitsTwoAndSaysWhy() throws {
        try FileManager.default.createDirectory(atPath: scratch + "/empty", withIntermediateDirectories: true)
        let empty = try kwarden(["scan", "empty", "-q"])
        XCTAssertEqual(empty.status, 2)
        XCTAssertTrue(empty.stderr.contains("empty: holds no .c file"), empty.stderr)

        try FileManager.default.createDirectory(atPath: scratch + "/headers", withIntermediateDirectories: true)
        try "struct pool { int nr; };\n".write(toFile: scratch + "/headers/pool.h", atomically: true, encoding: .utf8)
        let noSources = try kwarden(["scan", "headers", "-q"])
        XCTAssertEqual(noSources.status, 2, noSources.stdout)
        let header = try kwarden(["scan", "headers/pool.h", "-q"])
        XCTAssertEqual(header.status, 2)
        XCTAssertTrue(header.stderr.contains("headers/pool.h: not a .c file"), header.stderr)

        let missing = try kwarden(["scan", "no-such-dir", "-q"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("no-such-dir: no such file or directory"), missing.stderr)
    }

    func testANamedFileThatIsNotParsedIsExplained() throws {
        try "int quiet(void) { return 0; }\n".write(toFile: scratch + "/quiet.c", atomically: true, encoding: .utf8)
        let run = try kwarden(["scan", "quiet.c", "-q"])
        XCTAssertEqual(run.status, 0)
        XCTAssertTrue(run.stdout.contains("quiet.c: not parsed: no rule's preselection keeps it"), run.stdout)
    }

    // MARK: Inputs are checked before the scan

    func testBadOutputsAndBaselineFailBeforeAnythingIsParsed() throws {
        let tree = try copyCorpus(["subtract-loop-zero-divisor/guarded.c"])
        for arguments in [["--baseline", "missing-baseline.json"], ["-o", "no-dir/report.txt"], ["--write-baseline", "no-dir/baseline.json"]] {
            let run = try kwarden(["scan", tree] + arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(arguments[1]), "the error names \(arguments[1]): \(run.stderr)")
            XCTAssertFalse(run.stderr.contains("kwarden: reading"), "nothing was read before the error: \(run.stderr)")
            XCTAssertTrue(run.stdout.isEmpty)
        }
        try "{ not json".write(toFile: scratch + "/broken.json", atomically: true, encoding: .utf8)
        let broken = try kwarden(["scan", tree, "--baseline", "broken.json"])
        XCTAssertEqual(broken.status, 2)
        XCTAssertTrue(broken.stderr.contains("not a kwarden baseline"), broken.stderr)
        XCTAssertFalse(broken.stderr.contains("kwarden: reading"), broken.stderr)
    }

    // MARK: Paths

    func testPathsAreRelativeToTheCurrentDirectoryAndFingerprintsDoNotDependOnIt() throws {
        let fromRepository = try json(try kwarden(["scan", "corpus/subtract-loop-zero-divisor", "-q", "--format", "json"], in: Repository.root).stdout)
        let files = findings(fromRepository).map { $0["file"] as! String }
        XCTAssertFalse(files.isEmpty)
        XCTAssertTrue(files.allSatisfy { $0.hasPrefix("corpus/subtract-loop-zero-divisor/") }, "\(files)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: Repository.root + "/" + files[0]), "opens from where kwarden ran")

        let fromCorpus = try json(try kwarden(["scan", "subtract-loop-zero-divisor", "-q", "--format", "json"], in: Repository.corpus).stdout)
        XCTAssertEqual(findings(fromCorpus).map { $0["file"] as! String }, files.map { String($0.dropFirst("corpus/".count)) })
        XCTAssertEqual(findings(fromCorpus).map { $0["fingerprint"] as! String }, findings(fromRepository).map { $0["fingerprint"] as! String })

        let relativeTo = try json(try kwarden(["scan", Repository.corpus + "/subtract-loop-zero-divisor", "-q", "--format", "json",
                                               "--relative-to", Repository.root]).stdout)
        XCTAssertEqual(findings(relativeTo).map { $0["file"] as! String }, files)
        XCTAssertEqual(findings(relativeTo).map { $0["fingerprint"] as! String }, findings(fromRepository).map { $0["fingerprint"] as! String })

        let text = try kwarden(["scan", "corpus/subtract-loop-zero-divisor/queue_hash.c", "corpus/subtract-loop-zero-divisor/queue_teardown.c", "-q"], in: Repository.root)
        XCTAssertTrue(text.stdout.hasPrefix("corpus/subtract-loop-zero-divisor/queue_hash.c:"), text.stdout)
    }

    func testNoAbsolutePathOfTheMachineInAnyReport() throws {
        let tree = try copyCorpus(["subtract-loop-zero-divisor", "wildcard-packet-type"])
        // A file that cannot be read, and one that fails to parse cleanly, so that failure reasons and parse errors show too.
        try "unsigned int broken(unsigned int v, unsigned int n)\n{\n\twhile (v >= n)\n\t\tv -= n;\n\treturn v + undeclared;\n}\n"
            .write(toFile: tree + "/broken.c", atomically: true, encoding: .utf8)
        let work = scratch + "/elsewhere"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        for format in ["text", "json", "sarif", "github"] {
            let run = try kwarden(["scan", tree, tree + "/missing.c", "-q", "--format", format], in: work)
            XCTAssertEqual(run.status, 1, run.stderr)
            XCTAssertFalse(run.stdout.contains(scratch), "\(format) report names \(scratch):\n\(run.stdout)")
            XCTAssertTrue(run.stdout.contains("../tree/"), "\(format): paths relative to the current directory:\n\(run.stdout.prefix(2000))")
        }
    }

    // MARK: The result cache across processes

    func testAnIdenticalRerunInAnotherProcessTakesEverythingFromTheCache() throws {
        let tree = try copyCorpus(["subtract-loop-zero-divisor", "rcu-publish-without-sync"])
        let cache = scratch + "/cache"
        let first = try json(try kwarden(["scan", tree, "-q", "--format", "json", "--cache-dir", cache]).stdout)
        let firstSummary = first["summary"] as! [String: Any]
        XCTAssertGreaterThan(firstSummary["fact_files_parsed"] as! Int, 0, "the case needs evidence passes")
        XCTAssertEqual(firstSummary["files_from_cache"] as! Int, 0)
        let stored = try kwarden(["cache", "stats", "--cache-dir", cache]).stdout

        let second = try json(try kwarden(["scan", tree, "-q", "--format", "json", "--cache-dir", cache]).stdout)
        let secondSummary = second["summary"] as! [String: Any]
        XCTAssertEqual(secondSummary["files_from_cache"] as! Int, secondSummary["files_parsed"] as! Int,
                       "evidence passes hit the cache too: \(secondSummary)")
        XCTAssertEqual(findings(second).map { $0["fingerprint"] as! String }, findings(first).map { $0["fingerprint"] as! String })
        XCTAssertEqual(try kwarden(["cache", "stats", "--cache-dir", cache]).stdout.split(separator: "\n").filter { $0.hasPrefix("results:") },
                       stored.split(separator: "\n").filter { $0.hasPrefix("results:") }, "a rerun adds no rows")
    }

    func testCacheStatsPruneAndClear() throws {
        let tree = try copyCorpus(["subtract-loop-zero-divisor"])
        let cache = scratch + "/cache"
        _ = try kwarden(["scan", tree, "-q", "--cache-dir", cache])
        func results() throws -> Int {
            let line = try kwarden(["cache", "stats", "--cache-dir", cache]).stdout.split(separator: "\n").first { $0.hasPrefix("results:") }!
            return Int(line.split(separator: " ")[1])!
        }
        let before = try results()
        XCTAssertGreaterThan(before, 0)
        XCTAssertEqual(try kwarden(["cache", "prune", "--cache-dir", cache]).stdout, "removed 0 results and 0 identifier signatures\n")
        // A changed file makes its entries (and those of files that include nothing else) dead.
        try FileManager.default.removeItem(atPath: tree + "/subtract-loop-zero-divisor/guarded.c")
        let pruned = try kwarden(["cache", "prune", "--cache-dir", cache])
        XCTAssertEqual(pruned.status, 0)
        XCTAssertLessThan(try results(), before, pruned.stdout)
        XCTAssertEqual(try kwarden(["cache", "prune", "--older-than", "0", "--cache-dir", cache]).status, 0)
        XCTAssertEqual(try results(), 0, "everything is older than 0 days")
        _ = try kwarden(["scan", tree, "-q", "--cache-dir", cache])
        XCTAssertGreaterThan(try results(), 0)
        XCTAssertEqual(try kwarden(["cache", "clear", "--cache-dir", cache]).status, 0)
        XCTAssertEqual(try results(), 0)
    }

    // MARK: compile_commands.json

    func testFilesMissingFromTheCompileDatabaseAreCountedAndNamed() throws {
        // A minimal prepared kernel-shaped tree: two drivers, the database knows one.
        let tree = scratch + "/linux"
        let files = preparedKernelSkeleton.merging([
            "drivers/known.c": "unsigned int spin_known(unsigned int v, unsigned int n)\n{\n\twhile (v >= n)\n\t\tv -= n;\n\treturn v;\n}\n",
            "drivers/unknown.c": "unsigned int spin_unknown(unsigned int v, unsigned int n)\n{\n\twhile (v >= n)\n\t\tv -= n;\n\treturn v;\n}\n",
        ]) { $1 }
        try writeTree(files, under: tree)
        let entries: [[String: Any]] = [["directory": ".", "file": "drivers/known.c", "arguments": ["gcc", "-std=gnu11", "-c", "drivers/known.c"]]]
        try JSONSerialization.data(withJSONObject: entries).write(to: URL(fileURLWithPath: tree + "/compile_commands.json"))
        let run = try kwarden(["scan", "linux/drivers", "-q", "--compile-commands", "linux/compile_commands.json"])
        XCTAssertTrue(run.stdout.contains("1 of 2 parsed files are not in the compile database: their flags were derived from Kbuild (drivers/unknown.c)"),
                      run.stdout + run.stderr)
    }

    // MARK: Configuration mistakes

    func testMisspelledListNameIsAnErrorNamingTheValidLists() throws {
        let tree = try copyCorpus(["subtract-loop-zero-divisor/guarded.c"])
        try "lists:\n  subtract-loop-zero-divisor:\n    noreturn_funtions: [vendor_fatal]\n".write(toFile: tree + "/.kwarden.yaml", atomically: true, encoding: .utf8)
        let run = try kwarden(["scan", tree, "-q"])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.stderr.contains("unknown list 'noreturn_funtions'") && run.stderr.contains("noreturn_functions"), run.stderr)
    }

    func testAnExcludeThatMatchesNothingIsWarnedAbout() throws {
        let tree = try copyCorpus(["subtract-loop-zero-divisor"])
        let run = try kwarden(["scan", tree, "-q", "--exclude", "drivers/stagnig", "--exclude", "subtract-loop-zero-divisor/walks.c"])
        XCTAssertTrue(run.stdout.contains("warning: exclude 'drivers/stagnig' matches nothing"), run.stdout)
        XCTAssertFalse(run.stdout.contains("exclude 'walks.c' matches nothing"), run.stdout)
    }

    // MARK: Confidence thresholds and inline suppressions

    func testMinConfidenceAndFailOn() throws {
        let tree = try copyCorpus(["subtract-loop-zero-divisor"])
        let all = try json(try kwarden(["scan", tree, "-q", "--format", "json"]).stdout)
        let confidences = Set(findings(all).map { $0["confidence"] as! String })
        XCTAssertEqual(confidences, ["high", "medium"])
        let high = try kwarden(["scan", tree, "-q", "--format", "json", "--min-confidence", "high"])
        XCTAssertEqual(high.status, 1)
        XCTAssertEqual(Set(findings(try json(high.stdout)).map { $0["confidence"] as! String }), ["high"])

        let rcu = try copyCorpus(["rcu-publish-without-sync"], to: "rcu")
        let mediumOnly = try kwarden(["scan", rcu, "-q", "--fail-on", "high"])
        XCTAssertEqual(mediumOnly.status, 0, "only medium findings, failing on high: \(mediumOnly.stdout)")
        XCTAssertTrue(mediumOnly.stdout.contains("[rcu-publish-without-sync]"), "still reported")
        XCTAssertEqual(try kwarden(["scan", rcu, "-q", "--fail-on", "medium"]).status, 1)
        XCTAssertEqual(try kwarden(["scan", rcu, "-q", "--fail-on", "never"]).status, 0)
        XCTAssertEqual(try kwarden(["scan", rcu, "-q", "--fail-on", "sometimes"]).status, 2)
    }

    func testInlineSuppressionWithAReasonSilencesOneFinding() throws {
        let tree = try copyCorpus(["subtract-loop-zero-divisor/divided.c"])
        let before = try json(try kwarden(["scan", tree, "-q", "--format", "json"]).stdout)
        let target = try XCTUnwrap(findings(before).first)
        let line = target["line"] as! Int
        var lines = try String(contentsOfFile: tree + "/divided.c", encoding: .utf8).components(separatedBy: "\n")
        lines.insert("\t/* kwarden-ignore(subtract-loop-zero-divisor): the caller checks nr first */", at: line - 1)
        try lines.joined(separator: "\n").write(toFile: tree + "/divided.c", atomically: true, encoding: .utf8)

        let after = try json(try kwarden(["scan", tree, "-q", "--format", "json"]).stdout)
        XCTAssertEqual(findings(after).count, findings(before).count - 1)
        let suppressed = try XCTUnwrap(after["suppressed"] as? [[String: Any]])
        XCTAssertEqual(suppressed.count, 1)
        XCTAssertEqual(suppressed.first?["justification"] as? String, "the caller checks nr first")

        let sarif = try json(try kwarden(["scan", tree, "-q", "--format", "sarif"]).stdout)
        let results = ((sarif["runs"] as! [[String: Any]])[0]["results"] as! [[String: Any]])
        let silenced = results.filter { $0["suppressions"] != nil }
        XCTAssertEqual(silenced.count, 1)
        XCTAssertEqual((silenced[0]["suppressions"] as! [[String: Any]])[0]["kind"] as? String, "inSource")

        // Without a reason the comment is not honoured, and the report says so.
        lines[line - 1] = "\t/* kwarden-ignore(subtract-loop-zero-divisor) */"
        try lines.joined(separator: "\n").write(toFile: tree + "/divided.c", atomically: true, encoding: .utf8)
        let unexplained = try kwarden(["scan", tree, "-q"])
        XCTAssertTrue(unexplained.stdout.contains("kwarden-ignore without a reason is not honoured"), unexplained.stdout)
        XCTAssertEqual(unexplained.stdout.components(separatedBy: "[subtract-loop-zero-divisor]").count - 1, findings(before).count)
    }
}

/// Drains a pipe on its own thread (a child blocks once a pipe it writes to is full).
final class PipeReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
