import Foundation
import RuleKit

/// Across the tree, from summaries only: unwaited publishes of gated fields, followed up the call
/// chains to where each reaches success without a wait.
extension RcuPublishWithoutSync {
    public func judge(_ summaries: [Summary], _ stage: JudgeStage) -> Judgement<Question> {
        switch stage {
        case .afterPass(let pass): return questions(summaries, pass: pass)
        case .final: return Judgement(findings: findings(summaries))
        }
    }

    // MARK: Passes

    private func questions(_ facts: [Summary], pass: Int) -> Judgement<Question> {
        let gated = Set(facts.filter { $0.kind == .gate }.map(\.key))
        let publishes = facts.filter { $0.kind == .publish }.compactMap { fact in fact.publish.map { (fact, $0) } }
            .filter { !$0.1.waited }
        guard !publishes.isEmpty else { return Judgement() }
        // Non-static functions whose callers may be in other files: unwaited publishers, and
        // callers that reach them without a wait.
        var open = Set(publishes.filter { !$0.1.isStatic && (pass == 1 || gated.contains($0.0.key)) }.map(\.0.function))
        // Static or not, a function stored in a function-pointer field is called wherever the field is.
        var unwaitedFunctions = Set(publishes.map(\.0.function))
        for fact in facts where fact.kind == .call {
            guard let call = fact.call, !call.waited else { continue }
            unwaitedFunctions.insert(fact.function)
            if !call.isStatic { open.insert(fact.function) }
        }
        let pointerFields = Set(facts.filter { $0.kind == .bind && unwaitedFunctions.contains($0.key) }.compactMap(\.field))
        let fields = pass == 1 ? Set(publishes.map(\.0.key)) : []
        guard !open.isEmpty || !fields.isEmpty || !pointerFields.isEmpty else { return Judgement() }
        // Where each topic's facts were seen: its callers and readers are likeliest nearby.
        func directory(_ file: String) -> String { (file as NSString).deletingLastPathComponent }
        var near: [String: [String]] = [:]
        for fact in facts {
            switch fact.kind {
            case .publish:
                if fields.contains(fact.key) { near[Question.field(fact.key).topic!, default: []].append(directory(fact.file)) }
                if open.contains(fact.function) { near[Question.callee(fact.function).topic!, default: []].append(directory(fact.file)) }
            case .call:
                if open.contains(fact.function) { near[Question.callee(fact.function).topic!, default: []].append(directory(fact.file)) }
            case .bind:
                if let field = fact.field, pointerFields.contains(field) { near[Question.pointerField(field).topic!, default: []].append(directory(fact.file)) }
            case .gate:
                break
            }
        }
        let questions = fields.sorted().map(Question.field) + open.sorted().map(Question.callee) + pointerFields.sorted().map(Question.pointerField)
        // Where a function (or a function-pointer field) was among those `extract` follows when
        // the file was parsed — it publishes there without a wait, a call there reaches it
        // without one, or a call of it or a binding to it was recorded, which happens only for
        // what is followed — every call of it there was followed, up the file's own callers:
        // asking that file about it again would gather the same facts.
        var reachedIn: [String: Set<String>] = [:]
        for fact in facts {
            switch fact.kind {
            case .publish: if let publish = fact.publish, !publish.waited { reachedIn[fact.function, default: []].insert(fact.file) }
            case .call:
                reachedIn[fact.key, default: []].insert(fact.file)
                if let call = fact.call, !call.waited { reachedIn[fact.function, default: []].insert(fact.file) }
            case .bind: reachedIn[fact.key, default: []].insert(fact.file)
            case .gate: break
            }
        }
        var answeredIn: [String: Set<String>] = [:]
        for function in open { if let files = reachedIn[function] { answeredIn[Question.callee(function).topic!] = files } }
        for field in pointerFields { if let files = reachedIn[Self.indirectPrefix + field] { answeredIn[Question.pointerField(field).topic!] = files } }
        return Judgement(questions: questions, near: near, answeredIn: answeredIn)
    }

    // MARK: Joining

