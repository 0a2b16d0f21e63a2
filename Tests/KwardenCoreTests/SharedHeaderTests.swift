import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// Shared precompiled headers change how fast files parse, never what they yield.
final class SharedHeaderTests: XCTestCase {
    var tree: String!

    override func setUpWithError() throws {
        tree = NSTemporaryDirectory() + "kwarden-pch-" + UUID().uuidString
        let headers = [
            "include/linux/types.h": "#ifndef _LINUX_TYPES_H\n#define _LINUX_TYPES_H\ntypedef unsigned int u32;\n#define NULL ((void *)0)\n#endif\n",
            "include/linux/bug.h": "#ifndef _LINUX_BUG_H\n#define _LINUX_BUG_H\n#define WARN_ON(x) ({ int __c = !!(x); __c; })\n#endif\n",
            "include/linux/ring.h": "#ifndef _LINUX_RING_H\n#define _LINUX_RING_H\n#include <linux/types.h>\n#ifdef RING_DEBUG\n#define RING_CHECKS 1\n#endif\n/* RING_STRIDE: a driver's own spacing, never read here */\n#define RING_MAX\t64 /* entries */\nstruct ring { u32 nr_queues; u32 head; };\nstatic inline u32 ring_queues(struct ring *r) { return r->nr_queues; }\n#endif\n",
        ]
        var files: [String: String] = preparedKernelSkeleton.merging([
            "drivers/ring/teardown.c": "#include <linux/types.h>\n#include <linux/ring.h>\nvoid ring_teardown(struct ring *r)\n{\n\tr->nr_queues = 0;\n}\n",
        ]) { $1 }
        files.merge(headers) { $1 }
        for index in 0..<5 {
            files["drivers/ring/pick\(index).c"] = """
            #include <linux/types.h>
            #include <linux/bug.h>
            #include <linux/ring.h>

            u32 pick\(index)(struct ring *r, u32 hash)
            {
            \tWARN_ON(!r->nr_queues);
            \twhile (hash >= r->nr_queues)
            \t\thash -= r->nr_queues;
            \treturn hash;
            }

            """
        }
        // Defines a macro a shared header tests, before its includes: never parsed with the shared headers.
        files["drivers/ring/early.c"] = "#define RING_DEBUG 1\n" + files["drivers/ring/pick0.c"]!.replacingOccurrences(of: "pick0", with: "early")
        // Includes only its driver's header (guarded, with a macro of its own before the kernel
        // includes): the kernel headers are found through it, and it shares them.
        files["drivers/ring/ring_drv.h"] = "#ifndef _RING_DRV_H_\n#define _RING_DRV_H_\n#define RING_DRV_QUEUES 8\n#include <linux/types.h>\n#include <linux/bug.h>\n#include <linux/ring.h>\n#endif\n"
        files["drivers/ring/driver.c"] = "#include \"ring_drv.h\"\n" + files["drivers/ring/pick0.c"]!.replacingOccurrences(of: "pick0", with: "driver")
            .replacingOccurrences(of: "#include <linux/types.h>\n#include <linux/bug.h>\n#include <linux/ring.h>\n", with: "")
        // Early macros that cannot change the shared headers: one they name only in a comment, one
        // they define the same way. A different definition of that one keeps its file out.
        files["drivers/ring/comment.c"] = "#define RING_STRIDE 4\n" + files["drivers/ring/pick0.c"]!.replacingOccurrences(of: "pick0", with: "comment")
        files["drivers/ring/same.c"] = "#define RING_MAX 64 // as the header says\n" + files["drivers/ring/pick0.c"]!.replacingOccurrences(of: "pick0", with: "same")
        files["drivers/ring/other.c"] = "#define RING_MAX 128\n" + files["drivers/ring/pick0.c"]!.replacingOccurrences(of: "pick0", with: "other")
        try writeTree(files, under: tree)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tree) }

    func scan(shared: Bool, cache: ResultCache? = nil) throws -> ScanResult { try scanDrivers(of: tree, shared: shared, cache: cache) }

    func key(_ finding: Finding) -> String { findingKey(finding) }

    func testFindingsAreTheSameWithAndWithoutSharedHeaders() throws {
        let plain = try scan(shared: false)
        let shared = try scan(shared: true)
        XCTAssertEqual(plain.findings.count, 10, "\(plain.findings.map(\.file))")
        XCTAssertTrue(plain.findings.allSatisfy { $0.confidence == .high }, "the zero store in teardown.c is found as evidence")
        XCTAssertEqual(shared.findings.map(key), plain.findings.map(key))
        XCTAssertEqual(plain.summary.filesWithSharedHeaders, 0)
        XCTAssertEqual(shared.summary.filesWithSharedHeaders, 9, "the five pick files, driver.c, comment.c and same.c share them, and so does teardown.c, parsed alone for evidence in a later pass; early.c defines RING_DEBUG first, other.c redefines RING_MAX: \(shared.notes)")
        XCTAssertTrue(shared.notes.contains { $0.contains("2 files parsed without the shared precompiled headers") && $0.contains("before its includes")
            && $0.contains("RING_DEBUG: 1") && $0.contains("RING_MAX: 1") && !$0.contains("RING_STRIDE") }, "\(shared.notes)")
        XCTAssertEqual(shared.summary.filesWithErrors, plain.summary.filesWithErrors)
    }

    /// A scan without a cache leaves nothing in the temporary directory, even when it leaves its
    /// memory to the process's exit (as the command line does, which runs no deinitializer): the
    /// shared headers it built and the configurations it kept for its workers are in a scratch
    /// directory it removes itself.
    func testAScanWithoutACacheRemovesItsScratchDirectory() throws {
        let own = (tree as NSString).lastPathComponent
        func scratch() throws -> Set<String> {
            Set(try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
                .filter { ($0.hasPrefix("kwarden-shared-") || $0.hasPrefix("kwarden-pch-")) && $0 != own })
        }
        let before = try scratch()
        var options = ScanOptions(paths: [tree + "/drivers"], rules: try RuleRegistry.load(rulesDirectory: Repository.rules))
        options.jobs = 2
        options.sharedHeaders = true
        options.leavesMemoryToExit = true
        let result = try Scanner(options: options).run()
        XCTAssertEqual(result.summary.filesWithSharedHeaders, 9, "the shared headers were built: \(result.notes)")
        XCTAssertEqual(try scratch(), before)
    }

    func testAStaleSharedHeaderIsRebuiltOrFallsBackWithTheSameFindings() throws {
        let cacheDirectory = tree + "-cache"
        defer { try? FileManager.default.removeItem(atPath: cacheDirectory) }
        let first = try scan(shared: true, cache: try ResultCache(directory: cacheDirectory))
        XCTAssertEqual(first.summary.filesWithSharedHeaders, 9)
        // A header the precompiled headers read changes: they are rebuilt, and every finding follows the change.
        let ring = tree + "/include/linux/ring.h"
        try (try String(contentsOfFile: ring, encoding: .utf8)).replacingOccurrences(of: "u32 head;", with: "u32 head;\n\tu32 tail;")
            .write(toFile: ring, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: ring)
        let second = try scan(shared: true, cache: try ResultCache(directory: cacheDirectory))
        XCTAssertEqual(second.summary.filesFromCache, 0, "every file read the changed header")
        XCTAssertEqual(second.findings.map(key), first.findings.map(key))
        XCTAssertEqual(second.summary.filesWithSharedHeaders + second.summary.sharedHeaderFallbacks, 9)
    }
}

