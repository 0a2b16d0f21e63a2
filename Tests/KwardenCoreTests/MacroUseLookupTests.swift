import Foundation
import XCTest
import ClangKit
@testable import RuleKit

/// A file's macro uses are looked up by position with a search, not a sweep of every use: the
/// answers must be those of the sweep, nested uses (a macro in another's arguments) included.
final class MacroUseLookupTests: XCTestCase {
    func testLookupsByPositionMatchASweepOfEveryUse() throws {
        let directory = NSTemporaryDirectory() + "kwarden-macro-uses-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/uses.c"
        try """
        #define WRAP(x) ((x) + 1)
        #define TWICE(x) (2 * (x))
        #define ZERO 0
        #define LONG_ONE(a, b, c) ((a) + (b) + (c))
        int f(int v)
        {
        \tint a = WRAP(TWICE(v));
        \tint b = LONG_ONE(v, WRAP(ZERO), TWICE(WRAP(v)));
        \treturn a + b + ZERO;
        }
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let unit = try ClangIndex().parse(file: file, arguments: [])
        XCTAssertEqual(unit.errorCount, 0)
        let context = FileContext(path: file, unit: unit)
        let uses = context.macroUses
        XCTAssertEqual(uses.map(\.name), ["WRAP", "TWICE", "LONG_ONE", "WRAP", "ZERO", "TWICE", "WRAP", "ZERO"])

        let text = try String(contentsOfFile: file, encoding: .utf8)
        var nested = 0
        for offset in 0...text.utf8.count {
            let position = SourcePosition(file: file, line: 0, column: 0, offset: offset)
            let swept = uses.filter { $0.range.start.offset <= offset && offset < $0.range.end.offset }
            XCTAssertEqual(context.macroUses(covering: position), swept, "offset \(offset)")
            if swept.count > 1 { nested += 1 }
        }
        XCTAssertGreaterThan(nested, 0, "some positions lie in nested uses")
        XCTAssertEqual(context.macroUses(covering: SourcePosition(file: directory + "/other.h", line: 1, column: 1, offset: 10)), [])

        // The use that produced a node starts where the node's expansion does.
        var produced = 0
        for function in context.functions {
            for node in function.declaration.descendants() {
                let position = node.cursor.expansionPosition
                let swept = uses.last { $0.range.start.offset == position.offset && $0.range.start.file == position.file }
                XCTAssertEqual(context.macroUse(producing: node), swept)
                if swept != nil { produced += 1 }
            }
        }
        XCTAssertGreaterThan(produced, 0)
    }
}
