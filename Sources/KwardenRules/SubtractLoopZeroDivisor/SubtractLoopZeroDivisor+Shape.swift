import Foundation
import ClangKit
import RuleKit

/// The loop's shape and the guards on the paths into it, on the AST.
extension SubtractLoopZeroDivisor {
    // MARK: The shape of the loop

    struct Shape {
        let loop: Node
        let reduced: Node
        let divisor: Node
        let subtraction: Node
        /// Other conjuncts of the loop condition (`while (d && x >= d)`).
        let otherConjuncts: [Node]
    }

    private func conjuncts(_ node: Node) -> [Node] {
        let c = ExpressionFacts.unwrapCondition(node)
        if c.kind == .binaryOperator, c.operatorSpelling == "&&" {
            return conjuncts(c.children[0]) + conjuncts(c.children[1])
        }
        return [c]
    }

    /// Statements that run on every iteration: the body itself, or the direct statements of its blocks.
    private func unconditionalStatements(_ node: Node) -> [Node] {
        node.kind == .compoundStmt ? node.children.flatMap(unconditionalStatements) : [node]
    }

    private func isSubtraction(_ statement: Node, reduced: String, divisor: String) -> Bool {
        let s = statement.strippingParensAndCasts
        guard s.children.count == 2 else { return false }
        switch (s.kind, s.operatorSpelling) {
        case (.compoundAssignOperator, "-="):
            return ExpressionFacts.key(s.children[0]) == reduced && ExpressionFacts.key(s.children[1]) == divisor
        case (.binaryOperator, "="):
            let value = s.children[1].strippingParensAndCasts
            guard ExpressionFacts.key(s.children[0]) == reduced, value.kind == .binaryOperator,
                  value.operatorSpelling == "-", value.children.count == 2 else { return false }
            return ExpressionFacts.key(value.children[0]) == reduced && ExpressionFacts.key(value.children[1]) == divisor
        default:
            return false
        }
    }

    func matchShape(_ loop: Node) -> Shape? {
        guard let condition = loop.condition, let body = loop.loopBody else { return nil }
        let parts = conjuncts(condition)
        for comparison in parts where comparison.kind == .binaryOperator && comparison.children.count == 2 {
            let reduced: Node, divisor: Node
            switch comparison.operatorSpelling {
            case ">=", ">": (reduced, divisor) = (comparison.children[0], comparison.children[1])
            case "<=", "<": (reduced, divisor) = (comparison.children[1], comparison.children[0])
            default: continue
            }
            guard divisor.type.isInteger, reduced.type.isInteger else { continue }
            let reducedKey = ExpressionFacts.key(reduced), divisorKey = ExpressionFacts.key(divisor)
            guard reducedKey != divisorKey else { continue }
            var candidates = unconditionalStatements(body)
            if loop.kind == .forStmt, let increment = loop.forParts?.increment { candidates.append(increment) }
            if let subtraction = candidates.first(where: { isSubtraction($0, reduced: reducedKey, divisor: divisorKey) }) {
                // A divisor that changes between iterations (`offset -= sg->length; sg = sg_next(sg);`)
                // walks a list: each round subtracts a different element, so a zero element does not spin.
                if divisorVaries(divisor, in: loop) { continue }
                return Shape(loop: loop, reduced: reduced, divisor: divisor, subtraction: subtraction,
                             otherConjuncts: parts.filter { $0 !== comparison })
            }
        }
        return nil
    }