extension SharedHeaderTests {
    /// What each candidate file's text answered in an evidence pass is kept in the cache and taken
    /// back by a rescan asking the same questions; a changed file is read again.
    func testEvidenceTopicsAreKeptPerFileUntilTheFileChanges() throws {
        let cacheDirectory = tree + "-cache"
        defer { try? FileManager.default.removeItem(atPath: cacheDirectory) }
        let first = try scan(shared: false, cache: try ResultCache(directory: cacheDirectory))
        XCTAssertGreaterThan(try ResultCache(directory: cacheDirectory).textFactCount(family: EvidencePlanner.topicsFamily), 0)
        XCTAssertTrue(first.findings.allSatisfy { $0.confidence == .high }, "teardown.c's zero store found as evidence")
        let again = try scan(shared: false, cache: try ResultCache(directory: cacheDirectory))
        XCTAssertEqual(again.findings.map(key), first.findings.map(key))

        // teardown.c still names the count but no longer stores a zero: it is read again, and the evidence is gone.
        let teardown = tree + "/drivers/ring/teardown.c"
        try "#include <linux/types.h>\n#include <linux/ring.h>\nvoid ring_teardown(struct ring *r)\n{\n\tr->nr_queues = 4;\n}\n"
            .write(toFile: teardown, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: teardown)
        let changed = try scan(shared: false, cache: try ResultCache(directory: cacheDirectory))
        XCTAssertEqual(changed.findings.count, first.findings.count)
        XCTAssertFalse(changed.findings.contains { $0.confidence == .high }, "\(changed.findings.map(\.confidence))")
    }
}

extension SharedHeaderTests {
    /// A rescan takes kept outcomes before it plans shared headers: only the changed file is
    /// parsed, with the headers the first scan built for its group (the plans are kept in the
    /// cache: alone it would form no group), and the findings are those of a full scan.
    func testARescanParsesOnlyTheChangedFileWithTheSameFindings() throws {
        let cacheDirectory = tree + "-cache"
        defer { try? FileManager.default.removeItem(atPath: cacheDirectory) }
        let first = try scan(shared: true, cache: try ResultCache(directory: cacheDirectory))
        let pick = tree + "/drivers/ring/pick3.c"
        try (try String(contentsOfFile: pick, encoding: .utf8) + "/* one changed line */\n").write(toFile: pick, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: pick)
        let second = try scan(shared: true, cache: try ResultCache(directory: cacheDirectory))
        XCTAssertEqual(second.summary.filesParsed, first.summary.filesParsed)
        XCTAssertEqual(second.summary.filesFromCache, second.summary.filesParsed - 1, "all but pick3.c come from the cache")
        XCTAssertEqual(second.summary.filesWithSharedHeaders, first.summary.filesWithSharedHeaders, "pick3.c takes its group's headers: \(second.notes)")
        XCTAssertEqual(second.summary.sharedHeaderFallbacks, 0)
        XCTAssertEqual(second.findings.map(key), first.findings.map(key))
    }
}

