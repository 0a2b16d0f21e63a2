import ClangKit

/// Small, rule-independent questions about expressions and statements, answered on the AST.
public struct ExpressionFacts {
    public let context: FileContext
    /// Functions that never return (after macro expansion: BUG() ends in __builtin_unreachable).
    public let noreturnFunctions: Set<String>

    public init(context: FileContext, noreturnFunctions: Set<String>) {
        self.context = context
        self.noreturnFunctions = noreturnFunctions
    }

    /// A comparable identity for an expression, blind to parentheses, casts and spacing.
    public static func key(_ node: Node) -> String {
        node.strippingParensAndCasts.structuralKey
    }

    /// Removes what does not change a condition's truth: parentheses, casts, `__builtin_expect`
    /// (likely/unlikely) and double negation.
    public static func unwrapCondition(_ node: Node) -> Node {
        var current = node.strippingParensAndCasts
        while true {
            if current.kind == .callExpr, current.calleeName == "__builtin_expect", let first = current.arguments.first {
                current = first.strippingParensAndCasts
                continue
            }
            if current.kind == .unaryOperator, let inner = current.children.first?.strippingParensAndCasts,
               inner.kind == .unaryOperator, let innermost = inner.children.first,
               (current.operatorSpelling == "!" && inner.operatorSpelling == "!") || current.isMacroDoubleNegation {
                current = innermost.strippingParensAndCasts
                continue
            }
            // WARN_ON(x) and friends: `({ int __ret = !!(x); if (unlikely(__ret)) __WARN(); unlikely(__ret); })`.
            if current.kind == .stmtExpr, let value = statementExpressionValue(current) {
                current = value
                continue
            }
            return current
        }
    }

    /// For `({ T v = init; ...; v; })`: the initializer of the variable the statement expression yields.
    public static func statementExpressionValue(_ node: Node) -> Node? {
        guard let body = node.children.first, body.kind == .compoundStmt, let last = body.children.last else { return nil }
        let result = unwrapCondition(last)
        guard result.kind == .declRefExpr, let variable = result.referenced, variable.kind == .varDecl else {
            return result.kind.isExpression && result.kind != .declRefExpr ? result : nil
        }
        for statement in body.children where statement.kind == .declStmt {
            for declaration in statement.children where declaration.kind == .varDecl && declaration.cursor == variable {
                return declaration.children.last(where: { $0.kind.isExpression })
            }
        }
        return nil
    }

    /// The pair (expression, constant) of a comparison against an integer constant, normalised so
    /// the expression is on the left: `0 == d` gives (d, "==", 0), `1 > d` gives (d, "<", 1).
    public static func comparisonWithConstant(_ node: Node) -> (expression: Node, op: String, constant: Int64)? {
        guard node.kind == .binaryOperator, node.children.count == 2, let op = node.operatorSpelling else { return nil }
        let mirrored = ["==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="]
        guard let flipped = mirrored[op] else { return nil }
        let left = node.children[0], right = node.children[1]
        if let value = right.integerValue, left.integerValue == nil { return (left, op, value) }
        if let value = left.integerValue, right.integerValue == nil { return (right, flipped, value) }
        return nil
    }

    /// Whenever `condition` is true, the expression named by `keys` is nonzero.
    public func whenTrueNonZero(_ condition: Node, _ keys: Set<String>) -> Bool {
        let c = ExpressionFacts.unwrapCondition(condition)
        if keys.contains(ExpressionFacts.key(c)) { return true }
        switch (c.kind, c.operatorSpelling) {
        case (.unaryOperator, "!"):
            return c.children.first.map { whenFalseNonZero($0, keys) } ?? false
        case (.binaryOperator, "&&"):
            return whenTrueNonZero(c.children[0], keys) || whenTrueNonZero(c.children[1], keys)
        case (.binaryOperator, "||"):
            return whenTrueNonZero(c.children[0], keys) && whenTrueNonZero(c.children[1], keys)
        default:
            guard let (expression, op, value) = ExpressionFacts.comparisonWithConstant(c),
                  keys.contains(ExpressionFacts.key(expression)) else { return false }
            switch op {
            case "==": return value != 0
            case "!=": return value == 0
            case ">": return value >= 0
            case ">=": return value >= 1
            default: return false
            }
        }
    }

    /// Whenever `condition` is false, the expression named by `keys` is nonzero.
    public func whenFalseNonZero(_ condition: Node, _ keys: Set<String>) -> Bool {
        let c = ExpressionFacts.unwrapCondition(condition)
        switch (c.kind, c.operatorSpelling) {
        case (.unaryOperator, "!"):
            return c.children.first.map { whenTrueNonZero($0, keys) } ?? false
        case (.binaryOperator, "&&"):
            return whenFalseNonZero(c.children[0], keys) && whenFalseNonZero(c.children[1], keys)
        case (.binaryOperator, "||"):
            return whenFalseNonZero(c.children[0], keys) || whenFalseNonZero(c.children[1], keys)
        default:
            guard let (expression, op, value) = ExpressionFacts.comparisonWithConstant(c),
                  keys.contains(ExpressionFacts.key(expression)) else { return false }
            switch op {
            case "==": return value == 0
            case "<": return value == 1 || (value <= 1 && expression.type.isUnsignedInteger)
            case "<=": return value == 0 || (value <= 0 && expression.type.isUnsignedInteger)
            default: return false
            }
        }
    }