    /// Whether the loop body (or a `for` increment) writes the divisor or anything it is computed
    /// from: a variable, pointer or index it reads (`sg`, `con->cur`, `m` in `map[m].len`), or
    /// hands the object it is read from to a callee.
    func divisorVaries(_ divisor: Node, in loop: Node) -> Bool {
        let stripped = divisor.strippingParensAndCasts
        let parts = Set(([stripped] + stripped.descendants(where: { $0.kind.isExpression }))
            .map { ExpressionFacts.key($0) })
        var regions: [Node] = loop.loopBody.map { [$0] } ?? []
        if loop.kind == .forStmt, let increment = loop.forParts?.increment { regions.append(increment) }
        for region in regions {
            for node in ExpressionFacts.stores(in: region) {
                // Operators written in macro bodies have no spelling: judged by their shape.
                let target = ExpressionFacts.storeTarget(node)
                    ?? (node.kind == .binaryOperator && node.operatorSpelling == nil && Self.looksLikeAssignment(node) ? node.children.first : nil)
                if let target, parts.contains(ExpressionFacts.key(target)) { return true }
            }
            // A callee handed the object the divisor is read from (`flip(iter)` for `iter->nr`,
            // `next(&cursor)`) may move it on.
            for call in [region] + region.descendants(where: { $0.kind == .callExpr }) where call.kind == .callExpr {
                for argument in call.arguments {
                    var a = argument.strippingParensAndCasts
                    var addressTaken = false
                    if a.kind == .unaryOperator, a.operatorSpelling == "&", let inner = a.children.first {
                        a = inner.strippingParensAndCasts
                        addressTaken = true
                    }
                    if (addressTaken || a.type.isPointer), parts.contains(ExpressionFacts.key(a)) { return true }
                }
            }
        }
        return false
    }

    /// An operator written inside a macro body (`P = (T *)MP->data` in a page-walking macro), whose
    /// spelling libclang 14 does not expose: an assignment when it stands as a statement of its own,
    /// or when both sides and the result have one pointer type (pointer arithmetic adds an integer).
    static func looksLikeAssignment(_ node: Node) -> Bool {
        guard node.children.count == 2 else { return false }
        if node.parent?.kind == .compoundStmt { return true }
        let result = node.type.canonical.spelling
        return node.type.isPointer && node.children[0].type.canonical.spelling == result
            && node.children[1].type.canonical.spelling == result
    }

    // MARK: Guards on the paths into the loop

    struct Verdict {
        var guarded: Bool
        /// The values the divisor may hold at the loop: its last assignments on the paths into it.
        var origins: [Node] = []
        /// Checks of the divisor that do not leave the path (WARN_ON and the like).
        var nonLeavingChecks: [Node] = []
    }

    /// Walks outward from the loop, through earlier statements of each enclosing block and the
    /// conditions of enclosing branches, until something rules out a zero divisor or the function starts.
    func guardVerdict(_ shape: Shape, facts: ExpressionFacts, function: Node) -> Verdict {
        var keys: Set<String> = [ExpressionFacts.key(shape.divisor)]
        var verdict = Verdict(guarded: false)
        if shape.otherConjuncts.contains(where: { facts.whenTrueNonZero($0, keys) }) { return Verdict(guarded: true) }
        if let body = shape.loop.loopBody, guardsInside(body, keys: keys, facts: facts) { return Verdict(guarded: true) }

        var node = shape.loop
        while let parent = node.parent, node !== function {
            switch parent.kind {
            case .compoundStmt:
                for statement in parent.children[..<node.indexInParent].reversed() {
                    switch step(statement, keys: &keys, verdict: &verdict, facts: facts) {
                    case .guarded: verdict.guarded = true; return verdict
                    case .unguarded:
                        verdict.origins += assignedValues(in: statement, keys: keys)
                        collectOrigins(before: statement, keys: keys, verdict: &verdict, function: function)
                        return verdict
                    case .continue: break
                    }
                }
            case .ifStmt:
                if node === parent.thenBranch, facts.whenTrueNonZero(parent.children[0], keys) { verdict.guarded = true; return verdict }
                if node === parent.elseBranch, facts.whenFalseNonZero(parent.children[0], keys) { verdict.guarded = true; return verdict }
            case .whileStmt, .forStmt:
                if node === parent.loopBody, let condition = parent.condition, facts.whenTrueNonZero(condition, keys) {
                    verdict.guarded = true; return verdict
                }
            default:
                break
            }
            node = parent
        }
        return verdict
    }

    /// Once no guard can help, keep walking back only to learn where the divisor's value comes from.
    private func collectOrigins(before start: Node, keys: Set<String>, verdict: inout Verdict, function: Node) {
        var node = start
        while let parent = node.parent, node !== function {
            if parent.kind == .compoundStmt {
                for statement in parent.children[..<node.indexInParent].reversed() {
                    if statement.kind == .declStmt,
                       let declaration = statement.children.first(where: { $0.kind == .varDecl && keys.contains($0.declarationKey) }) {
                        if let value = declaration.children.last(where: { $0.kind.isExpression }) { verdict.origins.append(value) }
                        return
                    }
                    if let (target, value) = assignment(statement), keys.contains(ExpressionFacts.key(target)) {
                        verdict.origins.append(value)
                        return
                    }
                    verdict.origins += assignedValues(in: statement, keys: keys)
                }
            }
            node = parent
        }
    }

