import Foundation
import ClangKit
import RuleKit

/// Builds `DmaFunctionBody` from the AST of one file.
final class DmaBodyBuilder {
    let context: FileContext
    let vocabulary: DmaVocabulary
    /// Per file, by the offset of their use, the names of its macros and the first polling macro
    /// (a node produced by a macro body has the use's start as its expansion position).
    private struct MacroPlaces {
        var names: [Int: [String]] = [:]
        var polls: [Int: String] = [:]
    }
    private var macroPlacesByFile: [String: MacroPlaces] = [:]
    private var lastMacroPlaces: (file: String, places: MacroPlaces) = ("", MacroPlaces())
    private var synthetic = 0

    init(context: FileContext, vocabulary: DmaVocabulary) {
        self.context = context
        self.vocabulary = vocabulary
    }

    /// While a body is reduced: the callees whose definitions it looked up (a driver's register
    /// read or write function), and whether it read what the file does elsewhere (its control
    /// bits, its ops bindings). A shared header's function reduced without either reads the same
    /// in every file parsed with those headers.
    private(set) var consultedCallees: Set<String> = []
    private(set) var readFileFacts = false

    func body(of function: FunctionDefinition, pass: Int) -> DmaFunctionBody? {
        consultedCallees = []
        readFileFacts = false
        guard let body = function.body else { return nil }
        synthetic = 0
        let parameters = function.parameters.map { $0.type.isInteger ? $0.spelling : "" }
        parameterIndex = [:]
        parameterAliases = [:]
        clearedLocals = []
        lastWrittenNames = []
        localNames = [:]
        for (index, name) in parameters.enumerated() where !name.isEmpty { parameterIndex[name] = index }
        currentChooser = parameterIndex.isEmpty ? nil : chooser(in: body)
        return DmaFunctionBody(name: function.name, file: function.declaration.position.file,
                               line: function.declaration.position.line,
                               isStatic: function.declaration.cursor.isStatic, pass: pass, steps: statements(body),
                               parameters: parameterIndex.isEmpty ? [] : parameters,
                               chooser: currentChooser)
    }

    /// The set-or-clear branch of the function being reduced (see `chooser(in:)`).
    private var currentChooser: DmaDirection?

    /// Integer and bool parameters of the function being reduced, by name.
    private var parameterIndex: [String: Int] = [:]
    /// Locals initialised from one of them (`unsigned int mode = enable ? 1 : 0;`).
    private var parameterAliases: [String: (index: Int, negated: Bool)] = [:]
    /// Locals whose last assignment, in source order, cleared bits (`v &= ~EN;`, `v = 0;`).
    private var clearedLocals: Set<String> = []
    /// The constant names spelled in the last register write's value, in source order: a poll for
    /// those very bits to clear waits for a self-clearing command (a reset), not for a stop.
    private var lastWrittenNames: Set<String> = []
    /// The constant names of each local's value, as assigned (`val = CORE_RST_REQ | ...;`).
    private var localNames: [String: Set<String>] = [:]

    /// Across the file: the bits the driver sets in register values (`writel(TX_EN | ..)`,
    /// `v |= RX_EN`) — control bits, whose clearing a poll may await — and the register blocks
    /// (structs of register words) the driver stops with a clearing write.
    private lazy var fileControl: (setBits: Set<String>, stoppedBlocks: Set<String>) = {
        var bits = Set<String>(), blocks = Set<String>()
        for function in context.functions {
            guard let body = function.body else { continue }
            for node in body.descendants(where: { $0.kind == .callExpr || $0.kind == .binaryOperator || $0.kind == .compoundAssignOperator }) {
                if node.kind == .callExpr {
                    let names = names(ofCall: node)
                    guard let position = names.lazy.compactMap({ self.vocabulary.registerWrites[$0] }).first,
                          position < node.arguments.count else { continue }
                    let value = node.arguments[position]
                    if bitEffect(value.strippingParensAndCasts) == .clears {
                        var address = node.arguments
                        address.remove(at: position)
                        blocks.formUnion(registerNames(in: address, producedBy: node).compactMap { $0.contains(".") ? DmaRegisters.block($0) : nil })
                    } else {
                        bits.formUnion(constantNames(in: value))
                    }
                } else if node.operatorSpelling == "|=" || node.operatorSpelling == "|", node.children.count == 2 {
                    for side in node.children where side.strippingParensAndCasts.kind != .callExpr { bits.formUnion(constantNames(in: side)) }
                }
            }
        }
        return (bits, blocks)
    }()

