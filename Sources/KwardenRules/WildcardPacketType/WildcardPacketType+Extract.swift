import Foundation
import ClangKit
import RuleKit

/// Per file, from the AST: registrations, packet_type field stores and handlers.
extension WildcardPacketType {
    public func extract(_ context: FileContext, _ request: ExtractRequest<Question>) -> [Summary] {
        var result: [Summary] = []
        let facts = ExpressionFacts(context: context, noreturnFunctions: noreturnFunctions)
        for function in context.functions {
            guard let body = function.body else { continue }
            result += registrations(in: function, body: body, context: context)
            result += fieldStores(in: function, body: body, context: context)
            if let handler = handlerFact(function, body: body, context: context, facts: facts) { result.append(handler) }
        }
        return result
    }

    private static func isPacketType(_ type: TypeInfo) -> Bool { type.recordName == "packet_type" }

    /// Where a packet_type expression points, as a key shared by all code that reaches it:
    /// "record.member" for an instance's member, "local:function:variable" for an allocation.
    /// nil for file-scope objects, parameters and anything the rule cannot follow.
    private func targetKey(_ expression: Node, function: FunctionDefinition, before limit: Int, depth: Int = 0) -> (key: String, isLocal: Bool)? {
        let node = expression.strippingParensAndCasts
        switch node.kind {
        case .unaryOperator where node.operatorSpelling == "&" || node.operatorSpelling == "*":
            guard let operand = node.children.first?.strippingParensAndCasts else { return nil }
            if operand.kind == .memberRefExpr { return memberKey(operand) }
            if operand.kind == .declRefExpr, node.operatorSpelling == "*" { return targetKey(operand, function: function, before: limit, depth: depth) }
            return nil
        case .memberRefExpr:
            return memberKey(node)
        case .declRefExpr:
            guard depth < 3, let variable = node.referenced, variable.kind == .varDecl,
                  variable.semanticParent?.kind == .functionDecl else { return nil }
            guard let value = lastValue(of: variable, in: function, before: limit) else { return nil }
            let stripped = value.strippingParensAndCasts
            if stripped.kind == .callExpr, let callee = stripped.calleeName, allocators.contains(callee) {
                return ("local:\(function.name):\(variable.spelling)", true)
            }
            return targetKey(value, function: function, before: limit, depth: depth + 1)
        default:
            return nil
        }
    }

    /// "record.member" for a member access whose chain starts at something per-instance (not a
    /// file-scope variable).
    private func memberKey(_ member: Node) -> (key: String, isLocal: Bool)? {
        var root = member
        while root.kind == .memberRefExpr || root.kind == .unaryOperator || root.kind == .arraySubscriptExpr,
              let base = root.children.first(where: { $0.kind.isExpression }) {
            root = base.strippingParensAndCasts
        }
        if root.kind == .declRefExpr, let variable = root.referenced, variable.kind == .varDecl,
           variable.semanticParent?.kind != .functionDecl {
            return nil
        }
        guard let key = ExpressionFacts.fieldKey(member) else { return nil }
        return (key, false)
    }

    /// The value a local pointer holds at `limit`: its last assignment before, else its initializer.
    private func lastValue(of variable: Cursor, in function: FunctionDefinition, before limit: Int) -> Node? {
        guard let body = function.body else { return nil }
        var value: Node?
        for node in body.descendants(where: { $0.kind == .varDecl || $0.kind == .binaryOperator }) where node.position.offset < limit {
            if node.kind == .varDecl, node.cursor == variable {
                value = node.children.last(where: { $0.kind.isExpression })
            } else if node.kind == .binaryOperator, node.operatorSpelling == "=", node.children.count == 2,
                      node.children[0].strippingParensAndCasts.referenced == variable {
                value = node.children[1]
            }
        }
        return value
    }

