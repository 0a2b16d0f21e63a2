import Foundation
import RuleKit

/// Across the tree, from summaries only: each loop with the zero stores of its fields and what its
/// callers pass for a divisor parameter.
extension SubtractLoopZeroDivisor {
    public func judge(_ summaries: [Summary], _ stage: JudgeStage) -> Judgement<Question> {
        let loops = summaries.compactMap(\.loop)
        switch stage {
        case .afterPass(let pass): return questions(loops, summaries, pass: pass)
        case .final: return Judgement(findings: findings(loops, summaries))
        }
    }

    private func questions(_ loops: [Loop], _ facts: [Summary], pass: Int) -> Judgement<Question> {
        let findings = loops.map(\.finding)
        let fields = Set(loops.flatMap(\.fields))
        let parameters = Set(loops.compactMap(\.parameter))
        func directory(_ file: String) -> String { (file as NSString).deletingLastPathComponent }
        switch pass {
        case 1:
            // Other files that may store 0 in these fields, or call functions whose parameter is a divisor.
            let names = Set(fields.compactMap { $0.split(separator: ".").last.map(String.init) })
            let callees = Set(parameters.compactMap { $0.split(separator: "#").first.map(String.init) })
            guard !names.isEmpty || !callees.isEmpty else { return Judgement(findings: findings) }
            var near: [String: [String]] = [:]
            for loop in loops {
                for field in loop.fields { near[Question.zeroStores(field: field).topic!, default: []].append(directory(loop.finding.file)) }
            }
            return Judgement(findings: findings, questions: fields.sorted().map { Question.zeroStores(field: $0) } + parameters.sorted().map { Question.callArguments(parameter: $0) },
                             near: near)
        case 2:
            guard !fields.isEmpty else { return Judgement(findings: findings) }
            // Setters that store a parameter into the field: who calls them with 0?
            let setterFacts = facts.filter { $0.kind == .parameterStore && fields.contains($0.key) }
            let setters = Set(setterFacts.map(\.value))
            guard !setters.isEmpty else { return Judgement(findings: findings) }
            var near: [String: [String]] = [:]
            for fact in setterFacts { near[Question.zeroCalls(setter: fact.value).topic!, default: []].append(directory(fact.file)) }
            return Judgement(findings: findings, questions: setters.sorted().map { Question.zeroCalls(setter: $0) }, near: near)
        default:
            return Judgement(findings: findings)
        }
    }

    /// Pass 2 wants files that store a literal 0 into one of the fields (`->f = 0;`, `.f = 0`,
    /// `WRITE_ONCE(x->f, 0)`), ranked up when they name the field's record, and callers of
    /// functions whose parameter is a divisor; pass 3 wants callers of the setters found. Text only
    /// narrows the set; the AST decides.
    public func mayAnswer(_ questions: [Question], _ source: SourceText, naming present: Set<String>) -> [Question: Int] {
        // Whole identifiers first (`present`): most files of a tree name none of the needles.
        guard !present.isEmpty else { return [:] }
        // Squeezed only for a file that names a question's own name: many name only another needle.
        lazy var text = SourceText(bytes: SubtractLoopText.squeezed(source.bytes[...]))
        var answered: [Question: Int] = [:]
        for question in questions where present.contains(question.name) {
            switch question {
            case .zeroStores(let field):
                let parts = field.split(separator: ".")
                guard parts.count == 2 else { continue }
                let name = String(parts[1])
                guard ["\(name)=0;", "\(name)=0,", "\(name)=0}", "\(name),0)"].contains(where: text.contains) else { continue }
                answered[question] = source.containsIdentifier(String(parts[0])) ? 1 : 0
            case .callArguments, .zeroCalls:
                if text.contains(question.name + "(") { answered[question] = 0 }
            }
        }
        return answered
    }

    private func findings(_ loops: [Loop], _ facts: [Summary]) -> [Finding] {
        let callArguments = Dictionary(grouping: Set(facts.filter { $0.kind == .callArgument }), by: \.key)
        let kept = loops.compactMap { loop -> Loop? in
            guard let parameter = loop.parameter, let calls = callArguments[parameter], !calls.isEmpty else { return loop }
            // Every caller in the scanned tree passes a nonzero constant: the divisor cannot be 0.
            if calls.allSatisfy({ $0.value == "nonzero" }) { return nil }
            var loop = loop
            let zeroCalls = calls.filter { $0.value == "zero" }.sorted { ($0.file, $0.line) < ($1.file, $1.line) }
            let callee = parameter.split(separator: "#").first.map(String.init) ?? parameter
            for call in zeroCalls {
                loop.finding.evidence.append(Evidence(file: call.file, line: call.line, function: call.function,
                                                      message: "\(call.function)() calls \(callee)() with 0 for the divisor here"))
            }
            if !zeroCalls.isEmpty {
                loop.finding.confidence = .high
                loop.finding.message += "; a caller passes 0"
            }
            return loop
        }
        let zeroStores = Dictionary(grouping: facts.filter { $0.kind == .zeroStore }, by: \.key)
        let setters = Dictionary(grouping: facts.filter { $0.kind == .parameterStore }, by: \.key)
        let zeroCalls = Dictionary(grouping: facts.filter { $0.kind == .zeroArgument }, by: \.key)
        return kept.map { loop in
            var finding = loop.finding
            var places: [Evidence] = []
            for field in loop.fields {
            let fieldName = field.split(separator: ".").last.map(String.init) ?? field
            for store in Set(zeroStores[field] ?? []).sorted(by: { ($0.file, $0.line) < ($1.file, $1.line) }) {
                places.append(Evidence(file: store.file, line: store.line, function: store.function,
                                       message: "`\(fieldName)` is set to 0 here, in \(store.function)()"))
            }
            for setter in Set(setters[field] ?? []).sorted(by: { ($0.file, $0.line) < ($1.file, $1.line) }) {
                let calls = Set(zeroCalls[setter.value] ?? []).sorted(by: { ($0.file, $0.line) < ($1.file, $1.line) })
                for call in calls {
                    places.append(Evidence(file: call.file, line: call.line, function: call.function,
                                           message: "`\(fieldName)` is set to 0 here, by \(call.function)() calling \(setter.function)() with 0 (stored at \(setter.file):\(setter.line))"))
                }
            }
            }
            guard !places.isEmpty else { return finding }
            finding.evidence.append(contentsOf: places)
            finding.confidence = .high
            finding.message += "; it is set to 0 at \(places.count) place\(places.count == 1 ? "" : "s") in the tree"
            return finding
        }
    }
}
