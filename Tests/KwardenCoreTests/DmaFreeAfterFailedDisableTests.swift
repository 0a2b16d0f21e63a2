import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// Summaries and path judgement of dma-free-after-failed-disable, on hand-built function bodies
/// (the abstract form the rule's facts carry) and on the split-driver corpus case.
final class DmaFreeAfterFailedDisableTests: XCTestCase {
    private func vocabulary() throws -> DmaVocabulary {
        DmaVocabulary(try RuleDirectory.load(id: "dma-free-after-failed-disable", from: Repository.rules))
    }

    private func body(_ name: String, file: String = "drv.c", isStatic: Bool = false, _ steps: [DmaStep]) -> DmaFunctionBody {
        DmaFunctionBody(name: name, file: file, line: 1, isStatic: isStatic, pass: 1, steps: steps)
    }

    /// Clears the enable bit, then a hand-written poll whose timeout becomes -ETIMEDOUT.
    private var waitDisabled: DmaFunctionBody {
        body("wait_disabled", [.write(value: .clearing, line: 9), .poll(line: 10),
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

    func testOneWrapperAboveTheDropperIsFollowedAndUnwindingFreesDoNotCount() throws {
        let stopRings = body("stop_rings", [.call(callee: "wait_disabled", line: 20, target: nil)])
        // Calls the dropper, frees nothing and returns normally: its callers are judged too.
        let wrapper = body("stop_wrapper", [.call(callee: "stop_rings", line: 30, target: nil)])
        let caller = body("near_caller", [.call(callee: "stop_wrapper", line: 40, target: nil),
                                          .call(callee: "clean_ring", line: 41, target: nil)])
        // A wrapper of the wrapper hides nothing: its callers are not judged.
        let outer = body("outer_wrapper", [.call(callee: "stop_wrapper", line: 70, target: nil)])
        let far = body("far_caller", [.call(callee: "outer_wrapper", line: 80, target: nil),
                                      .call(callee: "clean_ring", line: 81, target: nil)])
        // Frees only to unwind a failed allocation.
        let refill = body("refill", [.branch(condition: DmaCondition(polarity: [:]),
                                             then: [.free(api: "__free_pages", line: 50), .exit(value: .other, line: 51)], otherwise: [])])
        let down = body("down", [.call(callee: "stop_rings", line: 60, target: nil), .call(callee: "refill", line: 61, target: nil)])
        let analysis = DmaAnalysis(bodies: [waitDisabled, cleanRing, stopRings, wrapper, caller, outer, far, refill, down],
                                   vocabulary: try vocabulary())
        analysis.run()
        XCTAssertTrue(analysis.summary(named: "stop_rings").swallows)
        XCTAssertFalse(analysis.summary(named: "stop_wrapper").swallows)
        XCTAssertTrue(analysis.hides(named: "stop_wrapper"))
        XCTAssertFalse(analysis.hides(named: "outer_wrapper"))
        XCTAssertFalse(analysis.summary(named: "refill").frees)
        XCTAssertEqual(analysis.findings.map(\.body.name), ["near_caller"])
        XCTAssertEqual(analysis.findings.first?.origin.chain.path, ["stop_wrapper", "stop_rings", "wait_disabled"])
    }

    /// A poll that waits for the queue's status bit to match its `enable` parameter.
    private var waitQueue: DmaFunctionBody {
        var wait = body("wait_q", [.poll(line: 10, direction: DmaDirection(parameter: 1, disableWhenZero: true)),
                                   .branch(condition: DmaCondition(polarity: [:]), then: [.exit(value: .error, line: 12)], otherwise: []),
                                   .exit(value: .other, line: 13)])
        wait.parameters = ["", "enable"]
        return wait
    }

    func testEnableDirectionOfASharedHelperIsNotAFailedDisable() throws {
        // ctrl_q(ring, enable) passes its own parameter on: the requirement follows it.
        var control = body("ctrl_q", [.call(callee: "wait_q", line: 20, target: "$return1",
                                            arguments: [.other, .parameter(index: 1, negated: false)]),
                                      .exit(value: .variable("$return1"), line: 20)])
        control.parameters = ["", "enable"]
        let stop = body("stop", [.call(callee: "ctrl_q", line: 30, target: nil, arguments: [.other, .constant(nonzero: false)]),
                                 .call(callee: "clean_ring", line: 31, target: nil)])
        let start = body("start", [.call(callee: "ctrl_q", line: 40, target: nil, arguments: [.other, .constant(nonzero: true)]),
                                   .call(callee: "clean_ring", line: 41, target: nil)])
        let unknown = body("unknown", [.call(callee: "ctrl_q", line: 50, target: nil),
                                       .call(callee: "clean_ring", line: 51, target: nil)])
        let analysis = DmaAnalysis(bodies: [waitQueue, cleanRing, control, stop, start, unknown], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertEqual(analysis.failure(named: "wait_q")?.requires, [1: false])
        XCTAssertEqual(analysis.failure(named: "ctrl_q")?.requires, [1: false])
        XCTAssertEqual(analysis.failure(named: "ctrl_q")?.direction, [1])
        XCTAssertEqual(analysis.findings.map(\.body.name).sorted(), ["stop", "unknown"])
        XCTAssertEqual(analysis.findings.first { $0.body.name == "stop" }?.origin.confirmed, true)
        XCTAssertEqual(analysis.findings.first { $0.body.name == "unknown" }?.origin.confirmed, false)
    }

    func testAParameterGuardingThePollIsFollowedAlongPaths() throws {
        // `if (!wait) return 0; return wait_q(ring, enable);`
        var control = body("ctrl_q", [
            .branch(condition: DmaCondition(polarity: ["wait": false]), then: [.exit(value: .other, line: 20)], otherwise: []),
            .call(callee: "wait_q", line: 21, target: "$return1", arguments: [.other, .parameter(index: 1, negated: false)]),
            .exit(value: .variable("$return1"), line: 21)])
        control.parameters = ["", "enable", "wait"]
        let kick = body("kick_then_free", [.call(callee: "ctrl_q", line: 30, target: nil,
                                                 arguments: [.other, .constant(nonzero: false), .constant(nonzero: false)]),
                                           .call(callee: "clean_ring", line: 31, target: nil)])
        let waits = body("wait_then_free", [.call(callee: "ctrl_q", line: 40, target: nil,
                                                  arguments: [.other, .constant(nonzero: false), .constant(nonzero: true)]),
                                            .call(callee: "clean_ring", line: 41, target: nil)])
        let analysis = DmaAnalysis(bodies: [waitQueue, cleanRing, control, kick, waits], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertEqual(analysis.failure(named: "ctrl_q")?.requires, [1: false, 2: true])
        XCTAssertEqual(analysis.findings.map(\.body.name), ["wait_then_free"])
    }

    func testFreeingBeforeReturningAKnownDisableFailureIsAFinding() throws {
        let stopAll = body("stop_all", [.call(callee: "wait_q", line: 20, target: "$return1", arguments: [.other, .constant(nonzero: false)]),
                                        .exit(value: .variable("$return1"), line: 20)])
        // err = stop_all(); if (err) log; clean_ring(); return err;
        let down = body("down", [.call(callee: "stop_all", line: 30, target: "err"),
                                 .call(callee: "clean_ring", line: 31, target: nil),
                                 .exit(value: .variable("err"), line: 32)])
        // The same shape after a poll of unknown direction (an open path unwinding): not a finding.
        let reset = body("reset_wait", waitDisabled.steps)
        let open = body("open", [.call(callee: "reset_wait", line: 40, target: "err"),
                                 .call(callee: "clean_ring", line: 41, target: nil),
                                 .exit(value: .variable("err"), line: 42)])
        let analysis = DmaAnalysis(bodies: [waitQueue, cleanRing, stopAll, down, reset, open], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertEqual(analysis.findings.map(\.body.name), ["down"])
        XCTAssertEqual(analysis.findings.first?.returnsFailure, true)
        XCTAssertTrue(analysis.summary(named: "down").mayFail, "the caller is still told")
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

    /// The rule's chain files are all parsed in pass 1, so its judgement is made from them alone:
    /// the files other rules' evidence passes parse change nothing, whichever rules run with it.
    func testFindingsDoNotDependOnTheOtherRulesEvidence() throws {
        let alone = try scanCorpus([Repository.corpus], rules: ["dma-free-after-failed-disable"])
        let together = try scanCorpus([Repository.corpus], rules: RuleRegistry.ids)
        XCTAssertGreaterThan(together.summary.factFilesParsed, 0, "other rules gathered evidence")
        func described(_ findings: [Finding]) -> [String] {
            findings.filter { $0.rule == "dma-free-after-failed-disable" }
                .map { "\($0.fingerprint) " + $0.evidence.map { "\($0.file):\($0.line)" }.joined(separator: ",") }.sorted()
        }
        XCTAssertFalse(described(alone.findings).isEmpty)
        XCTAssertEqual(described(alone.findings), described(together.findings))
    }

    // MARK: Is the poll a disable?

    /// A helper that only polls: a request to stop before it, if any, is its caller's.
    private var waitReady: DmaFunctionBody {
        body("wait_ready", [.poll(line: 10),
                            .branch(condition: DmaCondition(polarity: [:]), then: [.exit(value: .error, line: 12)], otherwise: []),
                            .exit(value: .other, line: 13)])
    }

    private func dropThenFree(_ name: String, before: [DmaStep]) -> DmaFunctionBody {
        body(name, before + [.call(callee: "wait_ready", line: 40, target: "$condition1"),
                             .branch(condition: DmaCondition(polarity: ["$condition1": true]), then: [], otherwise: []),
                             .call(callee: "clean_ring", line: 41, target: nil)])
    }

    func testAPollWithoutAStopRequestIsNotAFailedDisable() throws {
        let analysis = DmaAnalysis(bodies: [waitReady, cleanRing, dropThenFree("down", before: [])], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertTrue(analysis.summary(named: "wait_ready").mayFail, "it still may fail; callers can show it is a disable")
        XCTAssertTrue(analysis.findings.isEmpty, "\(analysis.findings.map(\.body.name))")
    }

    func testAStopRequestInTheCallerMakesTheWaitADisableAndHeadsTheChain() throws {
        let down = dropThenFree("down", before: [.write(value: .clearing, line: 39)])
        let analysis = DmaAnalysis(bodies: [waitReady, cleanRing, down], vocabulary: try vocabulary())
        analysis.run()
        let finding = try XCTUnwrap(analysis.findings.first)
        XCTAssertEqual(finding.body.name, "down")
        XCTAssertEqual(finding.origin.chain.evidence.first?.line, 39, "where the disable is requested comes first")
        XCTAssertTrue(finding.origin.chain.evidence.first?.message.contains("stop") ?? false)
    }

    func testAWriteWrapperCalledWithAStoppingValueIsAStopRequest() throws {
        // rd_wr(dev, reg, val) stores its third parameter; dma_halt() clears through it.
        let wrapper = body("rd_wr", [.write(value: .parameter(index: 2), line: 5)])
        let halt = body("dma_halt", [.call(callee: "rd_wr", line: 20, target: nil, arguments: [.other, .other, .clearing])])
        let setting = body("dma_kick", [.call(callee: "rd_wr", line: 21, target: nil, arguments: [.other, .other, .constant(nonzero: true)])])
        let down = dropThenFree("down", before: [.call(callee: "dma_halt", line: 38, target: nil)])
        let kick = dropThenFree("kick_then_free", before: [.call(callee: "dma_kick", line: 38, target: nil)])
        let analysis = DmaAnalysis(bodies: [wrapper, halt, setting, waitReady, cleanRing, down, kick], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertEqual(analysis.findings.map(\.body.name), ["down"], "writing a set value is no stop request")
        XCTAssertEqual(analysis.findings.first?.origin.chain.evidence.prefix(2).map(\.function), ["down", "dma_halt"])
    }

    func testAJumpToALabelInsideALoopResumesThere() throws {
        // for (...) { if (wait_disabled()) goto next; ... next: clean_ring(); }
        let down = body("down", [
            .loop(body: [
                .call(callee: "wait_disabled", line: 40, target: "$condition1"),
                .branch(condition: DmaCondition(polarity: ["$condition1": true]), then: [.jump(label: "next")], otherwise: []),
                .call(callee: "other", line: 42, target: nil),
                .label("next"),
                .call(callee: "clean_ring", line: 44, target: nil),
            ]),
        ])
        XCTAssertEqual(DmaAnalysis.continuation(after: "next", in: down.steps)?.count, 1)
        let analysis = DmaAnalysis(bodies: [waitDisabled, cleanRing, down], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertEqual(analysis.findings.map(\.freeLine), [44], "the jump's path reaches the free after the label")
    }

    func testListEntriesWithAnArgumentPositionCountFromOne() throws {
        var metadata = try RuleDirectory.load(id: "dma-free-after-failed-disable", from: Repository.rules)
        metadata.lists = ["register_writes": ["writel@1", "regmap_write@3", "bad@0", "plain"]]
        let expected: [String: Int?] = ["writel": 0, "regmap_write": 2, "bad@0": nil, "plain": nil]
        XCTAssertEqual(metadata.positions("register_writes"), expected)
        XCTAssertEqual(DmaVocabulary(metadata).registerWrites, ["writel": 0, "regmap_write": 2])
    }

    func testAWriteAfterTheStopMakesThePollWaitForThatWriteInstead() throws {
        // Clear auto-poll, then issue an MDIO command and wait for it: the wait is not for the stop.
        let mdio = dropThenFree("mdio_then_free", before: [.write(value: .clearing, line: 37), .write(value: .other, line: 38)])
        let stop = dropThenFree("stop_then_free", before: [.write(value: .other, line: 37), .write(value: .clearing, line: 38)])
        let analysis = DmaAnalysis(bodies: [waitReady, cleanRing, mdio, stop], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertEqual(analysis.findings.map(\.body.name), ["stop_then_free"])
    }

    func testAHelperThatWritesItsOwnCommandBeforeItPollsWaitsForThatCommand() throws {
        // mdio_read() writes the read command and waits for it; the caller's earlier stop of
        // auto-polling is not what that wait is for.
        let mdioRead = body("mdio_read", [.write(value: .other, line: 8), .poll(line: 10),
                                          .branch(condition: DmaCondition(polarity: [:]), then: [.exit(value: .error, line: 12)], otherwise: []),
                                          .exit(value: .other, line: 13)])
        let phyDown = body("phy_down", [.write(value: .clearing, line: 39),
                                        .call(callee: "mdio_read", line: 40, target: "$condition1"),
                                        .branch(condition: DmaCondition(polarity: ["$condition1": true]), then: [], otherwise: []),
                                        .call(callee: "clean_ring", line: 41, target: nil)])
        let analysis = DmaAnalysis(bodies: [mdioRead, waitReady, cleanRing, phyDown, dropThenFree("ring_down", before: [.write(value: .clearing, line: 39)])],
                                   vocabulary: try vocabulary())
        analysis.run()
        XCTAssertEqual(analysis.failure(named: "mdio_read")?.commanded, true)
        XCTAssertEqual(analysis.failure(named: "wait_ready")?.commanded, false)
        XCTAssertEqual(analysis.findings.map(\.body.name), ["ring_down"], "only the helper that just polls waits for the caller's stop")
    }

    func testAStopIsEvidenceOnlyForAPollOfTheSameRegisterOrBlock() throws {
        XCTAssertTrue(DmaRegisters.related(["SIC_DMA_CTRL"], ["SIC_DMA_STATUS"]), "control and status of one block")
        XCTAssertTrue(DmaRegisters.related(["QRX_ENA"], ["QRX_ENA", "QRX_ENA_STAT"]))
        XCTAssertTrue(DmaRegisters.related([], ["PRT_MDIO_CMD"]), "an unknown register may be any")
        XCTAssertFalse(DmaRegisters.related(["PRT_IRQ_MASK"], ["PRT_PHY_STATUS"]))
        XCTAssertFalse(DmaRegisters.related(["#0x40"], ["#0x44"]))
        XCTAssertFalse(DmaRegisters.related(["MIICR"], ["MIISR"]), "one-word names form no block")

        // A poll helper of the PHY's status, called after an interrupt-mask write: not a disable.
        func waitFor(_ name: String, reading registers: [String]) -> DmaFunctionBody {
            body(name, [.poll(line: 10, registers: registers),
                        .branch(condition: DmaCondition(polarity: [:]), then: [.exit(value: .error, line: 12)], otherwise: []),
                        .exit(value: .other, line: 13)])
        }
        func down(_ name: String, writing registers: [String], calling callee: String) -> DmaFunctionBody {
            body(name, [.write(value: .clearing, line: 39, registers: registers),
                        .call(callee: callee, line: 40, target: nil),
                        .call(callee: "clean_ring", line: 41, target: nil)])
        }
        let analysis = DmaAnalysis(bodies: [waitFor("wait_link", reading: ["PRT_PHY_STATUS"]), waitFor("wait_idle", reading: ["PRT_DMA_STATUS"]),
                                            cleanRing, down("suspend", writing: ["PRT_IRQ_MASK"], calling: "wait_link"),
                                            down("rx_down", writing: ["PRT_DMA_CTRL"], calling: "wait_idle")],
                                   vocabulary: try vocabulary())
        analysis.run()
        XCTAssertEqual(analysis.findings.map(\.body.name), ["rx_down"])
    }

    func testACalleeStopsTheHardwareOnlyWhenItsLastWriteIsAStop() throws {
        // phy_write() clears auto-polling, writes its command, then sets auto-polling again.
        let phyWrite = body("phy_write", [.branch(condition: DmaCondition(polarity: [:]), then: [.write(value: .clearing, line: 5)], otherwise: []),
                                          .write(value: .other, line: 6),
                                          .branch(condition: DmaCondition(polarity: [:]), then: [.write(value: .other, line: 8)], otherwise: [])])
        let ringStop = body("ring_stop", [.write(value: .other, line: 15), .write(value: .clearing, line: 16)])
        let analysis = DmaAnalysis(bodies: [phyWrite, ringStop, waitReady, cleanRing,
                                            dropThenFree("phy_then_free", before: [.call(callee: "phy_write", line: 38, target: nil)]),
                                            dropThenFree("stop_then_free", before: [.call(callee: "ring_stop", line: 38, target: nil)])],
                                   vocabulary: try vocabulary())
        analysis.run()
        XCTAssertNil(analysis.stops[0], "phy_write leaves nothing stopped")
        XCTAssertEqual(analysis.stops[1]?.evidence.first?.line, 16)
        XCTAssertEqual(analysis.findings.map(\.body.name), ["stop_then_free"])
    }

    func testAChooserChoosesAHardwareDirectionOnlyWhereItWritesRegisters() throws {
        func configure(_ name: String, writes: Bool) -> DmaFunctionBody {
            // `state = on ? 1 : 0;` then a mailbox wait whose failure is returned.
            var body = self.body(name, (writes ? [DmaStep.write(value: .other, line: 5)] : []) + [
                .call(callee: "wait_ready", line: 6, target: "err"),
                .exit(value: .variable("err"), line: 7),
            ])
            body.parameters = ["", "on"]
            body.chooser = DmaDirection(parameter: 1, disableWhenZero: true)
            return body
        }
        func down(_ name: String, calling callee: String) -> DmaFunctionBody {
            body(name, [.call(callee: callee, line: 40, target: nil, arguments: [.other, .constant(nonzero: false)]),
                        .call(callee: "clean_ring", line: 41, target: nil)])
        }
        let analysis = DmaAnalysis(bodies: [waitReady, cleanRing, configure("fw_config", writes: false), configure("hw_config", writes: true),
                                            down("fw_down", calling: "fw_config"), down("hw_down", calling: "hw_config")],
                                   vocabulary: try vocabulary())
        analysis.run()
        XCTAssertEqual(analysis.findings.map(\.body.name), ["hw_down"])
    }

    func testFreesAfterALabelOnlyAGotoReachesAreUnwinding() throws {
        let setup = body("ring_setup", [
            .call(callee: "alloc", line: 10, target: "err"),
            .branch(condition: DmaCondition(polarity: ["err": true]), then: [.jump(label: "err_free")], otherwise: []),
            .exit(value: .other, line: 12),
            .label("err_free"),
            .free(api: "dma_free_coherent", line: 14),
            .exit(value: .variable("err"), line: 15),
        ])
        let teardown = body("ring_teardown", [.label("out"), .free(api: "dma_free_coherent", line: 20)])
        let analysis = DmaAnalysis(bodies: [setup, teardown], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertFalse(analysis.summary(named: "ring_setup").frees)
        XCTAssertTrue(analysis.summary(named: "ring_teardown").frees, "a label reached by falling through is not unwinding")
    }

    /// After a failed Rx stop, the finding points at the Rx ring's release (names on both chains),
    /// not at the Tx clean-up that comes first; the Tx one follows as evidence.
    func testFailedRxStopPairsWithTheRxRingsRelease() throws {
        let waitRx = body("hw_wait_rx_q", waitDisabled.steps)
        let stopRings = body("stop_rings", [.call(callee: "hw_wait_rx_q", line: 20, target: "$condition1"),
                                            .branch(condition: DmaCondition(polarity: ["$condition1": true]), then: [], otherwise: [])])
        let cleanTx = body("clean_tx_ring", [.free(api: "dev_kfree_skb_any", line: 30)])
        let cleanRx = body("clean_rx_ring", [.free(api: "dma_unmap_page", line: 31)])
        let down = body("down", [.call(callee: "stop_rings", line: 40, target: nil),
                                 .call(callee: "clean_tx_ring", line: 41, target: nil),
                                 .call(callee: "clean_rx_ring", line: 42, target: nil)])
        let analysis = DmaAnalysis(bodies: [waitRx, stopRings, cleanTx, cleanRx, down], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertEqual(analysis.findings.map(\.freeLine), [42])
        XCTAssertEqual(analysis.findings.first?.disableSide, .rx)
        XCTAssertEqual(analysis.findings.first?.otherFrees.map(\.line), [41])
    }

    /// Without names that tell a direction, the memory the device writes into (DMA_FROM_DEVICE)
    /// ranks before memory it only reads (DMA_TO_DEVICE), whatever comes first.
    func testWithoutNamesTheReleaseOfDeviceWrittenMemoryRanksFirst() throws {
        let stopAll = body("f1", [.call(callee: "wait_disabled", line: 20, target: "$condition1"),
                                  .branch(condition: DmaCondition(polarity: ["$condition1": true]), then: [], otherwise: [])])
        let readOnly = body("f2", [.free(api: "dma_unmap_single", line: 30, access: .reads)])
        let written = body("f3", [.free(api: "dma_unmap_single", line: 31, access: .writes)])
        let down = body("f4", [.call(callee: "f1", line: 40, target: nil), .call(callee: "f2", line: 41, target: nil),
                               .call(callee: "f3", line: 42, target: nil)])
        let analysis = DmaAnalysis(bodies: [waitDisabled, stopAll, readOnly, written, down], vocabulary: try vocabulary())
        analysis.run()
        XCTAssertEqual(analysis.findings.map(\.freeLine), [42])
        XCTAssertNil(analysis.findings.first?.disableSide)
    }

    /// Paths leave a function in no fixed order (path states are sets): two failures of equal
    /// standing merge into the same summary whichever comes first, the one whose step in the
    /// function itself comes first in source order.
    func testMergedFailuresDoNotDependOnTheOrderPathsLeave() {
        func failure(_ lines: [Int]) -> DmaFailure {
            DmaFailure(chain: DmaChain(evidence: lines.map { Evidence(file: "drv.c", line: $0, function: "f", message: "step") }, path: ["f"]),
                       evidenced: true)
        }
        let rx = failure([4819, 4827, 4953]), tx = failure([4690, 4698, 4965])
        XCTAssertEqual(rx.merged(with: tx).chain, tx.merged(with: rx).chain)
        XCTAssertEqual(rx.merged(with: tx).chain.evidence.last?.line, 4953, "the function's own earlier step wins")
        let early = failure([4388, 4413]), late = failure([4401, 4413])
        XCTAssertEqual(late.merged(with: early).chain.evidence.first?.line, 4388, "same step here: the callee's earlier poll")
        XCTAssertEqual(early.merged(with: late).chain.evidence.first?.line, 4388)
        var unproven = late
        unproven.evidenced = false
        XCTAssertEqual(unproven.merged(with: early).chain, early.chain, "a chain that shows the disable first of all")
    }

    /// Bodies are coded compactly (arrays and numbers): every kind of step, argument, value and
    /// condition comes back as it went.
    func testBodiesRoundTripThroughTheirCompactCoding() throws {
        let steps: [DmaStep] = [
            .call(callee: "wait", line: 3, target: "$condition1",
                  arguments: [.constant(nonzero: true), .constant(nonzero: false), .parameter(index: 0, negated: false),
                              .parameter(index: 3, negated: true), .clearing, .reset, .other],
                  direction: DmaDirection(parameter: 1, disableWhenZero: true), registers: ["CTRL", "regs.status"], texts: ["~EN", "0"]),
            .call(callee: "plain", line: 4, target: nil),
            .poll(line: 5, direction: nil, registers: []),
            .poll(line: 6, direction: DmaDirection(parameter: 0, disableWhenZero: false), registers: ["DMA_STATUS"]),
            .free(api: "dma_unmap_page", line: 7, access: .writes),
            .write(value: .clearing, line: 8, registers: ["CTRL"], text: "0"),
            .write(value: .parameter(index: 2), line: 9), .write(value: .reset, line: 10), .write(value: .other, line: 11),
            .awaitsStop(line: 12), .recovery(api: "schedule_work", line: 13), .alloc(api: "dma_alloc_coherent", line: 14),
            .assign(variable: "err", isError: true),
            .branch(condition: DmaCondition(polarity: ["err": true, "$condition1": false]), then: [.exit(value: .variable("err"), line: 15)],
                    otherwise: [.exit(value: .error, line: 16)]),
            .loop(body: [.breakLoop, .continueLoop, .exit(value: .nothing, line: 17), .exit(value: .other, line: 18)]),
            .cases(segments: [[.jump(label: "out")], [], [.label("out")]], hasDefault: true),
        ]
        let body = DmaFunctionBody(name: "f", file: "drv.c", line: 1, isStatic: true, pass: 2, steps: steps, parameters: ["on", "", "n", "x"],
                                   chooser: DmaDirection(parameter: 0, disableWhenZero: true))
        let data = SummaryCoding.encode([body])
        XCTAssertEqual(SummaryCoding.decode([DmaFunctionBody].self, data), [body])
        XCTAssertFalse(String(decoding: data, as: UTF8.self).contains("callee"), "no keys inside steps")
        XCTAssertEqual(SummaryCoding.unpack([DmaFunctionBody].self, SummaryCoding.pack([body])), [body], "the form summaries travel and are kept in")
    }
}