    /// Function pointer fields of ops structs and the functions this file stores in them (by
    /// `struct.field`): in an initializer (`.rx_ring_free = foo_free_rx_ring`) or an assignment.
    private lazy var opsBindings: [String: [String]] = {
        var bindings: [String: Set<String>] = [:]
        for cursor in context.unit.topLevel where cursor.kind == .varDecl && cursor.isInMainFile {
            guard let record = cursor.type.recordName, !record.isEmpty else { continue }
            let tokens = context.tokens(in: cursor.extent)
            var index = 0
            while index + 3 < tokens.count {
                // `. field = function`
                if tokens[index].text == ".", tokens[index + 1].kind == .identifier, tokens[index + 2].text == "=",
                   tokens[index + 3].kind == .identifier, index + 4 >= tokens.count || [",", "}"].contains(tokens[index + 4].text) {
                    bindings[record + "." + tokens[index + 1].text, default: []].insert(tokens[index + 3].text)
                    index += 4
                } else {
                    index += 1
                }
            }
        }
        for function in context.functions {
            guard let body = function.body else { continue }
            for node in body.descendants(where: { $0.kind == .binaryOperator && $0.operatorSpelling == "=" && $0.children.count == 2 }) {
                let lhs = node.children[0].strippingParensAndCasts, rhs = node.children[1].strippingParensAndCasts
                guard lhs.kind == .memberRefExpr, let field = lhs.referenced, field.kind == .fieldDecl,
                      rhs.kind == .declRefExpr, rhs.referenced?.kind == .functionDecl else { continue }
                bindings[(field.recordName ?? "") + "." + field.spelling, default: []].insert(rhs.spelling)
            }
        }
        return bindings.mapValues { $0.sorted() }
    }()

    private var readerCache: [String: Bool] = [:]

    /// A driver's own register read function (`u32 foo_rd(priv, reg) { return readl(priv->io + reg); }`,
    /// one level, defined in this unit): its calls read a register, whatever it is called.
    func isRegisterReader(_ call: Node) -> Bool {
        guard call.kind == .callExpr, let name = call.calleeName, !name.isEmpty else { return false }
        consultedCallees.insert(name)
        if let known = readerCache[name] { return known }
        readerCache[name] = false
        guard let definition = call.referenced?.definition, definition.kind == .functionDecl else { return false }
        let tree = context.definitionTree(definition)
        let calls = tree.descendants(where: { $0.kind == .callExpr })
        let loops = tree.descendants(where: { $0.kind == .forStmt || $0.kind == .whileStmt || $0.kind == .doStmt })
        let result = loops.isEmpty && calls.count <= 4 && calls.contains { names(ofCall: $0).contains(where: vocabulary.registerReads.contains) }
            && !calls.contains { names(ofCall: $0).contains(where: vocabulary.delays.contains) }
        readerCache[name] = result
        return result
    }

    /// A call of a register read API or of a driver's read function.
    func readsRegister(_ call: Node) -> Bool {
        names(ofCall: call).contains(where: vocabulary.registerReads.contains) || isRegisterReader(call)
    }

    /// Macro and constant names spelled in an expression (`TX_EN`, `CTL_EN(n)`).
    private func constantNames(in node: Node) -> Set<String> {
        Set(node.writtenTokens.filter { $0.kind == .identifier && Self.isConstantName($0.text) }.map(\.text))
    }

    /// The macro places of `file`. Asked for nearly every node, mostly of one file: its table is
    /// kept at hand.
    private func macroPlaces(in file: String) -> MacroPlaces {
        if file != lastMacroPlaces.file {
            if macroPlacesByFile[file] == nil {
                var places = MacroPlaces()
                for use in context.macroUses(inFile: file) {
                    places.names[use.range.start.offset, default: []].append(use.name)
                    if vocabulary.pollMacros.contains(use.name), places.polls[use.range.start.offset] == nil {
                        places.polls[use.range.start.offset] = use.name
                    }
                }
                macroPlacesByFile[file] = places
            }
            lastMacroPlaces = (file, macroPlacesByFile[file]!)
        }
        return lastMacroPlaces.places
    }

