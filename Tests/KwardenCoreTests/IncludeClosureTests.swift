import Foundation
import XCTest
@testable import KwardenCore
@testable import RuleKit
import ClangKit

/// A file's include closure holds only headers it is sure to read: a precompiled header made of
/// them declares nothing the file would not have declared itself.
final class IncludeClosureTests: XCTestCase {
    var tree: String!

    override func setUpWithError() throws {
        tree = NSTemporaryDirectory() + "kwarden-closure-" + UUID().uuidString
        try writeTree([
            "include/linux/kconfig.h": "#ifndef _KCONFIG_H\n#define _KCONFIG_H\n#include <generated/autoconf.h>\n#endif\n",
            "include/linux/types.h": "#ifndef _LINUX_TYPES_H\n#define _LINUX_TYPES_H\n#include <linux/list.h>\ntypedef unsigned int u32;\n#endif\n",
            // A cycle: list.h and types.h include each other.
            "include/linux/list.h": "#ifndef _LINUX_LIST_H\n#define _LINUX_LIST_H\n#include <linux/types.h>\nstruct list_head { struct list_head *next; };\n#endif\n",
            "include/linux/ring.h": """
            /* SPDX-License-Identifier: GPL-2.0 */
            #ifndef _LINUX_RING_H
            #define _LINUX_RING_H
            #include <linux/types.h>
            #include "ring_regs.h"
            #ifdef CONFIG_RING_DEBUG
            #include <linux/ring_debug.h>
            #endif
            #ifndef __ASSEMBLY__
            #include <asm/ring.h>
            #else
            #include <asm/ring_asm.h>
            #endif
            #if IS_ENABLED(CONFIG_NET)
            #include <linux/netdevice.h>
            #endif
            /* #include <linux/commented.h> */
            #include_next <linux/ring.h>
            #include <generated/ring_offsets.h>
            #endif

            """,
            "include/linux/ring_regs.h": "#ifndef _RING_REGS_H\n#define _RING_REGS_H\n#define RING_HEAD 0x10\n#endif\n",
            "include/linux/ring_debug.h": "#ifndef _RING_DEBUG_H\n#define _RING_DEBUG_H\n#endif\n",
            "include/linux/netdevice.h": "#ifndef _NETDEVICE_H\n#define _NETDEVICE_H\n#endif\n",
            "include/linux/commented.h": "#ifndef _COMMENTED_H\n#define _COMMENTED_H\n#endif\n",
            "arch/x86/include/asm/ring.h": "#ifndef _ASM_RING_H\n#define _ASM_RING_H\n#endif\n",
            "arch/x86/include/asm/ring_asm.h": "#ifndef _ASM_RING_ASM_H\n#define _ASM_RING_ASM_H\n#endif\n",
            // Not a guard: code follows the `#endif` of its first `#ifndef`.
            "include/linux/opt.h": "#ifndef OPT_INLINE\n#define OPT_INLINE\n#include <linux/ring_debug.h>\n#endif\nint opt;\n",
            "drivers/ring/ring.h": "#ifndef _DRV_RING_H\n#define _DRV_RING_H\n#include <linux/ring.h>\n#endif\n",
            "drivers/ring/main.c": "#include <linux/opt.h>\n#include \"ring.h\"\n#ifdef CONFIG_NET\n#include <linux/netdevice.h>\n#endif\nint main_ring;\n",
        ], under: tree)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tree) }

    func closure() -> IncludeClosure {
        IncludeClosure(arguments: ["-nostdinc", "-I", tree + "/arch/x86/include", "-I" + tree + "/include", "-include", tree + "/include/linux/kconfig.h"],
                       directives: HeaderDirectives())
    }

    func relative(_ paths: some Sequence<String>) -> Set<String> { Set(paths.map { String($0.dropFirst(tree.count + 1)) }) }

    func testAClosureHoldsTheUnconditionalIncludesFollowedThroughGuardsAndItsForcedIncludes() {
        let found = closure().closure(of: tree + "/drivers/ring/main.c")
        XCTAssertEqual(relative(found), [
            "include/linux/kconfig.h", "include/linux/opt.h", "drivers/ring/ring.h", "include/linux/ring.h", "include/linux/types.h",
            "include/linux/list.h", "include/linux/ring_regs.h", "arch/x86/include/asm/ring.h",
        ], "not what #ifdef, #if, an #else of #ifndef __ASSEMBLY__, a comment, #include_next or a missing generated header name")
    }

    func testAnIfndefWithCodeAfterItsEndifIsAConditionNotAGuard() {
        let guarded = HeaderDirectives.parse(Array("#ifndef _A_H\n#define _A_H\n#include <b.h>\n#endif\n".utf8))
        XCTAssertTrue(guarded.guarded)
        XCTAssertEqual(guarded.includes.map(\.name), ["b.h"])
        let condition = HeaderDirectives.parse(Array("#ifndef OPT\n#define OPT\n#include <b.h>\n#endif\nint x;\n".utf8))
        XCTAssertFalse(condition.guarded)
        XCTAssertTrue(condition.includes.isEmpty)
        let notDefinedNext = HeaderDirectives.parse(Array("#ifndef _A_H\n#include <b.h>\n#define _A_H\n#endif\n".utf8))
        XCTAssertFalse(notDefinedNext.guarded)
        XCTAssertTrue(notDefinedNext.includes.isEmpty)
    }

    /// Directives read off their bytes: blanks around `#` and the name, a CRLF line's carriage
    /// return kept in the rest as before, and a non-ASCII blank (read the Unicode way).
    func testDirectiveNamesAndRestsWhateverTheBlanks() {
        let text = "#  include\t<a.h>  \n\t# define X 1\t\n#ifndef B_H\r\n#\u{00A0}include <c.h>\n#endif\n# 12 \"x.c\"\n#\n"
        let lines = HeaderDirectives.readLines(Array(text.utf8)).lines.map { $0.directive.map { [$0.word, $0.rest] } }
        XCTAssertEqual(lines, [["include", "<a.h>"], ["define", "X 1"], ["ifndef", "B_H\r"], ["include", "<c.h>"], ["endif", ""],
                               ["", "12 \"x.c\""], ["", ""]])
    }

    func testQuotedNamesAreFoundBesideTheIncludingFileFirst() {
        let closures = closure()
        XCTAssertEqual(closures.resolve("ring.h", quoted: true, from: tree + "/drivers/ring"), tree + "/drivers/ring/ring.h")
        XCTAssertEqual(closures.resolve("ring.h", quoted: true, from: tree + "/include/linux"), tree + "/include/linux/ring.h")
        XCTAssertNil(closures.resolve("ring.h", quoted: false, from: tree + "/drivers/ring"))
        XCTAssertEqual(closures.resolve("asm/ring.h", quoted: false, from: ""), tree + "/arch/x86/include/asm/ring.h")
        XCTAssertEqual(closures.includeName(of: tree + "/include/linux/ring_regs.h"), "linux/ring_regs.h")
        XCTAssertNil(closures.includeName(of: tree + "/drivers/ring/ring.h"), "no <…> name reads it")
    }

    func testHeadersGivenInMemoryAreFoundAndFollowed() throws {
        let generated = tree + "/arch/x86/include/generated"
        let closures = IncludeClosure(arguments: ["-I" + tree + "/arch/x86/include", "-I" + generated, "-I" + tree + "/include"],
                                      inMemory: [UnsavedFile(path: generated + "/asm/extra.h", contents: "#pragma once\n#include <linux/netdevice.h>\n")],
                                      directives: HeaderDirectives())
        let file = tree + "/drivers/ring/extra.c"
        try "#include <asm/extra.h>\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(relative(closures.closure(of: file)), ["arch/x86/include/generated/asm/extra.h", "include/linux/netdevice.h"])
    }

    func testHeadersAreEnteredInPreprocessingOrder() {
        let order = closure().firstEntered(by: tree + "/drivers/ring/main.c").map { String($0.dropFirst(tree.count + 1)) }
        XCTAssertEqual(order, ["include/linux/opt.h", "drivers/ring/ring.h", "include/linux/ring.h", "include/linux/types.h", "include/linux/list.h",
                               "include/linux/ring_regs.h", "arch/x86/include/asm/ring.h"])
    }
}

