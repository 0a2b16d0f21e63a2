import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// The result cache: a rescan reuses what did not change, and only that.
final class CacheTests: XCTestCase {
    var directory: String!
    var cacheDirectory: String!

    override func setUpWithError() throws {
        let base = NSTemporaryDirectory() + "kwarden-cache-" + UUID().uuidString
        directory = base + "/tree"
        cacheDirectory = base + "/cache"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "-std=gnu11\n".write(toFile: directory + "/compile_flags.txt", atomically: true, encoding: .utf8)
        try "struct pool { unsigned int nr; };\n#define POOL_NR(p) ((p)->nr)\n".write(toFile: directory + "/pool.h", atomically: true, encoding: .utf8)
        for name in ["a", "b", "c"] {
            let source = "#include \"pool.h\"\nunsigned int spin_\(name)(struct pool *p, unsigned int v)\n{\n\twhile (v >= POOL_NR(p))\n\t\tv -= POOL_NR(p);\n\treturn v;\n}\n"
            try source.write(toFile: directory + "/\(name).c", atomically: true, encoding: .utf8)
        }
        try "int other(void) { return 0; }\n".write(toFile: directory + "/d.c", atomically: true, encoding: .utf8)
        try "#include \"pool.h\"\nunsigned int spin_d(struct pool *p, unsigned int v)\n{\n\twhile (v >= p->nr)\n\t\tv -= p->nr;\n\treturn v;\n}\n"
            .write(toFile: directory + "/e.c", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent)
    }

    func scan(extraArguments: [String] = []) throws -> ScanResult {
        var options = ScanOptions(paths: [directory], rules: try RuleRegistry.load(rulesDirectory: Repository.rules))
        options.cache = try ResultCache(directory: cacheDirectory)
        options.extraArguments = extraArguments
        options.jobs = 2
        return try Scanner(options: options).run()
    }