    /// Names of the macros whose use starts where `node` was expanded.
    func macroNames(at node: Node) -> [String] {
        let position = node.position
        return macroPlaces(in: position.file).names[position.offset] ?? []
    }

    /// A call's own name and the names of macros that produced it (dma_unmap_single → dma_unmap_single_attrs).
    func names(ofCall node: Node) -> [String] {
        macroNames(at: node) + [node.calleeName ?? ""]
    }

    /// The first polling macro that produced the expression (as `macroNames(at:)` lists them):
    /// asked of every expression, and most files use none.
    private func pollMacro(_ node: Node) -> String? {
        guard node.kind.isExpression else { return nil }
        let position = node.position
        let polls = macroPlaces(in: position.file).polls
        return polls.isEmpty ? nil : polls[position.offset]
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
            if isRegisterPoll(node) {
                // `if (!(ioread32(&ctrl->running))) return 0;`: the loop waits for the hardware to stop.
                if awaitsEnableClear(node) { steps.append(.awaitsStop(line: node.position.line)) }
                steps.append(.poll(line: node.position.line, direction: pollDirection(in: node), registers: registersRead(in: node)))
            }
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
                if let reference = parameterReference(value) { parameterAliases[variable.spelling] = reference }
                noteAssignment(to: variable.spelling, op: "=", value: value)
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
            noteAssignment(to: stripped.children[0].strippingParensAndCasts.spelling, op: stripped.operatorSpelling ?? "", value: stripped.children[1])
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
            let call = DmaStep.call(callee: macro, line: node.position.line, target: target, direction: pollDirection(in: node),
                                    registers: registersRead(in: node), texts: [Self.text(node)])
            return awaitsEnableClear(node) ? [.awaitsStop(line: node.position.line), call] : [call]
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
        if let api = names.first(where: { vocabulary.frees.contains($0) }) { return steps + [.free(api: api, line: line, access: access(ofFree: node, api: api))] }
        if let api = names.first(where: { vocabulary.recovery.contains($0) }) { return steps + [.recovery(api: api, line: line)] }
        if let api = names.first(where: { vocabulary.allocations.contains($0) }) { return steps + [.alloc(api: api, line: line)] }
        if names.contains(where: { vocabulary.logFunctions.contains($0) }) { return steps }
        if let write = registerWrite(node, names: names) { return steps + [write] }
        // A driver's write function (`reg_write(pd, REG, BUSY | CMD)`): what it stores counts as written.
        if let position = writtenParameter(of: node), position < node.arguments.count {
            lastWrittenNames = writtenNames(node.arguments[position])
        }
        guard let callee = node.calleeName, !callee.isEmpty else { return steps }
        var arguments = node.arguments.map(argument)
        while arguments.last == .other { arguments.removeLast() }
        let texts = node.arguments.map(Self.text)
        // `info->rx_ring_free(ring)`: the functions this file stores in that field of the ops struct.
        if let field = node.referenced, field.kind == .fieldDecl {
            readFileFacts = true
            if let bound = opsBindings[(field.recordName ?? "") + "." + field.spelling], !bound.isEmpty {
                let calls = bound.map { DmaStep.call(callee: $0, line: line, target: target, arguments: arguments, texts: texts) }
                return steps + [calls.dropFirst().reduce(calls[0]) { .branch(condition: DmaCondition(polarity: [:]), then: [$1], otherwise: [$0]) }]
            }
        }
        return steps + [.call(callee: callee, line: line, target: target, arguments: arguments, texts: texts)]
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
            case .binaryOperator where node.children.count == 2 && node.operatorSpelling == "="
                    && node.children[0].strippingParensAndCasts.kind == .declRefExpr:
                // `if ((err = stop(q)) != 0)`: the result lands in `err`, and the condition tests it.
                let variable = node.children[0].strippingParensAndCasts.spelling
                steps += assignment(to: variable, value: node.children[1])
                polarity[variable] = positive
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
        let callNodes = loop.descendants(where: { $0.kind == .callExpr })
        let calls = callNodes.map(names(ofCall:))
        // Most loops wait for nothing: asked first, before the macros behind every expression.
        guard calls.contains(where: { $0.contains(where: vocabulary.delays.contains) }) else { return false }
        return calls.contains { $0.contains(where: vocabulary.registerReads.contains) }
            || loop.descendants(where: { $0.kind.isExpression }).contains { macroNames(at: $0).contains(where: vocabulary.registerReads.contains) }
            || callNodes.contains(where: isRegisterReader)
    }

