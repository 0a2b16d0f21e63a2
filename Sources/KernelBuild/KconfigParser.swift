import Foundation

/// Reads Kconfig files into a `KconfigModel`: entries (`config`, `choice`, `menu`, `if`, `source`)
/// and their attributes, with the enclosing blocks' dependencies folded into each, and Kconfig's
/// macro language (`$(var)`, `$(func,args)`) expanded as the files are read.
struct KconfigParser {
    let sourceRoot: String
    let arch: String
    var model = KconfigModel()
    private var variables: [String: String] = [:]
    private var recursiveVariables: Set<String> = []
    /// Stack of dependencies from enclosing `if`/`menu` blocks.
    private var blockDependencies: [KconfigExpr] = []
    private var blockKinds: [String] = []
    private var currentChoice: Int?
    private(set) var parsedFiles = Set<String>()
    /// Sourced paths that could not be read, and directories a `source` glob listed: what the
    /// model was read from besides `parsedFiles` (a file appearing there would change it).
    private(set) var missingFiles = Set<String>()
    private(set) var listedDirectories = Set<String>()

    init(sourceRoot: String, arch: String) {
        self.sourceRoot = sourceRoot
        self.arch = arch
        variables = ["SRCARCH": arch, "ARCH": arch, "srctree": sourceRoot, "KERNELVERSION": "",
                     "CC": "clang", "LD": "ld.lld", "CC_VERSION_TEXT": "clang"]
    }

    private var enclosingDependency: KconfigExpr {
        blockDependencies.reduce(KconfigExpr.yes) { $0.and($1) }
    }

    /// Parses a Kconfig file (globs allowed, as Kconfig's `source` allows). A missing file is
    /// skipped: `osource` makes that legal, and for `source` a scanner is better off going on.
    mutating func parseFile(_ relative: String) {
        let path = relative.hasPrefix("/") ? relative : sourceRoot + "/" + relative
        let paths: [String]
        if path.contains("*") || path.contains("?") {
            paths = Self.glob(path, listed: &listedDirectories)
        } else {
            paths = [path]
        }
        for file in paths {
            guard !parsedFiles.contains(file) else { continue }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { missingFiles.insert(file); continue }
            parsedFiles.insert(file)
            parse(text: text, directory: (file as NSString).deletingLastPathComponent)
        }
    }

    private static func glob(_ pattern: String, listed: inout Set<String>) -> [String] {
        let directory = (pattern as NSString).deletingLastPathComponent
        let namePattern = (pattern as NSString).lastPathComponent
        if directory.contains("*") {
            // e.g. drivers/*/Kconfig: expand the directory part one level.
            let parent = (directory as NSString).deletingLastPathComponent
            let dirPattern = (directory as NSString).lastPathComponent
            listed.insert(parent)
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
            return entries.sorted().filter { fnmatch(dirPattern, $0, 0) == 0 }
                .flatMap { glob(parent + "/" + $0 + "/" + namePattern, listed: &listed) }
        }
        listed.insert(directory)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.sorted().filter { fnmatch(namePattern, $0, 0) == 0 }.map { directory + "/" + $0 }
    }

    private enum Entry { case none, config(String), choice(Int), comment }

