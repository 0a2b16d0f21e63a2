import CClang
/// A function body (or any subtree) as a tree with parent links, so rules can walk outward from a
/// statement to the guards that dominate it. Built from libclang cursors; nodes keep their cursor
/// for the questions only libclang can answer (types, constant values, referenced declarations).
public final class Node {
    public let cursor: Cursor
    public private(set) var children: [Node] = []
    /// Unowned, not weak: a weak reference moves every parent's reference count into a side
    /// table, which made each retain and release of a node several times slower. A parent
    /// outlives its children while its tree is used (the root holds them all).
    public private(set) unowned var parent: Node?
    public let kind: CursorKind
    public let unit: TranslationUnit
    /// Position in the parent's children.
    public private(set) var indexInParent: Int = 0
    /// The tree's root (itself for a root): it keeps every node of the tree in depth-first order.
    private unowned var root: Node?
    /// Every node below the root, depth first in source order (set on the root only): a node's
    /// descendants are the run `preorderIndex + 1 ..< subtreeEnd` of it, read without a stack.
    private var preorder: [Node] = []
    /// This node's place in its root's `preorder` (the root: -1), and the place after its last descendant.
    private var preorderIndex: Int32 = -1
    private var subtreeEnd: Int32 = 0

    init(cursor: Cursor, unit: TranslationUnit, parent: Node?) {
        self.cursor = cursor
        self.kind = cursor.kind
        self.unit = unit
        self.parent = parent
    }

    /// How deep a tree is built. Real kernel code stays far below; deeper code is machine-made
    /// (10,000 chained operators), and walking it would cost time and stack for nothing.
    public static let maximumDepth = 1000

    /// On a root: where its tree was cut at `maximumDepth` (nil when whole). A cut tree is
    /// missing code, so a rule must not judge it.
    public private(set) var tooDeepAt: SourcePosition?

    /// Builds the tree under `cursor`, at most `maximumDepth` levels deep.
    ///
    /// One libclang visit of the whole subtree: it calls back for every cursor, depth first in
    /// source order, with the cursor's parent. A visit per node (asking each node for its
    /// children) set libclang's visitor up again for every node of every function.
    public static func tree(of cursor: Cursor, in unit: TranslationUnit) -> Node {
        var building = TreeBuilding(root: Node(cursor: cursor, unit: unit, parent: nil))
        building.root.root = building.root
        withUnsafeMutablePointer(to: &building) { pointer in
            _ = clang_visitChildren(cursor.raw, { child, parent, data in
                data!.assumingMemoryBound(to: TreeBuilding.self).pointee.visit(child, parent: parent)
            }, pointer)
        }
        let root = building.root, preorder = building.preorder
        // Children come after their parent: the last child's end is the parent's.
        for node in preorder.reversed() {
            node.subtreeEnd = node.children.last?.subtreeEnd ?? node.preorderIndex + 1
        }
        root.subtreeEnd = root.children.last?.subtreeEnd ?? 0
        root.preorder = preorder
        return root
    }

    /// The state of `tree(of:in:)`'s visit: the path from the root to the last node added.
    private struct TreeBuilding {
        let root: Node
        var path: [Node]
        var preorder: [Node] = []

        init(root: Node) {
            self.root = root
            path = [root]
        }

        mutating func visit(_ child: CXCursor, parent: CXCursor) -> CXChildVisitResult {
            // The parent is on the path: the last node added, or one of its ancestors once the
            // visit has left that node's subtree.
            while path.count > 1, clang_equalCursors(path[path.count - 1].cursor.raw, parent) == 0 { path.removeLast() }
            let node = path[path.count - 1]
            // A case label's constant comes twice (its wrapper, then the expression, as one cursor):
            // the expression's children are its wrapper's.
            if clang_equalCursors(node.cursor.raw, child) != 0 { return CXChildVisit_Recurse }
            if path.count - 1 == maximumDepth {
                if root.tooDeepAt == nil { root.tooDeepAt = node.position }
                return CXChildVisit_Continue
            }
            let kid = Node(cursor: Cursor(child), unit: node.unit, parent: node)
            kid.indexInParent = node.children.count
            kid.root = root
            kid.preorderIndex = Int32(preorder.count)
            preorder.append(kid)
            node.children.append(kid)
            path.append(kid)
            return CXChildVisit_Recurse
        }
    }