final class SharedHeaderGroupingTests: XCTestCase {
    /// Where the shared headers planned without a cache go (a scan's scratch directory), removed after each test.
    let scratch = NSTemporaryDirectory() + "kwarden-pch-plans-" + UUID().uuidString
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    func testFilesOfDifferentDriversShareFlagsButNotTheirOwnConfigSymbols() {
        let args = ["-nostdinc", "-I/t/include", "-DCONFIG_IGB=1", "-DCONFIG_IGB_HWMON=1", "-I/t/drivers/igb",
                    "-DKBUILD_MODNAME=\"igb\"", "-DKBUILD_BASENAME=\"igb_main\"", "-D__KBUILD_MODNAME=kmod_igb", "-std=gnu11"]
        let split = PrecompiledHeaders.sharedArguments(args, file: "/t/drivers/igb/igb_main.c")
        XCTAssertEqual(split.shared, ["-nostdinc", "-I/t/include", "-std=gnu11"])
        XCTAssertEqual(split.ownMacros, ["CONFIG_IGB", "CONFIG_IGB_HWMON"])
    }

    func testAFileWhoseOwnSymbolAHeaderMentionsIsParsedPlainly() throws {
        let headers = PrecompiledHeaders(in: scratch)
        let entry = { (name: String, config: String) -> (file: String, arguments: [String], source: SourceText) in
            ("/t/drivers/\(name).c", ["-I/t/include", "-D\(config)=1"], SourceText(bytes: Array("#include <linux/a.h>\n#include <linux/b.h>\n".utf8)))
        }
        let planned = headers.plan([entry("one", "CONFIG_ONE"), entry("two", "CONFIG_TWO"), entry("three", "CONFIG_THREE"), entry("four", "CONFIG_FOUR")],
                                   configurationKey: { _ in "x86" }, identity: "test")
        XCTAssertEqual(planned.toBuild.count, 1, "one group for the four drivers")
        let plan = try XCTUnwrap(planned.toBuild.first)
        XCTAssertFalse(plan.arguments.contains { $0.hasPrefix("-DCONFIG_") })
        PrecompiledHeaders.save(PrecompiledHeaders.Record(files: [], functions: [], macros: HeaderMacroFacts(identifiers: ["CONFIG_TWO", "foo"])), of: plan.output)
        XCTAssertTrue(headers.record(plan, failure: nil))
        XCTAssertEqual(headers.headerToUse(for: "/t/drivers/one.c", planned: planned.assignment["/t/drivers/one.c"]), plan.output)
        XCTAssertNil(headers.headerToUse(for: "/t/drivers/two.c", planned: planned.assignment["/t/drivers/two.c"]), "a header mentions CONFIG_TWO")
        XCTAssertEqual(headers.excludedByOwnMacros, 1)
    }

    /// Files kept out by the same own symbols share a variant built with them; one that another
    /// own symbol keeps from the variant too parses plainly.
    func testFilesKeptOutByTheSameSymbolsShareAVariant() throws {
        let headers = PrecompiledHeaders(in: scratch)
        let entry = { (name: String, configs: [String]) -> (file: String, arguments: [String], source: SourceText) in
            ("/t/drivers/\(name).c", ["-I/t/include"] + configs.map { "-D\($0)=1" }, SourceText(bytes: Array("#include <linux/a.h>\n#include <linux/b.h>\n".utf8)))
        }
        let entries = [entry("one", ["CONFIG_DCB", "CONFIG_ONE"]), entry("two", ["CONFIG_DCB"]), entry("three", ["CONFIG_DCB", "CONFIG_THREE"]),
                       entry("four", ["CONFIG_DCB"]), entry("five", []), entry("six", ["CONFIG_IOV"])]
        let planned = headers.plan(entries, configurationKey: { _ in "x86" }, identity: "test")
        let plan = try XCTUnwrap(planned.toBuild.first)
        PrecompiledHeaders.save(PrecompiledHeaders.Record(files: [], functions: [], macros: HeaderMacroFacts(identifiers: ["CONFIG_DCB", "CONFIG_IOV"])), of: plan.output)
        XCTAssertTrue(headers.record(plan, failure: nil))

        let variants = headers.planVariants(entries.map(\.file), planned: planned.assignment, identity: "test")
        XCTAssertEqual(variants.toBuild.count, 1, "six alone forms no variant")
        let variant = try XCTUnwrap(variants.toBuild.first)
        XCTAssertEqual(variant.arguments, plan.arguments + ["-DCONFIG_DCB=1"])
        XCTAssertEqual(Set(variants.assignment.keys), ["/t/drivers/one.c", "/t/drivers/two.c", "/t/drivers/three.c", "/t/drivers/four.c"])
        PrecompiledHeaders.save(PrecompiledHeaders.Record(files: [], functions: [], macros: HeaderMacroFacts(identifiers: ["CONFIG_DCB", "CONFIG_THREE"])), of: variant.output)
        XCTAssertTrue(headers.record(variant, failure: nil))

        XCTAssertEqual(headers.headerToUse(for: "/t/drivers/one.c", planned: variant.output), variant.output)
        XCTAssertEqual(headers.headerToUse(for: "/t/drivers/two.c", planned: variant.output), variant.output)
        XCTAssertNil(headers.headerToUse(for: "/t/drivers/three.c", planned: variant.output), "the variant's headers test CONFIG_THREE")
        XCTAssertEqual(headers.headerToUse(for: "/t/drivers/five.c", planned: plan.output), plan.output)
        XCTAssertNil(headers.headerToUse(for: "/t/drivers/six.c", planned: plan.output))
        XCTAssertEqual(headers.filesWithVariants, 2)
        XCTAssertEqual(headers.excludedByOwnMacros, 2)
    }