    /// For `x->dev = v` / `x.func = f` on a packet_type: (target, field, value).
    private func packetTypeFieldStore(_ node: Node) -> (target: Node, field: String, value: Node)? {
        guard node.kind == .binaryOperator, node.operatorSpelling == "=", node.children.count == 2 else { return nil }
        let left = node.children[0].strippingParensAndCasts
        guard left.kind == .memberRefExpr, let base = left.children.first(where: { $0.kind.isExpression }),
              Self.isPacketType(base.type) else { return nil }
        return (base, left.spelling, node.children[1])
    }

    /// For `*pt = (struct packet_type){ ... }` / `x->pt = template`: (target, designated fields).
    private func wholeStore(_ node: Node) -> (target: Node, fields: [String: [Token]])? {
        guard node.kind == .binaryOperator, node.operatorSpelling == "=", node.children.count == 2,
              Self.isPacketType(node.children[0].type), !node.children[0].type.isPointer else { return nil }
        let value = node.children[1].strippingParensAndCasts
        var initializer: Cursor?
        if value.kind == .compoundLiteralExpr || value.kind == .initListExpr {
            initializer = value.cursor
        } else if value.kind == .declRefExpr, let variable = value.referenced, variable.kind == .varDecl {
            // A file-scope template copied into the instance.
            initializer = (variable.definition ?? variable).children.first { $0.kind == .initListExpr }
        }
        guard let initializer else { return nil }
        return (node.children[0], designatedFields(node.unit.tokens(of: initializer)))
    }

    /// `.name = value` pairs of a designated initializer, read from its tokens.
    private func designatedFields(_ tokens: [Token]) -> [String: [Token]] {
        var fields: [String: [Token]] = [:]
        var depth = 0, index = 0
        while index < tokens.count {
            let token = tokens[index]
            if token.text == "{" || token.text == "(" { depth += 1 } else if token.text == "}" || token.text == ")" { depth -= 1 }
            if depth == 1, token.text == ".", index + 2 < tokens.count, tokens[index + 2].text == "=" {
                let name = tokens[index + 1].text
                var value: [Token] = []
                var inner = 0
                index += 3
                while index < tokens.count {
                    let t = tokens[index]
                    if t.text == "(" || t.text == "{" { inner += 1 }
                    if t.text == ")" || t.text == "}" { if inner == 0 { break }; inner -= 1 }
                    if t.text == ",", inner == 0 { break }
                    value.append(t)
                    index += 1
                }
                fields[name] = value
                continue
            }
            index += 1
        }
        return fields
    }

    private static func isNullValue(_ value: Node) -> Bool {
        let stripped = value.strippingParensAndCasts
        return stripped.kind == .integerLiteral && stripped.integerValue == 0
    }

    private static func isNullTokens(_ tokens: [Token]) -> Bool {
        tokens.count == 1 && (tokens[0].text == "NULL" || tokens[0].text == "0")
    }

    private static func functionName(_ value: Node) -> String? {
        let stripped = value.strippingParensAndCasts
        guard stripped.kind == .declRefExpr, let target = stripped.referenced, target.kind == .functionDecl else { return nil }
        return target.spelling
    }

    /// Whether `node` runs only on some paths to `target` (inside a branch or loop that does not
    /// also contain `target`).
    private func isConditional(_ node: Node, relativeTo target: Node) -> Bool {
        node.ancestors.contains { ancestor in
            (ancestor.kind == .ifStmt || ancestor.kind.isLoop && !(ancestor.kind == .doStmt && ancestor.condition?.integerValue == 0)
             || ancestor.kind == .switchStmt || ancestor.kind == .conditionalOperator) && !ancestor.isAncestor(of: target)
        }
    }