    public var spelling: String { cursor.spelling }
    /// Kept: rules ask for most nodes' positions, several times.
    public private(set) lazy var position: SourcePosition = cursor.expansionPosition
    public var type: TypeInfo { cursor.type }
    public var referenced: Cursor? { cursor.referenced }
    public var integerValue: Int64? { cursor.integerValue }
    /// The node's code as written in the file (a macro use appears as its invocation).
    public lazy var sourceText: String = Node.join(sourceTokens().map(\.text))

    /// The node's tokens as written in the file (for code a macro body produced: the macro use).
    public var writtenTokens: [Token] { sourceTokens() }

    /// The tokens of the node as written. Code that a macro body produced is shown as the macro use
    /// (its name and arguments), since its own tokens live in the macro definition.
    private func sourceTokens() -> [Token] {
        let extent = cursor.extent, at = beginPosition
        // Code from a macro argument, or plain code: the extent starts where the node starts.
        if extent.start.file == extent.end.file, extent.start.file == at.file,
           extent.start.offset == at.offset, at.offset <= extent.end.offset {
            return unit.tokens(in: extent)
        }
        let following = unit.tokens(in: SourceRange(start: at, end: SourcePosition(file: at.file, line: at.line, column: at.column, offset: at.offset + 400)))
            .filter { $0.position.offset >= at.offset }
        guard let first = following.first else { return [] }
        guard following.count > 1, first.kind == .identifier, following[1].text == "(" else { return [first] }
        var depth = 0
        for (index, token) in following.enumerated().dropFirst() {
            if token.text == "(" { depth += 1 } else if token.text == ")" {
                depth -= 1
                if depth == 0 { return Array(following[...index]) }
            }
        }
        return [first]
    }

    /// For a variable declaration: the key its uses (`declRefExpr`) have.
    public var declarationKey: String { spelling + "@" + String(cursor.expansionPosition.offset) }

    /// An identity for comparing expressions: the same variable, field path, call or operator tree
    /// gives the same key, whatever the spacing, parentheses or implicit conversions.
    public lazy var structuralKey: String = computeKey()

    private func computeKey() -> String {
        switch kind {
        case .parenExpr, .unexposedExpr, .cStyleCastExpr:
            if let inner = children.last(where: { $0.kind.isExpression }) { return inner.structuralKey }
            return spelling
        case .declRefExpr:
            if let target = referenced { return target.kind == .enumConstantDecl ? "#\(integerValue ?? 0)" : target.spelling + "@" + String(target.expansionPosition.offset) }
            return spelling
        case .memberRefExpr:
            let base = children.first(where: { $0.kind.isExpression })?.structuralKey ?? ""
            return base + "." + spelling
        case .integerLiteral, .characterLiteral:
            return "#" + String(integerValue ?? 0)
        case .binaryOperator, .compoundAssignOperator:
            return "(" + children.map(\.structuralKey).joined(separator: " " + (operatorSpelling ?? "?") + " ") + ")"
        case .unaryOperator:
            return (operatorSpelling ?? "?") + (children.first?.structuralKey ?? "")
        case .callExpr:
            return (calleeName ?? "?") + "(" + arguments.map(\.structuralKey).joined(separator: ",") + ")"
        default:
            if let value = kind.isExpression ? integerValue : nil { return "#\(value)" }
            return "\(kind)(" + children.map(\.structuralKey).joined(separator: ",") + ")"
        }
    }

    private static func join(_ tokens: [String]) -> String {
        var text = ""
        let noSpaceBefore: Set<String> = [")", "]", ",", ";", "->", ".", "++", "--"]
        let noSpaceAfter: Set<String> = ["(", "[", "->", ".", "!", "~"]
        var previous = ""
        for token in tokens {
            if !text.isEmpty && !noSpaceBefore.contains(token) && !noSpaceAfter.contains(previous) && !(token == "(" && previous.first.map { $0.isLetter || $0 == "_" } == true) {
                text += " "
            }
            text += token
            previous = token
        }
        return text
    }

