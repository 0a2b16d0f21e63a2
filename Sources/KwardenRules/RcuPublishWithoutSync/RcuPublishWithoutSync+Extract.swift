import Foundation
import ClangKit
import RuleKit

/// Per file, from the AST: publishes, calls up from publishers, function-pointer bindings, gate readers.
extension RcuPublishWithoutSync {
    public func extract(_ context: FileContext, _ request: ExtractRequest<Question>) -> [Summary] {
        var requestedFields: Set<String> = [], requestedCallees: Set<String> = [], requestedPointerFields: Set<String> = []
        for question in request.questions {
            switch question {
            case .field(let key): requestedFields.insert(key)
            case .callee(let function): requestedCallees.insert(function)
            case .pointerField(let key): requestedPointerFields.insert(Self.indirectPrefix + key)
            }
        }
        let firstPass = request.pass == 1
        let expressions = ExpressionFacts(context: context, noreturnFunctions: noreturnFunctions)
        var result: [Summary] = []

        // Publishes in this file.
        var publishers: Set<String> = []
        var publishedFields: Set<String> = []
        // Most files publish nothing: their functions are not walked for it.
        let publishUses = context.macroUses.filter { publishMacros.contains($0.name) }
        for function in publishUses.isEmpty ? [] : context.functions {
            guard let body = function.body else { continue }
            for use in publishUses where function.declaration.cursor.extent.contains(use.range.start) {
                let arguments = context.macroArguments(use)
                guard arguments.count == 2, !isNullTokens(arguments[1]),
                      let field = field(of: use, arguments: arguments, in: body, context: context),
                      let anchor = statement(producedBy: use, in: body) else { continue }
                let waited = waitFollows(anchor, in: function, facts: expressions)
                let target = arguments[0].map(\.text).joined()
                result.append(Summary(kind: .publish, key: field, file: context.path, line: use.range.start.line, function: function.name,
                                      publish: Publish(target: target, waited: waited, isStatic: function.declaration.cursor.isStatic)))
                publishedFields.insert(field)
                if !waited { publishers.insert(function.name) }
            }
        }

        // Calls up the chains: to this file's publishers (and functions that reach them without a
        // wait), and to the callees other passes asked about. A call through a function-pointer
        // field (`dev->ops->setup(dev)`) is a call to every function stored in that field.
        var reaching = publishers.union(requestedCallees).union(requestedPointerFields)
        var calls: [(function: FunctionDefinition, call: Node, callee: String, direct: Cursor?)] = []
        // Nothing to reach (no publisher here, no callee asked about): no call or binding can
        // be reported, so none is collected.
        for function in reaching.isEmpty ? [] : context.functions {
            guard let body = function.body else { continue }
            for call in body.descendants(where: { $0.kind == .callExpr }) {
                if let callee = call.referenced, callee.kind == .functionDecl {
                    calls.append((function, call, callee.spelling, callee))
                } else if let field = Self.pointerField(calledBy: call) {
                    calls.append((function, call, Self.indirectPrefix + field, nil))
                }
            }
        }
        let bindings = reaching.isEmpty ? [] : functionPointerBindings(in: context)
        var waitedCache: [ObjectIdentifier: Bool] = [:]
        func waited(_ call: Node, _ function: FunctionDefinition) -> Bool {
            if let known = waitedCache[ObjectIdentifier(call)] { return known }
            let value = waitFollows(call, in: function, facts: expressions)
            waitedCache[ObjectIdentifier(call)] = value
            return value
        }
        var grew = true
        while grew {
            grew = false
            for (function, call, callee, _) in calls where reaching.contains(callee) && !reaching.contains(function.name) {
                if !waited(call, function) { reaching.insert(function.name); grew = true }
            }
            for binding in bindings where reaching.contains(binding.function) && !reaching.contains(Self.indirectPrefix + binding.field) {
                reaching.insert(Self.indirectPrefix + binding.field); grew = true
            }
        }
        for (function, call, callee, direct) in calls where reaching.contains(callee) {
            let definition = direct?.definition
            let detail = Call(waited: waited(call, function), isStatic: function.declaration.cursor.isStatic,
                              calleeStatic: direct.map { (definition ?? $0).isStatic } ?? false,
                              calleeFile: definition?.expansionPosition.file ?? "")
            result.append(Summary(kind: .call, key: callee, file: context.path, line: call.position.line,
                                  function: function.name, call: detail))
        }
        for binding in bindings where reaching.contains(binding.function) {
            result.append(Summary(kind: .bind, key: binding.function, file: context.path, line: binding.line,
                                  function: binding.function, field: binding.field))
        }

        // Gate readers: in this file's functions, and in header helpers that mention the fields.
        let wantedFields = firstPass ? publishedFields : requestedFields
        let names = Set(wantedFields.compactMap { $0.split(separator: ".").last.map(String.init) })
        let readers = GateReaderIndex(context: context, readMacros: readMacros)
        func gateSummaries(_ function: FunctionDefinition) -> [Summary] {
            guard let body = function.body else { return [] }
            return gates(in: body, context: context, facts: expressions, readers: readers).map {
                Summary(kind: .gate, key: $0.field, file: $0.node.position.file, line: $0.node.position.line, function: function.name, gate: $0.gate)
            }
        }
        var gateFacts = context.functions.flatMap(gateSummaries)
        if !names.isEmpty {
            // Only a header function that mentions a read macro, or calls a function that does,
            // can test a field through one. A shared header's functions read alike in every file
            // parsed with those headers, but for the helpers their conditions call, which a file
            // could define.
            let reading = readMacros.union(context.functionNames(mentioning: readMacros))
            gateFacts += context.sharedHeaderFacts(mentioning: names, alsoMentioning: reading, key: id + "|gates|" + listsIdentity) { definition in
                (gateSummaries(definition), Self.conditionCallees(of: definition), false)
            }.joined()
            gateFacts += context.unsharedHeaderFunctions(mentioning: names, alsoMentioning: reading).flatMap(gateSummaries)
        }
        return result + gateFacts.filter { firstPass || wantedFields.contains($0.key) }
    }