    // MARK: Direction

    /// `enable`, `!enable`, `!!enable` or `enable ? MASK : 0` for an integer parameter: its index,
    /// and whether the expression is nonzero when the parameter is zero.
    func parameterReference(_ node: Node) -> (index: Int, negated: Bool)? {
        guard !parameterIndex.isEmpty else { return nil }
        var current = node.strippingParensAndCasts
        var negated = false
        while current.kind == .unaryOperator, current.operatorSpelling == "!", let inner = current.children.first {
            negated.toggle()
            current = inner.strippingParensAndCasts
        }
        if current.kind == .declRefExpr, let index = parameterIndex[current.spelling], current.referenced?.kind == .parmDecl {
            return (index, negated)
        }
        if current.kind == .declRefExpr, let alias = parameterAliases[current.spelling], current.referenced?.kind == .varDecl {
            return (alias.index, alias.negated != negated)
        }
        if current.kind == .conditionalOperator, current.children.count == 3,
           let (index, inner) = parameterReference(current.children[0]),
           let whenTrue = current.children[1].integerValue, let whenFalse = current.children[2].integerValue,
           (whenTrue != 0) != (whenFalse != 0) {
            // `p ? MASK : 0` is nonzero with p; `p ? 0 : MASK` is nonzero with !p.
            return (index, (inner != negated) != (whenTrue == 0))
        }
        return nil
    }

    /// A call argument: a constant, one of the caller's own parameters, a value that stops
    /// hardware when written, or anything else.
    private func argument(_ node: Node) -> DmaArgument {
        if let (index, negated) = parameterReference(node) { return .parameter(index: index, negated: negated) }
        if namesReset(node) { return .reset }
        let stripped = node.strippingParensAndCasts
        guard stripped.kind == .integerLiteral || (stripped.kind == .declRefExpr && stripped.referenced?.kind == .enumConstantDecl),
              let value = stripped.integerValue else { return isClearingValue(node) ? .clearing : .other }
        return .constant(nonzero: value != 0)
    }

    // MARK: Register writes

    /// A call of a register write API, reduced to what it stores.
    private func registerWrite(_ call: Node, names: [String]) -> DmaStep? {
        let line = call.position.line
        let arguments = call.arguments
        if names.contains(where: vocabulary.registerClears.contains) {
            // `regmap_clear_bits(map, reg, bits)`: the bits are not a register.
            return .write(value: .clearing, line: line, registers: registerNames(in: Array(arguments.dropLast()), producedBy: call))
        }
        guard let position = names.lazy.compactMap({ self.vocabulary.registerWrites[$0] }).first else { return nil }
        guard position < arguments.count else { return .write(value: .other, line: line) }
        let value = arguments[position]
        var address = arguments
        address.remove(at: position)
        let registers = registerNames(in: address, producedBy: call)
        let text = Self.text(value)
        lastWrittenNames = writtenNames(value)
        if let (index, negated) = parameterReference(value), !negated, value.strippingParensAndCasts.kind == .declRefExpr {
            return .write(value: .parameter(index: index), line: line, registers: registers, text: text)
        }
        if namesReset(value) { return .write(value: .reset, line: line, registers: registers, text: text) }
        return .write(value: isClearingValue(value) ? .clearing : .other, line: line, registers: registers, text: text)
    }

    /// The registers a poll reads: the addresses of its register reads, or, for a polling macro
    /// given its accessor (`readx_poll_timeout(rd32, REG, ...)`), of the accessor's calls.
    private func registersRead(in poll: Node) -> [String] {
        let calls = poll.descendants(where: { $0.kind == .callExpr })
        var reads = calls.filter(readsRegister)
        if reads.isEmpty, pollMacro(poll) != nil {
            let tokens = poll.writtenTokens
            if tokens.count > 2, tokens[1].text == "(", tokens[2].kind == .identifier {
                let accessor = tokens[2].text
                reads = calls.filter { names(ofCall: $0).contains(accessor) }
            }
        }
        return registerNames(in: reads.flatMap(\.arguments), producedBy: reads.first)
    }