    private func registrations(in function: FunctionDefinition, body: Node, context: FileContext) -> [Summary] {
        var result: [Summary] = []
        for call in body.descendants(where: { $0.kind == .callExpr }) {
            guard let callee = call.calleeName, registerFunctions.contains(callee), let argument = call.arguments.first,
                  let (key, isLocal) = targetKey(argument, function: function, before: call.position.offset) else { continue }
            var registration = Registration(key: key, isLocal: isLocal, argument: argument.sourceText.replacingOccurrences(of: "& ", with: "&"),
                                            devState: "unknown")
            var filled = false
            for node in body.descendants(where: { $0.kind == .binaryOperator }) where node.position.offset < call.position.offset {
                if let store = packetTypeFieldStore(node),
                   targetKey(store.target, function: function, before: node.position.offset)?.key == key {
                    switch store.field {
                    case "dev":
                        let isNull = Self.isNullValue(store.value)
                        if isNull || !isConditional(node, relativeTo: call) || registration.devState != "null" {
                            registration.devState = isNull ? "null" : "set"
                            registration.devLine = node.position.line
                            registration.devNote = isNull ? "`.dev` of `\(registration.argument)` is set to NULL here" : nil
                        }
                    case "func":
                        registration.handler = Self.functionName(store.value) ?? registration.handler
                        filled = true
                    default:
                        filled = true
                    }
                } else if let whole = wholeStore(node),
                          targetKey(whole.target, function: function, before: node.position.offset)?.key == key {
                    if let handler = whole.fields["func"], handler.count == 1 { registration.handler = handler[0].text }
                    if let dev = whole.fields["dev"] {
                        registration.devState = Self.isNullTokens(dev) ? "null" : "set"
                        registration.devNote = "`.dev` of `\(registration.argument)` is initialized to NULL here"
                    } else {
                        registration.devState = "null"
                        registration.devNote = "`\(registration.argument)` is initialized without `.dev` here, so `.dev` is NULL"
                    }
                    registration.devLine = node.position.line
                    filled = false
                }
            }
            if registration.devState == "unknown", filled {
                registration.devState = "unset"
                registration.devNote = "\(function.name)() fills `\(registration.argument)` but never sets its `.dev`"
            }
            result.append(Summary(kind: .registration, key: key, file: context.path, line: call.position.line,
                                  function: function.name, registration: registration))
        }
        return result
    }

    /// Stores into packet_types reached through instance members, for registrations in other functions.
    private func fieldStores(in function: FunctionDefinition, body: Node, context: FileContext) -> [Summary] {
        var result: [Summary] = []
        for node in body.descendants(where: { $0.kind == .binaryOperator }) {
            if let store = packetTypeFieldStore(node), ["dev", "func", "type"].contains(store.field),
               let (key, isLocal) = targetKey(store.target, function: function, before: node.position.offset), !isLocal {
                let detail = FieldStore(field: store.field, isNull: store.field == "dev" && Self.isNullValue(store.value),
                                        handler: store.field == "func" ? Self.functionName(store.value) : nil)
                result.append(Summary(kind: .fieldStore, key: key, file: context.path, line: node.position.line,
                                      function: function.name, store: detail))
            } else if let whole = wholeStore(node),
                      let (key, isLocal) = targetKey(whole.target, function: function, before: node.position.offset), !isLocal {
                let handler = whole.fields["func"].flatMap { $0.count == 1 ? $0[0].text : nil }
                result.append(Summary(kind: .fieldStore, key: key, file: context.path, line: node.position.line, function: function.name,
                                      store: FieldStore(field: "dev", isNull: whole.fields["dev"].map(Self.isNullTokens) ?? true, handler: nil)))
                if let handler {
                    result.append(Summary(kind: .fieldStore, key: key, file: context.path, line: node.position.line, function: function.name,
                                          store: FieldStore(field: "func", isNull: false, handler: handler)))
                }
            }
        }
        return result
    }

    // MARK: Handlers