    /// The functions called in the conditions of a function's `if` statements: a condition's
    /// helper is read from its definition.
    static func conditionCallees(of function: FunctionDefinition) -> Set<String> {
        guard let body = function.body else { return [] }
        var callees: Set<String> = []
        for statement in body.descendants(where: { $0.kind == .ifStmt }) {
            let condition = statement.children[0]
            for call in [condition] + condition.descendants(where: { $0.kind == .callExpr }) where call.kind == .callExpr {
                if let name = call.referenced?.spelling { callees.insert(name) }
            }
        }
        return callees
    }

    // MARK: Function pointers

    /// The "record.field" a call goes through: `ops->setup(dev)`, `(*dev->ops->setup)(dev)`.
    static func pointerField(calledBy call: Node) -> String? {
        guard var callee = call.children.first?.strippingParensAndCasts else { return nil }
        if callee.kind == .unaryOperator, callee.operatorSpelling == "*", let inner = callee.children.first {
            callee = inner.strippingParensAndCasts
        }
        guard callee.kind == .memberRefExpr else { return nil }
        return ExpressionFacts.fieldKey(callee)
    }

    struct Binding {
        var function: String
        var field: String
        var line: Int
    }

    /// Functions of this file stored into function-pointer fields: `.setup = fn` in a (nested)
    /// designated initializer, and `x->setup = fn` assignments.
    private func functionPointerBindings(in context: FileContext) -> [Binding] {
        let defined = Set(context.functions.map(\.name))
        var result: [Binding] = []
        for cursor in context.unit.topLevel where cursor.isInMainFile && (cursor.kind == .varDecl || (cursor.kind == .functionDecl && cursor.isDefinition)) {
            // Held by the context while its nodes' parents are walked (and shared with the other rules).
            let tree = context.definitionTree(cursor)
            for reference in tree.descendants(where: { $0.kind == .declRefExpr }) {
                guard let function = reference.referenced, function.kind == .functionDecl, defined.contains(function.spelling) else { continue }
                var node = reference
                while let parent = node.parent, parent.kind == .unexposedExpr || parent.kind == .parenExpr || parent.kind == .cStyleCastExpr
                        || (parent.kind == .unaryOperator && parent.operatorSpelling == "&") {
                    node = parent
                }
                guard let parent = node.parent else { continue }
                if parent.kind == .binaryOperator, parent.children.count == 2, parent.children[1] === node,
                   parent.operatorSpelling == "=", let field = ExpressionFacts.fieldKey(parent.children[0]) {
                    result.append(Binding(function: function.spelling, field: field, line: reference.position.line))
                } else if parent.kind == .initListExpr, let record = parent.type.recordName, !record.isEmpty,
                          let name = designator(of: reference, in: parent, context: context) {
                    result.append(Binding(function: function.spelling, field: record + "." + name, line: reference.position.line))
                }
            }
        }
        return result
    }

