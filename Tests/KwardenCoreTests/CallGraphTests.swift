import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// The textual call graph only narrows which files a chain rule parses: it must keep every file
/// of a chain, drop files on none, and never change a finding.
final class CallOutlineTests: XCTestCase {
    func outline(_ text: String, header: Bool = false) -> CallOutline { CallOutline(SourceText(text), isHeader: header) }

    func testFunctionsMacrosCallsLoopsAndOpsMembers() {
        let outline = outline("""
        #define POLL_HW(hw, reg) \\
        \tdo { udelay(10); } while (rd32(hw, reg))
        /* stop_hw(not_a_call); */
        static int stop_hw(struct hw *hw)
        {
        \tconst char *s = "free_ring(";
        \tfor (int i = 0; i < 10; i++)
        \t\tif (!(rd32(hw, CTRL) & EN))
        \t\t\treturn 0;
        \treturn -ETIMEDOUT;
        }
        int down(struct hw *hw)
        {
        \thw->ops->stop(hw);
        \tfree_ring (hw);
        \tif (x == y) return sizeof(*hw);
        \treturn 0;
        }
        static const struct hw_ops ops = {
        \t.stop = stop_hw,
        \t.start = &start_hw,
        };
        """)
        let byName = Dictionary(uniqueKeysWithValues: outline.definitions.map { ($0.name, $0) })
        XCTAssertEqual(Set(byName.keys), ["POLL_HW", "stop_hw", "down"])
        XCTAssertEqual(byName["POLL_HW"]?.calls, ["rd32", "udelay"])
        XCTAssertEqual(byName["POLL_HW"]?.hasLoop, true)
        XCTAssertEqual(byName["POLL_HW"]?.isFileLocal, true, "a .c file's macro is its own")
        XCTAssertEqual(byName["stop_hw"]?.calls, ["rd32"], "strings and comments hold no calls; keywords are not calls")
        XCTAssertEqual(byName["stop_hw"]?.hasLoop, true)
        XCTAssertEqual(byName["stop_hw"]?.isFileLocal, true)
        XCTAssertEqual(byName["down"]?.calls, ["free_ring", "stop"])
        XCTAssertEqual(byName["down"]?.hasLoop, false)
        XCTAssertEqual(byName["down"]?.isFileLocal, false)
        XCTAssertEqual(outline.memberTargets["stop"], ["stop_hw"])
        XCTAssertEqual(outline.memberTargets["start"], ["start_hw"])
    }

    func testTheCacheEncodingReadsBackTheSameOutline() {
        let original = CallOutline(definitions: [
            .init(name: "stop_hw", isFileLocal: true, calls: ["rd32", "udelay"], hasLoop: true),
            .init(name: "down", isFileLocal: false, calls: ["free_ring"], hasLoop: false),
            .init(name: "CONSTANT", isFileLocal: true, calls: [], hasLoop: false),
        ], memberTargets: ["stop": ["stop_hw", "stop_other"], "open": ["open_hw"]])
        let decoded = CallOutline(encoded: original.encoded)
        XCTAssertEqual(decoded?.definitions.map(\.name), ["stop_hw", "down"], "a body calling nothing is not kept")
        XCTAssertEqual(decoded?.definitions.map(\.calls), [["rd32", "udelay"], ["free_ring"]])
        XCTAssertEqual(decoded?.definitions.map(\.isFileLocal), [true, false])
        XCTAssertEqual(decoded?.definitions.map(\.hasLoop), [true, false])
        XCTAssertEqual(decoded?.memberTargets, original.memberTargets)
        XCTAssertEqual(decoded?.encoded, original.encoded)
        XCTAssertNotNil(CallOutline(encoded: Data()), "a file without definitions")
        XCTAssertNil(CallOutline(encoded: Data("D\tname\t1\n".utf8)), "a short line is not an outline")
        XCTAssertNil(CallOutline(encoded: Data("X\ta\tb\n".utf8)))
        XCTAssertNil(CallOutline(encoded: Data("D\ta\t1\t0\tb\textra\n".utf8)))
    }

    func testHeaderHelpersAreSeenByEveryIncluder() {
        let outline = outline("static inline void ring_free(struct ring *r)\n{\n\tdma_free_coherent(r->dev, r->size, r->desc, r->dma);\n}\n", header: true)
        XCTAssertEqual(outline.definitions.map(\.name), ["ring_free"])
        XCTAssertEqual(outline.definitions.first?.isFileLocal, false)
    }
}

final class CallGraphTests: XCTestCase {
    static let poll = CallMarks(rawValue: 1), release = CallMarks(rawValue: 2)
    let criteria = CallGraphCriteria(first: poll, second: release, calls: ["readl_poll_timeout": poll, "dma_free_coherent": release],
                                     callsWithLoop: ["udelay": poll], loopAlsoCalls: ["readl"])

    /// Files by path with their text: the selected paths.
    func select(_ files: [(String, String)], hub: Int = CallGraph.defaultHubDirectories) -> Set<String> {
        let graph = CallGraph(hubDirectories: hub)
        for (path, text) in files { graph.add(path: path, outline: CallOutline(SourceText(text), isHeader: path.hasSuffix(".h"))) }
        return Set(graph.selectFiles(criteria).map { files[$0].0 })
    }