    private mutating func parse(text: String, directory: String) {
        let lines = Self.logicalLines(text)
        var entry: Entry = .none
        var entryDependencies: [KconfigExpr] = []
        var index = 0
        // Attributes are gathered per entry, then dependencies applied when the entry ends.
        var pendingDefaults: [(KconfigExpr, KconfigExpr)] = []
        var pendingPrompts: [KconfigExpr] = []
        var pendingSelects: [(String, KconfigExpr)] = []
        var pendingImplies: [(String, KconfigExpr)] = []
        var pendingChoiceDefaults: [(String, KconfigExpr)] = []
        var pendingType: KconfigType?

        func finishEntry(_ parser: inout KconfigParser) {
            let deps = entryDependencies.reduce(KconfigExpr.yes) { $0.and($1) }
            let full = parser.enclosingDependency.and(deps)
            switch entry {
            case .config(let name):
                var symbol = parser.model.symbol(name)
                if let pendingType { symbol.type = pendingType }
                symbol.dependencies.append(full)
                for (value, condition) in pendingDefaults { symbol.defaults.append((value, condition.and(full))) }
                for condition in pendingPrompts { symbol.prompts.append(condition.and(full)) }
                if let choice = parser.currentChoice {
                    symbol.choice = choice
                    parser.model.choices[choice].members.append(name)
                }
                parser.model.symbols[name] = symbol
                for (target, condition) in pendingSelects {
                    var selected = parser.model.symbol(target)
                    selected.selectedBy.append((name, condition.and(full)))
                    parser.model.symbols[target] = selected
                }
                for (target, condition) in pendingImplies {
                    var implied = parser.model.symbol(target)
                    implied.impliedBy.append((name, condition.and(full)))
                    parser.model.symbols[target] = implied
                }
            case .choice(let choice):
                parser.model.choices[choice].dependency = full
                parser.model.choices[choice].defaults = pendingChoiceDefaults.map { ($0.0, $0.1.and(full)) }
            case .none, .comment:
                break
            }
            entry = .none
            entryDependencies = []
            pendingDefaults = []
            pendingPrompts = []
            pendingSelects = []
            pendingImplies = []
            pendingChoiceDefaults = []
            pendingType = nil
        }

        while index < lines.count {
            let line = lines[index]
            index += 1
            let trimmed = line.trimmedBlanks
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let (keyword, rest) = Self.splitKeyword(trimmed)
            switch keyword {
            case "config", "menuconfig":
                finishEntry(&self)
                entry = .config(rest.trimmedBlanks)
                _ = model.symbol(rest.trimmedBlanks)
            case "choice":
                finishEntry(&self)
                model.choices.append(KconfigChoice())
                currentChoice = model.choices.count - 1
                entry = .choice(model.choices.count - 1)
            case "endchoice":
                finishEntry(&self)
                currentChoice = nil
            case "menu":
                finishEntry(&self)
                // The menu's own "depends on" lines follow; they apply to everything up to endmenu.
                var lookahead = index
                var deps: [KconfigExpr] = []
                while lookahead < lines.count {
                    let next = lines[lookahead].trimmedBlanks
                    let (nextKeyword, nextRest) = Self.splitKeyword(next)
                    if next.isEmpty || next.hasPrefix("#") { lookahead += 1; continue }
                    if nextKeyword == "depends", nextRest.hasPrefix("on") {
                        deps.append(parseExpression(expand(String(nextRest.dropFirst(2)))))
                        lookahead += 1
                    } else if nextKeyword == "visible" {
                        lookahead += 1
                    } else { break }
                }
                index = lookahead
                blockDependencies.append(deps.reduce(KconfigExpr.yes) { $0.and($1) })
                blockKinds.append("menu")
            case "endmenu":
                finishEntry(&self)
                if blockKinds.last == "menu" { blockKinds.removeLast(); blockDependencies.removeLast() }
            case "if":
                finishEntry(&self)
                blockDependencies.append(parseExpression(expand(rest)))
                blockKinds.append("if")
            case "endif":
                finishEntry(&self)
                if blockKinds.last == "if" { blockKinds.removeLast(); blockDependencies.removeLast() }
            case "comment", "mainmenu":
                finishEntry(&self)
                entry = .comment
            case "source", "osource", "rsource", "orsource":
                finishEntry(&self)
                let target = expand(Self.unquote(rest.trimmedBlanks))
                let relative = keyword.hasPrefix("r") || keyword.hasPrefix("or") ? directory + "/" + target : target
                parseFile(relative)
            case "bool", "boolean", "tristate", "int", "hex", "string":
                pendingType = KconfigType(rawValue: keyword == "boolean" ? "bool" : keyword)
                let promptPart = rest.trimmedBlanks
                if !promptPart.isEmpty { pendingPrompts.append(promptCondition(promptPart)) }
            case "def_bool", "def_tristate":
                pendingType = keyword == "def_bool" ? .bool : .tristate
                let (value, condition) = valueAndCondition(rest)
                pendingDefaults.append((value, condition))
            case "prompt":
                pendingPrompts.append(promptCondition(rest))
            case "default":
                if case .choice = entry {
                    let (value, condition) = valueAndCondition(rest)
                    if case .symbol(let name) = value { pendingChoiceDefaults.append((name, condition)) }
                } else {
                    pendingDefaults.append(valueAndCondition(rest))
                }
            case "depends":
                let expression = rest.hasPrefix("on") ? String(rest.dropFirst(2)) : rest
                entryDependencies.append(parseExpression(expand(expression)))
            case "select", "imply":
                let (value, condition) = valueAndCondition(rest)
                if case .symbol(let name) = value {
                    if keyword == "select" { pendingSelects.append((name, condition)) } else { pendingImplies.append((name, condition)) }
                }
            case "help", "---help---":
                // Help text runs while lines are blank or indented at least as its first line.
                var helpIndent: Int?
                while index < lines.count {
                    let next = lines[index]
                    if next.trimmedBlanks.isEmpty { index += 1; continue }
                    let indent = Self.indentation(next)
                    if helpIndent == nil { helpIndent = indent }
                    if indent < helpIndent! || indent == 0 { break }
                    index += 1
                }
            case "range", "option", "modules", "optional", "visible", "transitional":
                break
            default:
                // Macro assignments: "name := value", "name = value", "name += value".
                if let assignment = Self.assignment(trimmed) {
                    switch assignment.op {
                    case ":=":
                        variables[assignment.name] = expand(assignment.value)
                        recursiveVariables.remove(assignment.name)
                    case "+=":
                        let previous = variables[assignment.name] ?? ""
                        let value = recursiveVariables.contains(assignment.name) ? assignment.value : expand(assignment.value)
                        variables[assignment.name] = previous.isEmpty ? value : previous + " " + value
                    default:
                        variables[assignment.name] = assignment.value
                        recursiveVariables.insert(assignment.name)
                    }
                }
            }
        }
        finishEntry(&self)
    }

