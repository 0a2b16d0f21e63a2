import Foundation
import ClangKit

/// The abstract body of one function, as `dma-free-after-failed-disable` reasons about it: the
/// calls and exits in source order, with the branch and loop structure between them. It is
/// computed per file (a fact) and joined across files in `finalize`.
struct DmaFunctionBody: Codable, Hashable {
    var name: String
    var file: String
    var line: Int
    var isStatic: Bool
    /// Fact pass the body was gathered in (1: preselected files, 2/3: callers asked for).
    var pass: Int
    var steps: [DmaStep]
}

/// What a return statement gives back.
enum DmaReturnValue: Codable, Hashable {
    case nothing
    /// A variable (or a call's result held in a synthetic variable).
    case variable(String)
    /// A negative error code such as `-ETIMEDOUT`.
    case error
    case other
}

/// A condition, reduced to the variables it tests: `true` when the condition holds for a nonzero value.
struct DmaCondition: Codable, Hashable {
    var polarity: [String: Bool]
}

indirect enum DmaStep: Codable, Hashable {
    /// A call to a function (or a polling macro), its result stored in `target` when there is one.
    case call(callee: String, line: Int, target: String?)
    /// A hand-written bounded poll of a register: a loop that reads a register and waits.
    case poll(line: Int)
    /// A direct release of DMA memory through a kernel API.
    case free(api: String, line: Int)
    /// A call that hands the failure to recovery (reset, recovery work, noreturn).
    case recovery(api: String, line: Int)
    /// `v = …` with something that is not a call: an error code or anything else.
    case assign(variable: String, isError: Bool)
    case branch(condition: DmaCondition, then: [DmaStep], otherwise: [DmaStep])
    case loop(body: [DmaStep])
    /// A switch: its body split at case labels; control enters at any of them.
    case cases(segments: [[DmaStep]], hasDefault: Bool)
    case exit(value: DmaReturnValue, line: Int)
    case jump(label: String)
    case label(String)
    case breakLoop
    case continueLoop
}

/// The API names the rule recognises, from the rule's lists.
struct DmaVocabulary {
    let frees: Set<String>
    let pollMacros: Set<String>
    let registerReads: Set<String>
    let delays: Set<String>
    let errorCodes: Set<String>
    let recovery: Set<String>
    let logFunctions: Set<String>

    init(_ metadata: RuleMetadata) {
        frees = Set(metadata.list("dma_free_functions"))
        pollMacros = Set(metadata.list("poll_macros"))
        registerReads = Set(metadata.list("register_reads"))
        delays = Set(metadata.list("poll_delays"))
        errorCodes = Set(metadata.list("error_codes"))
        recovery = Set(metadata.list("recovery_functions"))
        logFunctions = Set(metadata.list("log_functions"))
    }

    /// Identifiers a file must contain to hold a disable request or a DMA release.
    var preselectNames: [String] { frees.union(pollMacros).union(delays).union(errorCodes).sorted() }
}

/// Builds `DmaFunctionBody` from the AST of one file.
final class DmaBodyBuilder {
    let context: FileContext
    let vocabulary: DmaVocabulary
    /// Macro names by the offset of their use, per file (a node produced by a macro body has the
    /// use's start as its expansion position).
    private var macroNamesByOffset: [String: [Int: [String]]] = [:]
    private var synthetic = 0

    init(context: FileContext, vocabulary: DmaVocabulary) {
        self.context = context
        self.vocabulary = vocabulary
    }

    func body(of function: FunctionDefinition, pass: Int) -> DmaFunctionBody? {
        guard let body = function.body else { return nil }
        synthetic = 0
        return DmaFunctionBody(name: function.name, file: function.declaration.position.file,
                               line: function.declaration.position.line,
                               isStatic: function.declaration.cursor.isStatic, pass: pass, steps: statements(body))
    }

    /// Names of the macros whose use starts where `node` was expanded.
    func macroNames(at node: Node) -> [String] {
        let position = node.position
        if macroNamesByOffset[position.file] == nil {
            var table: [Int: [String]] = [:]
            for use in context.macroUses(inFile: position.file) { table[use.range.start.offset, default: []].append(use.name) }
            macroNamesByOffset[position.file] = table
        }
        return macroNamesByOffset[position.file]?[position.offset] ?? []
    }

    /// A call's own name and the names of macros that produced it (dma_unmap_single → dma_unmap_single_attrs).
    func names(ofCall node: Node) -> [String] {
        macroNames(at: node) + [node.calleeName ?? ""]
    }

    private func pollMacro(_ node: Node) -> String? {
        guard node.kind.isExpression else { return nil }
        return macroNames(at: node).first { vocabulary.pollMacros.contains($0) }
    }

    // MARK: Statements

