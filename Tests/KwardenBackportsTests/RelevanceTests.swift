import Foundation
import GitKit
import XCTest
@testable import KwardenBackports

/// Whether a missing fix matters to this kernel: the ignore list and the vendor's `.config`.
final class RelevanceTests: XCTestCase {
    func testIgnoreListFromFileAndKwardenYAML() throws {
        let history = try SmallHistory(files: ["net/a.c", "net/b.c", "net/c.c"])
        let fixA = try history.upstream("net: fix a\n") { $0["net/a.c"] = $0["net/a.c"]!.replacing(5, with: ["\tfixed_a();"]) }
        let fixB = try history.upstream("net: fix b\n") { $0["net/b.c"] = $0["net/b.c"]!.replacing(5, with: ["\tfixed_b();"]) }
        let fixC = try history.upstream("net: fix c\n") { $0["net/c.c"] = $0["net/c.c"]!.replacing(5, with: ["\tfixed_c();"]) }
        let presentFix = try history.upstream("net: fix a again\n") { $0["net/a.c"] = $0["net/a.c"]!.replacing(20, with: ["\tagain();"]) }
        try history.vendor("net: fix a again\n\ncommit \(presentFix.hex) upstream.\n") {
            $0["net/a.c"] = $0["net/a.c"]!.replacing(20, with: ["\tagain();"])
        }

        let list = try IgnoreList.parse("""
            # reviewed 2026-11
            \(fixA.short(12)) not applicable: feature backported differently
            \(presentFix.hex)   taken anyway
            0123456789ab0123456789ab0123456789ab0123 dropped upstream
            """, source: "ignore.txt")
        XCTAssertEqual(list.entries.map(\.reason), ["not applicable: feature backported differently", "taken anyway", "dropped upstream"])
        XCTAssertEqual(list.entries[0].source, "ignore.txt:2")
        XCTAssertThrowsError(try IgnoreList.parse("\(fixA.short(12))\n", source: "x")) { error in
            XCTAssertTrue("\(error)".contains("needs a reason"), "\(error)")
        }

        try """
            backports:
              ignore:
                - commit: \(fixB.hex)
                  reason: "vendor driver replaces it"
            """.write(toFile: history.path + "/.kwarden.yaml", atomically: true, encoding: .utf8)
        let report = try history.check([fixA, fixB, fixC, presentFix]) { $0.ignoreList = list }
        XCTAssertEqual(report.fixes.map(\.status), [.ignored, .ignored, .missing, .present])
        XCTAssertEqual(report.fixes[0].note, "ignored (was missing): not applicable: feature backported differently")
        XCTAssertEqual(report.fixes[1].note, "ignored (was missing): vendor driver replaces it")
        XCTAssertNil(report.fixes[0].apply, "ignored fixes are not apply-checked")
        XCTAssertEqual(report.fixes[3].note, "on the ignore list: taken anyway")
        XCTAssertEqual(report.summary.ignored, 2)
        XCTAssertEqual(report.warnings.count, 1)
        XCTAssertTrue(report.warnings[0].hasPrefix("ignore.txt:4: ignore entry 0123456789ab"), report.warnings[0])
        XCTAssertTrue(report.hasMissingNeededFix, "fix c is still missing")

        let ignoringAll = try history.check([fixA, fixB]) { $0.ignoreList = list }
        XCTAssertFalse(ignoringAll.hasMissingNeededFix)
        XCTAssertEqual(BackportOutput.exitStatus(ignoringAll), 0)
    }

    /// A small Kbuild tree: drivers/ enters net/ and foo/ under their symbols; foo/ builds core.o under
    /// CONFIG_FOO_CORE and the composite foo_extra.o (of extra1.o) under CONFIG_FOO_EXTRA.
    func kbuildHistory() throws -> (SmallHistory, [String: Oid]) {
        let history = try SmallHistory(files: ["drivers/net/dev.c", "drivers/foo/core.c", "drivers/foo/extra1.c",
                                               "drivers/foo/foo.h", "drivers/foo/Kconfig"])
        var fixes: [String: Oid] = [:]
        try history.vendor("kbuild files\n") {
            $0["drivers/Makefile"] = SourceFile(lines: ["obj-$(CONFIG_NET) += net/", "obj-$(CONFIG_FOO)\t+= foo/"])
            $0["drivers/net/Makefile"] = SourceFile(lines: ["# network devices", "obj-$(CONFIG_NET) += dev.o"])
            $0["drivers/foo/Makefile"] = SourceFile(lines: [
                "obj-$(CONFIG_FOO_CORE) += core.o", "foo_extra-y := \\", "\textra1.o", "obj-$(CONFIG_FOO_EXTRA) += foo_extra.o"])
            $0["drivers/foo/core.c"] = $0["drivers/foo/core.c"]!.inserting(["#include \"foo.h\""], after: 0)
        }
        for (key, path) in [("dev", "drivers/net/dev.c"), ("core", "drivers/foo/core.c"), ("extra", "drivers/foo/extra1.c"),
                            ("header", "drivers/foo/foo.h")] {
            fixes[key] = try history.upstream("fix \(key)\n") { $0[path] = $0[path]!.replacing(12, with: ["\tfixed();"]) }
        }
        return (history, fixes)
    }

