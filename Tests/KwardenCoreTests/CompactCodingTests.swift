import XCTest
@testable import RuleKit

/// Summaries travel from workers and sit in the result cache in the compact binary form: every
/// shape a rule's summary may take must come back as it went in, and damaged bytes must be a
/// failure, never another value.
final class CompactCodingTests: XCTestCase {
    enum Step: Codable, Equatable {
        case call(callee: String, line: Int, arguments: [Argument])
        case loop(body: [Step])
        case stop
    }

    enum Argument: Codable, Equatable {
        case constant(Int64)
        case name(String)
        case unknown
    }

    struct Body: Codable, Equatable {
        var name: String
        var line: Int
        var isStatic: Bool
        var steps: [Step]
        var chooser: Int?
        var absent: String?
        var fields: [String: [UInt8]]
        var byLine: [Int: String]
        var tags: Set<String>
        var ratio: Double
        var big: UInt64
        var small: Int8
        var payload: Data
    }

    func sample() -> Body {
        Body(name: "ring_down", line: 42, isStatic: true,
             steps: [.call(callee: "writel", line: 43, arguments: [.constant(-1), .name("ring->tail"), .unknown]),
                     .loop(body: [.call(callee: "readl", line: 45, arguments: []), .stop]), .stop],
             chooser: 0, absent: nil, fields: ["b": [1, 2, 255], "a": [], "ü": [7]], byLine: [-3: "minus", 10_000_000: "big"],
             tags: ["x", "y", "z"], ratio: -0.125, big: UInt64.max, small: -128, payload: Data([0, 1, 2, 254]))
    }

    func testEveryShapeComesBackAsItWentIn() throws {
        let values = [sample(), Body(name: "", line: 0, isStatic: false, steps: [], chooser: nil, absent: "here", fields: [:], byLine: [:],
                                     tags: [], ratio: 0, big: 0, small: 0, payload: Data())]
        let data = try CompactEncoder().encode(values)
        XCTAssertEqual(try CompactDecoder().decode([Body].self, from: data), values)
        XCTAssertLessThan(data.count, try JSONEncoder().encode(values).count, "smaller than JSON")
        XCTAssertEqual(try CompactDecoder().decode(Int.self, from: try CompactEncoder().encode(-7)), -7)
        XCTAssertEqual(try CompactDecoder().decode(String?.self, from: try CompactEncoder().encode(String?.none)), nil)
    }

    func testTheSameValueIsTheSameBytes() throws {
        // Dictionary order differs from process to process; keys are written sorted.
        var first = sample(), second = sample()
        first.fields = ["k\(1)": [1], "k\(2)": [2], "k\(3)": [3]]
        second.fields = [:]
        for key in ["k3", "k1", "k2"] { second.fields[key] = [UInt8(key.last!.wholeNumberValue!)] }
        first.tags = []; second.tags = []
        XCTAssertEqual(try CompactEncoder().encode(first), try CompactEncoder().encode(second))
    }

    func testDamagedBytesAreAFailure() throws {
        let data = try CompactEncoder().encode([sample()])
        XCTAssertThrowsError(try CompactDecoder().decode([Body].self, from: data.dropLast()), "truncated")
        XCTAssertThrowsError(try CompactDecoder().decode([Body].self, from: data + Data([0])), "trailing bytes")
        XCTAssertThrowsError(try CompactDecoder().decode([Body].self, from: Data("[{\"name\":\"x\"}]".utf8)), "JSON is not this form")
        XCTAssertThrowsError(try CompactDecoder().decode(Int8.self, from: try CompactEncoder().encode(300)), "out of range")
        XCTAssertThrowsError(try CompactDecoder().decode(String.self, from: try CompactEncoder().encode(3)), "another type")
        XCTAssertNil(SummaryCoding.unpack([Body].self, Data([0xff])))
    }
}