    /// The CONFIG_ symbols every file of a group defines alike (one driver directory's Makefile
    /// gate) are built into the group's headers: none of the files is kept out by them, and no
    /// variant is built. A later pass's file of the same flags without them does not take those
    /// headers; a file that also has a symbol of its own the headers test still gets a variant.
    func testSymbolsAGroupSharesAreBuiltIntoItsHeaders() throws {
        let headers = PrecompiledHeaders(in: scratch)
        let entry = { (name: String, configs: [String]) -> (file: String, arguments: [String], source: SourceText) in
            ("/t/drivers/wl/\(name).c", ["-I/t/include"] + configs.map { "-D\($0)=1" }, SourceText(bytes: Array("#include <linux/a.h>\n#include <linux/b.h>\n".utf8)))
        }
        let gate = ["CONFIG_WLAN", "CONFIG_WEXT"]
        let entries = [entry("one", gate), entry("two", gate), entry("three", gate + ["CONFIG_THREE"]), entry("four", gate + ["CONFIG_FOUR"])]
        let planned = headers.plan(entries, configurationKey: { _ in "x86" }, identity: "test")
        let plan = try XCTUnwrap(planned.toBuild.first)
        XCTAssertEqual(planned.toBuild.count, 1)
        XCTAssertEqual(plan.arguments, ["-I/t/include", "-DCONFIG_WEXT=1", "-DCONFIG_WLAN=1"], "what all four define alike")
        PrecompiledHeaders.save(PrecompiledHeaders.Record(files: [], functions: [], macros: HeaderMacroFacts(identifiers: ["CONFIG_WLAN", "CONFIG_WEXT", "CONFIG_FOUR"])), of: plan.output)
        XCTAssertTrue(headers.record(plan, failure: nil))

        let variants = headers.planVariants(entries.map(\.file), planned: planned.assignment, identity: "test")
        XCTAssertTrue(variants.toBuild.isEmpty, "four alone forms no variant; the others need none")
        for name in ["one", "two", "three"] {
            XCTAssertEqual(headers.headerToUse(for: "/t/drivers/wl/\(name).c", planned: planned.assignment["/t/drivers/wl/\(name).c"]), plan.output, name)
        }
        XCTAssertNil(headers.headerToUse(for: "/t/drivers/wl/four.c", planned: planned.assignment["/t/drivers/wl/four.c"]), "the headers test CONFIG_FOUR")

        // A later pass: a file of the same flags outside the gate, and one inside it.
        let later = headers.plan([entry("outside", []), entry("inside", gate)], configurationKey: { _ in "x86" }, identity: "test")
        XCTAssertNil(later.assignment["/t/drivers/wl/outside.c"], "built with symbols it does not define")
        XCTAssertNil(headers.headerToUse(for: "/t/drivers/wl/outside.c", planned: plan.output))
        XCTAssertEqual(later.assignment["/t/drivers/wl/inside.c"], plan.output)
        XCTAssertEqual(headers.headerToUse(for: "/t/drivers/wl/inside.c", planned: later.assignment["/t/drivers/wl/inside.c"]), plan.output)
    }

    /// A module's headers may use its name outside macros (`dev_dbg` in an inline helper expands
    /// to `KBUILD_MODNAME`): a group whose files all belong to one module is built with its
    /// names, and only that module's files take the build.
    func testAGroupOfOneModuleIsBuiltWithItsNames() throws {
        let headers = PrecompiledHeaders(in: scratch)
        let entry = { (name: String, module: String) -> (file: String, arguments: [String], source: SourceText) in
            ("/t/drivers/\(module)/\(name).c", ["-I/t/include", "-DKBUILD_BASENAME=\"\(name)\"", "-DKBUILD_MODNAME=\"\(module)\"", "-D__KBUILD_MODNAME=kmod_\(module)"],
             SourceText(bytes: Array("#include <linux/a.h>\n#include <linux/b.h>\n".utf8)))
        }
        let planned = headers.plan(["one", "two", "three", "four"].map { entry($0, "mlx") }, configurationKey: { _ in "x86" }, identity: "test")
        let plan = try XCTUnwrap(planned.toBuild.first)
        XCTAssertEqual(plan.arguments, ["-I/t/include", "-DKBUILD_MODNAME=\"mlx\"", "-D__KBUILD_MODNAME=kmod_mlx"], "the module's names, not a file's own")
        PrecompiledHeaders.save(PrecompiledHeaders.Record(files: [], functions: [], macros: HeaderMacroFacts(identifiers: [])), of: plan.output)
        XCTAssertTrue(headers.record(plan, failure: nil))
        XCTAssertEqual(headers.headerToUse(for: "/t/drivers/mlx/one.c", planned: planned.assignment["/t/drivers/mlx/one.c"]), plan.output)

        // A later pass: a file of the same flags in another module, and one in the same module.
        let later = headers.plan([entry("other", "wl"), entry("five", "mlx")], configurationKey: { _ in "x86" }, identity: "test")
        XCTAssertNil(later.assignment["/t/drivers/wl/other.c"], "built with another module's names")
        XCTAssertNil(headers.headerToUse(for: "/t/drivers/wl/other.c", planned: plan.output))
        XCTAssertEqual(later.assignment["/t/drivers/mlx/five.c"], plan.output)

        // Files of several modules share a build without any module's names.
        let mixed = PrecompiledHeaders(in: scratch).plan([entry("one", "a"), entry("two", "a"), entry("three", "b"), entry("four", "b")],
                                                         configurationKey: { _ in "x86" }, identity: "test-mixed")
        XCTAssertEqual(try XCTUnwrap(mixed.toBuild.first).arguments, ["-I/t/include"])
    }

