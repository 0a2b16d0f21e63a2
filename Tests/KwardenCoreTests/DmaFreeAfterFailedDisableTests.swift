import XCTest
@testable import KwardenCore

/// Summaries and path judgement of dma-free-after-failed-disable, on hand-built function bodies
/// (the abstract form the rule's facts carry) and on the split-driver corpus case.
final class DmaFreeAfterFailedDisableTests: XCTestCase {
    private func vocabulary() throws -> DmaVocabulary {
        DmaVocabulary(try RuleDirectory.load(id: "dma-free-after-failed-disable", from: Repository.rules))
    }

    private func body(_ name: String, file: String = "drv.c", isStatic: Bool = false, _ steps: [DmaStep]) -> DmaFunctionBody {
        DmaFunctionBody(name: name, file: file, line: 1, isStatic: isStatic, pass: 1, steps: steps)
    }

    /// A hand-written poll whose timeout becomes -ETIMEDOUT.
    private var waitDisabled: DmaFunctionBody {
        body("wait_disabled", [.poll(line: 10),
                               .branch(condition: DmaCondition(polarity: [:]), then: [.exit(value: .error, line: 12)], otherwise: []),
                               .exit(value: .other, line: 13)])
    }
    private var cleanRing: DmaFunctionBody {
        body("clean_ring", [.loop(body: [.free(api: "dma_unmap_page", line: 30)])])
    }

    func testSummariesFollowTheChainAcrossFunctions() throws {
        let stopRings = body("stop_rings", file: "hw.c", [
            .call(callee: "wait_disabled", line: 20, target: "$condition1"),
            .branch(condition: DmaCondition(polarity: ["$condition1": true]), then: [], otherwise: []),
        ])
        let down = body("down", file: "main.c", [.call(callee: "stop_rings", line: 40, target: nil),
                                                 .call(callee: "clean_ring", line: 41, target: nil)])
        let analysis = DmaAnalysis(bodies: [waitDisabled, cleanRing, stopRings, down], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertTrue(analysis.summary(named: "wait_disabled").mayFail)
        XCTAssertFalse(analysis.summary(named: "wait_disabled").swallows)
        XCTAssertTrue(analysis.summary(named: "stop_rings").swallows)
        XCTAssertFalse(analysis.summary(named: "stop_rings").mayFail)
        XCTAssertTrue(analysis.summary(named: "clean_ring").frees)
        XCTAssertTrue(analysis.summary(named: "down").frees)
        XCTAssertEqual(analysis.findings.map(\.body.name), ["down"])
        XCTAssertEqual(analysis.findings.first?.freeLine, 41)
        XCTAssertEqual(analysis.findings.first?.origin.chain.path, ["stop_rings", "wait_disabled"])
    }

    func testCheckedErrorThatReturnsPropagatesInsteadOfFinding() throws {
        let down = body("down", [
            .call(callee: "wait_disabled", line: 20, target: "err"),
            .branch(condition: DmaCondition(polarity: ["err": true]), then: [.exit(value: .variable("err"), line: 21)], otherwise: []),
            .call(callee: "clean_ring", line: 22, target: nil),
            .exit(value: .other, line: 23),
        ])
        let analysis = DmaAnalysis(bodies: [waitDisabled, cleanRing, down], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertTrue(analysis.findings.isEmpty)
        XCTAssertTrue(analysis.summary(named: "down").mayFail, "the error is returned to the caller")
        XCTAssertFalse(analysis.summary(named: "down").swallows)
    }

    func testNegatedCheckSkipsTheFreeButAnIgnoredAssignmentDoesNot() throws {
        let skips = body("down_skips", [
            .call(callee: "wait_disabled", line: 20, target: "err"),
            .branch(condition: DmaCondition(polarity: ["err": false]), then: [.call(callee: "clean_ring", line: 22, target: nil)], otherwise: []),
        ])
        let ignores = body("down_ignores", [
            .call(callee: "wait_disabled", line: 50, target: "err"),
            .assign(variable: "other", isError: false),
            .call(callee: "clean_ring", line: 52, target: nil),
            .exit(value: .other, line: 53),
        ])
        let analysis = DmaAnalysis(bodies: [waitDisabled, cleanRing, skips, ignores], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertEqual(analysis.findings.map(\.body.name), ["down_ignores"])
        XCTAssertEqual(analysis.findings.first?.freeLine, 52)
    }

    func testStaticHelpersResolveWithinTheirOwnFile() throws {
        // A static helper of the same name in another file must not lend its summary.
        let otherWait = body("wait_disabled", file: "other.c", isStatic: true, waitDisabled.steps)
        let quietWait = body("wait_disabled", file: "main.c", isStatic: true, [.exit(value: .other, line: 5)])
        let down = body("down", file: "main.c", [.call(callee: "wait_disabled", line: 20, target: nil),
                                                 .call(callee: "clean_ring", line: 21, target: nil)])
        let analysis = DmaAnalysis(bodies: [otherWait, quietWait, cleanRing, down], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertTrue(analysis.findings.isEmpty)
    }

    func testOnlyTheDirectDropperSwallowsAndUnwindingFreesDoNotCount() throws {
        let stopRings = body("stop_rings", [.call(callee: "wait_disabled", line: 20, target: nil)])
        // Calls the dropper but frees nothing: its own callers are not judged against this failure.
        let wrapper = body("stop_wrapper", [.call(callee: "stop_rings", line: 30, target: nil)])
        let caller = body("far_caller", [.call(callee: "stop_wrapper", line: 40, target: nil),
                                         .call(callee: "clean_ring", line: 41, target: nil)])
        // Frees only to unwind a failed allocation.
        let refill = body("refill", [.branch(condition: DmaCondition(polarity: [:]),
                                             then: [.free(api: "__free_pages", line: 50), .exit(value: .other, line: 51)], otherwise: [])])
        let down = body("down", [.call(callee: "stop_rings", line: 60, target: nil), .call(callee: "refill", line: 61, target: nil)])
        let analysis = DmaAnalysis(bodies: [waitDisabled, cleanRing, stopRings, wrapper, caller, refill, down], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertTrue(analysis.summary(named: "stop_rings").swallows)
        XCTAssertFalse(analysis.summary(named: "stop_wrapper").swallows)
        XCTAssertFalse(analysis.summary(named: "refill").frees)
        XCTAssertTrue(analysis.findings.isEmpty, "\(analysis.findings.map(\.body.name))")
    }

    func testSplitDriverFindingCitesEveryFileOfTheChain() throws {
        let directory = Repository.corpus + "/dma-free-after-failed-disable/split_driver"
        let result = try scanCorpus([directory], rules: ["dma-free-after-failed-disable"])
        XCTAssertEqual(result.summary.filesWithErrors, 0)
        let finding = try XCTUnwrap(result.findings.first)
        XCTAssertEqual(result.findings.count, 1)
        XCTAssertEqual(finding.function, "spl_down")
        XCTAssertTrue(finding.file.hasSuffix("spl_main.c"))
        let files = Set(finding.evidence.map { ($0.file as NSString).lastPathComponent })
        XCTAssertEqual(files, ["spl_hw.c", "spl_main.c", "spl_ring.c", "spl.h"])
        XCTAssertTrue(finding.message.contains("spl_hw_stop"), finding.message)
        XCTAssertTrue(finding.message.contains("dma_unmap_single"), finding.message)
    }
}