/// Files that include none of their group's chosen headers take them when their include closure
/// holds them all; the rest of a group shares the headers most of their closures hold.
final class ClosureSharedHeaderTests: XCTestCase {
    var tree: String!
    var scratch: String!

    override func setUpWithError() throws {
        tree = NSTemporaryDirectory() + "kwarden-closure-plan-" + UUID().uuidString
        scratch = tree + "/scratch"
        var files: [String: String] = [:]
        for name in ["a", "b", "c", "d", "e"] {
            files["include/linux/\(name).h"] = "#ifndef _\(name.uppercased())_H\n#define _\(name.uppercased())_H\nint \(name);\n#endif\n"
        }
        // wrap.h reads a and b whatever the configuration; maybe.h reads b only under a condition.
        files["include/linux/wrap.h"] = "#ifndef _WRAP_H\n#define _WRAP_H\n#include <linux/a.h>\n#include <linux/b.h>\n#endif\n"
        files["include/linux/maybe.h"] = "#ifndef _MAYBE_H\n#define _MAYBE_H\n#include <linux/a.h>\n#ifdef CONFIG_B\n#include <linux/b.h>\n#endif\n#endif\n"
        // core.h: what the files outside the group's chosen headers share.
        files["include/linux/core.h"] = "#ifndef _CORE_H\n#define _CORE_H\n#include <linux/c.h>\n#include <linux/d.h>\n#endif\n"
        try writeTree(files, under: tree)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tree) }

    func testFilesTakeHeadersTheirClosureHoldsAndTheRestShareTheirClosuresCommonHeaders() throws {
        let headers = PrecompiledHeaders(in: scratch)
        var entries = (1...12).map { planEntry(in: tree, "direct\($0)", "#include <linux/a.h>\n#include <linux/b.h>\n") }
        entries.append(planEntry(in: tree, "wrapped", "#include <linux/wrap.h>\n"))
        entries.append(planEntry(in: tree, "maybe", "#include <linux/maybe.h>\n"))
        entries += (1...4).map { planEntry(in: tree, "core\($0)", "#define CORE_EARLY 1\n#include <linux/core.h>\n#include <linux/e.h>\n") }
        let planned = headers.plan(entries, configurationKey: { _ in "x86" }, identity: "test")
        XCTAssertEqual(planned.toBuild.count, 2)
        let direct = try XCTUnwrap(planned.assignment[tree + "/drivers/direct1.c"])
        XCTAssertEqual(planned.assignment[tree + "/drivers/wrapped.c"], direct, "wrap.h is sure to read a.h and b.h")
        XCTAssertNil(planned.assignment[tree + "/drivers/maybe.c"], "maybe.h reads b.h only under a condition")

        let core = try XCTUnwrap(planned.assignment[tree + "/drivers/core1.c"])
        XCTAssertNotEqual(core, direct)
        let plan = try XCTUnwrap(planned.toBuild.first { $0.output == core })
        XCTAssertEqual(try String(contentsOfFile: plan.prefix, encoding: .utf8), "#include <linux/core.h>\n#include <linux/e.h>\n",
                       "in the order the files read them, without what core.h reads anyway")
        for name in ["core2", "core3", "core4"] { XCTAssertEqual(planned.assignment[tree + "/drivers/\(name).c"], core, name) }

        // The macro they define before their includes counts against headers they do not name.
        PrecompiledHeaders.save(PrecompiledHeaders.Record(files: [], functions: [], macros: HeaderMacroFacts(identifiers: ["CORE_EARLY"])), of: core)
        XCTAssertTrue(headers.record(plan, failure: nil))
        XCTAssertNil(headers.headerToUse(for: tree + "/drivers/core1.c", planned: core), "the shared headers use CORE_EARLY")

        // A later pass's file that names none of the group's headers takes them through its closure.
        let later = headers.plan([planEntry(in: tree, "late", "#include <linux/wrap.h>\n")], configurationKey: { _ in "x86" }, identity: "test")
        XCTAssertEqual(later.assignment[tree + "/drivers/late.c"], direct)
        XCTAssertTrue(later.toBuild.isEmpty)
    }
}