    /// What the address arguments of a register access name (see `DmaRegisters`): macro names and
    /// enum constants spelled in them, integer fields they reach, or a plain offset. The macros that
    /// produced the access itself (`BNX2_RD(bp, REG)`, `rd32(REG)`) are accessors, not registers.
    func registerNames(in arguments: [Node], producedBy access: Node?) -> [String] {
        let accessors = Set(access.map(macroNames(at:)) ?? [])
        var names = Set<String>()
        for argument in arguments {
            let tokens = argument.writtenTokens
            var named = false
            for token in tokens where token.kind == .identifier && Self.isConstantName(token.text) && !accessors.contains(token.text) {
                names.insert(token.text)
                named = true
            }
            for node in [argument] + argument.descendants(where: { $0.kind == .declRefExpr || $0.kind == .memberRefExpr }) {
                if node.kind == .declRefExpr, node.referenced?.kind == .enumConstantDecl {
                    names.insert(node.spelling); named = true
                } else if node.kind == .memberRefExpr, node.type.isInteger {
                    // `&regs->ctrl`, `&wq->ctrl->running`: a field of a register block (its struct).
                    let block = node.referenced?.semanticParent?.spelling ?? ""
                    names.insert(block.isEmpty ? node.spelling : block + "." + node.spelling); named = true
                }
            }
            if !named {
                // `readl(ioaddr + 0x40)`: the offset is the register.
                for token in tokens where token.kind == .literal && token.text.first?.isNumber == true { names.insert("#" + token.text) }
            }
        }
        return names.sorted()
    }

    /// `TSNEP_CONTROL`, `MAC_CR`: the spelling of a macro or constant, not of a variable.
    private static func isConstantName(_ name: String) -> Bool {
        name.count >= 2 && name.contains(where: \.isLetter) && !name.contains(where: \.isLowercase)
    }

    /// Zero, `v & ~EN`, or a local last cleared so: the shape of a stop, whatever the bits are called.
    private func isClearingValue(_ value: Node) -> Bool {
        let stripped = value.strippingParensAndCasts
        if stripped.kind == .declRefExpr, stripped.referenced?.kind == .varDecl, clearedLocals.contains(stripped.spelling) { return true }
        return bitEffect(stripped) == .clears
    }

    /// An argument or value as written, without blanks (a plain name as its spelling).
    static func text(_ node: Node) -> String {
        let stripped = node.strippingParensAndCasts
        if stripped.kind == .declRefExpr { return stripped.spelling }
        if stripped.kind == .integerLiteral { return "" }
        return node.writtenTokens.map(\.text).joined()
    }

    /// How the device uses the memory a release gives back: page pool pages are received into;
    /// an unmap's DMA direction says whether the device wrote (`DMA_FROM_DEVICE`, `DMA_BIDIRECTIONAL`)
    /// or only read (`DMA_TO_DEVICE`) the buffer.
    private func access(ofFree call: Node, api: String) -> DmaAccess {
        if api.hasPrefix("page_pool") { return .writes }
        for argument in call.arguments {
            let stripped = argument.strippingParensAndCasts
            guard stripped.kind == .declRefExpr, stripped.referenced?.kind == .enumConstantDecl else { continue }
            switch stripped.spelling {
            case "DMA_TO_DEVICE": return .reads
            case "DMA_FROM_DEVICE", "DMA_BIDIRECTIONAL": return .writes
            default: continue
            }
        }
        return .unknown
    }

    /// A macro used in the value, or a constant it names, is spelled with a reset word (`TYPHOON_RESET_ALL`).
    private func namesReset(_ value: Node) -> Bool { names(value, anyOf: vocabulary.resetWords) }