    // MARK: lexing helpers

    private static func logicalLines(_ text: String) -> [String] {
        var lines: [String] = []
        var pending: [UInt8] = []
        // By bytes (a CRLF file's lines lose their CR too).
        for var raw in text.utf8.split(separator: 0x0a, omittingEmptySubsequences: false) {
            if raw.last == 0x0d { raw = raw.dropLast() }
            if raw.last == 0x5c {
                pending += raw.dropLast()
            } else {
                lines.append(pending.isEmpty ? String(decoding: raw, as: UTF8.self) : String(decoding: pending + raw, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            }
        }
        if !pending.isEmpty { lines.append(String(decoding: pending, as: UTF8.self)) }
        return lines
    }

    private static func indentation(_ line: String) -> Int {
        var width = 0
        for char in line {
            if char == " " { width += 1 } else if char == "\t" { width = (width / 8 + 1) * 8 } else { break }
        }
        return width
    }

    private static func splitKeyword(_ line: String) -> (String, String) {
        guard let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return (line, "") }
        return (String(line[..<space]), line[space...].trimmedBlanks)
    }

    private static func assignment(_ line: String) -> (name: String, op: String, value: String)? {
        for op in [":=", "+=", "="] {
            guard let range = line.firstByteRange(of: op) else { continue }
            let name = line[..<range.lowerBound].trimmedBlanks
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else { return nil }
            return (name, op, line[range.upperBound...].trimmedBlanks)
        }
        return nil
    }

    static func unquote(_ text: String) -> String {
        if text.count >= 2, let first = text.first, first == "\"" || first == "'", text.last == first {
            return String(text.dropFirst().dropLast())
        }
        return text
    }

    /// Splits "X if COND" into (X, COND); X may be quoted.
    private func valueAndCondition(_ text: String) -> (KconfigExpr, KconfigExpr) {
        let expanded = expand(text)
        let tokens = KconfigLexer.tokenize(expanded)
        // A value that expanded to nothing (a compiler probe) is "n", not "always".
        let valueTokens = Array(tokens[..<(tokens.firstIndex(of: "if") ?? tokens.endIndex)])
        let value = valueTokens.isEmpty ? KconfigExpr.symbol("n") : KconfigExprParser.parse(valueTokens)
        if let ifIndex = tokens.firstIndex(of: "if") {
            return (value, KconfigExprParser.parse(Array(tokens[(ifIndex + 1)...])))
        }
        return (value, .yes)
    }

    /// The condition of a prompt (`"text" if COND`).
    private func promptCondition(_ text: String) -> KconfigExpr {
        let tokens = KconfigLexer.tokenize(expand(text))
        if let ifIndex = tokens.firstIndex(of: "if") {
            return KconfigExprParser.parse(Array(tokens[(ifIndex + 1)...]))
        }
        return .yes
    }

    private func parseExpression(_ text: String) -> KconfigExpr {
        KconfigExprParser.parse(KconfigLexer.tokenize(text))
    }

    // MARK: macro expansion

    /// Kconfig's preprocessor: `$(var)` and `$(func,args)`; anything that would run a command is empty.
    func expand(_ text: String, arguments: [String] = [], depth: Int = 0) -> String {
        guard text.utf8.contains(0x24), depth < 20 else { return text }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let char = text[index]
            let next = text.index(after: index)
            guard char == "$", next < text.endIndex, text[next] == "(" else {
                result.append(char)
                index = next
                continue
            }
            guard let end = text.matchingCloser(of: next, opener: "(", closer: ")") else { result += text[index...]; break }
            let inner = String(text[text.index(after: next)..<end])
            let parts = inner.splitAtTopLevelCommas(openers: "(", closers: ")").map { expand($0, arguments: arguments, depth: depth + 1) }
            result += call(parts, arguments: arguments, depth: depth)
            index = text.index(after: end)
        }
        return result
    }

    private func call(_ parts: [String], arguments: [String], depth: Int) -> String {
        guard let name = parts.first?.trimmedBlanks else { return "" }
        if let position = Int(name), position >= 1 { return position <= arguments.count ? arguments[position - 1] : "" }
        switch name {
        case "shell", "info", "warning-if", "error-if": return ""
        case "filename", "lineno": return ""
        default: break
        }
        guard let value = variables[name] else { return "" }
        guard recursiveVariables.contains(name) else { return value }
        return expand(value, arguments: Array(parts.dropFirst()), depth: depth + 1)
    }
}