    private func statements(_ node: Node) -> [DmaStep] {
        switch node.kind {
        case .compoundStmt:
            return node.children.flatMap(statements)
        case .ifStmt:
            guard node.children.count >= 2 else { return [] }
            var steps: [DmaStep] = []
            let condition = self.condition(node.children[0], steps: &steps)
            steps.append(.branch(condition: condition, then: statements(node.children[1]),
                                 otherwise: node.children.count >= 3 ? statements(node.children[2]) : []))
            return steps
        case .forStmt, .whileStmt, .doStmt:
            var steps: [DmaStep] = []
            if isRegisterPoll(node) { steps.append(.poll(line: node.position.line)) }
            var body: [DmaStep] = []
            if let parts = node.forParts, let initializer = parts.initializer { steps += expression(initializer, target: nil) }
            if let condition = node.condition { body += expression(condition, target: nil) }
            if let loopBody = node.loopBody { body += statements(loopBody) }
            if let increment = node.forParts?.increment { body += expression(increment, target: nil) }
            steps.append(.loop(body: body))
            return steps
        case .switchStmt:
            var steps: [DmaStep] = []
            if let condition = node.condition { steps += expression(condition, target: nil) }
            guard let body = node.loopBody else { return steps }
            var segments: [[DmaStep]] = []
            var hasDefault = false
            for child in (body.kind == .compoundStmt ? body.children : [body]) {
                var statement = child
                var startsSegment = false
                while statement.kind == .caseStmt || statement.kind == .defaultStmt {
                    startsSegment = true
                    if statement.kind == .defaultStmt { hasDefault = true }
                    guard let inner = statement.children.last, inner !== statement.children.first || statement.kind == .defaultStmt else { break }
                    statement = inner
                }
                if startsSegment || segments.isEmpty { segments.append([]) }
                if statement.kind != .caseStmt && statement.kind != .defaultStmt {
                    segments[segments.count - 1] += statements(statement)
                }
            }
            steps.append(.cases(segments: segments, hasDefault: hasDefault))
            return steps
        case .returnStmt:
            guard let value = node.children.first(where: { $0.kind.isExpression }) else {
                return [.exit(value: .nothing, line: node.position.line)]
            }
            return returnSteps(value, line: node.position.line)
        case .gotoStmt:
            let tokens = context.tokens(in: node.cursor.extent)
            return [.jump(label: tokens.dropFirst().first?.text ?? "")]
        case .labelStmt:
            return [.label(node.spelling)] + node.children.flatMap(statements)
        case .breakStmt:
            return [.breakLoop]
        case .continueStmt:
            return [.continueLoop]
        case .declStmt:
            return node.children.filter { $0.kind == .varDecl }.flatMap { variable -> [DmaStep] in
                guard let value = variable.children.last(where: { $0.kind.isExpression }) else { return [] }
                return assignment(to: variable.spelling, value: value)
            }
        case .caseStmt, .defaultStmt:
            return node.children.dropFirst(node.kind == .caseStmt ? 1 : 0).flatMap(statements)
        default:
            if node.kind.isExpression { return expressionStatement(node) }
            return []
        }
    }

    private func expressionStatement(_ node: Node) -> [DmaStep] {
        let stripped = node.strippingParensAndCasts
        if stripped.children.count == 2,
           stripped.kind == .compoundAssignOperator || (stripped.kind == .binaryOperator && stripped.operatorSpelling == "="),
           stripped.children[0].strippingParensAndCasts.kind == .declRefExpr {
            // `err = f()`, `err |= f()`: the result lands in a local.
            return assignment(to: stripped.children[0].strippingParensAndCasts.spelling, value: stripped.children[1])
        }
        return expression(node, target: nil)
    }

    private func assignment(to variable: String, value: Node) -> [DmaStep] {
        let stripped = value.strippingParensAndCasts
        if pollMacro(stripped) != nil || stripped.kind == .callExpr { return expression(stripped, target: variable) }
        return expression(value, target: nil) + [.assign(variable: variable, isError: isErrorCode(value))]
    }

    private func returnSteps(_ value: Node, line: Int) -> [DmaStep] {
        let stripped = value.strippingParensAndCasts
        if stripped.kind == .conditionalOperator, stripped.children.count == 3 {
            // `return c ? enable() : disable();`: one call or the other, each returned.
            var steps: [DmaStep] = []
            let condition = self.condition(stripped.children[0], steps: &steps)
            return steps + [.branch(condition: condition, then: returnSteps(stripped.children[1], line: line),
                                    otherwise: returnSteps(stripped.children[2], line: line))]
        }
        if pollMacro(stripped) != nil || stripped.kind == .callExpr {
            synthetic += 1
            let name = "$return\(synthetic)"
            return expression(stripped, target: name) + [.exit(value: .variable(name), line: line)]
        }
        let result: DmaReturnValue
        if isErrorCode(value) { result = .error }
        else if stripped.kind == .declRefExpr { result = .variable(stripped.spelling) }
        else { result = .other }
        return expression(value, target: nil) + [.exit(value: result, line: line)]
    }

