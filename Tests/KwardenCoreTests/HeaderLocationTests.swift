import Foundation
import XCTest
import ClangKit

/// Locations in a header are made from the header's start, remembered across units, instead of
/// libclang's lookup of the file per location: the same cursors and tokens either way.
final class HeaderLocationTests: XCTestCase {
    func testCursorsAndTokensInAHeaderAreThoseOfTheSlowLookup() throws {
        let directory = NSTemporaryDirectory() + "kwarden-locations-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let header = directory + "/helpers.h", main = directory + "/main.c", other = directory + "/other.c"
        let text = "#ifndef HELPERS_H\n#define HELPERS_H\nstatic inline int twice(int x) { return x * 2; }\n/* between */\nstatic inline int thrice(int x)\n{\n\treturn x * 3;\n}\n#endif\n"
        try text.write(toFile: header, atomically: true, encoding: .utf8)
        try "#include \"helpers.h\"\nint use(void) { return twice(1) + thrice(2); }\n".write(toFile: main, atomically: true, encoding: .utf8)
        // Another unit reads more before the header: its start lies elsewhere there.
        try "int before[64];\nstruct s { int a; };\n#include \"helpers.h\"\nint use2(void) { return thrice(3); }\n".write(toFile: other, atomically: true, encoding: .utf8)
        func offset(of needle: String) throws -> Int { try XCTUnwrap(text.range(of: needle)).lowerBound.utf16Offset(in: text) }
        let names = ["twice", "thrice"]
        let offsets = try names.map { try offset(of: "int \($0)") + 4 }
        let body = try offset(of: "{\n\treturn"), end = try offset(of: "}\n#endif")
        let index = ClangIndex()
        // Twice each: the second time, the start remembered from the unit before is tried first.
        for file in [main, other, main, other] {
            let unit = try index.parse(file: file, arguments: ["-I", directory])
            let fast = unit.cursors(inFile: header, offsets: offsets)
            XCTAssertEqual(fast.map { $0?.spelling }, names, file)
            XCTAssertEqual(fast, offsets.map { unit.cursor(inFile: header, offset: $0) }, file)
            XCTAssertTrue(fast.allSatisfy { $0?.kind == .functionDecl && $0?.isDefinition == true }, file)
            let range = SourceRange(start: SourcePosition(file: header, line: 6, column: 1, offset: body),
                                    end: SourcePosition(file: header, line: 8, column: 1, offset: end))
            XCTAssertEqual(unit.tokens(in: range).map(\.text), ["{", "return", "x", "*", "3", ";", "}"], file)
            XCTAssertEqual(unit.tokens(inFile: header, from: body, before: end + 1).map(\.text), ["{", "return", "x", "*", "3", ";", "}"], file)
        }
    }
}