    /// The poll is done when control bits have cleared (`!(v & TX_EN)`, `(v & RUN) == 0`: bits the
    /// driver sets elsewhere in its register values, here waited for to drop, and not the bits its
    /// last write set — those are a self-clearing command), or when a word of a register block that
    /// the driver stops by clearing another word reads 0 (`!ioread32(&ctrl->running)`): the hardware
    /// is being stopped. Decided by the AST, not by what the bits are called.
    private func awaitsEnableClear(_ poll: Node) -> Bool {
        readFileFacts = true
        let control = fileControl
        guard !control.setBits.isEmpty || !control.stoppedBlocks.isEmpty else { return false }
        let tests = poll.descendants(where: { ($0.kind == .unaryOperator && $0.operatorSpelling == "!") || ($0.kind == .binaryOperator && $0.operatorSpelling == "==") })
        for test in tests {
            var operands: [Node] = []
            if test.kind == .unaryOperator {
                operands = Array(test.children.prefix(1))
            } else if test.children.count == 2 {
                let sides = test.children.map(\.strippingParensAndCasts)
                if let zero = sides.firstIndex(where: { $0.kind == .integerLiteral && $0.integerValue == 0 }) { operands = [test.children[1 - zero]] }
            }
            for operand in operands.map(\.strippingParensAndCasts) {
                if operand.kind == .binaryOperator && operand.operatorSpelling == "&" {
                    let bits = operand.children.filter { $0.strippingParensAndCasts.kind != .callExpr }.reduce(into: Set<String>()) { $0.formUnion(constantNames(in: $1)) }
                    if !bits.isDisjoint(with: control.setBits), bits.isDisjoint(with: lastWrittenNames) { return true }
                }
                if operand.kind == .callExpr, readsRegister(operand),
                   registerNames(in: operand.arguments, producedBy: operand).contains(where: { $0.contains(".") && control.stoppedBlocks.contains(DmaRegisters.block($0) ?? "") }) {
                    return true
                }
            }
        }
        return false
    }

    /// A macro used in `value`, or an enum constant it names, is spelled with one of `words`. The
    /// value's tokens as written carry the macro names (inside another macro's arguments too).
    private func names(_ value: Node, anyOf words: Set<String>) -> Bool {
        guard !words.isEmpty else { return false }
        // Case matters here: `enable` is a parameter, `TX_ENABLE` a bit.
        func matches(_ name: String) -> Bool { name.split(separator: "_").contains { words.contains(String($0)) } }
        if value.writtenTokens.contains(where: { $0.kind == .identifier && matches($0.text) }) { return true }
        return ([value] + value.descendants(where: { $0.kind == .declRefExpr }))
            .contains { $0.kind == .declRefExpr && $0.referenced?.kind == .enumConstantDecl && matches($0.spelling) }
    }

    /// `TX_ENABLE`, `running` (a register field): a name with one of `words`, in any case, between its underscores.
    static func spells(_ name: String, anyOf words: Set<String>) -> Bool {
        name.split(separator: "_").contains { words.contains($0.uppercased()) }
    }

    /// Keeps `clearedLocals` in source order: `v &= ~EN` or `v = x & ~EN` clears, any other store does not.
    /// The constant names a written value spells, through a local assembled before (`val = A | B;`).
    private func writtenNames(_ value: Node) -> Set<String> {
        let stripped = value.strippingParensAndCasts
        if stripped.kind == .declRefExpr, let names = localNames[stripped.spelling] { return names }
        return constantNames(in: value)
    }

    private var writerCache: [String: Int?] = [:]

    /// The parameter a driver's own write function (one level, defined in this unit, no loop)
    /// stores with a register write API; nil for other callees.
    private func writtenParameter(of call: Node) -> Int? {
        guard let name = call.calleeName, !name.isEmpty else { return nil }
        consultedCallees.insert(name)
        if let known = writerCache[name] { return known }
        writerCache[name] = .some(nil)
        guard let definition = call.referenced?.definition, definition.kind == .functionDecl else { return nil }
        let tree = context.definitionTree(definition)
        let parameters = tree.children.filter { $0.kind == .parmDecl }.map(\.spelling)
        var result: Int?
        if tree.descendants(where: { $0.kind == .forStmt || $0.kind == .whileStmt || $0.kind == .doStmt }).isEmpty {
            for write in tree.descendants(where: { $0.kind == .callExpr }) {
                guard let position = names(ofCall: write).lazy.compactMap({ self.vocabulary.registerWrites[$0] }).first,
                      position < write.arguments.count else { continue }
                let value = write.arguments[position].strippingParensAndCasts
                if value.kind == .declRefExpr, value.referenced?.kind == .parmDecl, let index = parameters.firstIndex(of: value.spelling) {
                    result = index
                    break
                }
            }
        }
        writerCache[name] = .some(result)
        return result
    }

