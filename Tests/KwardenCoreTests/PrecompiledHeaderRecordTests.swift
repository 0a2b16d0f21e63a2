import Foundation
import XCTest
@testable import KwardenCore

/// A record saved beside a precompiled header reads back as it was written, a record an earlier
/// kwarden wrote as JSON still reads, and bytes cut short read as no record.
final class PrecompiledHeaderRecordTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "kwarden-record-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    private func record(failure: String?, expandable: Set<String>?) throws -> PrecompiledHeaders.Record {
        let header = directory + "/ring.h", other = directory + "/rïng é.h"
        try "#define RING_SIZE 64\n".write(toFile: header, atomically: true, encoding: .utf8)
        try "\n".write(toFile: other, atomically: true, encoding: .utf8)
        var macros = HeaderMacroFacts()
        macros.identifiers = ["ring_size", "RING_SIZE", "min"]
        macros.definitions = ["RING_SIZE": "64", "min(a,b)": "((a) < (b) ? (a) : (b))", "CLASH": HeaderMacroFacts.conflicting, "EMPTY": ""]
        macros.expandable = expandable
        return PrecompiledHeaders.Record(files: [header, other, directory + "/gone.h"], functions: [], macros: macros, failure: failure)
    }

    private func assertSame(_ read: PrecompiledHeaders.Record?, _ written: PrecompiledHeaders.Record, file: StaticString = #filePath, line: UInt = #line) throws {
        let read = try XCTUnwrap(read, file: file, line: line)
        XCTAssertEqual(read.files, written.files, file: file, line: line)
        XCTAssertEqual(read.stamps, written.stamps, file: file, line: line)
        XCTAssertEqual(read.macros, written.macros, file: file, line: line)
        XCTAssertEqual(read.failure, written.failure, file: file, line: line)
    }

    func testARecordReadsBackAsWritten() throws {
        for (failure, expandable) in [(nil, nil), ("2 errors in the shared headers", Set(["min", "max"])), ("", Set<String>())] as [(String?, Set<String>?)] {
            let written = try record(failure: failure, expandable: expandable)
            XCTAssertEqual(written.stamps.count, 2, "the missing header has no stamp")
            try assertSame(PrecompiledHeaders.Record(encoded: written.encoded()), written)
        }
    }

    func testARecordWrittenAsJSONStillReads() throws {
        let written = try record(failure: nil, expandable: ["min"])
        try assertSame(PrecompiledHeaders.Record(encoded: JSONEncoder().encode(written)), written)
    }

    func testBytesCutShortAreNoRecord() throws {
        let bytes = try record(failure: "failed", expandable: ["min"]).encoded()
        for length in [0, 10, 40, bytes.count / 2, bytes.count - 1] {
            XCTAssertNil(PrecompiledHeaders.Record(encoded: bytes.prefix(length)), "\(length) of \(bytes.count) bytes")
        }
        XCTAssertNil(PrecompiledHeaders.Record(encoded: bytes + Data([0])), "a byte too many")
    }
}
