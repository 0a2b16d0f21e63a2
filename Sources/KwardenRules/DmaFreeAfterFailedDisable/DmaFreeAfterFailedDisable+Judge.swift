import Foundation
import RuleKit

/// Across the tree, from the function bodies only: the analysis to a fixpoint, then one finding
/// per free site.
extension DmaFreeAfterFailedDisable {
    public func judge(_ bodies: [DmaFunctionBody], _ stage: JudgeStage) -> Judgement<Question> {
        let analysis = lastAnalysis.analysis(of: bodies) {
            let analysis = DmaAnalysis(bodies: bodies, vocabulary: vocabulary)
            analysis.run()
            return analysis
        }
        switch stage {
        case .afterPass(let pass): return Judgement(questions: questions(analysis, pass: pass))
        case .final: return Judgement(findings: findings(analysis))
        }
    }

    /// Each further pass parses the files that call what the last pass found to fail or drop a
    /// failure (a down path two or three files away), and those that define what failing paths
    /// call but no gathered body defines (the ring cleanup in its own file).
    private func questions(_ analysis: DmaAnalysis, pass: Int) -> [Question] {
        let earlier = Set(analysis.bodies.filter { $0.pass < pass }.map(\.name))
        let failing = analysis.bodies.indices.filter { analysis.mayFail[$0] != nil || analysis.swallows[$0] != nil || analysis.hides[$0] != nil }
            .map { analysis.bodies[$0] }.filter { $0.pass == pass && !earlier.contains($0.name) }.map(\.name)
        let needles = Set(failing).union(analysis.unresolvedCallees(ofPass: pass))
        guard !needles.isEmpty else { return [] }
        return [Question(pass: pass + 1, names: needles.sorted())]
    }

    /// Which release the finding shows, and why.
    private func pairing(_ record: DmaFindingRecord) -> String {
        let memory: String
        switch record.freeChain.access {
        case .writes: memory = "memory the device writes into"
        case .reads: memory = "memory the device only reads"
        case .unknown: memory = "DMA memory"
        }
        guard let side = record.disableSide else {
            return "which queue direction (Rx/Tx) the failed disable was for cannot be told, so the release shown is the first one of \(memory)"
                + (record.otherFrees.isEmpty ? "" : " (\(record.otherFrees.count) more in the evidence)")
        }
        if record.freeSide == side {
            return "the failed disable is the \(side.rawValue) queue's, and the release shown is the \(side.rawValue) ring's"
                + (record.otherFrees.isEmpty ? "" : " (\(record.otherFrees.count) other release\(record.otherFrees.count == 1 ? "" : "s") in the evidence)")
        }
        return "the failed disable is the \(side.rawValue) queue's; no release on the path is told to be the \(side.rawValue) ring's, the one shown is \(memory)"
    }

    /// Names only raise confidence: a stop whose functions or registers are called a disable, an
    /// enable bit or a stop, and a release of the same direction.
    private func confidence(_ record: DmaFindingRecord) -> Confidence {
        let words = vocabulary.disableWords.union(vocabulary.enableWords)
        let named = (record.origin.chain.path + record.origin.registers).contains { name in
            name.split(whereSeparator: { $0 == "_" || $0 == "." }).contains { words.contains($0.uppercased()) }
        }
        return named && record.disableSide != nil && record.freeSide == record.disableSide ? .high : metadata.confidence
    }

    private func findings(_ analysis: DmaAnalysis) -> [Finding] {
        var occurrences: [String: Int] = [:]
        // One finding per free site: the failure with the shortest chain explains it best.
        var bySite: [String: DmaFindingRecord] = [:]
        for record in analysis.findings {
            let site = "\(record.body.file):\(record.freeLine)"
            if let kept = bySite[site], kept.origin.chain.path.count <= record.origin.chain.path.count { continue }
            bySite[site] = record
        }
        let records = bySite.values.sorted { ($0.body.file, $0.freeLine) < ($1.body.file, $1.freeLine) }
        return records.map { record in
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
                + "the device can still write into the freed memory; " + pairing(record)
            let others = record.otherFrees.map { other in
                Evidence(file: record.body.file, line: other.line, function: function,
                         message: "\(function)() also frees DMA memory after the failure (\(other.chain.path.joined(separator: " → ")))")
            }
            return Finding(rule: id, severity: metadata.severity, confidence: confidence(record), file: record.body.file,
                           line: record.freeLine, column: 1, function: function, message: message,
                           evidence: origin.chain.evidence + firstStep + record.freeChain.evidence + others,
                           anchor: anchor, occurrence: occurrences[anchor]!)
        }
    }
}

/// One analysis kept with the bodies it was made of.
final class AnalysisMemo: @unchecked Sendable {
    private var bodies: [DmaFunctionBody]?
    private var analysis: DmaAnalysis?
    private let lock = NSLock()

    /// The kept analysis when `bodies` are the same (an unchanged array compares by its storage
    /// first), else a fresh one from `make`, which is then kept.
    func analysis(of bodies: [DmaFunctionBody], make: () -> DmaAnalysis) -> DmaAnalysis {
        lock.lock(); defer { lock.unlock() }
        if let analysis, self.bodies == bodies { return analysis }
        let made = make()
        self.bodies = bodies
        analysis = made
        return made
    }
}