    /// A module's header that uses the module's name in an inline helper: its group's shared
    /// headers are built with that name, and its files parse with them and find what they find
    /// plainly (built without it, the shared headers failed and every file parsed plainly).
    func testAModulesHeaderThatUsesItsNameIsShared() throws {
        let root = NSTemporaryDirectory() + "kwarden-module-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        var files = preparedKernelSkeleton
        files["include/linux/types.h"] = "#ifndef _LINUX_TYPES_H\n#define _LINUX_TYPES_H\ntypedef unsigned int u32;\n#endif\n"
        // The header every file needs names the module in a helper: leaving it out of the
        // shared headers would leave too few to share.
        files["include/linux/ring.h"] = "#ifndef _LINUX_RING_H\n#define _LINUX_RING_H\n#include <linux/types.h>\nstruct ring { u32 nr_queues; u32 head; };\n"
            + "static inline const char *ring_owner(void) { return KBUILD_MODNAME; }\n#endif\n"
        for index in 0..<4 {
            files["drivers/wl/part\(index).c"] = """
            #include <linux/types.h>
            #include <linux/ring.h>

            u32 wl_pick\(index)(struct ring *r, u32 hash)
            {
            \twhile (hash >= r->nr_queues)
            \t\thash -= r->nr_queues;
            \treturn hash;
            }

            """
        }
        files["drivers/wl/Makefile"] = "obj-m += wl.o\nwl-y := part0.o part1.o part2.o part3.o\n"
        try writeTree(files, under: root)
        let plain = try scanDrivers(of: root, shared: false)
        let shared = try scanDrivers(of: root, shared: true)
        XCTAssertEqual(plain.findings.count, 4, "\(plain.findings.map(\.file)) \(plain.parseErrors)")
        XCTAssertEqual(shared.findings.map(findingKey), plain.findings.map(findingKey))
        XCTAssertEqual(shared.summary.filesWithErrors, 0, "\(shared.parseErrors)")
        XCTAssertEqual(shared.summary.filesWithSharedHeaders, 4, "\(shared.notes)")
    }

    /// The gate's second end shares the first end's plans: its few files take the headers built
    /// for the first, where alone they would form no group and parse plainly.
    func testAnotherScanSharingThePlansTakesTheHeadersBuiltForTheFirst() throws {
        let directory = NSTemporaryDirectory() + "kwarden-pch-plans-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let entry = { (name: String) -> (file: String, arguments: [String], source: SourceText) in
            ("/t/drivers/\(name).c", ["-I/t/include"], SourceText(bytes: Array("#include <linux/a.h>\n#include <linux/b.h>\n".utf8)))
        }
        let plans = PrecompiledHeaderPlans()
        let head = PrecompiledHeaders(in: directory, plans: plans)
        let planned = head.plan(["one", "two", "three", "four"].map(entry), configurationKey: { _ in "x86" }, identity: "test")
        let plan = try XCTUnwrap(planned.toBuild.first)
        PrecompiledHeaders.save(PrecompiledHeaders.Record(files: [], functions: []), of: plan.output)
        XCTAssertTrue(head.record(plan, failure: nil))

        let base = PrecompiledHeaders(in: directory, plans: plans)
        let again = base.plan([entry("two")], configurationKey: { _ in "x86" }, identity: "test")
        XCTAssertTrue(again.toBuild.isEmpty)
        XCTAssertEqual(base.headerToUse(for: "/t/drivers/two.c", planned: again.assignment["/t/drivers/two.c"]), plan.output)
        let alone = PrecompiledHeaders(in: directory).plan([entry("two")], configurationKey: { _ in "x86" }, identity: "test")
        XCTAssertNil(alone.assignment["/t/drivers/two.c"], "without the plans, one file forms no group")
    }

    /// A build that failed is not tried again while the headers it read are unchanged; once one
    /// changes, it is.
    func testAFailedBuildIsRememberedUntilItsHeadersChange() throws {
        let directory = NSTemporaryDirectory() + "kwarden-pch-failed-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let header = directory + "/a.h"
        try "int a;\n".write(toFile: header, atomically: true, encoding: .utf8)
        let entries = ["one", "two", "three", "four"].map { name -> (file: String, arguments: [String], source: SourceText) in
            ("/t/drivers/\(name).c", ["-I/t/include"], SourceText(bytes: Array("#include <linux/a.h>\n#include <linux/b.h>\n".utf8)))
        }
        let first = PrecompiledHeaders(in: directory)
        let planned = first.plan(entries, configurationKey: { _ in "x86" }, identity: "test")
        let plan = try XCTUnwrap(planned.toBuild.first)
        PrecompiledHeaders.save(PrecompiledHeaders.Record(files: [header], functions: [], failure: "1 error in the shared headers"), of: plan.output)
        XCTAssertFalse(first.record(plan, failure: "1 error in the shared headers"))

        let second = PrecompiledHeaders(in: directory)
        let again = second.plan(entries, configurationKey: { _ in "x86" }, identity: "test")
        XCTAssertTrue(again.toBuild.isEmpty, "not built again")
        XCTAssertTrue(again.assignment.isEmpty, "its files parse plainly")
        XCTAssertTrue(second.notes.contains { $0.contains("1 error in the shared headers") && $0.contains("earlier scan") }, "\(second.notes)")

        try "int a, b;\n".write(toFile: header, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: header)
        let third = PrecompiledHeaders(in: directory)
        XCTAssertEqual(third.plan(entries, configurationKey: { _ in "x86" }, identity: "test").toBuild.map(\.output), [plan.output], "a header changed: built again")
    }
}

