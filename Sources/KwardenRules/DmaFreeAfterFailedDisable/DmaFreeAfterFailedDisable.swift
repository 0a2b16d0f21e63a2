import Foundation
import RuleKit

/// dma-free-after-failed-disable
///
/// Finds down paths that free DMA memory (unmap ring pages, free ring skbs, free descriptor rings)
/// after asking the hardware to stop a queue when that request may have failed and the failure was
/// dropped: the device may still be writing into the memory being handed back to the allocator.
///
/// Every function of every parsed file is reduced to an abstract body (`DmaFunctionBody`, the
/// rule's summary); the judge joins them by name across the tree and computes three summaries to a
/// fixpoint — may fail to disable, swallows the failure, frees DMA memory — then walks each
/// function's paths (`DmaAnalysis`). A finding is reported at the call in F that frees (the API
/// call, or F's call of the function that frees), with the whole chain as evidence.
/// Confidence: medium — the disable request is recognised by its shape (a bounded register poll
/// that returns an error, after a register write that stops the hardware or for the clearing
/// direction of a two-way helper), not by what the register means.
public struct DmaFreeAfterFailedDisable: Rule {
    public typealias Summary = DmaFunctionBody

    /// Each evidence pass asks for the files that call what the last pass found to fail or drop a
    /// failure, and that define what failing paths call but no gathered body defines. A body
    /// remembers the pass it was gathered in: the analysis tells new bodies from earlier ones.
    public struct Question: RuleQuestion {
        let pass: Int
        let names: [String]
        public var needles: [String] { names }
        public var topic: String? { nil }
    }

    public let metadata: RuleMetadata
    let vocabulary: DmaVocabulary
    /// The last analysis, by the bodies it was made of: a scan judges after every pass and at the
    /// end, mostly over the same bodies (all of them, when the call graph narrowed the rule).
    let lastAnalysis = AnalysisMemo()

    public init(metadata: RuleMetadata) {
        self.metadata = metadata
        vocabulary = DmaVocabulary(metadata)
    }

    public func preselect(_ source: SourceText) -> Bool {
        metadataPreselect(source) && vocabulary.preselectNames.any(in: source)
    }

    /// A finding starts in a function that reaches both a bounded poll (a polling macro, or a
    /// loop that calls a delay and reads a register, perhaps through the driver's read wrapper)
    /// and a DMA release, by different routes: in a large scan only the files on such chains are
    /// parsed (a file that polls or frees by text alone is 41 % of a tree).
    public var callGraphCriteria: CallGraphCriteria? {
        var calls: [String: CallMarks] = [:]
        for name in vocabulary.pollMacros { calls[name, default: []].insert(.dmaPoll) }
        for name in vocabulary.frees { calls[name, default: []].insert(.dmaRelease) }
        return CallGraphCriteria(first: .dmaPoll, second: .dmaRelease, calls: calls,
                                 callsWithLoop: Dictionary(uniqueKeysWithValues: vocabulary.delays.map { ($0, CallMarks.dmaPoll) }),
                                 loopAlsoCalls: vocabulary.registerReads)
    }
}

extension CallMarks {
    static let dmaPoll = CallMarks(rawValue: 1)
    static let dmaRelease = CallMarks(rawValue: 2)
}