    /// Values stored into the divisor anywhere inside `statement`.
    private func assignedValues(in statement: Node, keys: Set<String>) -> [Node] {
        ([statement] + statement.descendants(where: { $0.kind == .binaryOperator })).compactMap { node in
            guard let (target, value) = assignment(node), keys.contains(ExpressionFacts.key(target)) else { return nil }
            return value
        }
    }

    /// `if (!d) break;` (or return/goto) inside the loop body ends it before it spins.
    private func guardsInside(_ body: Node, keys: Set<String>, facts: ExpressionFacts) -> Bool {
        body.descendants(where: { $0.kind == .ifStmt }).contains { statement in
            guard let then = statement.thenBranch else { return false }
            return facts.whenFalseNonZero(statement.children[0], keys) && facts.alwaysLeaves(then)
        }
    }

    enum Step { case guarded, unguarded, `continue` }

    /// The parts of a statement that always run when it does: not the branches of an `if`,
    /// `?:`, `&&`/`||`, nor loop bodies.
    private func alwaysEvaluated(_ statement: Node) -> [Node] {
        var result: [Node] = []
        func visit(_ node: Node) {
            result.append(node)
            switch node.kind {
            case .ifStmt, .switchStmt, .whileStmt: if let first = node.children.first { visit(first) }
            case .forStmt, .doStmt: return
            case .conditionalOperator: if let first = node.children.first { visit(first) }
            case .binaryOperator where node.operatorSpelling == "&&" || node.operatorSpelling == "||":
                if let first = node.children.first { visit(first) }
            default: node.children.forEach(visit)
            }
        }
        visit(statement)
        return result
    }

    /// Whether the statement divides by the divisor on every run (`x / d`, `x % d`, `do_div(x, d)`,
    /// `DIV_ROUND_UP(x, d)`): a zero divisor traps there first.
    private func dividesBy(_ statement: Node, keys: Set<String>, context: FileContext) -> Bool {
        let nodes = alwaysEvaluated(statement)
        for node in nodes where node.children.count == 2 {
            if (node.kind == .binaryOperator && (node.operatorSpelling == "/" || node.operatorSpelling == "%"))
                || (node.kind == .compoundAssignOperator && (node.operatorSpelling == "/=" || node.operatorSpelling == "%=")),
               keys.contains(ExpressionFacts.key(node.children[1])) { return true }
        }
        for call in nodes where call.kind == .callExpr {
            if let name = call.calleeName, let index = divisionFunctions[name], index < call.arguments.count,
               keys.contains(ExpressionFacts.key(call.arguments[index])) { return true }
        }
        // Division macros: the expression written as their divisor argument, found in the expansion.
        let extent = statement.cursor.extent
        for use in context.macroUses(inFile: extent.start.file) where use.range.start.offset >= extent.start.offset
            && use.range.end.offset <= extent.end.offset {
            guard let index = divisionFunctions[use.name] else { continue }
            let arguments = context.macroArguments(use)
            guard index < arguments.count, let first = arguments[index].first, let last = arguments[index].last else { continue }
            let inArgument = nodes.filter { node in
                let at = node.cursor.position
                return node.kind.isExpression && at.file == first.position.file
                    && at.offset >= first.position.offset && at.offset <= last.position.offset
            }
            if inArgument.contains(where: { keys.contains(ExpressionFacts.key($0)) }) { return true }
        }
        return false
    }