    public var previousSiblings: ArraySlice<Node> {
        guard let parent else { return [] }
        return parent.children[..<indexInParent]
    }

    /// All nodes below this one, depth first, in source order.
    /// Read off the root's depth-first list: rules call this for most statements they reduce,
    /// and a walk with a stack of its own retained and released every node twice.
    public func descendants(where predicate: (Node) -> Bool = { _ in true }) -> [Node] {
        var result: [Node] = []
        guard let root else { return result }
        let start = Int(preorderIndex) + 1, end = Int(subtreeEnd)
        guard start < end else { return result }
        root.preorder.withUnsafeBufferPointer { nodes in
            for index in start..<end where predicate(nodes[index]) { result.append(nodes[index]) }
        }
        return result
    }

    public func isAncestor(of other: Node) -> Bool {
        var current = other.parent
        while let node = current {
            if node === self { return true }
            current = node.parent
        }
        return false
    }

    public var ancestors: [Node] {
        var result: [Node] = []
        var current = parent
        while let node = current { result.append(node); current = node.parent }
        return result
    }

    // MARK: Operators

    /// The operator of a unary, binary or compound-assignment expression ("-=", ">=", "!", ...).
    public lazy var operatorSpelling: String? = computeOperator()

    private func computeOperator() -> String? {
        switch kind {
        case .binaryOperator, .compoundAssignOperator:
            guard children.count == 2 else { return nil }
            return binaryOperatorFromTokens()
        case .unaryOperator:
            return unaryOperatorFromTokens()
        default:
            return nil
        }
    }

    private static let operatorCharacters = Set("+-*/%<>=!&|^~?:")

    /// Where the node's first token is spelled (a member access's location is its member name, so
    /// look at its base; implicit conversions report their operand's).
    public var beginPosition: SourcePosition {
        if (kind == .memberRefExpr || kind == .unexposedExpr || kind == .arraySubscriptExpr || kind == .callExpr),
           let first = children.first(where: { $0.kind.isExpression }) {
            return first.beginPosition
        }
        return cursor.position
    }

    public var beginSpelling: SourcePosition {
        if (kind == .memberRefExpr || kind == .unexposedExpr || kind == .arraySubscriptExpr || kind == .callExpr),
           let first = children.first(where: { $0.kind.isExpression }) {
            return first.beginSpelling
        }
        return cursor.spellingPosition
    }

    /// The operator is the last token before the right operand other than its opening parentheses,
    /// read where the code is spelled (inside the macro definition for macro-produced code).
    private func binaryOperatorFromTokens() -> String? {
        let lhs = children[0].beginSpelling, rhs = children[1].beginSpelling
        guard lhs.file == rhs.file, !lhs.file.isEmpty, lhs.offset < rhs.offset else { return nil }
        let between = unit.tokens(inFile: lhs.file, from: lhs.offset, before: rhs.offset)
        guard let op = between.last(where: { $0.kind == .punctuation && $0.text != ")" && $0.text != "(" }),
              op.text.allSatisfy({ Node.operatorCharacters.contains($0) }) else { return nil }
        return op.text
    }

    /// From the tokens where the node is written; for code produced by a macro body (whose tokens
    /// libclang does not expose) only `*` and `&` can be told, from the operand and result types.
    private func unaryOperatorFromTokens() -> String? {
        guard let operand = children.first else { return nil }
        let tokens = unit.tokens(of: cursor)
        let at = cursor.position
        if let first = tokens.first, first.position.offset == at.offset, first.kind == .punctuation || first.text == "__extension__" {
            return first.text
        }
        if let last = tokens.last, last.text == "++" || last.text == "--",
           operand.cursor.extent.end.offset <= last.position.offset { return "post" + last.text }
        let operandType = operand.type.canonical, resultType = type.canonical
        if operandType.isPointer, operandType.pointee.canonical.spelling == resultType.spelling { return "*" }
        if resultType.isPointer, resultType.pointee.canonical.spelling == operandType.spelling { return "&" }
        return nil
    }