    /// The field name of `.name = value` for a value written in an initializer list, from its tokens.
    private func designator(of value: Node, in list: Node, context: FileContext) -> String? {
        let tokens = context.unit.tokens(of: list.cursor)
        let at = value.cursor.position
        guard let index = tokens.firstIndex(where: { $0.position.file == at.file && $0.position.offset == at.offset }) else { return nil }
        var i = index - 1
        while i >= 0, tokens[i].text == "(" || tokens[i].text == "&" { i -= 1 }
        guard i >= 2, tokens[i].text == "=", tokens[i - 1].kind == .identifier, tokens[i - 2].text == "." else { return nil }
        return tokens[i - 1].text
    }

    private func isNullTokens(_ tokens: [Token]) -> Bool {
        let text = tokens.map(\.text).joined()
        return text == "NULL" || text == "0" || text == "((void*)0)" || text == "(void*)0"
    }

    /// The struct field named by the first argument of a macro use ("record.field"): the member
    /// access written in that argument, found in the expansion under `root`.
    private func field(of use: MacroUse, arguments: [[Token]], in root: Node, context: FileContext) -> String? {
        guard let first = arguments.first, let start = first.first?.position, let end = first.last?.position,
              let name = first.last(where: { $0.kind == .identifier })?.text else { return nil }
        let member = root.descendants(where: { $0.kind == .memberRefExpr && $0.spelling == name }).first { node in
            let at = node.cursor.position
            return at.file == start.file && at.offset >= start.offset && at.offset <= end.offset
        }
        return member.flatMap(ExpressionFacts.fieldKey)
    }

    /// The outermost node under `root` that a macro use produced (e.g. rcu_assign_pointer's `do { } while (0)`).
    private func statement(producedBy use: MacroUse, in root: Node) -> Node? {
        root.descendants().first { node in
            let at = node.position
            return at.file == use.range.start.file && at.offset == use.range.start.offset
        }
    }

    // MARK: Waits on the way to success

    /// Whether every successful exit after `site` is preceded by a grace-period wait that runs on
    /// every path from `site` to that exit.
    func waitFollows(_ site: Node, in function: FunctionDefinition, facts: ExpressionFacts) -> Bool {
        guard let body = function.body else { return true }
        let start = site.cursor.extent.end.offset
        let waitCalls = body.descendants(where: { $0.kind == .callExpr }).filter { call in
            call.position.offset >= start && (call.calleeName.map(waits.contains) ?? false)
        }
        // Returns after the site, and `return site(...)` itself.
        var exits = body.descendants(where: { $0.kind == .returnStmt }).filter {
            ($0.position.offset >= start || $0.isAncestor(of: site)) && isSuccessExit($0, function: function, facts: facts)
        }
        let fallsOffEnd = !(body.children.last.map(facts.alwaysLeaves) ?? false)
        if fallsOffEnd { exits.append(body) }
        for exit in exits {
            let covered = waitCalls.contains { wait in
                let before = exit === body || wait.position.offset < exit.position.offset
                return before && !isConditional(wait, relativeTo: exit, successOf: returnedVariable(exit)) && !(exit !== body && exit.isAncestor(of: wait))
            }
            if !covered { return false }
        }
        return true
    }

    /// Whether `node` runs only on some paths to `target`. A branch taken exactly when `status`
    /// (the variable the exit returns) is 0 — `if (!err) synchronize_rcu();` — covers the success path.
    private func isConditional(_ node: Node, relativeTo target: Node, successOf status: Cursor? = nil) -> Bool {
        node.ancestors.contains { ancestor in
            let branching = ancestor.kind == .ifStmt || ancestor.kind == .switchStmt || ancestor.kind == .conditionalOperator
                || (ancestor.kind.isLoop && !(ancestor.kind == .doStmt && ancestor.condition?.integerValue == 0))
            guard branching, !(ancestor === target || ancestor.isAncestor(of: target)) else { return false }
            if let status, ancestor.kind == .ifStmt, let then = ancestor.thenBranch, then === node || then.isAncestor(of: node),
               testsZero(ancestor.children[0], status) {
                return false
            }
            return true
        }
    }