    /// What one earlier statement tells about the divisor, looking backwards from the loop.
    private func step(_ statement: Node, keys: inout Set<String>, verdict: inout Verdict, facts: ExpressionFacts) -> Step {
        if statement.kind != .compoundStmt, dividesBy(statement, keys: keys, context: facts.context) { return .guarded }
        switch statement.kind {
        case .ifStmt:
            let condition = statement.children[0]
            if let then = statement.thenBranch, facts.whenFalseNonZero(condition, keys) {
                if facts.alwaysLeaves(then) { return .guarded }
                // `if (!d) d = 1;`: the branch repairs the divisor.
                if let last = unconditionalStatements(then).last, let (target, value) = assignment(last),
                   keys.contains(ExpressionFacts.key(target)), facts.isNonZero(value, lowerBoundMacros: lowerBoundMacros) {
                    return .guarded
                }
            }
            if let otherwise = statement.elseBranch, facts.whenTrueNonZero(condition, keys), facts.alwaysLeaves(otherwise) {
                return .guarded
            }
            if mentions(condition, keys) { verdict.nonLeavingChecks.append(statement) }
            return assignsDivisor(statement, keys: keys, facts: facts) ? .unguarded : .continue
        case .doStmt where (statement.condition?.integerValue ?? 1) == 0, .compoundStmt:
            // `do { ... } while (0)` from macros such as BUG_ON(), or a nested block.
            let block = statement.kind == .doStmt ? statement.loopBody : statement
            for inner in (block.map(unconditionalStatements) ?? []).reversed() {
                let result = step(inner, keys: &keys, verdict: &verdict, facts: facts)
                if case .continue = result { continue }
                return result
            }
            return .continue
        case .declStmt:
            for declaration in statement.children.reversed() where declaration.kind == .varDecl && keys.contains(declaration.declarationKey) {
                guard let initializer = declaration.children.last(where: { $0.kind.isExpression }) else { return .unguarded }
                return redefine(with: initializer, keys: &keys, verdict: &verdict, facts: facts)
            }
            return .continue
        default:
            if let (target, value) = assignment(statement), keys.contains(ExpressionFacts.key(target)) {
                return redefine(with: value, keys: &keys, verdict: &verdict, facts: facts)
            }
            if statement.kind.isExpression, mentions(statement, keys), isWarningMacro(statement, facts: facts) {
                verdict.nonLeavingChecks.append(statement)
            }
            return assignsDivisor(statement, keys: keys, facts: facts) ? .unguarded : .continue
        }
    }

    private func redefine(with value: Node, keys: inout Set<String>, verdict: inout Verdict, facts: ExpressionFacts) -> Step {
        if facts.isNonZero(value, lowerBoundMacros: lowerBoundMacros) { return .guarded }
        keys = [ExpressionFacts.key(value)]
        if verdict.origins.isEmpty { verdict.origins.append(value) }
        return .continue
    }

    /// `a = b` as (a, b).
    private func assignment(_ node: Node) -> (Node, Node)? {
        let s = node.strippingParensAndCasts
        guard s.kind == .binaryOperator, s.operatorSpelling == "=", s.children.count == 2 else { return nil }
        return (s.children[0], s.children[1])
    }

    /// Whether a statement may change the divisor on some path (then the guards before it do not hold).
    private func assignsDivisor(_ statement: Node, keys: Set<String>, facts: ExpressionFacts) -> Bool {
        for node in [statement] + statement.descendants(where: { $0.kind == .binaryOperator || $0.kind == .compoundAssignOperator || $0.kind == .unaryOperator }) {
            let s = node.strippingParensAndCasts
            switch (s.kind, s.operatorSpelling) {
            case (.binaryOperator, "="):
                if keys.contains(ExpressionFacts.key(s.children[0])), !facts.isNonZero(s.children[1], lowerBoundMacros: lowerBoundMacros) { return true }
            case (.compoundAssignOperator, _):
                if keys.contains(ExpressionFacts.key(s.children[0])) { return true }
            case (.unaryOperator, let op?) where op == "&" || op.contains("--") || op.contains("++"):
                // Address taken (a callee may store through it) or stepped.
                if let operand = s.children.first, keys.contains(ExpressionFacts.key(operand)) { return true }
            default:
                break
            }
        }
        return false
    }

    private func mentions(_ node: Node, _ keys: Set<String>) -> Bool {
        ([node] + node.descendants()).contains { $0.kind.isExpression && keys.contains(ExpressionFacts.key($0)) }
    }

    private func isWarningMacro(_ node: Node, facts: ExpressionFacts) -> Bool {
        facts.context.macroUses(covering: node.position).contains { $0.name.contains("WARN") }
    }
}
