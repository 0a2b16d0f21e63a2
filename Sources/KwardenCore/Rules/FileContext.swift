import ClangKit

/// A function defined in the file being checked.
public struct FunctionDefinition {
    public let name: String
    public let declaration: Node
    public var body: Node? { declaration.children.last(where: { $0.kind == .compoundStmt }) }
    public var parameters: [Node] { declaration.children.filter { $0.kind == .parmDecl } }
}

/// Everything a rule sees of one parsed file.
public final class FileContext {
    public let path: String
    public let unit: TranslationUnit

    public init(path: String, unit: TranslationUnit) {
        self.path = path
        self.unit = unit
    }

    /// Function definitions written in the main file (not in headers).
    public lazy var functions: [FunctionDefinition] = unit.topLevel.compactMap { cursor in
        guard cursor.kind == .functionDecl, cursor.isDefinition, cursor.isInMainFile else { return nil }
        return FunctionDefinition(name: cursor.spelling, declaration: Node.tree(of: cursor, in: unit))
    }

    /// Macro uses written in the main file, in source order.
    public lazy var macroUses: [MacroUse] = unit.macroUses(inFile: path).sorted { $0.range.start.offset < $1.range.start.offset }

    /// Macro uses whose invocation covers `position` (outermost first).
    public func macroUses(covering position: SourcePosition) -> [MacroUse] {
        guard position.file == path else { return [] }
        return macroUses.filter { $0.range.start.offset <= position.offset && position.offset < $0.range.end.offset }
    }

    /// The macro use that produced `node`, if its whole code comes from one macro invocation.
    public func macroUse(producing node: Node) -> MacroUse? {
        let position = node.cursor.expansionPosition
        return macroUses.last { $0.range.start.offset == position.offset && $0.range.start.file == position.file }
    }

    public func tokens(in range: SourceRange) -> [Token] { unit.tokens(in: range) }

    /// The top-level arguments of a function-like macro use, as token lists.
    public func macroArguments(_ use: MacroUse) -> [[Token]] {
        let tokens = unit.tokens(in: use.range)
        guard tokens.count >= 3, tokens[1].text == "(" else { return [] }
        var arguments: [[Token]] = [[]]
        var depth = 0
        for token in tokens.dropFirst(2) {
            switch token.text {
            case "(", "[", "{": depth += 1; arguments[arguments.count - 1].append(token)
            case ")", "]", "}":
                if depth == 0 { return arguments }
                depth -= 1; arguments[arguments.count - 1].append(token)
            case "," where depth == 0: arguments.append([])
            default: arguments[arguments.count - 1].append(token)
            }
        }
        return arguments
    }
}