/// Comments and identical redefinitions do not keep a file from the shared headers; uses do.
final class PreprocessorTextTests: XCTestCase {
    func testLogicalLinesDropCommentsAndJoinContinuations() {
        let text = "#define A 1 /* two\nlines */\n#define B \\\n\t2 // note\nchar *s = \"/* kept */\";\nchar c = '\"'; int d; // x\n"
        let lines = PreprocessorText.logicalLines(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(lines, ["#define A 1  ", "#define B \t2 ", "char *s = \"/* kept */\";", "char c = '\"'; int d; "])
    }

    func testDefinitionsCompareAsThePreprocessorWould() {
        func definition(_ line: String) -> String? { PreprocessorText.macroDirective(Array(line.utf8))?.definition }
        XCTAssertEqual(definition("#define SPEED_10\t\t10"), definition("  #  define SPEED_10 10 "))
        XCTAssertNotEqual(definition("#define SPEED_10 10"), definition("#define SPEED_10 (10)"))
        XCTAssertNotEqual(definition("#define F(x) x"), definition("#define F (x) x"), "function-like against object-like")
        XCTAssertEqual(definition("#define F(x)  ((x) + 1)"), definition("#define F(x) ((x) + 1)"))
        XCTAssertNil(definition("#undef F"))
        XCTAssertEqual(PreprocessorText.macroDirective(Array("#undef F".utf8))?.name, "F")
        XCTAssertNil(PreprocessorText.macroDirective(Array("#ifdef F".utf8)))
    }

    func testAHeaderIsAffectedByAMacroItUsesOrDefinesOtherwise() {
        var facts = HeaderMacroFacts()
        facts.add(Array("""
        /* RSTAT is polled by the other side */
        #define SPEED_10 10
        #define SPEED_MAX SPEED_100
        #ifdef DEBUG_RING
        int ring_debug;
        #endif
        #undef OLD_NAME

        """.utf8))
        XCTAssertFalse(facts.isAffected(by: "RSTAT", definition: " 1"), "named in a comment only")
        XCTAssertFalse(facts.isAffected(by: "SPEED_10", definition: " 10"), "the same definition")
        XCTAssertTrue(facts.isAffected(by: "SPEED_10", definition: " 100"))
        XCTAssertTrue(facts.isAffected(by: "SPEED_10", definition: nil), "undefined, or not known")
        XCTAssertTrue(facts.isAffected(by: "SPEED_100", definition: " 100"), "used in a definition")
        XCTAssertTrue(facts.isAffected(by: "DEBUG_RING", definition: " 1"), "tested")
        XCTAssertTrue(facts.isAffected(by: "OLD_NAME", definition: " 1"), "undefined there")
        XCTAssertFalse(facts.isAffected(by: "UNRELATED", definition: nil))
        var other = HeaderMacroFacts()
        other.add(Array("#define SPEED_10 (10)\n".utf8))
        facts.definitions.merge(other.definitions) { $0 == $1 ? $0 : HeaderMacroFacts.conflicting }
        XCTAssertTrue(facts.isAffected(by: "SPEED_10", definition: " 10"), "two headers disagree")
    }

    /// A macro's parameters are its own names: `MEMBER` defined by a file before the headers does
    /// not change `#define offsetofend(TYPE, MEMBER)`, though what the replacement calls still counts.
    func testAMacroParameterIsNotAUseOfTheName() {
        var facts = HeaderMacroFacts()
        facts.add(Array("""
        #define offsetofend(TYPE, MEMBER) (offsetof(TYPE, MEMBER) + sizeof_field(TYPE, MEMBER))
        #define pr_fmt(fmt, args...) KBUILD_MODNAME ": " fmt, ## args
        #define stringify(x) #x

        """.utf8))
        XCTAssertFalse(facts.isAffected(by: "MEMBER", definition: " field"), "a parameter")
        XCTAssertFalse(facts.isAffected(by: "TYPE", definition: " int"), "a parameter")
        XCTAssertFalse(facts.isAffected(by: "args", definition: " 1"), "a named variadic parameter")
        XCTAssertFalse(facts.isAffected(by: "x", definition: " 1"), "a stringified parameter")
        XCTAssertTrue(facts.isAffected(by: "offsetof", definition: "(t, m) 0"), "called in the replacement")
        XCTAssertTrue(facts.isAffected(by: "sizeof_field", definition: " 0"))
        XCTAssertTrue(facts.isAffected(by: "KBUILD_MODNAME", definition: " \"drv\""), "used in the replacement")
        XCTAssertTrue(facts.isAffected(by: "offsetofend", definition: " 0"), "defined otherwise")
        facts.settle()
        XCTAssertFalse(facts.isAffected(by: "MEMBER", definition: "(a) a"))
        XCTAssertTrue(facts.isAffected(by: "offsetof", definition: "(t, m) 0"))
    }

    /// A function-like macro changes only what could invoke it: a name followed by `(`, on a
    /// directive line, or inside the arguments of one of the headers' macros. A struct field or a
    /// parameter of that name is left alone (`#define port_name(p) ...` in a driver that names
    /// no port before the kernel headers).
    func testAFunctionLikeMacroAffectsOnlyWhatCouldInvokeIt() {
        var facts = HeaderMacroFacts()
        facts.add(Array("""
        #define WARN_ON(x) ({ int __c = !!(x); __c; })
        #define ALIAS WARN_ON
        struct port { const char *port_name; int is_legacy; int tail; int lanes; int head; };
        int port_register(struct port *p, const char *port_label, int (*pick)(int));
        static inline int port_check(struct port *p)
        {
        	WARN_ON(p->tail > 4);
        	ALIAS(p->lanes);
        	return p->head + port_index (p) + sizeof(p->is_legacy);
        }
        #ifdef port_debug
        #endif

        """.utf8))
        XCTAssertTrue(facts.isAffected(by: "port_name", definition: " 1"), "an object-like macro changes any use")
        XCTAssertNil(facts.expandable, "not settled yet: every use counts")
        XCTAssertTrue(facts.isAffected(by: "port_name", definition: "(p) p"))
        facts.settle()
        XCTAssertFalse(facts.isAffected(by: "port_name", definition: "(p) p"), "a field")
        XCTAssertFalse(facts.isAffected(by: "port_label", definition: "(p) p"), "a parameter")
        XCTAssertFalse(facts.isAffected(by: "is_legacy", definition: "(t) t"), "inside sizeof, not a macro")
        XCTAssertFalse(facts.isAffected(by: "head", definition: "(r) r"))
        XCTAssertTrue(facts.isAffected(by: "head", definition: " 1"), "object-like")
        XCTAssertTrue(facts.isAffected(by: "tail", definition: "(r) r"), "an argument of a header's macro")
        XCTAssertTrue(facts.isAffected(by: "lanes", definition: "(r) r"), "an argument of a macro that names another")
        XCTAssertTrue(facts.isAffected(by: "port_index", definition: "(p) p"), "called, across a blank")
        XCTAssertTrue(facts.isAffected(by: "port_check", definition: "(p) p"), "a function of that name")
        XCTAssertTrue(facts.isAffected(by: "port_debug", definition: "(p) p"), "tested")
        XCTAssertTrue(facts.isAffected(by: "__c", definition: "(x) x"), "in a macro's replacement")
        XCTAssertFalse(facts.isAffected(by: "unused", definition: "(x) x"))
        // Kept with the shared headers' record, and read back.
        let decoded = try? JSONDecoder().decode(HeaderMacroFacts.self, from: JSONEncoder().encode(facts))
        XCTAssertEqual(decoded?.expandable, facts.expandable)
        XCTAssertEqual(decoded?.isAffected(by: "port_name", definition: "(p) p"), false)
    }
}

/// Files whose own Makefile gate a shared header tests (a driver's DCB files, built only with
/// `CONFIG_…_DCB`) share a variant of their group's headers built with that symbol defined.
/// A header without an include guard is left out of the precompiled prefix, and a file whose own
/// declarations clash with a shared header's is parsed plainly.
final class SharedHeaderVariantTests: XCTestCase {
    let tree = NSTemporaryDirectory() + "kwarden-pch-variant-" + UUID().uuidString

