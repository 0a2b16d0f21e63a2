import Foundation
import ClangKit
import RuleKit

/// Per file, from the AST: subtract loops whose divisor may be 0, and where fields get 0.
extension SubtractLoopZeroDivisor {
    /// `a = b`, also when written by a store macro whose body libclang does not show.
    private func isStore(_ node: Node, in context: FileContext) -> Bool {
        guard node.kind == .binaryOperator, node.children.count == 2 else { return false }
        if let op = node.operatorSpelling { return op == "=" }
        return context.macroUses(covering: node.position).contains { storeMacros.contains($0.name) }
    }

    /// The subtract loops of the file whose divisor may be 0, each with the fields and parameter its divisor comes from.
    private func loops(_ context: FileContext) -> [Loop] {
        let facts = ExpressionFacts(context: context, noreturnFunctions: noreturnFunctions)
        var loops: [Loop] = []
        for function in context.functions {
            guard let body = function.body else { continue }
            var occurrences: [String: Int] = [:]
            for loop in body.descendants(where: { $0.kind.isLoop }) {
                guard let shape = matchShape(loop) else { continue }
                let divisorText = shape.divisor.sourceText
                let reducedText = shape.reduced.sourceText
                let constant = shape.divisor.integerValue
                if let constant, constant != 0 { continue }
                // `(wide ? 4 : 2)`, `NSEC_PER_SEC << shift`, `max(n, 1)`: nonzero by construction.
                if constant == nil, facts.isNonZero(shape.divisor, lowerBoundMacros: lowerBoundMacros) { continue }
                var verdict = Verdict(guarded: false)
                if constant == nil {
                    verdict = guardVerdict(shape, facts: facts, function: function.declaration)
                    if verdict.guarded { continue }
                }
                let anchor = "\(reducedText)-=\(divisorText)"
                occurrences[anchor, default: 0] += 1
                let position = loop.position
                var evidence: [Evidence] = []
                var fields: [String] = []
                for candidate in [shape.divisor] + verdict.origins {
                    if let field = ExpressionFacts.fieldKey(candidate), !fields.contains(field) { fields.append(field) }
                }
                for origin in verdict.origins.sorted(by: { $0.position.offset < $1.position.offset }) {
                    evidence.append(Evidence(file: context.path, line: origin.position.line, column: origin.position.column,
                                             function: function.name,
                                             message: "`\(divisorText)` takes its value from `\(origin.sourceText)` here"))
                }
                for check in verdict.nonLeavingChecks.reversed() {
                    let name = facts.context.macroUses(covering: check.position).first?.name
                    evidence.append(Evidence(file: context.path, line: check.position.line, column: check.position.column,
                                             function: function.name,
                                             message: "\(name.map { "`\($0)`" } ?? "this check") tests `\(divisorText)` but does not leave the path, so it does not bound the loop"))
                }
                let parameterCursors = function.parameters.map(\.cursor)
                var parameter: String?
                for candidate in [shape.divisor] + verdict.origins {
                    if let target = candidate.strippingParensAndCasts.referenced, let index = parameterCursors.firstIndex(of: target) {
                        parameter = "\(function.name)#\(index)"
                        break
                    }
                }
                var message: String
                if constant == 0 {
                    message = "loop subtracts `\(divisorText)`, which is always 0, from `\(reducedText)`: it never ends"
                } else {
                    message = "loop reduces `\(reducedText)` by repeated subtraction of `\(divisorText)`, which may be 0 here: the loop then never ends (soft lockup)"
                    if !fields.isEmpty {
                        let names = fields.map { "`" + $0.replacingOccurrences(of: ".", with: "::") + "`" }.joined(separator: " or ")
                        message += "; `\(divisorText)` comes from \(names)"
                    }
                }
                let finding = Finding(rule: id, severity: metadata.severity,
                                      confidence: constant == 0 ? .high : metadata.confidence,
                                      file: context.path, line: position.line, column: position.column,
                                      function: function.name, message: message, evidence: evidence,
                                      anchor: anchor, occurrence: occurrences[anchor]!)
                loops.append(Loop(finding: finding, fields: fields, parameter: parameter))
            }
        }
        return loops
    }