    private func returnedVariable(_ exit: Node) -> Cursor? {
        guard exit.kind == .returnStmt, let value = exit.children.first(where: { $0.kind.isExpression })?.strippingParensAndCasts,
              value.kind == .declRefExpr else { return nil }
        return value.referenced
    }

    /// `!v` or `v == 0`.
    private func testsZero(_ condition: Node, _ variable: Cursor) -> Bool {
        let c = ExpressionFacts.unwrapCondition(condition)
        if c.kind == .unaryOperator, c.operatorSpelling == "!", let operand = c.children.first?.strippingParensAndCasts {
            return operand.kind == .declRefExpr && operand.referenced == variable
        }
        if let (expression, op, value) = ExpressionFacts.comparisonWithConstant(c), op == "==", value == 0 {
            let e = expression.strippingParensAndCasts
            return e.kind == .declRefExpr && e.referenced == variable
        }
        return false
    }

    /// A return that reports success: not an error constant or ERR_PTR(), not `return err` under
    /// `if (err)`, not an error label's return reached only by goto.
    private func isSuccessExit(_ exit: Node, function: FunctionDefinition, facts: ExpressionFacts) -> Bool {
        guard let value = exit.children.first(where: { $0.kind.isExpression }) else { return true }
        let resultType = function.declaration.cursor.resultType
        if let constant = value.integerValue {
            if resultType.isPointer || resultType.canonical.spelling == "_Bool" || resultType.canonical.spelling == "bool" { return constant != 0 }
            return constant >= 0
        }
        let stripped = value.strippingParensAndCasts
        if stripped.kind == .callExpr, let callee = stripped.calleeName, errorValues.contains(callee) { return false }
        if stripped.kind == .unaryOperator, stripped.operatorSpelling == "-" { return false }
        guard stripped.kind == .declRefExpr, let variable = stripped.referenced else { return true }
        // `if (err) return err;`
        for ancestor in exit.ancestors where ancestor.kind == .ifStmt {
            if let then = ancestor.thenBranch, then === exit || then.isAncestor(of: exit),
               ([ancestor.children[0]] + ancestor.children[0].descendants()).contains(where: { $0.referenced == variable && $0.kind == .declRefExpr }) {
                return false
            }
        }
        // `err_free: kfree(x); return err;` after a statement that always leaves.
        var node = exit
        while let parent = node.parent {
            if parent.kind == .labelStmt { node = parent; continue }
            if parent.kind == .compoundStmt {
                let earlier = parent.children[..<node.indexInParent]
                if let labelIndex = earlier.lastIndex(where: { $0.kind == .labelStmt }) ?? (node.kind == .labelStmt ? node.indexInParent : nil),
                   labelIndex > 0, facts.alwaysLeaves(parent.children[labelIndex - 1]) {
                    return false
                }
            }
            break
        }
        return true
    }

    // MARK: Gate readers

    struct FoundGate {
        var field: String
        var node: Node
        var gate: Gate
    }

    /// The gate-read macro uses of each file of a unit, in source order, and what each helper
    /// function's returns read (so that a file with thousands of `if`s costs one pass, not one per `if`).
    final class GateReaderIndex {
        let context: FileContext
        let readMacros: Set<String>
        private var usesByFile: [String: [MacroUse]] = [:]
        var helperReads: [Cursor: [(String, Bool)]] = [:]

        init(context: FileContext, readMacros: Set<String>) {
            self.context = context
            self.readMacros = readMacros
        }

        /// Read-macro uses inside [start, end] of `file`.
        func uses(inFile file: String, from start: Int, to end: Int) -> ArraySlice<MacroUse> {
            let all: [MacroUse]
            if let cached = usesByFile[file] { all = cached } else {
                all = context.macroUses(inFile: file).filter { readMacros.contains($0.name) }
                usesByFile[file] = all
            }
            var low = 0, high = all.count
            while low < high {
                let middle = (low + high) / 2
                if all[middle].range.start.offset < start { low = middle + 1 } else { high = middle }
            }
            var stop = low
            while stop < all.count, all[stop].range.start.offset <= end { stop += 1 }
            return all[low..<stop].filter { $0.range.end.offset <= end }[...]
        }
    }