/// A macro a file defines before its last kernel include keeps it from the shared headers only
/// if a shared header that names it could be read after the definition in the file's own order.
final class EarlyMacroPositionTests: XCTestCase {
    var tree: String!

    override func setUpWithError() throws {
        tree = NSTemporaryDirectory() + "kwarden-early-" + UUID().uuidString
        try writeTree([
            "include/linux/a.h": "#ifndef _A_H\n#define _A_H\n#define EARLY 1\nint a;\n#endif\n",
            "include/linux/b.h": "#ifndef _B_H\n#define _B_H\nint b;\n#endif\n",
            "include/linux/c.h": "int c_unguarded;\n#define EARLY 1\n",
        ], under: tree)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tree) }

    func testAMacroDefinedAfterTheHeadersThatNameItWereReadKeepsNoFileOut() throws {
        let headers = PrecompiledHeaders(in: tree + "/scratch")
        let entries = [
            planEntry(in: tree, "after", "#include <linux/a.h>\n#include <linux/c.h>\n#define EARLY 2\n#include <linux/b.h>\n"),
            planEntry(in: tree, "before", "#define EARLY 2\n#include <linux/a.h>\n#include <linux/b.h>\n"),
            // Read first only under a condition: the definition may come before a.h is read.
            planEntry(in: tree, "conditional", "#ifdef CONFIG_A_FIRST\n#include <linux/a.h>\n#endif\n#define EARLY 2\n#include <linux/a.h>\n#include <linux/b.h>\n"),
            planEntry(in: tree, "plain", "#include <linux/a.h>\n#include <linux/b.h>\n"),
        ]
        let planned = headers.plan(entries, configurationKey: { _ in "x86" }, identity: "test")
        let plan = try XCTUnwrap(planned.toBuild.first)
        let record = { (files: [String]) in
            PrecompiledHeaders.save(PrecompiledHeaders.Record(files: files.map { self.tree + "/include/linux/" + $0 }, functions: [],
                                                              macros: HeaderMacroFacts(identifiers: ["EARLY"])), of: plan.output)
        }
        record(["a.h", "b.h"])
        XCTAssertTrue(headers.record(plan, failure: nil))
        func use(_ name: String) -> String? { headers.headerToUse(for: tree + "/drivers/\(name).c", planned: planned.assignment[tree + "/drivers/\(name).c"]) }
        XCTAssertEqual(use("after"), plan.output, "a.h, the one header naming EARLY, was read before it was defined")
        XCTAssertNil(use("before"))
        XCTAssertNil(use("conditional"))
        XCTAssertEqual(use("plain"), plan.output)

        // A header without a guard that names it could be read again after the definition.
        let again = PrecompiledHeaders(in: tree + "/scratch2")
        let replanned = again.plan(entries, configurationKey: { _ in "x86" }, identity: "test")
        let second = try XCTUnwrap(replanned.toBuild.first)
        PrecompiledHeaders.save(PrecompiledHeaders.Record(files: ["a.h", "b.h", "c.h"].map { self.tree + "/include/linux/" + $0 }, functions: [],
                                                          macros: HeaderMacroFacts(identifiers: ["EARLY"])), of: second.output)
        XCTAssertTrue(again.record(second, failure: nil))
        XCTAssertNil(again.headerToUse(for: tree + "/drivers/after.c", planned: replanned.assignment[tree + "/drivers/after.c"]), "c.h names EARLY and, without a guard, could be read again after it")
    }
}

/// A driver's `.c` file under `tree` with its text, as `PrecompiledHeaders.plan` takes it.
private func planEntry(in tree: String, _ name: String, _ text: String) -> (file: String, arguments: [String], source: SourceText) {
    (tree + "/drivers/\(name).c", ["-I" + tree + "/include"], SourceText(bytes: Array(text.utf8)))
}