    /// The first pass finds the loops; every pass records where fields are set to 0 (and to a
    /// parameter), and what calls pass for asked parameters and setters.
    public func extract(_ context: FileContext, _ request: ExtractRequest<Question>) -> [Summary] {
        var zeroArgumentCalls: Set<String> = [], askedArguments: Set<String> = []
        for question in request.questions {
            switch question {
            case .zeroCalls(let setter): zeroArgumentCalls.insert(setter)
            case .callArguments(let parameter): askedArguments.insert(parameter)
            case .zeroStores: break
            }
        }
        var result: [Summary] = []
        if request.pass == 1 {
            let loops = self.loops(context)
            result += loops.map { Summary(kind: .loop, key: "", file: $0.finding.file, line: $0.finding.line, function: $0.finding.function, loop: $0) }
            // Parameters used as divisors here: what do this file's callers pass?
            askedArguments.formUnion(loops.compactMap(\.parameter))
        }
        result += callArgumentFacts(context, parameters: askedArguments)
        for function in context.functions {
            guard let body = function.body else { continue }
            let parameters = function.parameters.map(\.cursor)
            for node in body.descendants(where: { $0.kind == .binaryOperator || $0.kind == .callExpr }) {
                if node.kind == .binaryOperator {
                    // Only a field (`p->f`, `s.f`, `*p->f`) is stored to here: most operators' left side is
                    // none, and telling which operator a node is reads the tokens.
                    guard node.children.count == 2, [.memberRefExpr, .unaryOperator].contains(node.children[0].strippingParensAndCasts.kind),
                          isStore(node, in: context),
                          let field = ExpressionFacts.fieldKey(node.children[0]) else { continue }
                    let value = node.children[1]
                    if value.integerValue == 0 {
                        result.append(Summary(kind: .zeroStore, key: field, file: context.path, line: node.position.line, function: function.name))
                    } else if let parameter = value.strippingParensAndCasts.referenced, let index = parameters.firstIndex(of: parameter) {
                        result.append(Summary(kind: .parameterStore, key: field, file: context.path, line: node.position.line,
                                              function: function.name, value: "\(function.name)#\(index)"))
                    }
                } else if !zeroArgumentCalls.isEmpty, let callee = node.calleeName {
                    for (index, argument) in node.arguments.enumerated() where argument.integerValue == 0 {
                        let key = "\(callee)#\(index)"
                        if zeroArgumentCalls.contains(key) {
                            result.append(Summary(kind: .zeroArgument, key: key, file: context.path, line: node.position.line, function: function.name))
                        }
                    }
                }
            }
        }
        return result
    }

    /// For each asked parameter "f#k": one fact per call of f in the file, saying whether argument k
    /// is a nonzero constant, zero, or unknown.
    private func callArgumentFacts(_ context: FileContext, parameters: Set<String>) -> [Summary] {
        guard !parameters.isEmpty else { return [] }
        let facts = ExpressionFacts(context: context, noreturnFunctions: noreturnFunctions)
        var result: [Summary] = []
        for function in context.functions {
            guard let body = function.body else { continue }
            for call in body.descendants(where: { $0.kind == .callExpr }) {
                guard let callee = call.calleeName else { continue }
                for (index, argument) in call.arguments.enumerated() where parameters.contains("\(callee)#\(index)") {
                    let value: String
                    if let constant = argument.integerValue { value = constant == 0 ? "zero" : "nonzero" } else {
                        value = facts.isNonZero(argument, lowerBoundMacros: lowerBoundMacros) ? "nonzero" : "unknown"
                    }
                    result.append(Summary(kind: .callArgument, key: "\(callee)#\(index)", file: context.path,
                                          line: call.position.line, function: function.name, value: value))
                }
            }
        }
        return result
    }
}