    /// For a function shaped like a packet_type handler: does it reach its instance, and does a
    /// check of the receiving device come first?
    private func handlerFact(_ function: FunctionDefinition, body: Node, context: FileContext, facts: ExpressionFacts) -> Summary? {
        let parameters = function.parameters
        guard parameters.count >= 3, Self.isPacketType(parameters[2].type), parameters[2].type.isPointer,
              parameters[0].type.recordName == "sk_buff" else { return nil }
        let packetType = parameters[2].cursor
        let devices = [parameters[1].cursor] + (parameters.count > 3 ? [parameters[3].cursor] : [])
        let skb = parameters[0].cursor

        // Variables holding the instance: initialized from container_of() on the packet_type or
        // from its private pointer.
        var instances: [Cursor] = []
        var sources: [Node] = []
        for node in body.descendants(where: { $0.kind == .varDecl || $0.kind == .binaryOperator }) {
            let target: Cursor?, value: Node?
            if node.kind == .varDecl {
                (target, value) = (node.cursor, node.children.last(where: { $0.kind.isExpression }))
            } else if node.operatorSpelling == "=", node.children.count == 2, let variable = node.children[0].strippingParensAndCasts.referenced,
                      variable.kind == .varDecl {
                (target, value) = (variable, node.children[1])
            } else { continue }
            guard let target, let value, reachesInstance(value, packetType: packetType, context: context) else { continue }
            instances.append(target)
            sources.append(value)
        }
        guard !instances.isEmpty else { return nil }

        // The receiving device, and locals holding state looked up from it (`port = rcu_dereference(dev->x)`).
        var deviceDerived = devices
        func mentionsDevice(_ root: Node) -> Bool {
            ([root] + root.descendants()).contains { node in
                if node.kind == .declRefExpr, let target = node.referenced, deviceDerived.contains(target) { return true }
                if node.kind == .memberRefExpr, node.spelling == "dev",
                   let base = node.children.first?.strippingParensAndCasts, base.referenced == skb { return true }
                return false
            }
        }
        for node in body.descendants(where: { $0.kind == .varDecl || $0.kind == .binaryOperator }) {
            if node.kind == .varDecl, let value = node.children.last(where: { $0.kind.isExpression }), mentionsDevice(value) {
                deviceDerived.append(node.cursor)
            } else if node.kind == .binaryOperator, node.operatorSpelling == "=", node.children.count == 2,
                      let variable = node.children[0].strippingParensAndCasts.referenced, variable.kind == .varDecl,
                      !instances.contains(variable), mentionsDevice(node.children[1]) {
                deviceDerived.append(variable)
            }
        }
        let checks = body.descendants(where: { $0.kind == .ifStmt }).filter { mentionsDevice($0.children[0]) }
        let uses = body.descendants(where: { $0.kind == .declRefExpr }).filter { node in
            guard let target = node.referenced, instances.contains(target) else { return false }
            if node.parent?.kind == .binaryOperator, node.indexInParent == 0, node.parent?.operatorSpelling == "=" { return false }
            return !checks.contains { $0.children[0] === node || $0.children[0].isAncestor(of: node) }
                && !sources.contains { $0 === node || $0.isAncestor(of: node) }
        }
        guard let first = uses.first else { return nil }
        let unchecked = uses.first { use in
            !checks.contains { check in
                // The check encloses the use, or precedes it in an enclosing block and leaves on failure.
                if check.isAncestor(of: use), !check.children[0].isAncestor(of: use) { return true }
                guard let block = check.parent, block.isAncestor(of: use), check.position.offset < use.position.offset,
                      let then = check.thenBranch else { return false }
                return facts.alwaysLeaves(then)
            }
        }
        let shown = unchecked ?? first
        let statement = shown.ancestors.first { $0.parent?.kind == .compoundStmt } ?? shown
        let handler = Handler(checked: unchecked == nil, useLine: shown.position.line,
                              use: String(statement.sourceText.prefix(80)), isStatic: function.declaration.cursor.isStatic)
        return Summary(kind: .handler, key: function.name, file: context.path, line: function.declaration.position.line,
                       function: function.name, handler: handler)
    }

    /// container_of() on the packet_type parameter, or a read of its private pointer.
    private func reachesInstance(_ value: Node, packetType: Cursor, context: FileContext) -> Bool {
        for use in context.macroUses(covering: value.position) where instanceMacros.contains(use.name) {
            if let first = context.macroArguments(use).first, first.count == 1, first[0].text == packetType.spelling { return true }
        }
        return ([value] + value.descendants()).contains { node in
            node.kind == .memberRefExpr && instanceFields.contains(node.spelling)
                && node.children.first?.strippingParensAndCasts.referenced == packetType
        }
    }
}