    let stopper = ("drv/hw.c", "int hw_stop(struct hw *hw)\n{\n\twritel(0, hw->ctrl);\n\tfor (int i = 0; i < 10; i++) {\n\t\tif (!readl(hw->status)) return 0;\n\t\tudelay(10);\n\t}\n\treturn -ETIMEDOUT;\n}\n")
    let releaser = ("drv/ring.c", "void ring_free(struct ring *r)\n{\n\tdma_free_coherent(r->dev, r->size, r->desc, r->dma);\n}\n")
    let downer = ("drv/main.c", "void drv_down(struct drv *d)\n{\n\thw_stop(d->hw);\n\tring_free(d->ring);\n}\n")

    func testAChainAcrossThreeFilesIsKeptWhole() {
        let lonePoll = ("drv/phy.c", "int phy_wait(struct hw *hw)\n{\n\twhile (readl(hw->mdio) & BUSY)\n\t\tudelay(1);\n\treturn 0;\n}\n")
        let loneFree = ("drv/tx.c", "void tx_free(struct ring *r)\n{\n\tdma_free_coherent(r->dev, r->size, r->desc, r->dma);\n}\n")
        XCTAssertEqual(select([stopper, releaser, downer, lonePoll, loneFree]), ["drv/main.c", "drv/hw.c", "drv/ring.c"],
                       "a poll or a release no function pairs is on no chain")
    }

    func testALoopThatReadsNoRegisterIsNoPoll() {
        let sleeper = ("drv/hw.c", "int hw_stop(struct hw *hw)\n{\n\twhile (atomic_read(&hw->busy))\n\t\tudelay(10);\n\treturn 0;\n}\n")
        XCTAssertEqual(select([sleeper, releaser, downer]), [])
        // Through the driver's read macro, defined in its header, it is one.
        let wrapped = ("drv/hw.c", "int hw_stop(struct hw *hw)\n{\n\twhile (rd32(hw, STATUS) & EN)\n\t\tudelay(10);\n\treturn 0;\n}\n")
        let header = ("drv/hw.h", "#define rd32(hw, reg) readl((hw)->base + (reg))\n")
        XCTAssertEqual(select([wrapped, header, releaser, downer]), ["drv/main.c", "drv/hw.c", "drv/ring.c"])
    }

    func testOneCalleeReachingBothDoesNotMakeItsCallerACandidate() {
        let both = ("drv/main.c", "void drv_down(struct drv *d)\n{\n\thw_stop(d->hw);\n\tring_free(d->ring);\n}\n")
        let caller = ("drv/remove.c", "void drv_remove(struct drv *d)\n{\n\tdrv_down(d);\n\tkfree(d);\n}\n")
        XCTAssertEqual(select([stopper, releaser, both, caller]), ["drv/main.c", "drv/hw.c", "drv/ring.c"])
    }

    func testOpsTableMembersLeadToTheirFunctions() {
        let table = ("drv/main.c", """
        static void ring_release(struct ring *r)
        {
        \tdma_free_coherent(r->dev, r->size, r->desc, r->dma);
        }
        static const struct ring_ops ops = { .release = ring_release };
        void drv_down(struct drv *d)
        {
        \thw_stop(d->hw);
        \td->ops->release(d->ring);
        }
        """)
        XCTAssertEqual(select([stopper, table]), ["drv/main.c", "drv/hw.c"])
    }

    /// The gate keeps only the chains a change runs through: a changed helper's callers up to
    /// their candidates, and those candidates' whole chains; another driver's chain is left out.
    func testChainsThroughFocusFilesOnly() {
        let otherStopper = ("net/hw.c", stopper.1.replacingOccurrences(of: "hw_stop", with: "net_stop"))
        let otherReleaser = ("net/ring.c", releaser.1.replacingOccurrences(of: "ring_free", with: "net_ring_free"))
        let otherDowner = ("net/main.c", "void net_down(struct drv *d)\n{\n\tnet_stop(d->hw);\n\tnet_ring_free(d->ring);\n}\n")
        let files = [stopper, releaser, downer, otherStopper, otherReleaser, otherDowner]
        let graph = CallGraph()
        for (path, text) in files { graph.add(path: path, outline: CallOutline(SourceText(text), isHeader: false)) }
        func through(_ paths: Set<String>) -> Set<String> {
            let focus = Set(files.indices.filter { paths.contains(files[$0].0) })
            return Set(graph.selectFiles(criteria, through: focus).map { files[$0].0 })
        }
        XCTAssertEqual(Set(graph.selectFiles(criteria).map { files[$0].0 }), Set(files.map(\.0)))
        XCTAssertEqual(through(["drv/hw.c"]), ["drv/main.c", "drv/hw.c", "drv/ring.c"], "the changed stop helper's caller and its whole chain")
        XCTAssertEqual(through(["net/main.c"]), ["net/main.c", "net/hw.c", "net/ring.c"])
        XCTAssertEqual(through(["drv/hw.c", "net/ring.c"]), Set(files.map(\.0)))
        XCTAssertEqual(through(["include/unrelated.h"]), [])
    }