    /// `-ETIMEDOUT`, `-EBUSY`, … (a negated error macro from the list).
    func isErrorCode(_ value: Node) -> Bool {
        let stripped = value.strippingParensAndCasts
        guard stripped.kind == .unaryOperator, let operand = stripped.children.first?.strippingParensAndCasts,
              operand.kind == .integerLiteral || operand.kind == .declRefExpr else { return false }
        let spelled = macroNames(at: operand) + [operand.spelling]
        return spelled.contains { vocabulary.errorCodes.contains($0) }
    }

    // MARK: Expressions

    /// The calls in an expression, in evaluation order (arguments first); `target` receives the
    /// result of the expression when it is itself a call.
    private func expression(_ node: Node, target: String?) -> [DmaStep] {
        if let macro = pollMacro(node) {
            return [.call(callee: macro, line: node.position.line, target: target)]
        }
        // `c ? f() : g()`: one arm or the other.
        if node.kind == .conditionalOperator, node.children.count == 3 {
            var steps: [DmaStep] = []
            let condition = self.condition(node.children[0], steps: &steps)
            return steps + [.branch(condition: condition, then: expression(node.children[1], target: target),
                                    otherwise: expression(node.children[2], target: target))]
        }
        var steps: [DmaStep] = []
        for child in node.children where child.kind.isExpression || child.kind == .compoundStmt {
            steps += child.kind == .compoundStmt ? statements(child) : expression(child, target: nil)
        }
        if node.kind == .stmtExpr, let body = node.children.first { return statements(body) }
        guard node.kind == .callExpr else { return steps }
        let names = names(ofCall: node)
        let line = node.position.line
        if let api = names.first(where: { vocabulary.frees.contains($0) }) { return steps + [.free(api: api, line: line)] }
        if let api = names.first(where: { vocabulary.recovery.contains($0) }) { return steps + [.recovery(api: api, line: line)] }
        if names.contains(where: { vocabulary.logFunctions.contains($0) }) { return steps }
        guard let callee = node.calleeName, !callee.isEmpty else { return steps }
        return steps + [.call(callee: callee, line: line, target: target)]
    }

    /// The calls a condition makes, and the variables (or call results) it tests, with their polarity.
    private func condition(_ node: Node, steps: inout [DmaStep]) -> DmaCondition {
        var polarity: [String: Bool] = [:]
        func visit(_ raw: Node, _ positive: Bool) {
            // A polling macro is a statement expression: look at it before unwrapping would open it.
            let node = pollMacro(raw.strippingParensAndCasts) != nil ? raw.strippingParensAndCasts : ExpressionFacts.unwrapCondition(raw)
            if pollMacro(node) != nil || node.kind == .callExpr, !(node.calleeName.map(vocabulary.logFunctions.contains) ?? false) {
                synthetic += 1
                let name = "$condition\(synthetic)"
                steps += expression(node, target: name)
                polarity[name] = positive
                return
            }
            switch node.kind {
            case .declRefExpr:
                polarity[node.spelling] = positive
            case .unaryOperator where node.operatorSpelling == "!":
                if let inner = node.children.first { visit(inner, !positive) }
            case .binaryOperator where node.children.count == 2:
                let op = node.operatorSpelling
                if op == "||" { visit(node.children[0], positive); visit(node.children[1], positive); return }
                if let comparison = ExpressionFacts.comparisonWithConstant(node), comparison.constant == 0 {
                    let lhs = comparison.expression
                    switch comparison.op {
                    // Error codes are negative: `err < 0` holds for a failure, `err >= 0` does not.
                    case "==", ">=", ">": visit(lhs, !positive)
                    case "!=", "<", "<=": visit(lhs, positive)
                    default: steps += expression(node, target: nil)
                    }
                    return
                }
                if op == "==" || op == "!=" {
                    // `err == -ETIMEDOUT`: true only for a failure.
                    let sides = node.children.map(\.strippingParensAndCasts)
                    if let variable = sides.first(where: { $0.kind == .declRefExpr }), sides.contains(where: isErrorCode) {
                        polarity[variable.spelling] = op == "==" ? positive : !positive
                        return
                    }
                }
                steps += expression(node, target: nil)
            default:
                steps += expression(node, target: nil)
            }
        }
        visit(node, true)
        return DmaCondition(polarity: polarity)
    }

    /// A loop that reads a register and waits between reads: a bounded poll of hardware state.
    private func isRegisterPoll(_ loop: Node) -> Bool {
        let calls = loop.descendants(where: { $0.kind == .callExpr }).map(names(ofCall:))
        let polled = loop.descendants(where: { $0.kind.isExpression }).contains { !macroNames(at: $0).filter(vocabulary.registerReads.contains).isEmpty }
        return (polled || calls.contains { $0.contains(where: vocabulary.registerReads.contains) })
            && calls.contains { $0.contains(where: vocabulary.delays.contains) }
    }
}
