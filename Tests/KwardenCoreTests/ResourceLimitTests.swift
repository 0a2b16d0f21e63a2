import Foundation
import XCTest
import ClangKit
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// Pathological files cost themselves, never the scan: machine-made code nested 10,000 levels
/// deep, and a file that eats memory.
final class ResourceLimitTests: ScratchDirectoryTestCase {
    private static let levels = 10_000

    /// Deep in three shapes: unary operators, a right-nested assignment chain, and a sum whose
    /// left operands nest (each a function of its own, after the finding).
    private var deepFunctions: [String: String] {
        let n = ResourceLimitTests.levels
        return [
            "negations.c": "int negations(int a)\n{\n\treturn " + String(repeating: "!", count: n) + "a;\n}\n",
            "assignments.c": "int assignments(int a)\n{\n\tint b;\n\treturn " + String(repeating: "b = ", count: n) + "a;\n}\n",
            "sum.c": "int sum(int a)\n{\n\treturn " + Array(repeating: "a", count: n).joined(separator: " + ") + ";\n}\n",
        ]
    }

    private func assertDeepCodeIsNotedAndOtherFindingsKept(_ isolation: ScanOptions.Isolation) throws {
        for (name, deep) in deepFunctions { try write(name, spinning + deep) }
        let result = try scanCorpus([directory], rules: ["subtract-loop-zero-divisor"], isolation: isolation)
        XCTAssertEqual(result.failures, [])
        XCTAssertEqual(result.summary.filesParsed, 3)
        XCTAssertEqual(Set(result.findings.map(\.file)), Set(deepFunctions.keys), "each file keeps the finding in spin()")
        XCTAssertTrue(result.findings.allSatisfy { $0.function == "spin" })
        let tooDeep = result.notes.filter { $0.contains("too deep") }
        XCTAssertEqual(tooDeep, [
            "assignments.c:11: too deep: nesting over 1000 levels in assignments(), not analysed",
            "negations.c:10: too deep: nesting over 1000 levels in negations(), not analysed",
            "sum.c:10: too deep: nesting over 1000 levels in sum(), not analysed",
        ])
    }

    func testDeepCodeOnThreadsIsNotedAndTheFilesOtherFindingsKept() throws {
        try assertDeepCodeIsNotedAndOtherFindingsKept(.threads)
    }

    func testDeepCodeInWorkerProcessesIsNotedAndTheFilesOtherFindingsKept() throws {
        guard let executable = Repository.executable else { throw XCTSkip("kwarden executable not built beside the tests") }
        try assertDeepCodeIsNotedAndOtherFindingsKept(.processes(executable: executable))
    }

    /// Just under the cut, a long sum is analysed whole, and each `+` is still read from the tokens
    /// between its operands (looked up in the file's tokens, not by retokenizing the left operand).
    func testLongSumUnderTheCutIsAnalysedWithItsOperators() throws {
        let terms = Node.maximumDepth - 10
        try write("sum.c", "int sum(int a, int b)\n{\n\treturn a" + String(repeating: " + b", count: terms - 1) + " - a;\n}\n")
        let unit = try ClangIndex().parse(file: directory + "/sum.c", arguments: ["-std=gnu11"])
        let context = FileContext(path: directory + "/sum.c", unit: unit)
        XCTAssertEqual(context.functions.map(\.name), ["sum"])
        XCTAssertTrue(context.tooDeep.isEmpty)
        let operators = context.functions[0].declaration.descendants { $0.kind == .binaryOperator }.map { $0.operatorSpelling ?? "?" }
        XCTAssertEqual(operators, ["-"] + Array(repeating: "+", count: terms - 1))
    }

    /// `#include "/dev/zero"` grows a worker without end: killed at --max-memory, the file failed
    /// with the reason, the other files scanned by a fresh worker.
    func testWorkerOverTheMemoryLimitCostsItsFileOnly() throws {
        guard let executable = Repository.executable else { throw XCTSkip("kwarden executable not built beside the tests") }
        for name in ["a.c", "b.c", "c.c"] { try write(name, spinning) }
        try write("zero.c", spinning + "#include \"/dev/zero\"\n")
        var options = ScanOptions(paths: [directory], rules: try RuleRegistry.load(only: ["subtract-loop-zero-divisor"], rulesDirectory: Repository.rules))
        options.isolation = .processes(executable: executable)
        options.jobs = 1
        options.maxMemoryMiB = 300
        options.perFileTimeout = 120   // the memory limit, not the timeout, must end it
        let result = try Scanner(options: options).run()
        XCTAssertEqual(result.failures, [FileFailure(file: "zero.c", reason: "used more than 300 MiB of memory (--max-memory)")])
        XCTAssertEqual(Set(result.findings.map(\.file)), ["a.c", "b.c", "c.c"])
        XCTAssertEqual(result.summary.filesFailed, 1)
        XCTAssertEqual(result.summary.filesParsed, 3)
    }
}

/// `kwarden ast` and `scan --in-process` run the parse and the rules in the kwarden process itself:
/// on 10,000-level code they used to die of a stack overflow.
final class DeepCodeCommandTests: CommandLineTestCase {
    func testAstAndInProcessScanSurviveDeepCode() throws {
        try "-std=gnu11\n".write(toFile: scratch + "/compile_flags.txt", atomically: true, encoding: .utf8)
        let file = scratch + "/negations.c"
        try ("int spin(unsigned int v, unsigned int d)\n{\n\twhile (v >= d)\n\t\tv -= d;\n\treturn v;\n}\n"
             + "int negations(int a)\n{\n\treturn " + String(repeating: "!", count: 10_000) + "a;\n}\n")
            .write(toFile: file, atomically: true, encoding: .utf8)

        let ast = try kwarden(["ast", file])
        XCTAssertEqual(ast.status, 0, ast.stderr)
        XCTAssertTrue(ast.stdout.hasPrefix("function spin\n"), ast.stdout)
        XCTAssertTrue(ast.stdout.contains("function negations: \(file):9:"), ast.stdout)
        XCTAssertTrue(ast.stdout.hasSuffix(": too deep: nesting over 1000 levels in negations(), not analysed\n"), ast.stdout)

        let scan = try kwarden(["scan", "--in-process", "--no-cache", "--quiet", "negations.c"])
        XCTAssertEqual(scan.status, 1, scan.stderr)
        XCTAssertTrue(scan.stdout.contains("[subtract-loop-zero-divisor]"), scan.stdout)
        XCTAssertTrue(scan.stdout.contains("negations.c:9: too deep: nesting over 1000 levels in negations(), not analysed"), scan.stdout)
    }
}