    /// Whether control never flows past `statement` (return, goto, break, continue, a noreturn call,
    /// an endless loop, or a block/branches that all do).
    public func alwaysLeaves(_ statement: Node) -> Bool {
        switch statement.kind {
        case .returnStmt, .gotoStmt, .indirectGotoStmt, .breakStmt, .continueStmt:
            return true
        case .compoundStmt:
            return statement.children.contains(where: alwaysLeaves)
        case .ifStmt:
            guard let then = statement.thenBranch, let otherwise = statement.elseBranch else { return false }
            return alwaysLeaves(then) && alwaysLeaves(otherwise)
        case .doStmt:
            if let body = statement.loopBody, alwaysLeaves(body) { return true }
            return isEndless(statement)
        case .whileStmt, .forStmt:
            return isEndless(statement)
        case .callExpr:
            return statement.calleeName.map(noreturnFunctions.contains) ?? false
        case .unexposedExpr, .parenExpr, .cStyleCastExpr:
            let inner = statement.strippingParensAndCasts
            return inner !== statement && alwaysLeaves(inner)
        case .labelStmt, .caseStmt, .defaultStmt:
            return statement.children.last.map(alwaysLeaves) ?? false
        default:
            return false
        }
    }

    /// `for (;;)`, `while (1)`, `do {} while (1)` without a break out of them.
    public func isEndless(_ loop: Node) -> Bool {
        let conditionTrue: Bool
        if let condition = loop.condition { conditionTrue = (condition.integerValue ?? 0) != 0 } else { conditionTrue = loop.kind == .forStmt }
        guard conditionTrue, let body = loop.loopBody else { return false }
        return !containsBreak(outOf: body)
    }

    private func containsBreak(outOf node: Node) -> Bool {
        for child in node.children {
            if child.kind == .breakStmt || child.kind == .returnStmt || child.kind == .gotoStmt { return true }
            if child.kind.isLoop || child.kind == .switchStmt {
                // A break inside a nested loop or switch leaves only that one; returns still count.
                if child.descendants(where: { $0.kind == .returnStmt || $0.kind == .gotoStmt }).isEmpty == false { return true }
                continue
            }
            if containsBreak(outOf: child) { return true }
        }
        return false
    }

    /// Whether `value` can never be zero: a nonzero constant, `x | c`, `c << n`, both arms of `?:`, or a
    /// lower-bounding macro such as `max(x, 1)` / `clamp(x, 1, n)` (from the rule's list).
    public func isNonZero(_ value: Node, lowerBoundMacros: [String: Int?]) -> Bool {
        if let constant = value.integerValue { return constant != 0 }
        if let use = context.macroUse(producing: value) ?? context.macroUses(covering: value.position).first(where: { $0.range.start.offset == value.position.offset }),
           let argumentIndex = lowerBoundMacros[use.name] {
            let arguments = context.macroArguments(use)
            let bounds: [[Token]]
            if let index = argumentIndex { bounds = index < arguments.count ? [arguments[index]] : [] } else { bounds = arguments }
            if bounds.contains(where: { isPositiveLiteral($0) }) { return true }
        }
        let stripped = value.strippingParensAndCasts
        switch (stripped.kind, stripped.operatorSpelling) {
        case (.binaryOperator, "|"):
            return stripped.children.contains { ($0.integerValue ?? 0) != 0 }
        case (.binaryOperator, "<<"):
            // A nonzero constant shifted left (`BIT(n)`, `NSEC_PER_SEC << shift`); shifting out
            // every bit is undefined or a different bug.
            return stripped.children.count == 2 && isNonZero(stripped.children[0], lowerBoundMacros: lowerBoundMacros)
        case (.conditionalOperator, _):
            let arms = stripped.children.suffix(2)
            return arms.count == 2 && arms.allSatisfy { isNonZero($0, lowerBoundMacros: lowerBoundMacros) }
        default:
            return stripped !== value && isNonZero(stripped, lowerBoundMacros: lowerBoundMacros)
        }
    }

    private func isPositiveLiteral(_ tokens: [Token]) -> Bool {
        guard tokens.count == 1, tokens[0].kind == .literal else { return false }
        var text = tokens[0].text.lowercased()
        while let last = text.last, "ul".contains(last) { text.removeLast() }
        if text.hasPrefix("0x") { return (UInt64(text.dropFirst(2), radix: 16) ?? 0) > 0 }
        return (UInt64(text) ?? 0) > 0
    }

    /// The operand a store writes: `a = b`, `a op= b`, `a++`, `--a` (nil for anything else).
    public static func storeTarget(_ node: Node) -> Node? {
        switch (node.kind, node.operatorSpelling) {
        case (.binaryOperator, "="), (.compoundAssignOperator, _): return node.children.count == 2 ? node.children[0] : nil
        case (.unaryOperator, let op?) where op.contains("++") || op.contains("--"): return node.children.first
        default: return nil
        }
    }

    /// Every store in `statement` and below it.
    public static func stores(in statement: Node) -> [Node] {
        ([statement] + statement.descendants(where: { $0.kind == .binaryOperator || $0.kind == .compoundAssignOperator || $0.kind == .unaryOperator }))
            .filter { storeTarget($0) != nil || ($0.kind == .binaryOperator && $0.operatorSpelling == nil) }
    }

    /// The struct field an expression reads or writes, as "record.field", looking through
    /// READ_ONCE/WRITE_ONCE-style `*(volatile T *)&(x)`.
    public static func fieldKey(_ node: Node) -> String? {
        var current = node.strippingParensAndCasts
        while current.kind == .unaryOperator, let op = current.operatorSpelling, op == "*" || op == "&",
              let inner = current.children.first {
            current = inner.strippingParensAndCasts
        }
        guard current.kind == .memberRefExpr, let field = current.referenced, field.kind == .fieldDecl,
              let record = field.recordName else { return nil }
        return (record.isEmpty ? "(anonymous)" : record) + "." + field.spelling
    }
}