    private func noteAssignment(to variable: String, op: String, value: Node) {
        if op == "=" { localNames[variable] = constantNames(in: value) } else if op == "|=" { localNames[variable, default: []].formUnion(constantNames(in: value)) }
        let stripped = value.strippingParensAndCasts
        let clears = (op == "&=" && stripped.kind == .unaryOperator && stripped.operatorSpelling == "~")
            || (op == "=" && bitEffect(stripped) == .clears)
        if clears { clearedLocals.insert(variable) } else if op != "&=" { clearedLocals.remove(variable) }
    }

    /// The parameter a poll compares with the bits it polls (`enable == !!(reg & QENA_STAT)`): the
    /// poll waits for the bits to be set when the parameter is nonzero and to clear when it is zero,
    /// so a zero parameter makes it wait for a disable (a negated parameter, the other way round).
    private func pollDirection(in node: Node) -> DmaDirection? {
        guard !parameterIndex.isEmpty else { return nil }
        let compared = comparedDirection(in: node)
        // What the function writes decides the direction, not what the polled bit means: when it
        // sets or clears the bits by the same parameter (`if (on) v |= EN; else v &= ~EN;`), the
        // clearing value is the disable, whichever way the status bit reads (`DISABLED == !on`).
        if let compared, let chooser = currentChooser, chooser.parameter == compared.parameter { return chooser }
        return compared
    }

    private func comparedDirection(in node: Node) -> DmaDirection? {
        for comparison in node.descendants(where: { $0.kind == .binaryOperator && $0.children.count == 2 }) {
            guard comparison.children.contains(where: { parameterReference($0) != nil }),
                  let op = comparison.operatorSpelling, op == "==" || op == "!=" else { continue }
            let sides = comparison.children
            for (side, other) in [(sides[0], sides[1]), (sides[1], sides[0])] {
                if let (index, negated) = parameterReference(side), testsBits(other) {
                    return DmaDirection(parameter: index, disableWhenZero: !negated)
                }
            }
        }
        return nil
    }

    /// `x & MASK`, `!!(x & MASK)`, a register read (a driver's READ_BITS macro): some bits of the hardware's state.
    private func testsBits(_ node: Node) -> Bool {
        let stripped = node.strippingParensAndCasts
        let nodes = [stripped] + stripped.descendants(where: { $0.kind == .binaryOperator || $0.kind == .callExpr })
        return nodes.contains { node in
            (node.kind == .binaryOperator && node.operatorSpelling == "&")
                || (node.kind == .callExpr && readsRegister(node))
        }
    }

    private enum BitEffect { case sets, clears }

    /// What an arm does to register bits: `v |= M` / `v | M` / a nonzero constant set them,
    /// `v &= ~M` / `v & ~M` / zero clear them; nil when it does neither or both.
    private func bitEffect(_ arm: Node) -> BitEffect? {
        if arm.kind.isExpression, let value = arm.integerValue { return value != 0 ? .sets : .clears }
        var effects = Set<BitEffect>()
        for node in [arm] + arm.descendants(where: { $0.kind == .compoundAssignOperator || $0.kind == .binaryOperator }) {
            guard node.kind == .compoundAssignOperator || node.kind == .binaryOperator, node.children.count == 2,
                  let op = node.operatorSpelling else { continue }
            if op == "|=" || op == "|" { effects.insert(.sets) }
            if op == "&=" || op == "&", node.children[1].strippingParensAndCasts.kind == .unaryOperator,
               node.children[1].strippingParensAndCasts.operatorSpelling == "~" { effects.insert(.clears) }
        }
        return effects.count == 1 ? effects.first : nil
    }

    /// A branch on a parameter that sets register bits one way and clears them the other
    /// (`if (enable) val |= QENA_REQ; else val &= ~QENA_REQ;`, `on ? val | EN : val & ~EN`):
    /// the function starts the hardware for one value and stops it for the other.
    private func chooser(in body: Node) -> DmaDirection? {
        for node in body.descendants(where: { $0.kind == .ifStmt || $0.kind == .conditionalOperator }) where node.children.count == 3 {
            guard let (index, negated) = parameterReference(ExpressionFacts.unwrapCondition(node.children[0])),
                  let then = bitEffect(node.children[1]), let otherwise = bitEffect(node.children[2]), then != otherwise else { continue }
            // Clearing when the condition holds: the condition's truth disables.
            let disableWhenConditionTrue = then == .clears
            // The condition holds when the parameter is nonzero, unless negated.
            return DmaDirection(parameter: index, disableWhenZero: disableWhenConditionTrue == negated)
        }
        return nil
    }
}