    /// Tools and editors rewrite files within the same second; make the change visible to the size/mtime check.
    func touch(_ path: String, _ text: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: path)
    }

    /// The cache's compact forms give back exactly what was stored: summaries byte for byte
    /// (any bytes, not only text), the small fields, and dependency stamps to the last digit.
    func testStoredOutcomesAndDependenciesRoundTrip() throws {
        var outcome = FileOutcome(file: "/tree/drivers/a b/x.c")
        outcome.summaries = ["dma-free-after-failed-disable": Data([0, 255, 10, 9, 0x22]), "rcu-publish-without-sync": Data("[]".utf8), "empty": Data()]
        outcome.errorCount = 3
        outcome.firstError = "x.c:1:1: error: \"quoted\"\n"
        outcome.usedPrecompiledHeader = true
        outcome.notes = [FileNote(file: "/tree/x.c", line: 7, message: "left out")]
        let decoded = try XCTUnwrap(FileOutcome(cacheData: try XCTUnwrap(outcome.cacheData)))
        XCTAssertEqual(decoded.summaries, outcome.summaries)
        XCTAssertEqual(decoded.file, outcome.file)
        XCTAssertEqual(decoded.errorCount, 3)
        XCTAssertEqual(decoded.firstError, outcome.firstError)
        XCTAssertTrue(decoded.usedPrecompiledHeader)
        XCTAssertEqual(decoded.notes, outcome.notes)
        XCTAssertNil(FileOutcome(cacheData: Data("{\"file\":\"x\"}".utf8)), "an older format is a miss, not a wrong outcome")
        XCTAssertNil(FileOutcome(cacheData: try XCTUnwrap(outcome.cacheData).dropLast()), "a truncated entry is a miss")

        let dependencies = [ResultCache.Dependency(path: "/usr/include/a\tb c.h", size: 12, modified: 1_796_298_235.870_171_2),
                            ResultCache.Dependency(path: "/k/include/linux/x.h", size: 0, modified: 0.1)]
        XCTAssertEqual(ResultCache.Dependency.decode(list: ResultCache.Dependency.encode(list: dependencies)), dependencies)
        XCTAssertEqual(ResultCache.Dependency.decode(list: Data()), [])
        XCTAssertNil(ResultCache.Dependency.decode(list: Data("[{\"path\":\"x\"}]".utf8)))
    }

    /// A stored outcome is valid only while every file it read has the stamp it had, checked
    /// line by line against the files on disk.
    func testDependencyListsHoldOnlyWhileEveryFileKeepsItsStamp() throws {
        let directory = NSTemporaryDirectory() + "kwarden-deps-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = directory + "/a b.h", second = directory + "/tab\there.h"
        try "int a;\n".write(toFile: first, atomically: true, encoding: .utf8)
        try "int b;\n".write(toFile: second, atomically: true, encoding: .utf8)
        let list = ResultCache.Dependency.encode(list: [try XCTUnwrap(ResultCache.stamp(first)), try XCTUnwrap(ResultCache.stamp(second))])
        XCTAssertTrue(ResultCache.dependenciesHold(list, unless: [], stamps: ResultCache.StampMemo()))
        XCTAssertTrue(ResultCache.dependenciesHold(Data(), unless: [], stamps: ResultCache.StampMemo()))
        XCTAssertFalse(ResultCache.dependenciesHold(list, unless: [second], stamps: ResultCache.StampMemo()), "an overlaid file")
        XCTAssertFalse(ResultCache.dependenciesHold(Data("12\t0.5\t\(first)\n".utf8), unless: [], stamps: ResultCache.StampMemo()), "another stamp")
        XCTAssertFalse(ResultCache.dependenciesHold(Data("no tabs here\n".utf8), unless: [], stamps: ResultCache.StampMemo()))
        try "int b, c;\n".write(toFile: second, atomically: true, encoding: .utf8)
        XCTAssertFalse(ResultCache.dependenciesHold(list, unless: [], stamps: ResultCache.StampMemo()), "a changed file")
        try FileManager.default.removeItem(atPath: first)
        XCTAssertFalse(ResultCache.dependenciesHold(list, unless: [], stamps: ResultCache.StampMemo()), "a file gone")
    }

    /// What a file's text answered is kept per rule and pass: a file asked in passes 2 and 3
    /// keeps both answers (one row per file and family used to hold only the last pass's, so a
    /// rescan found none of the earlier passes' answers), and a rescan adds none.
    func testEvidenceTopicsAreKeptForEveryPassThatAskedThem() throws {
        let directory = NSTemporaryDirectory() + "kwarden-topics-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = ScanOptions(paths: [Repository.corpus], rules: try RuleRegistry.load(rulesDirectory: Repository.rules))
        options.jobs = 2
        options.cache = try ResultCache(directory: directory)
        let first = try Scanner(options: options).run()
        let cache = try ResultCache(directory: directory)
        let family = { (pass: Int) in EvidencePlanner.topicsFamily(rule: "rcu-publish-without-sync", pass: pass) }
        let (second, third) = (cache.textFactCount(family: family(2)), cache.textFactCount(family: family(3)))
        XCTAssertGreaterThan(second, 0)
        XCTAssertGreaterThan(third, 0)
        let total = cache.textFactCount(family: EvidencePlanner.topicsFamily)
        options.cache = try ResultCache(directory: directory)
        let again = try Scanner(options: options).run()
        XCTAssertEqual(again.findings.map(\.fingerprint), first.findings.map(\.fingerprint))
        XCTAssertEqual(cache.textFactCount(family: family(2)), second)
        XCTAssertEqual(cache.textFactCount(family: EvidencePlanner.topicsFamily), total)
    }

    func testRescanReusesResultsAndReparsesOnlyWhatChanged() throws {
        let first = try scan()
        XCTAssertEqual(first.summary.filesFromCache, 0)
        let parsed = first.summary.filesParsed
        XCTAssertEqual(first.findings.count, 4)

        let second = try scan()
        XCTAssertEqual(second.summary.filesFromCache, parsed, "nothing changed: everything from the cache")
        XCTAssertEqual(second.findings.map(\.fingerprint), first.findings.map(\.fingerprint))

        // One .c file changes: only it is parsed again.
        let a = try String(contentsOfFile: directory + "/a.c", encoding: .utf8)
        try touch(directory + "/a.c", a.replacingOccurrences(of: "\twhile", with: "\tif (!POOL_NR(p))\n\t\treturn 0;\n\twhile"))
        let third = try scan()
        XCTAssertEqual(third.summary.filesFromCache, parsed - 1)
        XCTAssertEqual(third.findings.count, 3)

    }

    func testHeaderChangeInvalidatesEveryIncluder() throws {
        _ = try scan()
        try touch(directory + "/pool.h", "struct pool { unsigned int nr; };\n#define POOL_NR(p) 8\n")
        let after = try scan()
        XCTAssertEqual(after.summary.filesFromCache, 0, "all parsed files include pool.h")
        XCTAssertEqual(after.findings.map(\.file), ["e.c"], "the macro is now a nonzero constant")
    }

    func testFlagChangeInvalidatesEverything() throws {
        let first = try scan()
        let again = try scan(extraArguments: ["-DVENDOR=1"])
        XCTAssertEqual(again.summary.filesFromCache, 0)
        XCTAssertEqual(again.findings.count, first.findings.count)
    }

    func testTextVerdictsAndOutlinesAreKeptOnlyWhileTheFileIsUnchanged() throws {
        let first = try scan()
        XCTAssertFalse(first.findings.contains { $0.file == "d.c" })
        // Five verdicts; outlines of the .c files and pool.h for the call graph (evidence topics apart).
        XCTAssertEqual(try verdictsAndOutlines(), 11)
        let second = try scan()
        XCTAssertEqual(second.findings.map(\.fingerprint), first.findings.map(\.fingerprint))
        // d.c gains a subtract loop: its verdict is made again, and it is parsed.
        try touch(directory + "/d.c", "#include \"pool.h\"\nunsigned int spin_x(struct pool *p, unsigned int v)\n{\n\twhile (v >= p->nr)\n\t\tv -= p->nr;\n\treturn v;\n}\n")
        let third = try scan()
        XCTAssertTrue(third.findings.contains { $0.file == "d.c" }, "\(third.findings.map(\.file))")
        XCTAssertEqual(try verdictsAndOutlines(), 11)
    }

    /// An evidence pass's choice is kept for the next scan while every file whose stamp moved
    /// still contributes what it did; a file that starts to hold a fact makes the pass choose again.
    func testEvidencePassChoiceIsKeptOnlyWhileChangedFilesContributeTheSame() throws {
        try "int pool_count(struct pool *p);\n".write(toFile: directory + "/d.c", atomically: true, encoding: .utf8)
        let reset = directory + "/reset.c"
        try "#include \"pool.h\"\nvoid pool_reset(struct pool *p)\n{\n\tp->nr = 1;\n}\n".write(toFile: reset, atomically: true, encoding: .utf8)
        func evidence(_ result: ScanResult) -> [String] {
            result.findings.flatMap { finding in finding.evidence.map { "\(finding.file): \($0.file):\($0.line) \($0.message)" } }.sorted()
        }
        let first = try scan()
        XCTAssertEqual(first.findings.count, 4)
        XCTAssertFalse(evidence(first).contains { $0.contains("reset.c") }, "\(evidence(first))")
        let cache = try ResultCache(directory: cacheDirectory)
        let kept = cache.memos(named: "evidence-pass|2|")
        XCTAssertEqual(kept.count, 1)

        // A change that leaves the file's topics as they were: the kept choice is used. (Seen by
        // planting a choice no scan would make: no file at all.)
        let planted = try XCTUnwrap(StoredPass(kept[0].data))
        cache.storeMemo(name: kept[0].name, key: kept[0].key, data: StoredPass(files: [], notes: ["planted"], entries: planted.entries).data)
        try touch(directory + "/d.c", "/* a comment */\nint pool_count(struct pool *p);\n")
        let second = try scan()
        XCTAssertTrue(second.notes.contains("planted"), "\(second.notes)")
        XCTAssertEqual(second.findings.map(\.fingerprint), first.findings.map(\.fingerprint))

        // reset.c now stores zero: its topics change, the pass chooses again and finds it, as a
        // scan without the cache does.
        try touch(reset, "#include \"pool.h\"\nvoid pool_reset(struct pool *p)\n{\n\tp->nr = 0;\n}\n")
        let third = try scan()
        XCTAssertFalse(third.notes.contains("planted"))
        XCTAssertTrue(evidence(third).contains { $0.contains("reset.c") }, "\(evidence(third))")
        var options = ScanOptions(paths: [directory], rules: try RuleRegistry.load(rulesDirectory: Repository.rules))
        options.jobs = 2
        let cold = try Scanner(options: options).run()
        XCTAssertEqual(evidence(third), evidence(cold))
        XCTAssertEqual(third.findings.map(\.fingerprint), cold.findings.map(\.fingerprint))
    }

    /// An evidence job may leave settled rules out: their summaries are not extracted, and the
    /// job's results are kept apart from a job's that extracts every rule.
    func testSkippedRulesAreNotExtractedAndKeyTheirOwnResults() throws {
        let rules = try RuleRegistry.load(rulesDirectory: Repository.rules)
        let analyzer = FileAnalyzer(rules: rules, setups: try CompileSetupProvider(kernelRoot: nil, compileCommands: nil, arch: nil))
        let full = FileJob(file: directory + "/a.c", pass: 2)
        var skipping = full
        skipping.skippedRules = ["dma-free-after-failed-disable"]
        let all = analyzer.analyze(full), fewer = analyzer.analyze(skipping)
        XCTAssertNil(all.failure)
        XCTAssertEqual(Set(all.summaries.keys), Set(rules.map(\.id)))
        XCTAssertEqual(Set(fewer.summaries.keys), Set(rules.map(\.id)).subtracting(["dma-free-after-failed-disable"]))
        let content = Array("int x;".utf8)
        XCTAssertNotEqual(ResultCache.key(job: full, content: content, configuration: ""), ResultCache.key(job: skipping, content: content, configuration: ""))
        XCTAssertEqual(ResultCache.key(job: full, content: content, configuration: ""), ResultCache.key(job: FileJob(file: directory + "/a.c", pass: 2), content: content, configuration: ""))
    }

    private func verdictsAndOutlines() throws -> Int {
        let cache = try ResultCache(directory: cacheDirectory)
        return cache.textFactCount(family: "preselect") + cache.textFactCount(family: "outline")
    }
}