    private func findings(_ facts: [Summary]) -> [Finding] {
        let unique = Array(Set(facts)).sorted { ($0.file, $0.line, $0.kind.rawValue, $0.key, $0.function) < ($1.file, $1.line, $1.kind.rawValue, $1.key, $1.function) }
        var gates: [String: [Summary]] = [:]
        var seenGates: Set<String> = []
        for fact in unique where fact.kind == .gate && seenGates.insert("\(fact.key)@\(fact.file):\(fact.line)").inserted {
            gates[fact.key, default: []].append(fact)
        }
        var calls: [String: [Summary]] = [:]
        var seenCalls: Set<String> = []
        for fact in unique where fact.kind == .call && seenCalls.insert("\(fact.key)@\(fact.file):\(fact.line):\(fact.function)").inserted {
            calls[fact.key, default: []].append(fact)
        }
        // Function → the pointer fields it is stored in (with the file, for static functions).
        var bindings: [String: [Summary]] = [:]
        for fact in unique where fact.kind == .bind { bindings[fact.key, default: []].append(fact) }
        var result: [Finding] = []
        var reported: Set<String> = []
        var occurrences: [String: Int] = [:]

        for publishFact in unique where publishFact.kind == .publish {
            guard let publish = publishFact.publish, !publish.waited,
                  let readers = gates[publishFact.key], !readers.isEmpty else { continue }
            let fieldName = publishFact.key.replacingOccurrences(of: ".", with: "::")
            var gateEvidence: [Evidence] = []
            for reader in readers.prefix(3) {
                let gate = reader.gate
                let through = gate?.helper.map { " (through \($0)())" } ?? ""
                gateEvidence.append(Evidence(file: reader.file, line: reader.line, function: reader.function,
                                             message: "\(reader.function)() tests `\(fieldName)`\(through) to decide whether to \(gate?.operation ?? "serialize")()"))
            }
            let publishEvidence = Evidence(file: publishFact.file, line: publishFact.line, function: publishFact.function,
                                           message: "`\(publish.target)` is published here and \(publishFact.function)() returns success without a grace-period wait")

            // Chains of callers that reach success without a wait, each ending where no caller is known.
            var chains: [[Summary]] = []
            func climb(function: String, file: String, isStatic: Bool, chain: [Summary], visited: Set<String>) {
                var callers = (calls[function] ?? []).filter { call in
                    guard let detail = call.call else { return false }
                    // A static function is called only from its own file (except through a pointer).
                    return !(isStatic || detail.calleeStatic) || call.file == file
                }
                for binding in bindings[function] ?? [] where !isStatic || binding.file == file {
                    callers += binding.field.flatMap { calls[Self.indirectPrefix + $0] } ?? []
                }
                if callers.isEmpty { chains.append(chain); return }
                for call in callers {
                    guard let detail = call.call, !detail.waited else { continue }
                    let identity = "\(call.function)@\(detail.isStatic ? call.file : "")"
                    guard !visited.contains(identity) else { continue }
                    climb(function: call.function, file: call.file, isStatic: detail.isStatic, chain: chain + [call], visited: visited.union([identity]))
                }
            }
            climb(function: publishFact.function, file: publishFact.file, isStatic: publish.isStatic, chain: [],
                  visited: ["\(publishFact.function)@\(publish.isStatic ? publishFact.file : "")"])

            for chain in chains {
                let at = chain.last ?? publishFact
                // One finding per publish and outermost function, however many of its calls lead there.
                let key = "\(publishFact.key)|\(publishFact.file):\(publishFact.line)|\(at.function)@\(at.file)"
                guard reported.insert(key).inserted else { continue }
                var evidence = [publishEvidence]
                for call in chain {
                    let callee = call.key.hasPrefix(Self.indirectPrefix)
                        ? "`" + call.key.dropFirst(Self.indirectPrefix.count).replacingOccurrences(of: ".", with: "::") + "` (a function pointer)"
                        : call.key + "()"
                    evidence.append(Evidence(file: call.file, line: call.line, function: call.function,
                                             message: "\(call.function)() calls \(callee) here and goes on to success without a grace-period wait"))
                }
                evidence += gateEvidence
                let path = ([publishFact.function] + chain.map(\.function)).reversed().joined(separator: "() → ")
                var message = "`\(publish.target)` is published with rcu_assign_pointer() and \(at.function)() reaches success without a grace-period wait, "
                message += "but readers use `\(fieldName)` as a gate to serialize: readers that tested it before the publish still run unserialized"
                if !chain.isEmpty { message += " (call chain \(path)())" }
                let anchor = "\(publishFact.key)@\(publishFact.function)"
                occurrences[anchor + at.function, default: 0] += 1
                result.append(Finding(rule: id, severity: metadata.severity, confidence: metadata.confidence,
                                      file: at.file, line: at.line, column: 1, function: at.function, message: message,
                                      evidence: evidence, anchor: anchor, occurrence: occurrences[anchor + at.function]!))
            }
        }
        return result
    }
}
