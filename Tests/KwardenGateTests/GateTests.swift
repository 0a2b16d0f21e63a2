import Foundation
import XCTest
import GitKit
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit
@testable import KwardenGate

/// The gate on repositories built here with libgit2: it fails a range only for what the range adds.
final class GateTests: XCTestCase {
    var directory: String!
    var repository: Repository!
    let author = Signature(name: "Dev", email: "dev@example.org", time: 1_700_000_000)
    var commits: [Oid] = []

    static let rulesDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/rules"
    }()

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "kwarden-gate-test-" + UUID().uuidString
        repository = try Repository(initAt: directory)
    }

    override func tearDownWithError() throws {
        repository = nil
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.removeItem(atPath: directory + "-cache")
    }

    /// Commits `files` (the whole tree) on main and checks the result out into the work tree.
    @discardableResult
    func commit(_ files: [String: String], _ message: String) throws -> Oid {
        var all = files
        if all["compile_flags.txt"] == nil { all["compile_flags.txt"] = "-std=gnu11\n" }
        let tree = try repository.writeTree(files: all)
        let id = try repository.createCommit(tree: tree, parents: commits.suffix(1), message: message, author: author, updateRef: "refs/heads/main")
        commits.append(id)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where entry != ".git" {
            try FileManager.default.removeItem(atPath: directory + "/" + entry)
        }
        try repository.export(tree: tree, to: directory)
        return id
    }

    func gate(base: Oid, head: Oid, cache: ResultCache? = nil) throws -> GateResult {
        var options = ScanOptions(paths: [], rules: try RuleRegistry.load(rulesDirectory: GateTests.rulesDirectory))
        options.jobs = 2
        options.cache = cache
        return try Gate(repository: directory, base: base.hex, head: head.hex, template: options).run()
    }

    func testSecondGateRunReusesCachedResultsOfFilesReadFromGit() throws {
        let cache = try ResultCache(directory: directory + "-cache")
        let base = try commit(["drivers/pool.c": guarded, "drivers/other.c": "int other(void) { return 1; }\n"], "pool")
        let head = try commit(["drivers/pool.c": unguarded, "drivers/other.c": "int other(void) { return 1; }\n"], "pool: drop the check")
        let first = try gate(base: base, head: head, cache: cache)
        XCTAssertEqual(first.head.summary.filesFromCache, 0)
        let second = try gate(base: base, head: head, cache: cache)
        XCTAssertEqual(second.introduced.map(\.fingerprint), first.introduced.map(\.fingerprint))
        XCTAssertEqual(second.introduced.count, 1)
        XCTAssertEqual(second.head.summary.filesFromCache, second.head.summary.filesParsed, "the changed file at head comes from the cache")
        XCTAssertEqual(second.base.summary.filesFromCache, second.base.summary.filesParsed)
    }

    func testCachedResultsAreNotReusedWhenAnIncludedHeaderIsOverlaid() throws {
        let cache = try ResultCache(directory: directory + "-cache")
        let source = "#include \"pool.h\"\nunsigned int spin(struct pool *p, unsigned int v)\n{\n\twhile (v >= POOL_SLOTS(p))\n\t\tv -= POOL_SLOTS(p);\n\treturn v;\n}\n"
        let constantHeader = "struct pool { unsigned int nr; };\n#define POOL_SLOTS(p) 8\n"
        let fieldHeader = "struct pool { unsigned int nr; };\n#define POOL_SLOTS(p) ((p)->nr)\n"
        let base = try commit(["lib/pool.c": source, "lib/pool.h": constantHeader], "pool")
        let head = try commit(["lib/pool.c": source, "lib/pool.h": fieldHeader], "pool: slots from the pool")
        // A plain scan of the work tree (head) fills the cache for lib/pool.c with the head header...
        var options = ScanOptions(paths: [directory + "/lib"], rules: try RuleRegistry.load(rulesDirectory: GateTests.rulesDirectory))
        options.cache = cache
        _ = try Scanner(options: options).run()
        // ...which must not stand in for lib/pool.c at base, where pool.h comes from git.
        for _ in 0..<2 {
            let result = try gate(base: base, head: head, cache: cache)
            XCTAssertEqual(result.introduced.map(\.file), ["lib/pool.c"])
            XCTAssertEqual(result.base.summary.filesFromCache, 0)
            XCTAssertEqual(result.base.findings.count, 0)
        }
    }

    let guarded = """
    struct pool { unsigned int nr; };
    unsigned int spin(struct pool *p, unsigned int v)
    {
    \tif (!p->nr)
    \t\treturn 0;
    \twhile (v >= p->nr)
    \t\tv -= p->nr;
    \treturn v;
    }

    """

    var unguarded: String { guarded.replacingOccurrences(of: "\tif (!p->nr)\n\t\treturn 0;\n", with: "") }

    func testRangeThatAddsAFindingFails() throws {
        let base = try commit(["drivers/pool.c": guarded], "pool: add spin")
        let head = try commit(["drivers/pool.c": unguarded], "pool: drop a check")
        let result = try gate(base: base, head: head)
        XCTAssertEqual(result.introduced.count, 1)
        XCTAssertEqual(result.introduced.first?.file, "drivers/pool.c")
        XCTAssertEqual(result.introduced.first?.function, "spin")
        XCTAssertTrue(result.verdict.contains("FAIL"))
    }

    func testEvidenceComesFromUnchangedFilesOfTheTree() throws {
        let teardown = "struct pool { unsigned int nr; };\nvoid pool_release(struct pool *p)\n{\n\tp->nr = 0;\n}\n"
        let base = try commit(["drivers/pool.c": guarded, "drivers/teardown.c": teardown], "pool")
        let head = try commit(["drivers/pool.c": unguarded, "drivers/teardown.c": teardown], "pool: drop a check")
        let result = try gate(base: base, head: head)
        XCTAssertEqual(result.changedFiles, ["drivers/pool.c"])
        let finding = try XCTUnwrap(result.introduced.first)
        XCTAssertTrue(finding.evidence.contains { $0.file == "drivers/teardown.c" && $0.line == 4 }, "\(finding.evidence)")
        XCTAssertEqual(finding.confidence, .high)
    }

    func testEvidenceInAFileTheRangeChangesIsReadAtEachEnd() throws {
        // Base zeroes the field in teardown.c; head (the checked-out tree both ends share for
        // unchanged files) no longer names it there. Base must still find its evidence.
        let zeroing = "struct pool { unsigned int nr; };\nvoid pool_release(struct pool *p)\n{\n\tp->nr = 0;\n}\n"
        let quiet = "struct pool;\nvoid pool_release(struct pool *p)\n{\n}\n"
        let base = try commit(["drivers/pool.c": unguarded, "drivers/teardown.c": zeroing], "pool")
        let head = try commit(["drivers/pool.c": unguarded + "/* spin: no check */\n", "drivers/teardown.c": quiet], "pool: release does nothing")
        let result = try gate(base: base, head: head)
        XCTAssertEqual(result.changedFiles, ["drivers/pool.c", "drivers/teardown.c"])
        let atBase = try XCTUnwrap(result.base.findings.first)
        XCTAssertTrue(atBase.evidence.contains { $0.file == "drivers/teardown.c" && $0.line == 4 }, "\(atBase.evidence)")
        XCTAssertFalse(result.head.findings.contains { $0.evidence.contains { $0.file == "drivers/teardown.c" } })
    }

    func testMovingCodeAroundAPreexistingFindingPasses() throws {
        let base = try commit(["drivers/pool.c": unguarded], "pool: add spin")
        let moved = "/* pool helpers */\n#define POOL_MAX 16\n\nstatic int pool_max(void)\n{\n\treturn POOL_MAX;\n}\n\n" + unguarded
        let head = try commit(["drivers/pool.c": moved], "pool: add pool_max above spin")
        let result = try gate(base: base, head: head)
        XCTAssertEqual(result.introduced.count, 0, "\(result.introduced)")
        XCTAssertEqual(result.preexisting, 1)
        XCTAssertTrue(result.verdict.contains("PASS"))
        XCTAssertEqual(result.head.findings.first?.line, (result.base.findings.first?.line ?? 0) + 8)
    }

    func testRangeThatFixesAFindingPassesAndSaysSo() throws {
        let base = try commit(["drivers/pool.c": unguarded], "pool: add spin")
        let head = try commit(["drivers/pool.c": guarded], "pool: check nr")
        let result = try gate(base: base, head: head)
        XCTAssertEqual(result.introduced.count, 0)
        XCTAssertEqual(result.fixed.count, 1)
        XCTAssertTrue(result.verdict.contains("fixes 1"))
    }

    func testRenamedFileKeepsItsFindings() throws {
        let base = try commit(["drivers/pool.c": unguarded, "drivers/other.c": "int other(void) { return 1; }\n"], "pool")
        let head = try commit(["drivers/pool_core.c": unguarded + "\nint pool_extra(void)\n{\n\treturn 2;\n}\n",
                               "drivers/other.c": "int other(void) { return 1; }\n"], "pool: rename to pool_core.c")
        let result = try gate(base: base, head: head)
        XCTAssertTrue(result.changedFiles.contains("drivers/pool_core.c"))
        XCTAssertEqual(result.head.findings.first?.file, "drivers/pool_core.c")
        XCTAssertEqual(result.base.findings.first?.file, "drivers/pool.c")
        XCTAssertEqual(result.introduced.count, 0, "a rename introduces nothing: \(result.introduced)")
        XCTAssertEqual(result.preexisting, 1)
    }

    func testHeaderChangeCreatesAFindingInAnIncludingFile() throws {
        let source = """
        #include "pool.h"
        unsigned int spin(struct pool *p, unsigned int v)
        {
        \twhile (v >= POOL_SLOTS(p))
        \t\tv -= POOL_SLOTS(p);
        \treturn v;
        }

        """
        let constantHeader = "struct pool { unsigned int nr; };\n#define POOL_SLOTS(p) 8\n"
        let fieldHeader = "struct pool { unsigned int nr; };\n#define POOL_SLOTS(p) ((p)->nr)\n"
        let base = try commit(["lib/pool.c": source, "lib/pool.h": constantHeader, "lib/unrelated.c": "int u(void) { return 0; }\n"], "pool")
        let head = try commit(["lib/pool.c": source, "lib/pool.h": fieldHeader, "lib/unrelated.c": "int u(void) { return 0; }\n"], "pool: slots from the pool")
        let result = try gate(base: base, head: head)
        XCTAssertEqual(result.changedFiles, ["lib/pool.h"])
        XCTAssertEqual(result.introduced.map(\.file), ["lib/pool.c"])
        XCTAssertEqual(result.head.summary.filesConsidered, 1, "only the file including the header is scanned")
    }

    func testHeadDifferentFromTheCheckedOutCommitIsReadFromGit() throws {
        let first = try commit(["drivers/pool.c": guarded], "pool")
        let second = try commit(["drivers/pool.c": unguarded], "pool: drop check")
        // Check out the first commit again: the gate must still see the second one's file.
        try repository.setReference("refs/heads/main", to: first)
        try FileManager.default.removeItem(atPath: directory + "/drivers")
        try repository.export(tree: try repository.commit(first).treeId, to: directory)
        let result = try gate(base: first, head: second)
        XCTAssertEqual(result.introduced.count, 1)
        XCTAssertEqual(try String(contentsOfFile: directory + "/drivers/pool.c", encoding: .utf8), guarded, "the work tree is untouched")
    }

    func testUnknownRevisionAndNonRepositoryAreClearErrors() throws {
        let base = try commit(["drivers/pool.c": guarded], "pool")
        XCTAssertThrowsError(try Gate(repository: directory, base: "no-such-branch", head: base.hex,
                                      template: ScanOptions(paths: [], rules: [])).run()) { error in
            XCTAssertTrue("\(error)".contains("no-such-branch"), "\(error)")
        }
        let plain = NSTemporaryDirectory() + "kwarden-not-a-repo-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: plain) }
        XCTAssertThrowsError(try Gate(repository: plain, base: "HEAD~1", template: ScanOptions(paths: [], rules: [])).run()) { error in
            XCTAssertTrue("\(error)".contains("not a git repository"), "\(error)")
        }
    }

    /// The built `kwarden` executable beside the test bundle (worker processes).
    static var executable: String? {
        let candidates = [Bundle.main.bundleURL, Bundle(for: GateTests.self).bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("kwarden").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func testSeriesIsDiffedFromWhereItForkedNotFromWhereTheBaseMovedOn() throws {
        // main fixes the loop after the feature branch forked; the feature only touches other.c.
        let other = "int other(void) { return 1; }\n"
        let fork = try commit(["drivers/pool.c": unguarded, "drivers/other.c": other], "pool")
        let mainFix = try commit(["drivers/pool.c": guarded, "drivers/other.c": other], "pool: check for an empty pool")
        var files = ["drivers/pool.c": unguarded, "drivers/other.c": "int other(void) { return 2; }\n", "compile_flags.txt": "-std=gnu11\n"]
        let featureTree = try repository.writeTree(files: files)
        let feature = try repository.createCommit(tree: featureTree, parents: [fork], message: "other: return 2", author: author,
                                                  updateRef: "refs/heads/feature")
        files.removeAll()
        for entry in try FileManager.default.contentsOfDirectory(atPath: directory) where entry != ".git" {
            try FileManager.default.removeItem(atPath: directory + "/" + entry)
        }
        try repository.export(tree: featureTree, to: directory)

        let result = try gate(base: mainFix, head: feature)
        XCTAssertEqual(result.changedFiles, ["drivers/other.c"], "only what the series changes")
        XCTAssertTrue(result.introduced.isEmpty, "\(result.introduced)")
        XCTAssertEqual(result.forkPoint, fork.short())
        XCTAssertTrue(result.verdict.contains("PASS") && result.verdict.contains("merge base \(fork.short())"), result.verdict)
    }

    func testGateParsesInWorkerProcessesSoACrashCostsOneFile() throws {
        guard let executable = GateTests.executable else { throw XCTSkip("kwarden executable not built beside the tests") }
        let base = try commit(["drivers/pool.c": guarded], "pool")
        let head = try commit(["drivers/pool.c": unguarded, "drivers/crash.c": unguarded.replacingOccurrences(of: "spin", with: "crash")], "pool: drop a check; add crash.c")
        // The work tree holds base: the workers must read head's files from the gate's overlay.
        for entry in try FileManager.default.contentsOfDirectory(atPath: directory) where entry != ".git" {
            try FileManager.default.removeItem(atPath: directory + "/" + entry)
        }
        try repository.export(tree: try repository.commit(base).treeId, to: directory)
        // The worker's test hook aborts on this file, as a libclang crash would: on a thread it
        // would take the whole test process down.
        setenv("KWARDEN_TEST_CRASH_ON", "drivers/crash.c", 1)
        defer { unsetenv("KWARDEN_TEST_CRASH_ON") }
        var options = ScanOptions(paths: [], rules: try RuleRegistry.load(rulesDirectory: GateTests.rulesDirectory))
        options.jobs = 2
        options.isolation = .processes(executable: executable)
        options.workerArguments = ["--rules-dir", GateTests.rulesDirectory]
        let result = try Gate(repository: directory, base: base.hex, head: head.hex, template: options).run()
        XCTAssertEqual(result.introduced.map(\.file), ["drivers/pool.c"], "the worker read pool.c at head from the gate's overlay")
        XCTAssertEqual(result.head.failures.map(\.file), ["drivers/crash.c"])
        XCTAssertTrue(result.head.failures.first?.reason.contains("crashed") ?? false, "\(result.head.failures)")
    }

    /// A chain rule in the gate follows the call graph through the changed files: a helper that
    /// starts to poll (and may fail) makes a finding in its unchanged caller, while another
    /// driver's pre-existing chain, which the range does not touch, is not parsed at all.
    func testChainThroughAChangedHelperReachesItsUnchangedCaller() throws {
        let corpus = URL(fileURLWithPath: GateTests.rulesDirectory).deletingLastPathComponent().path + "/corpus"
        func read(_ path: String) throws -> String { try String(contentsOfFile: corpus + "/" + path, encoding: .utf8) }
        var tree = ["compile_flags.txt": try read("compile_flags.txt"), "include/kcorpus-dma.h": try read("include/kcorpus-dma.h"),
                    "include/kcorpus.h": try read("include/kcorpus.h"),
                    "drivers/other/tx.c": try read("dma-free-after-failed-disable/tx_error_assigned_ignored.c")]
        for name in ["spl.h", "spl_main.c", "spl_ring.c"] { tree["drivers/spl/" + name] = try read("dma-free-after-failed-disable/split_driver/" + name) }
        let polling = try read("dma-free-after-failed-disable/split_driver/spl_hw.c")
        // At base the Rx stop only writes the register: nothing to wait for, nothing to fail.
        let start = try XCTUnwrap(polling.range(of: "\tfor (tries = 0;")), end = try XCTUnwrap(polling.range(of: "\treturn ret;\n}"))
        tree["drivers/spl/spl_hw.c"] = polling.replacingCharacters(in: start.lowerBound..<end.lowerBound, with: "")
        let base = try commit(tree, "spl: stop Rx queues")
        tree["drivers/spl/spl_hw.c"] = polling
        let head = try commit(tree, "spl: wait for each Rx queue to stop")
        let result = try gate(base: base, head: head)
        XCTAssertEqual(result.changedFiles, ["drivers/spl/spl_hw.c"])
        XCTAssertEqual(result.introduced.map { "\($0.rule) \($0.file) \($0.function)" }, ["dma-free-after-failed-disable drivers/spl/spl_main.c spl_down"])
        XCTAssertFalse(result.head.findings.contains { $0.file.hasPrefix("drivers/other/") }, "\(result.head.findings.map(\.file))")
        XCTAssertTrue(result.head.notes.contains { $0.contains("files on candidate chains through the changed files") }, "\(result.head.notes)")
        // The same chains at both ends.
        XCTAssertEqual(result.base.summary.filesParsed, result.head.summary.filesParsed)
    }

    /// A finding the range cannot account for — in a file one end parsed only for evidence — is
    /// neither introduced nor fixed; one in a changed file, in a file both ends parsed, or whose
    /// evidence runs through a changed file is compared.
    func testOnlyFindingsTheRangeCanAccountForAreCompared() {
        func finding(_ file: String, evidence: [String] = []) -> Finding {
            Finding(rule: "dma-free-after-failed-disable", severity: .error, confidence: .medium, file: file, line: 1, column: 1, function: "f",
                    message: "m", evidence: evidence.map { Evidence(file: $0, line: 2, message: "step") })
        }
        let touched: Set<String> = ["drivers/a/main.c", "drivers/a/old.c"], both: Set<String> = ["drivers/a/main.c", "drivers/a/user.c"]
        XCTAssertTrue(Gate.isAccountable(finding("drivers/a/main.c"), touched: touched, parsedAtBoth: both))
        XCTAssertTrue(Gate.isAccountable(finding("drivers/a/user.c"), touched: touched, parsedAtBoth: both), "an includer of a changed header")
        XCTAssertTrue(Gate.isAccountable(finding("drivers/b/down.c", evidence: ["drivers/b/down.c", "drivers/a/main.c"]), touched: touched, parsedAtBoth: both))
        XCTAssertFalse(Gate.isAccountable(finding("drivers/b/down.c", evidence: ["drivers/b/down.c"]), touched: touched, parsedAtBoth: both),
                       "parsed for evidence at one end")
        XCTAssertTrue(Gate.isAccountable(finding("drivers/a/old.c"), touched: touched, parsedAtBoth: both, renamed: ["drivers/a/old.c": "drivers/a/new.c"]))
    }
}