    /// `if` statements whose condition tests an RCU-read field and whose branch taken when the
    /// pointer is set serializes.
    private func gates(in body: Node, context: FileContext, facts: ExpressionFacts, readers: GateReaderIndex) -> [FoundGate] {
        var result: [FoundGate] = []
        for statement in body.descendants(where: { $0.kind == .ifStmt }) {
            let condition = statement.children[0]
            for (field, positive, helper) in reads(in: condition, context: context, depth: 0, readers: readers) {
                var region: [Node] = []
                // The path a reader that saw NULL takes, when it is a branch of its own (nil: it falls
                // through to the rest of the function, as in the incident's poll lock).
                var nullPath: Node?
                if positive {
                    if let then = statement.thenBranch { region.append(then) }
                    nullPath = statement.elseBranch
                } else {
                    // `if (!p) return; lock(...); ...`: a reader that saw NULL does nothing at all, so an
                    // early reader is harmless — not a mode gate (the ring-initialized flag of a NAPI
                    // pointer, say). The gate matters when the NULL path goes on working unserialized.
                    if let then = statement.thenBranch, statement.elseBranch == nil, Self.onlyLeaves(then) { continue }
                    if let otherwise = statement.elseBranch { region.append(otherwise) }
                    if let then = statement.thenBranch, facts.alwaysLeaves(then), let block = statement.parent, block.kind == .compoundStmt {
                        region += block.children[(statement.indexInParent + 1)...]
                    }
                    nullPath = statement.thenBranch
                }
                // A NULL branch that updates none of what the serialized branch updates (it drops
                // the packet and leaves, say) does not race with it: not a mode gate.
                if let nullPath, Self.writtenKeys(in: [nullPath]).isDisjoint(with: Self.writtenKeys(in: region)) { continue }
                // Check, lock, re-read under the lock: the lock guards the field itself, not a mode.
                let rereads = region.contains { statement in
                    ([statement] + statement.descendants(where: { $0.kind == .memberRefExpr })).contains {
                        $0.kind == .memberRefExpr && ExpressionFacts.fieldKey($0) == field
                    }
                }
                if !rereads, let operation = serializingOperation(in: region, context: context) {
                    result.append(FoundGate(field: field, node: statement, gate: Gate(operation: operation, helper: helper)))
                }
            }
        }
        return result
    }

    /// What statements store into: assignment targets and stepped operands, by structural key.
    static func writtenKeys(in statements: [Node]) -> Set<String> {
        Set(statements.flatMap(ExpressionFacts.stores(in:)).compactMap(ExpressionFacts.storeTarget).map(ExpressionFacts.key))
    }

    /// `return x;`, `goto out;`, `break;` alone (or in a block): a path that does nothing before leaving.
    static func onlyLeaves(_ statement: Node) -> Bool {
        switch statement.kind {
        case .returnStmt, .gotoStmt, .breakStmt, .continueStmt: return true
        case .compoundStmt: return statement.children.count == 1 && onlyLeaves(statement.children[0])
        default: return false
        }
    }