    override func setUpWithError() throws {
        var files = preparedKernelSkeleton.merging([
            ".config": "# Linux/x86 6.1.0 Kernel Configuration\nCONFIG_X86=y\n",
            "arch/x86/Kconfig": "config X86\n\tdef_bool y\n\nconfig RING_DCB\n\tbool \"Ring DCB\"\n",
            "Kbuild": "obj-y += drivers/\n",
            "drivers/Makefile": "obj-y += ring/\n",
            "drivers/ring/Makefile": "obj-y += pick0.o pick1.o pick2.o pick3.o\nobj-$(CONFIG_RING_DCB) += dcb0.o dcb1.o dcb2.o dcb3.o\n",
            "include/linux/types.h": "#ifndef _LINUX_TYPES_H\n#define _LINUX_TYPES_H\ntypedef unsigned int u32;\n#endif\n",
            "include/linux/ring.h": "#ifndef _LINUX_RING_H\n#define _LINUX_RING_H\n#include <linux/types.h>\nstruct ring { u32 nr_queues; };\n#ifdef CONFIG_RING_DCB\nstruct ring_dcb { u32 nr_tcs; };\n#endif\n#endif\n",
            "include/linux/bug.h": "#ifndef _LINUX_BUG_H\n#define _LINUX_BUG_H\n#define WARN_ON(x) ({ int __c = !!(x); __c; })\n#endif\n",
            // No include guard (some kernel headers have none): precompiled and then included by
            // the file again, its enum would be defined twice.
            "include/linux/ring_modes.h": "/* ring modes */\nenum ring_mode { RING_FAST, RING_SLOW };\n",
            "include/linux/ring_stats.h": "#ifndef _LINUX_RING_STATS_H\n#define _LINUX_RING_STATS_H\nstruct ring_stats { u32 drops; };\n#endif\n",
        ]) { $1 }
        for index in 0..<4 {
            files["drivers/ring/pick\(index).c"] = "#include <linux/types.h>\n#include <linux/bug.h>\n#include <linux/ring.h>\n#include <linux/ring_modes.h>\n\nu32 pick\(index)(struct ring *r, u32 hash)\n{\n\twhile (hash >= r->nr_queues)\n\t\thash -= r->nr_queues;\n\treturn hash;\n}\n"
            if index < 3 {
                // Most of the group include it, so the shared headers hold it.
                files["drivers/ring/pick\(index).c"] = files["drivers/ring/pick\(index).c"]!.replacingOccurrences(of: "#include <linux/ring_modes.h>\n", with: "#include <linux/ring_modes.h>\n#include <linux/ring_stats.h>\n")
            } else {
                // Declares a struct of that name of its own: with the shared headers, a redefinition.
                files["drivers/ring/pick\(index).c"] = files["drivers/ring/pick\(index).c"]!.replacingOccurrences(of: "\nu32 pick", with: "\nstruct ring_stats { int mine; };\n\nu32 pick")
            }
            // The struct exists only with the gate defined: read without it, the loop is not there.
            files["drivers/ring/dcb\(index).c"] = "#include <linux/types.h>\n#include <linux/bug.h>\n#include <linux/ring.h>\n#include <linux/ring_modes.h>\n\nu32 dcb\(index)(struct ring_dcb *d, u32 tc)\n{\n\twhile (tc >= d->nr_tcs)\n\t\ttc -= d->nr_tcs;\n\treturn tc;\n}\n"
        }
        try writeTree(files, under: tree)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tree) }

