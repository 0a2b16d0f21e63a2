import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// A driver's own headers, precompiled on top of the kernel's, change how fast its files parse,
/// never what they yield.
final class DriverHeaderTests: XCTestCase {
    var tree: String!

    override func setUpWithError() throws {
        tree = NSTemporaryDirectory() + "kwarden-drv-" + UUID().uuidString
        var files: [String: String] = preparedKernelSkeleton
        files["include/linux/types.h"] = "#ifndef _LINUX_TYPES_H\n#define _LINUX_TYPES_H\ntypedef unsigned int u32;\n#define NULL ((void *)0)\n#endif\n"
        files["include/linux/list.h"] = """
        #ifndef _LINUX_LIST_H
        #define _LINUX_LIST_H
        struct list_head { struct list_head *next, *prev; };
        #define container_of(ptr, type, member) ((type *)((char *)(ptr) - __builtin_offsetof(type, member)))
        #define list_entry(ptr, type, member) container_of(ptr, type, member)
        #define list_first_entry(ptr, type, member) list_entry((ptr)->next, type, member)
        #endif

        """
        files["include/linux/ring.h"] = "#ifndef _LINUX_RING_H\n#define _LINUX_RING_H\n#include <linux/types.h>\nstruct ring { u32 nr_queues; u32 head; };\n#endif\n"
        // The driver's header names a member like a kernel macro (`list_entry`): the chained
        // headers must still expand the macro for every file.
        files["drivers/drv/drv.h"] = """
        #ifndef _DRV_H_
        #define _DRV_H_
        #include <linux/types.h>
        #include <linux/list.h>
        #include <linux/ring.h>
        #ifndef DRV_SLOTS
        #define DRV_SLOTS 8
        #endif
        struct drv_entry { struct list_head list_entry; u32 id; };
        struct drv_priv { struct ring ring; struct list_head entries; u32 slots[DRV_SLOTS]; };
        static inline u32 drv_queues(struct drv_priv *p) { return p->ring.nr_queues; }
        #endif

        """
        let pick = """
        u32 drv_pickNAME(struct drv_priv *p, u32 hash)
        {
        \tstruct drv_entry *e = list_first_entry(&p->entries, struct drv_entry, list_entry);

        \twhile (hash >= p->ring.nr_queues)
        \t\thash -= p->ring.nr_queues;
        \treturn hash + e->id;
        }

        """
        var objects: [String] = []
        for index in 0..<5 {
            files["drivers/drv/f\(index).c"] = "#include \"drv.h\"\n\n" + pick.replacingOccurrences(of: "NAME", with: "\(index)")
            objects.append("f\(index).o")
        }
        files["drivers/drv/f0.c"]! += "void drv_teardown(struct drv_priv *p)\n{\n\tp->ring.nr_queues = 0;\n}\n"
        // Sizes the driver's header by a macro of its own, defined before the header: the
        // header precompiled without it would read otherwise (and the assertion would fail).
        files["drivers/drv/early.c"] = "#define DRV_SLOTS 16\n#include \"drv.h\"\n\n"
            + "_Static_assert(sizeof(((struct drv_priv *)0)->slots) == 16 * sizeof(u32), \"slots\");\n\n"
            + pick.replacingOccurrences(of: "NAME", with: "_early")
        // Its first "…" include is conditional: the chained headers would read a header it skips.
        files["drivers/drv/cond.c"] = "#ifdef CONFIG_DRV_EXTRA\n#include \"drv_extra.h\"\n#endif\n#include \"drv.h\"\n\n"
            + pick.replacingOccurrences(of: "NAME", with: "_cond")
        files["drivers/drv/drv_extra.h"] = "#ifndef _DRV_EXTRA_H_\n#define _DRV_EXTRA_H_\nstruct drv_priv { int clash; };\n#endif\n"
        objects += ["early.o", "cond.o"]
        files["drivers/drv/Makefile"] = "obj-y += drv.o\ndrv-y := \(objects.joined(separator: " "))\n"
        try writeTree(files, under: tree)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tree) }

    func scan(shared: Bool, cache: ResultCache? = nil) throws -> ScanResult { try scanDrivers(of: tree, shared: shared, cache: cache) }

    func key(_ finding: Finding) -> String { findingKey(finding) }

    func testFilesOfADriverShareItsHeadersWithTheSameFindings() throws {
        let plain = try scan(shared: false)
        let shared = try scan(shared: true)
        XCTAssertEqual(plain.findings.count, 7, "\(plain.findings.map(\.file))")
        XCTAssertEqual(shared.findings.map(key), plain.findings.map(key))
        XCTAssertEqual(plain.summary.filesWithErrors, 0, "\(plain.parseErrors)")
        XCTAssertEqual(shared.summary.filesWithErrors, 0, "list_first_entry() still expands, early.c still sees its own DRV_SLOTS: \(shared.parseErrors)")
        XCTAssertEqual(shared.summary.filesWithSharedHeaders, 7, "\(shared.notes)")
        XCTAssertTrue(shared.notes.contains { $0.contains("; 5 files took their driver's own headers precompiled on top of the kernel's") },
                      "f0–f4; early.c defines DRV_SLOTS before drv.h, cond.c includes a header under #ifdef first: \(shared.notes)")
    }

    func testAChangedDriverHeaderIsBuiltAgainWithTheSameFindings() throws {
        let cacheDirectory = tree + "-cache"
        defer { try? FileManager.default.removeItem(atPath: cacheDirectory) }
        let first = try scan(shared: true, cache: try ResultCache(directory: cacheDirectory))
        XCTAssertTrue(first.notes.contains { $0.contains("5 files took their driver's own headers") }, "\(first.notes)")
        let header = tree + "/drivers/drv/drv.h"
        try (try String(contentsOfFile: header, encoding: .utf8)).replacingOccurrences(of: "u32 id;", with: "u32 id;\n\tu32 flags;")
            .write(toFile: header, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: header)
        let second = try scan(shared: true, cache: try ResultCache(directory: cacheDirectory))
        XCTAssertEqual(second.summary.filesFromCache, 0, "every file read the changed header")
        XCTAssertEqual(second.findings.map(key), first.findings.map(key))
        XCTAssertEqual(second.summary.filesWithErrors, 0, "\(second.parseErrors)")
        XCTAssertTrue(second.notes.contains { $0.contains("5 files took their driver's own headers") }, "\(second.notes)")
    }

    func testTheFirstLocalHeaderIsFoundOutsideConditionals() {
        let headers = PrecompiledHeaders(in: tree)
        let plain = headers.preamble(of: SourceText(bytes: Array("#include <linux/types.h>\n#define A 1\n#include \"drv.h\"\n".utf8)), file: tree + "/drivers/drv/x.c")
        XCTAssertEqual(plain.firstLocal?.path, tree + "/drivers/drv/drv.h")
        XCTAssertEqual(plain.firstLocal?.headersBefore, 1)
        XCTAssertEqual(plain.firstLocal?.macrosBefore, 1)
        let guarded = headers.preamble(of: SourceText(bytes: Array("#ifdef X\n#include \"drv.h\"\n#endif\n#include \"drv.h\"\n".utf8)), file: tree + "/drivers/drv/x.c")
        XCTAssertNil(guarded.firstLocal, "the first \"…\" include is under #ifdef")
        let missing = headers.preamble(of: SourceText(bytes: Array("#include \"nowhere.h\"\n#include \"drv.h\"\n".utf8)), file: tree + "/drivers/drv/x.c")
        XCTAssertNil(missing.firstLocal, "the first \"…\" header is not found")
    }
}