    func testSharedInfrastructureIsNotFollowed() {
        // A stop helper every driver calls: past the hub limit, chains do not run through it.
        var files = [("core/hw.c", stopper.1), releaser]
        for index in 0..<3 { files.append(("drv\(index)/x.c", "void x\(index)(void)\n{\n\thw_stop(0);\n}\n")) }
        files.append(downer)
        XCTAssertEqual(select(files, hub: 4), ["drv/main.c", "core/hw.c", "drv/ring.c"])
        XCTAssertEqual(select(files, hub: 3), [], "called from four directories: shared infrastructure")
        // A header's inline release stays a release for every caller.
        let inline = ("include/ring.h", "static inline void ring_free(struct ring *r)\n{\n\tdma_free_coherent(r->dev, r->size, r->desc, r->dma);\n}\n")
        var viaHeader = [stopper, inline, downer]
        for index in 0..<5 { viaHeader.append(("drv\(index)/y.c", "void y\(index)(struct ring *r)\n{\n\tring_free(r);\n}\n")) }
        XCTAssertEqual(select(viaHeader, hub: 4), ["drv/main.c", "drv/hw.c", "include/ring.h"])
    }
}

/// Narrowing changes which files are parsed, never the findings.
final class CallGraphScanTests: XCTestCase {
    func scan(callGraph: Bool) throws -> ScanResult {
        var options = ScanOptions(paths: [Repository.corpus], rules: try RuleRegistry.load(only: ["dma-free-after-failed-disable"], rulesDirectory: Repository.rules))
        options.jobs = 2
        options.callGraph = callGraph
        return try Scanner(options: options).run()
    }

    func testTheCorpusGivesTheSameFindingsWithAndWithoutTheCallGraph() throws {
        let narrowed = try scan(callGraph: true), plain = try scan(callGraph: false)
        func key(_ finding: Finding) -> String {
            "\(finding.file):\(finding.line) \(finding.message) " + finding.evidence.map { "\($0.file):\($0.line) \($0.message)" }.joined(separator: ";")
        }
        XCTAssertFalse(plain.findings.isEmpty)
        XCTAssertEqual(narrowed.findings.map(key), plain.findings.map(key))
        XCTAssertGreaterThan(narrowed.summary.filesSkippedByCallGraph, 0, "\(narrowed.notes)")
        XCTAssertLessThan(narrowed.summary.filesParsed, plain.summary.filesParsed)
        XCTAssertEqual(plain.summary.filesSkippedByCallGraph, 0)
        XCTAssertTrue(narrowed.notes.contains { $0.hasPrefix("dma-free-after-failed-disable: ") && $0.contains("candidate chains") }, "\(narrowed.notes)")
    }

    /// The chains are kept in the cache under a digest of every outline: a rescan after an edit
    /// that adds a call must choose them again, or the new chain's files are never parsed.
    func testAKeptSelectionIsNotReusedOnceAnOutlineChanges() throws {
        let base = NSTemporaryDirectory() + "kwarden-chains-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: base) }
        let source = Repository.corpus + "/dma-free-after-failed-disable/split_driver"
        var files: [String: String] = [:]
        for name in ["spl.h", "spl_hw.c", "spl_ring.c"] { files[name] = try String(contentsOfFile: source + "/" + name, encoding: .utf8) }
        files["spl_main.c"] = "#include \"spl.h\"\n\nvoid spl_down(struct spl_priv *priv)\n{\n\tspl_hw_stop(priv);\n}\n"
        // The corpus's kernel stand-in headers, as the corpus is parsed.
        files["compile_flags.txt"] = "-std=gnu11\n-nostdinc\n-I\(Repository.corpus)/include\n-D__KERNEL__\n"
        try writeTree(files, under: base + "/tree")
        let cache = try ResultCache(directory: base + "/cache")
        func scan() throws -> ScanResult {
            var options = ScanOptions(paths: [base + "/tree"], rules: try RuleRegistry.load(only: ["dma-free-after-failed-disable"], rulesDirectory: Repository.rules))
            options.jobs = 1
            options.cache = cache
            return try Scanner(options: options).run()
        }
        let before = try scan()
        XCTAssertTrue(before.findings.isEmpty)
        XCTAssertEqual(before.summary.filesWithErrors, 0)
        XCTAssertTrue(try scan().findings.isEmpty, "the kept selection")
        let main = base + "/tree/spl_main.c"
        try "#include \"spl.h\"\n\nvoid spl_down(struct spl_priv *priv)\n{\n\tspl_hw_stop(priv);\n\tspl_ring_free_all(priv);\n}\n"
            .write(toFile: main, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: main)
        let after = try scan()
        XCTAssertEqual(after.findings.map { "\(($0.file as NSString).lastPathComponent):\($0.line)" }, ["spl_main.c:6"], "\(after.notes)")
    }
}