    func scan(shared: Bool) throws -> ScanResult { try scanDrivers(of: tree, shared: shared) }

    func testFilesKeptOutByTheirOwnGateShareAVariantWithTheSameFindings() throws {
        let plain = try scan(shared: false)
        let shared = try scan(shared: true)
        XCTAssertEqual(plain.findings.count, 8, "\(plain.findings.map(\.file)) \(plain.parseErrors)")
        XCTAssertEqual(plain.summary.filesWithErrors, 0, "\(plain.parseErrors)")
        XCTAssertEqual(shared.findings.map { "\($0.file):\($0.line) \($0.message)" }, plain.findings.map { "\($0.file):\($0.line) \($0.message)" })
        XCTAssertEqual(shared.summary.filesWithErrors, 0, "the DCB files see their struct, and the unguarded header is read once: \(shared.parseErrors)")
        XCTAssertEqual(shared.summary.filesWithSharedHeaders, 7, "\(shared.notes)")
        XCTAssertEqual(shared.summary.sharedHeaderFallbacks, 1, "pick3.c's own struct clashes with a shared header's: parsed plainly")
        XCTAssertTrue(shared.notes.contains { $0.contains("pick3.c: parsed without the shared precompiled headers") && $0.contains("redefinition of 'ring_stats'") }, "\(shared.notes)")
        XCTAssertTrue(shared.notes.contains { $0.contains("4 files took headers built with CONFIG_ symbols of their own") }, "\(shared.notes)")
        XCTAssertFalse(shared.notes.contains { $0.contains("files parsed without the shared precompiled headers: a CONFIG_ symbol") }, "\(shared.notes)")
    }
}

/// The shared headers' functions that mention a rule's names: the same answer for every file
/// that asks with the same names, in the headers' order, from a kept answer after the first.
final class SharedHeaderFunctionsTests: XCTestCase {
    func testFunctionsMentioningNamesAreFoundInOrderAndKeptPerNameSet() {
        let list = SharedHeaderFunctions([
            SharedHeaderFunction(name: "ring_free", file: "a.h", offset: 10, identifiers: ["dma_free_coherent", "ring"]),
            SharedHeaderFunction(name: "ring_stop", file: "a.h", offset: 90, identifiers: ["writel", "ring"]),
            SharedHeaderFunction(name: "mode_get", file: "b.h", offset: 5, identifiers: ["rcu_dereference", "mode"]),
        ])
        XCTAssertEqual(list.mentioning(["ring"]).map(\.name), ["ring_free", "ring_stop"])
        XCTAssertEqual(list.mentioning(["mode", "dma_free_coherent"]).map(\.name), ["ring_free", "mode_get"])
        XCTAssertEqual(list.mentioning(["absent"]).map(\.name), [])
        // Many different name sets (a file's own fields) never change an answer.
        for index in 0..<200 { XCTAssertEqual(list.mentioning(["field\(index)", "writel"]).map(\.name), ["ring_stop"]) }
        XCTAssertEqual(list.mentioning(["ring"]).map(\.name), ["ring_free", "ring_stop"])
    }
}
