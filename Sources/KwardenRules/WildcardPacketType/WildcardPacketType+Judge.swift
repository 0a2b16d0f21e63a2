import Foundation
import RuleKit

/// Across the tree, from summaries only: a registration with `.dev` NULL joined with the stores
/// into the same instance member and with its handler.
extension WildcardPacketType {
    public func judge(_ summaries: [Summary], _ stage: JudgeStage) -> Judgement<Question> {
        switch stage {
        case .afterPass(let pass): return Judgement(questions: questions(summaries, pass: pass))
        case .final: return Judgement(findings: findings(summaries))
        }
    }

    /// Questions after pass 1 and 2: the handlers and instance members whose facts live elsewhere.
    private func questions(_ facts: [Summary], pass: Int) -> [Question] {
        guard pass <= 2 else { return [] }
        let handlers = Set(facts.filter { $0.kind == .handler }.map(\.key))
        var wanted: Set<String> = []
        for fact in facts where fact.kind == .registration {
            guard let registration = fact.registration else { continue }
            if let handler = registration.handler {
                if !handlers.contains(handler) { wanted.insert(handler) }
            } else if !registration.isLocal, let member = registration.key.split(separator: ".").last {
                wanted.insert(String(member))
            }
        }
        // Second round: handlers named by the stores found in the first.
        for fact in facts where fact.kind == .fieldStore {
            if let store = fact.store, let handler = store.handler, !handlers.contains(handler) {
                wanted.insert(handler)
            }
        }
        return wanted.sorted().map { Question(name: $0) }
    }

    private func findings(_ facts: [Summary]) -> [Finding] {
        let unique = Array(Set(facts)).sorted { ($0.file, $0.line, $0.kind.rawValue, $0.detail) < ($1.file, $1.line, $1.kind.rawValue, $1.detail) }
        let stores = Dictionary(grouping: unique.filter { $0.kind == .fieldStore }, by: \.key)
        let handlers = Dictionary(grouping: unique.filter { $0.kind == .handler }, by: \.key)
        var result: [Finding] = []
        var occurrences: [String: Int] = [:]
        for fact in unique where fact.kind == .registration {
            guard var registration = fact.registration else { continue }
            var devEvidence: Evidence?
            // A static handler must be defined in the file that names it.
            var handlerFile = fact.file
            if let line = registration.devLine, let note = registration.devNote {
                devEvidence = Evidence(file: fact.file, line: line, function: fact.function, message: note)
            } else if registration.devState == "unset", let note = registration.devNote {
                devEvidence = Evidence(file: fact.file, line: fact.line, function: fact.function, message: note)
            }
            if registration.devState == "unknown", !registration.isLocal {
                // Filled in other functions: join their stores into the same instance member.
                let related = (stores[registration.key] ?? []).compactMap { store in store.store.map { (store, $0) } }
                let devStores = related.filter { $0.1.field == "dev" }
                if devStores.contains(where: { !$0.1.isNull }) { continue }
                if let (store, _) = devStores.first {
                    registration.devState = "null"
                    devEvidence = Evidence(file: store.file, line: store.line, function: store.function,
                                           message: "`.dev` of `\(registration.argument)` is set to NULL here, in \(store.function)()")
                } else if let (store, _) = related.first {
                    registration.devState = "unset"
                    devEvidence = Evidence(file: store.file, line: store.line, function: store.function,
                                           message: "\(store.function)() fills `\(registration.argument)` but never sets its `.dev`")
                }
                if registration.handler == nil, let (store, named) = related.first(where: { $0.1.handler != nil }) {
                    registration.handler = named.handler
                    handlerFile = store.file
                }
            }
            guard registration.devState == "null" || registration.devState == "unset",
                  let handlerName = registration.handler, let devEvidence else { continue }
            let candidates = (handlers[handlerName] ?? []).filter { candidate in
                guard let handler = candidate.handler else { return false }
                return !handler.isStatic || candidate.file == handlerFile
            }
            guard let handlerFact = candidates.first, let handler = handlerFact.handler,
                  !handler.checked else { continue }
            let anchor = "\(handlerName)@\(registration.key.hasPrefix("local:") ? registration.argument : registration.key)"
            occurrences[anchor, default: 0] += 1
            let evidence = [
                devEvidence,
                Evidence(file: handlerFact.file, line: handler.useLine, function: handlerName,
                         message: "\(handlerName)() uses its instance here without checking the receiving device: `\(handler.use)`"),
            ]
            let message = "per-instance packet_type `\(registration.argument)` is registered with `.dev` NULL, so \(handlerName)() "
                + "receives this protocol from every device, and it uses instance state without checking that the device belongs to the instance"
            result.append(Finding(rule: id, severity: metadata.severity, confidence: metadata.confidence,
                                  file: fact.file, line: fact.line, column: 1, function: fact.function, message: message,
                                  evidence: evidence, anchor: anchor, occurrence: occurrences[anchor]!))
        }
        return result
    }
}