    /// RCU reads of a field in a condition: (field, whether the condition is true when the pointer
    /// is set, the helper the read is in). One level of helper: `if (helper(x))` where helper()
    /// returns the test.
    private func reads(in condition: Node, context: FileContext, depth: Int, readers: GateReaderIndex) -> [(String, Bool, String?)] {
        var result: [(String, Bool, String?)] = []
        let file = condition.cursor.extent.start.file
        let extent = condition.cursor.extent
        for use in readers.uses(inFile: file, from: extent.start.offset, to: extent.end.offset) {
            let arguments = context.macroArguments(use)
            guard let field = field(of: use, arguments: arguments, in: condition, context: context),
                  // The outermost node the macro produced: it starts where the use starts and does not
                  // reach past it (the comparison the use is an operand of starts there too).
                  let produced = ([condition] + condition.descendants()).first(where: {
                      $0.position.file == file && $0.position.offset == use.range.start.offset
                          && $0.cursor.extent.end.offset <= use.range.end.offset + 1
                  }) else { continue }
            // `rcu_access_pointer(x) == other`: an identity test, not a NULL gate.
            if let parent = produced.ancestors.first(where: { $0.kind != .unexposedExpr && $0.kind != .parenExpr && $0.kind != .cStyleCastExpr }),
               parent.kind == .binaryOperator, parent.children.count == 2,
               parent.children.allSatisfy({ $0.strippingParensAndCasts.integerValue == nil }),
               parent.operatorSpelling == "==" || parent.operatorSpelling == "!=" || comparesAsWritten(use, in: condition) { continue }
            result.append((field, polarity(of: produced, upTo: condition), nil))
        }
        guard depth == 0 else { return result }
        for call in ([condition] + condition.descendants()).filter({ $0.kind == .callExpr }) {
            guard let callee = call.referenced, let definition = callee.definition, definition.kind == .functionDecl else { continue }
            let helperReads: [(String, Bool)]
            if let known = readers.helperReads[definition] { helperReads = known } else {
                var found: [(String, Bool)] = []
                let span = definition.extent
                // Build the helper's tree only when a read macro is written inside it.
                if !readers.uses(inFile: span.start.file, from: span.start.offset, to: span.end.offset).isEmpty {
                    let tree = context.definitionTree(definition)
                    for exit in tree.descendants(where: { $0.kind == .returnStmt }) {
                        guard let value = exit.children.first(where: { $0.kind.isExpression }) else { continue }
                        found += reads(in: value, context: context, depth: 1, readers: readers).map { ($0.0, $0.1) }
                    }
                }
                readers.helperReads[definition] = found
                helperReads = found
            }
            for (field, positive) in helperReads {
                result.append((field, positive == polarity(of: call, upTo: condition), callee.spelling))
            }
        }
        return result
    }

    /// Whether the macro use is written as an operand of `==`/`!=` (its expansion hides the operator
    /// from libclang 14 when the macro is the left operand).
    private func comparesAsWritten(_ use: MacroUse, in condition: Node) -> Bool {
        let tokens = condition.unit.tokens(of: condition.cursor)
        let file = use.range.start.file
        if var after = tokens.firstIndex(where: { $0.position.file == file && $0.position.offset >= use.range.end.offset }) {
            // The invocation's own closing parenthesis (and any around it) come first.
            while after < tokens.count, tokens[after].text == ")" { after += 1 }
            if after < tokens.count, tokens[after].text == "==" || tokens[after].text == "!=" { return true }
        }
        if var before = tokens.lastIndex(where: { $0.position.file == file && $0.position.offset < use.range.start.offset }) {
            while before > 0, tokens[before].text == "(" { before -= 1 }
            if tokens[before].text == "==" || tokens[before].text == "!=" { return true }
        }
        return false
    }

    /// Whether the condition is true when `node` is nonzero: counts `!` and `== NULL` on the way up.
    private func polarity(of node: Node, upTo root: Node) -> Bool {
        var positive = true
        var current = node
        while current !== root, let parent = current.parent {
            if parent.kind == .unaryOperator, parent.operatorSpelling == "!" { positive.toggle() }
            if parent.kind == .binaryOperator, parent.children.count == 2 {
                let other = parent.children[current.indexInParent == 0 ? 1 : 0]
                if other.integerValue == 0 || other.strippingParensAndCasts.integerValue == 0 {
                    if parent.operatorSpelling == "==" { positive.toggle() }
                }
            }
            current = parent
        }
        return positive
    }

    /// A lock, cmpxchg or other serializing operation in these statements (by call or macro name).
    private func serializingOperation(in region: [Node], context: FileContext) -> String? {
        for statement in region {
            for node in [statement] + statement.descendants(where: { $0.kind == .callExpr }) where node.kind == .callExpr {
                if let name = node.calleeName, serializing.contains(name) { return name }
            }
            let extent = statement.cursor.extent
            for use in context.macroUses(inFile: extent.start.file) where serializing.contains(use.name)
                && use.range.start.offset >= extent.start.offset && use.range.end.offset <= extent.end.offset {
                return use.name
            }
        }
        return nil
    }
}