    func testConfigDecidesWhatIsBuiltFromTheBranchMakefiles() throws {
        let (history, fixes) = try kbuildHistory()
        let keys = ["dev", "core", "extra", "header"]
        func statuses(_ config: String) throws -> (BackportReport, [FixStatus]) {
            let report = try history.check(keys.map { fixes[$0]! }) { $0.kernelConfig = KernelConfig.parse(config) }
            return (report, report.fixes.map(\.status))
        }
        let (report, found) = try statuses("CONFIG_NET=y\nCONFIG_FOO=m\n# CONFIG_FOO_CORE is not set\n")
        XCTAssertEqual(found, [.missing, .notBuilt, .notBuilt, .notBuilt])
        XCTAssertEqual(report.fixes[1].configSymbols, ["CONFIG_FOO_CORE"])
        XCTAssertEqual(report.fixes[1].evidence.first?.line,
                       "drivers/foo/core.c is not built: obj-$(CONFIG_FOO_CORE) += core.o in drivers/foo/Makefile and CONFIG_FOO_CORE is not set")
        XCTAssertEqual(report.fixes[2].configSymbols, ["CONFIG_FOO_EXTRA"])
        XCTAssertEqual(report.fixes[3].configSymbols, ["CONFIG_FOO_CORE"])
        XCTAssertTrue(report.fixes[3].evidence.first?.line.contains("approximate") ?? false)
        XCTAssertNil(report.fixes[1].apply)
        XCTAssertEqual(report.summary.notBuilt, 3)
        XCTAssertTrue(report.hasMissingNeededFix)

        // With the core built, the header is too (core.c includes it); without FOO, nothing under foo/ is.
        XCTAssertEqual(try statuses("CONFIG_NET=y\nCONFIG_FOO=y\nCONFIG_FOO_CORE=y\n").1, [.missing, .missing, .notBuilt, .missing])
        let (noFoo, noFooStatuses) = try statuses("CONFIG_NET=y\nCONFIG_FOO_CORE=y\nCONFIG_FOO_EXTRA=m\n")
        XCTAssertEqual(noFooStatuses, [.missing, .notBuilt, .notBuilt, .notBuilt])
        XCTAssertEqual(noFoo.fixes[2].configSymbols, ["CONFIG_FOO"])
        let (noNet, noNetStatuses) = try statuses("CONFIG_FOO=y\nCONFIG_FOO_CORE=y\n")
        XCTAssertEqual(noNetStatuses, [.notBuilt, .missing, .notBuilt, .missing])
        XCTAssertEqual(noNet.fixes[0].configSymbols, ["CONFIG_NET"])
    }

    func testMakefileParsing() {
        let assignments = KbuildModel.assignments(in: "obj-$(CONFIG_A) += a.o b.o # two\nx-y := \\\n\tc.o \\\n\td.o\nifdef CONFIG_B\nendif\n")
        XCTAssertEqual(assignments.map(\.variable), ["obj-$(CONFIG_A)", "x-y"])
        XCTAssertEqual(assignments.map(\.values), [["a.o", "b.o"], ["c.o", "d.o"]])
        let model = KbuildModel(config: KernelConfig.parse("CONFIG_A=m\n"), readFile: { _ in nil }, listDirectory: { _ in nil })
        XCTAssertEqual(model.splitVariable("snd-hda-codec-$(CONFIG_X)").owner, "snd-hda-codec")
        XCTAssertEqual(model.splitVariable("snd-hda-codec-y").owner, "snd-hda-codec")
        XCTAssertEqual(model.condition("$(CONFIG_A)")?.enabled, true)
        XCTAssertEqual(model.condition("$(CONFIG_B)")?.enabled, false)
        XCTAssertNil(model.condition("$(subst m,y,$(CONFIG_A))"))
    }
}
