import Foundation
import ClangKit

/// dma-free-after-failed-disable
///
/// Finds down paths that free DMA memory (unmap ring pages, free ring skbs, free descriptor rings)
/// after asking the hardware to stop a queue when that request may have failed and the failure was
/// dropped: the device may still be writing into the memory being handed back to the allocator.
///
/// Every function of every parsed file is reduced to an abstract body (`DmaFunctionBody`, a fact);
/// `finalize` joins them by name across the tree and computes three summaries to a fixpoint —
/// may fail to disable, swallows the failure, frees DMA memory — then walks each function's paths
/// (`DmaAnalysis`). A finding is reported at the call in F that frees (the API call, or F's call of
/// the function that frees), with the whole chain as evidence.
/// Confidence: medium — the disable request is recognised by its shape (a bounded register poll
/// that returns an error, after a register write that stops the hardware or for the clearing
/// direction of a two-way helper), not by what the register means.
struct DmaFreeAfterFailedDisable: Rule {
    static let factKind = "dma-summary"
    let metadata: RuleMetadata
    let vocabulary: DmaVocabulary
    /// Kept for the rule's lifetime: one scan's passes, or both ends of a gate.
    let decoded = DmaBodyMemo()

    init(metadata: RuleMetadata) {
        self.metadata = metadata
        vocabulary = DmaVocabulary(metadata)
    }

    func preselect(_ source: SourceText) -> Bool {
        metadataPreselect(source) && vocabulary.preselectNames.contains { source.containsIdentifier($0) }
    }

    /// Every judgement needs summaries from other files: findings come from `finalize`.
    func check(_ context: FileContext) -> [Finding] { [] }

    func facts(_ context: FileContext, requests: [FactRequest]) -> [Fact] {
        let keys = Set(requests.flatMap(\.keys))
        let pass = (2...4).last { keys.contains("pass:\($0)") } ?? 1
        let builder = DmaBodyBuilder(context: context, vocabulary: vocabulary)
        let headerNames = vocabulary.frees.union(vocabulary.pollMacros)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let functions = context.functions + context.headerFunctions(mentioning: headerNames)
        return functions.compactMap { function in
            guard let body = builder.body(of: function, pass: pass),
                  let data = try? encoder.encode(body) else { return nil }
            return Fact(kind: Self.factKind, key: body.name, file: body.file, line: body.line, function: body.name,
                        detail: String(decoding: data, as: UTF8.self))
        }
    }

    /// Each further pass parses the files that call what the last pass found to fail or drop a
    /// failure (a down path two or three files away), and those that define what failing paths
    /// call but no gathered body defines (the ring cleanup in its own file).
    func nextRequest(findings: [Finding], facts: [Fact], pass: Int) -> FactRequest? {
        let analysis = DmaAnalysis(bodies: DmaAnalysis.bodies(from: facts, memo: decoded), vocabulary: vocabulary)
        analysis.run()
        let earlier = Set(analysis.bodies.filter { $0.pass < pass }.map(\.name))
        let failing = analysis.bodies.indices.filter { analysis.mayFail[$0] != nil || analysis.swallows[$0] != nil || analysis.hides[$0] != nil }
            .map { analysis.bodies[$0] }.filter { $0.pass == pass && !earlier.contains($0.name) }.map(\.name)
        let needles = Set(failing).union(analysis.unresolvedCallees(ofPass: pass))
        guard !needles.isEmpty else { return nil }
        return FactRequest(needles: needles.sorted(), keys: ["pass:\(pass + 1)"])
    }

    func finalize(findings: [Finding], facts: [Fact]) -> [Finding] {
        let analysis = DmaAnalysis(bodies: DmaAnalysis.bodies(from: facts, memo: decoded), vocabulary: vocabulary)
        analysis.run()
        var occurrences: [String: Int] = [:]
        // One finding per free site: the failure with the shortest chain explains it best.
        var bySite: [String: DmaFindingRecord] = [:]
        for record in analysis.findings {
            let site = "\(record.body.file):\(record.freeLine)"
            if let kept = bySite[site], kept.origin.chain.path.count <= record.origin.chain.path.count { continue }
            bySite[site] = record
        }
        let records = bySite.values.sorted { ($0.body.file, $0.freeLine) < ($1.body.file, $1.freeLine) }
        return findings + records.map { record in
            let function = record.body.name
            let origin = record.origin
            let dropped: String
            let step: String
            if record.returnsFailure {
                dropped = "\(function)() returns the failure of \(origin.callee)() only after freeing, too late for its caller to keep the memory"
                step = "\(function)() calls \(origin.callee)(), frees DMA memory although the disable failed, then returns the failure"
            } else if origin.kind == .hidden {
                dropped = origin.depth > 1 ? "\(origin.chain.path.dropFirst().first ?? origin.callee)() drops the failure" : "\(origin.callee)() drops the failure"
                step = "\(function)() calls \(origin.callee)(), which may fail to disable the hardware without telling"
            } else {
                dropped = "\(function)() does not act on the failure of \(origin.callee)()"
                step = "\(function)() calls \(origin.callee)() and does not act on its failure before freeing"
            }
            let firstStep = [Evidence(file: record.body.file, line: origin.line, function: function, message: step)]
            let anchor = "\(function)|\(origin.callee)|\(record.freeCallee)"
            occurrences[anchor, default: 0] += 1
            let message = "\(function)() frees DMA memory (\(record.freeChain.path.joined(separator: " → "))) after a request to "
                + "disable the hardware that may have failed (\(origin.chain.path.joined(separator: " → "))), and \(dropped): "
                + "the device can still write into the freed memory"
            return Finding(rule: id, severity: metadata.severity, confidence: metadata.confidence, file: record.body.file,
                           line: record.freeLine, column: 1, function: function, message: message,
                           evidence: origin.chain.evidence + firstStep + record.freeChain.evidence, fingerprint: "",
                           attributes: ["anchor": anchor, "occurrence": String(occurrences[anchor]!)])
        }
    }
}
