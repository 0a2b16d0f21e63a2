import Foundation
import XCTest
import ClangKit
@testable import RuleKit

/// What a rule makes of a shared header's functions is made once per set of shared headers, and
/// made again for a file that defines a callee the making looked up, or when it read the file's
/// own facts.
final class SharedHeaderFactsTests: XCTestCase {
    func testFactsAreMadeOncePerSharedHeadersUnlessTheFileDefinesAConsultedCallee() throws {
        let files: [String: String] = [
            "helpers.h": "#ifndef HELPERS_H\n#define HELPERS_H\nvoid hw_stop(int *r);\nstatic inline void release(int *r) { hw_stop(r); }\nstatic inline int twice(int x) { return x * 2; }\n#endif\n",
            "prefix.h": "#include \"helpers.h\"\n",
            "a.c": "#include \"helpers.h\"\nint use_a(void) { return twice(1); }\n",
            "b.c": "#include \"helpers.h\"\nint use_b(void) { return twice(2); }\n",
            // Defines the callee that `release` looks up: what is made of `release` may differ here.
            "c.c": "#include \"helpers.h\"\nvoid hw_stop(int *r) { *r = 0; }\n",
        ]
        let (directory, pch, shared) = try precompile(files)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let index = ClangIndex(excludeDeclarationsFromPCH: true)

        var made: [String] = []
        func facts(_ file: String, key: String, ownFacts: Bool = false) throws -> [String] {
            let unit = try index.parse(file: directory + "/" + file, arguments: ["-include-pch", pch, "-I", directory])
            XCTAssertEqual(unit.errorCount, 0, file)
            let context = FileContext(path: directory + "/" + file, unit: unit, sharedHeaderFunctions: shared)
            return context.sharedHeaderFacts(mentioning: ["hw_stop", "x"], key: key) { definition in
                made.append(file + ":" + definition.name)
                return (definition.name, definition.name == "release" ? ["hw_stop"] : [], ownFacts)
            }
        }
        XCTAssertEqual(try facts("a.c", key: "rule|1"), ["release", "twice"])
        XCTAssertEqual(made, ["a.c:release", "a.c:twice"])
        XCTAssertEqual(try facts("b.c", key: "rule|1"), ["release", "twice"])
        XCTAssertEqual(made.count, 2, "b.c takes both from a.c's making: \(made)")
        XCTAssertEqual(try facts("c.c", key: "rule|1"), ["release", "twice"])
        XCTAssertEqual(made.suffix(1), ["c.c:release"], "c.c defines hw_stop: release is made again, twice is taken")
        XCTAssertEqual(try facts("b.c", key: "rule|1"), ["release", "twice"])
        XCTAssertEqual(made.count, 3, "c.c's making was not kept: \(made)")
        // Made from the file's own facts: never kept.
        _ = try facts("a.c", key: "rule|2", ownFacts: true)
        _ = try facts("b.c", key: "rule|2", ownFacts: true)
        XCTAssertEqual(made.suffix(4), ["a.c:release", "a.c:twice", "b.c:release", "b.c:twice"])
    }

    /// A rule that needs a second name in a function (the rcu rule's read macros, or a helper
    /// that reads through one) asks only for functions that mention both; the names of the
    /// functions that mention a name come from every definition the unit holds, shared or not.
    func testFunctionsMentioningASecondNameAreFoundInSharedAndUnsharedHeadersAndTheFile() throws {
        let files: [String: String] = [
            "shared.h": "#ifndef SHARED_H\n#define SHARED_H\n#define peek(p) (p)\nstruct box { int *slot; };\nstatic inline int full(struct box *b) { return peek(b->slot) != 0; }\nstatic inline int empty(struct box *b) { return b->slot == 0; }\nint outside(struct box *b);\nstatic inline int via(struct box *b) { if (outside(b)) return 1; return 0; }\n#endif\n",
            "prefix.h": "#include \"shared.h\"\n",
            "local.h": "static inline int local_full(struct box *b) { return peek(b->slot) != 0; }\nstatic inline int local_empty(struct box *b) { return !b->slot; }\n",
            "a.c": "#include \"shared.h\"\n#include \"local.h\"\nint outside(struct box *b) { return peek(b->slot) == 0; }\nint plain(struct box *b) { return b->slot != 0; }\n",
        ]
        let (directory, pch, shared) = try precompile(files)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let unit = try ClangIndex(excludeDeclarationsFromPCH: true).parse(file: directory + "/a.c", arguments: ["-include-pch", pch, "-I", directory])
        XCTAssertEqual(unit.errorCount, 0)
        let context = FileContext(path: directory + "/a.c", unit: unit, sharedHeaderFunctions: shared)

        let reading = context.functionNames(mentioning: ["peek"])
        XCTAssertEqual(reading, ["full", "local_full", "outside"])
        let second = Set(["peek"]).union(reading)
        let sharedNames = context.sharedHeaderFacts(mentioning: ["slot", "b"], alsoMentioning: second, key: "rule") { definition in
            (definition.name, [], false)
        }
        XCTAssertEqual(sharedNames, ["full", "via"], "empty mentions neither peek nor a function that reads through it")
        XCTAssertEqual(context.sharedHeaderFacts(mentioning: ["slot", "b"], key: "all") { ($0.name, [], false) }, ["full", "empty", "via"])
        XCTAssertEqual(context.unsharedHeaderFunctions(mentioning: ["slot"], alsoMentioning: second).map(\.name), ["local_full"])
        XCTAssertEqual(context.unsharedHeaderFunctions(mentioning: ["slot"]).map(\.name), ["local_full", "local_empty"])
    }

    /// Writes `files` to a fresh directory and precompiles its `prefix.h`: the directory, the
    /// precompiled header and the functions it defines.
    private func precompile(_ files: [String: String]) throws -> (directory: String, pch: String, shared: SharedHeaderFunctions) {
        let directory = NSTemporaryDirectory() + "kwarden-facts-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8) }
        let pch = directory + "/prefix.pch"
        let built = try ClangIndex().savePrecompiledHeader(directory + "/prefix.h", arguments: ["-I", directory], to: pch)
        XCTAssertTrue(built.errors.isEmpty)
        return (directory, pch, SharedHeaderFunctions(SharedHeaderFunction.record(built.unit)))
    }
}