    /// `!!x` written inside a macro body (likely(), unlikely(), WARN_ON()): two nested unary
    /// operators yielding int whose spelling libclang cannot show. Nothing else in kernel macros
    /// nests two int-valued unary operators.
    public var isMacroDoubleNegation: Bool {
        guard kind == .unaryOperator, operatorSpelling == nil, type.canonical.spelling == "int",
              let inner = children.first?.strippingParensAndCasts, inner.kind == .unaryOperator,
              inner.operatorSpelling == nil || inner.operatorSpelling == "!", inner.type.canonical.spelling == "int" else { return false }
        return true
    }

    // MARK: Statement structure

    /// The parts of a `for` statement. libclang omits empty parts from the children, so the
    /// semicolons of the header decide which child is which.
    public struct ForParts {
        public let initializer: Node?, condition: Node?, increment: Node?, body: Node?
    }

    public lazy var forParts: ForParts? = computeForParts()

    private func computeForParts() -> ForParts? {
        guard kind == .forStmt, let body = children.last else { return nil }
        let header = Array(children.dropLast())
        if header.count == 3 { return ForParts(initializer: header[0], condition: header[1], increment: header[2], body: body) }
        if header.isEmpty { return ForParts(initializer: nil, condition: nil, increment: nil, body: body) }
        let tokens = unit.tokens(of: cursor)
        guard tokens.first?.text == "for" else { return nil }  // a macro-generated for: header unknown
        var depth = 0
        var semicolons: [Int] = []
        for token in tokens.dropFirst() {
            if token.text == "(" { depth += 1 } else if token.text == ")" {
                depth -= 1
                if depth == 0 { break }
            } else if token.text == ";" && depth == 1 { semicolons.append(token.position.offset) }
        }
        guard semicolons.count == 2 else { return nil }
        var initializer: Node?, condition: Node?, increment: Node?
        for part in header {
            let start = part.cursor.extent.start.offset
            if start < semicolons[0] { initializer = part } else if start < semicolons[1] { condition = part } else { increment = part }
        }
        return ForParts(initializer: initializer, condition: condition, increment: increment, body: body)
    }

    /// Condition of an if/while/do/for/switch statement.
    public var condition: Node? {
        switch kind {
        case .ifStmt, .whileStmt, .switchStmt: return children.first
        case .doStmt: return children.count == 2 ? children[1] : nil
        case .forStmt: return forParts?.condition
        default: return nil
        }
    }

    /// Body of a loop or switch.
    public var loopBody: Node? {
        switch kind {
        case .whileStmt, .switchStmt: return children.count >= 2 ? children[1] : nil
        case .doStmt: return children.first
        case .forStmt: return forParts?.body
        default: return nil
        }
    }

    public var thenBranch: Node? { kind == .ifStmt && children.count >= 2 ? children[1] : nil }
    public var elseBranch: Node? { kind == .ifStmt && children.count >= 3 ? children[2] : nil }

    /// Strips parentheses, implicit conversions and casts.
    public var strippingParensAndCasts: Node {
        var node = self
        while true {
            switch node.kind {
            case .parenExpr, .unexposedExpr, .cStyleCastExpr:
                guard let inner = node.children.last, inner.kind.isExpression else { return node }
                node = inner
            default:
                return node
            }
        }
    }

    /// Name of the called function for a call expression ("" for calls through pointers).
    public var calleeName: String? {
        guard kind == .callExpr else { return nil }
        if let callee = cursor.referenced, callee.kind == .functionDecl { return callee.spelling }
        return spelling.isEmpty ? nil : spelling
    }

    /// Arguments of a call expression.
    public var arguments: [Node] {
        guard kind == .callExpr, !children.isEmpty else { return [] }
        return Array(children.dropFirst())
    }
}
