import Foundation

/// Resolves a defconfig into a full configuration the way `make defconfig` (scripts/kconfig/conf)
/// does, without running anything from the tree: Kconfig files are parsed, defaults, `depends on`,
/// `select` and choices are evaluated. Shell-based macros (`$(shell,...)`, `$(cc-option,...)`)
/// evaluate to empty, i.e. compiler probes answer "no".
struct KconfigResolver {
    let sourceRoot: String
    let arch: String

    /// The compiler facts Kconfig would probe by running the compiler: kwarden parses with clang,
    /// so the configuration is the one an `LLVM=1` build of that version would get.
    func compilerSymbols() -> [String: String] {
        var version = 0
        if let include = try? Toolchain.resourceIncludeDirectory() {
            let parts = ((include as NSString).deletingLastPathComponent as NSString).lastPathComponent.split(separator: ".").compactMap { Int($0) }
            if parts.count >= 1 { version = parts[0] * 10000 + (parts.count > 1 ? parts[1] * 100 : 0) + (parts.count > 2 ? parts[2] : 0) }
        }
        return ["CC_IS_CLANG": "y", "CC_IS_GCC": "n", "CLANG_VERSION": "\(version)", "GCC_VERSION": "0",
                "CC_VERSION_TEXT": "\"clang version \(version / 10000).\(version / 100 % 100).\(version % 100)\""]
    }

    /// Every Kconfig file of the tree for this arch, parsed.
    func parseModel() -> KconfigModel {
        var parser = KconfigParser(sourceRoot: sourceRoot, arch: arch)
        parser.parseFile("Kconfig")
        return parser.model
    }

    func resolve(defconfigPath: String?) throws -> KernelConfig {
        try resolve(defconfigPath: defconfigPath, model: parseModel())
    }

    func resolve(defconfigPath: String?, model: KconfigModel) throws -> KernelConfig {
        var user: [String: String] = [:]
        if let defconfigPath, let text = try? String(contentsOfFile: defconfigPath, encoding: .utf8) {
            let parsed = KernelConfig(parsing: text)
            for (name, value) in parsed.values { user[name] = value }
            // "# CONFIG_X is not set" in a defconfig is a user choice of n.
            for line in text.split(separator: "\n") where line.hasPrefix("# CONFIG_") && line.hasSuffix(" is not set") {
                user[String(line.dropFirst(9).dropLast(11))] = "n"
            }
        }
        var evaluator = KconfigEvaluator(model: model, user: user, forced: compilerSymbols())
        var config = KernelConfig()
        config.headerArch = arch
        config.headerVersion = KernelVersion(makefileAt: sourceRoot + "/Makefile").release
        for name in model.order {
            if let value = evaluator.writtenValue(name) {
                config.set(name, value)
            } else if evaluator.isOfferedBoolean(name) {
                config.markNotSet(name)   // conf writes "# CONFIG_X is not set" for these
            }
        }
        return config
    }
}

// MARK: - Model

indirect enum KconfigExpr: Hashable {
    case symbol(String)          // a symbol name or a constant (y/m/n, number, string)
    case not(KconfigExpr)
    case and(KconfigExpr, KconfigExpr)
    case or(KconfigExpr, KconfigExpr)
    case compare(String, KconfigExpr, KconfigExpr)   // =, !=, <, <=, >, >=

    static let yes = KconfigExpr.symbol("y")

    func and(_ other: KconfigExpr?) -> KconfigExpr {
        guard let other else { return self }
        if self == .yes { return other }
        if other == .yes { return self }
        return .and(self, other)
    }
}

enum KconfigType: String { case bool, tristate, int, hex, string, unknown }

struct KconfigSymbol {
    var name: String
    var type: KconfigType = .unknown
    /// (value, condition): condition includes the defining entry's dependencies.
    var defaults: [(KconfigExpr, KconfigExpr)] = []
    /// Prompt visibility conditions (one per definition with a prompt).
    var prompts: [KconfigExpr] = []
    /// Dependencies of each definition; the symbol's are their disjunction.
    var dependencies: [KconfigExpr] = []
    /// (selecting symbol, condition) pairs: the reverse dependency.
    var selectedBy: [(String, KconfigExpr)] = []
    /// (implying symbol, condition) pairs: a default that `imply` adds.
    var impliedBy: [(String, KconfigExpr)] = []
    var choice: Int?
}

struct KconfigChoice {
    var members: [String] = []
    var defaults: [(String, KconfigExpr)] = []
    var dependency: KconfigExpr = .yes
}

struct KconfigModel {
    var symbols: [String: KconfigSymbol] = [:]
    var order: [String] = []
    var choices: [KconfigChoice] = []

    mutating func symbol(_ name: String) -> KconfigSymbol {
        if let existing = symbols[name] { return existing }
        order.append(name)
        let created = KconfigSymbol(name: name)
        symbols[name] = created
        return created
    }
}

// MARK: - Parser

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
    private var parsedFiles = Set<String>()

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
            paths = Self.glob(path)
        } else {
            paths = [path]
        }
        for file in paths {
            guard !parsedFiles.contains(file) else { continue }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            parsedFiles.insert(file)
            parse(text: text, directory: (file as NSString).deletingLastPathComponent)
        }
    }

    private static func glob(_ pattern: String) -> [String] {
        let directory = (pattern as NSString).deletingLastPathComponent
        let namePattern = (pattern as NSString).lastPathComponent
        if directory.contains("*") {
            // e.g. drivers/*/Kconfig: expand the directory part one level.
            let parent = (directory as NSString).deletingLastPathComponent
            let dirPattern = (directory as NSString).lastPathComponent
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
            return entries.sorted().filter { fnmatch(dirPattern, $0, 0) == 0 }
                .flatMap { glob(parent + "/" + $0 + "/" + namePattern) }
        }
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
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if raw.hasSuffix("\\") {
                pending += raw.dropLast()
            } else {
                lines.append(pending + raw)
                pending = ""
            }
        }
        if !pending.isEmpty { lines.append(pending) }
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
        guard text.contains("$"), depth < 20 else { return text }
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
            var level = 0
            var end = next
            while end < text.endIndex {
                if text[end] == "(" { level += 1 } else if text[end] == ")" { level -= 1; if level == 0 { break } }
                end = text.index(after: end)
            }
            guard end < text.endIndex else { result += text[index...]; break }
            let inner = String(text[text.index(after: next)..<end])
            let parts = Self.splitArguments(inner).map { expand($0, arguments: arguments, depth: depth + 1) }
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

    private static func splitArguments(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var level = 0
        for char in text {
            if char == "(" { level += 1 } else if char == ")" { level -= 1 }
            if char == ",", level == 0 { parts.append(current); current = ""; continue }
            current.append(char)
        }
        parts.append(current)
        return parts
    }
}

// MARK: - Expressions

enum KconfigLexer {
    /// Tokens: identifiers/numbers, quoted strings (kept quoted), operators, parentheses.
    static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        let chars = Array(text)
        var index = 0
        while index < chars.count {
            let char = chars[index]
            if char == " " || char == "\t" { index += 1; continue }
            if char == "#" { break }
            if char == "\"" || char == "'" {
                var end = index + 1
                while end < chars.count, chars[end] != char {
                    if chars[end] == "\\" { end += 1 }
                    end += 1
                }
                tokens.append(String(chars[index...min(end, chars.count - 1)]))
                index = end + 1
                continue
            }
            if index + 1 < chars.count {
                let pair = String(chars[index...index + 1])
                if ["&&", "||", "!=", "<=", ">="].contains(pair) { tokens.append(pair); index += 2; continue }
            }
            if "()!=<>".contains(char) { tokens.append(String(char)); index += 1; continue }
            var end = index
            while end < chars.count, !" \t()!=<>&|\"'".contains(chars[end]) { end += 1 }
            if end == index { index += 1; continue }
            tokens.append(String(chars[index..<end]))
            index = end
        }
        return tokens
    }
}

struct KconfigExprParser {
    var tokens: [String]
    var position = 0

    init(tokens: [String]) { self.tokens = tokens }

    /// The whole token list as one expression; empty means "always".
    static func parse(_ tokens: [String]) -> KconfigExpr {
        var parser = KconfigExprParser(tokens: tokens)
        return parser.parse()
    }

    mutating func parse() -> KconfigExpr {
        guard !tokens.isEmpty else { return .yes }
        return parseOr()
    }

    private mutating func peek() -> String? { position < tokens.count ? tokens[position] : nil }

    private mutating func parseOr() -> KconfigExpr {
        var left = parseAnd()
        while peek() == "||" { position += 1; left = .or(left, parseAnd()) }
        return left
    }

    private mutating func parseAnd() -> KconfigExpr {
        var left = parseUnary()
        while peek() == "&&" { position += 1; left = .and(left, parseUnary()) }
        return left
    }

    private mutating func parseUnary() -> KconfigExpr {
        if peek() == "!" { position += 1; return .not(parseUnary()) }
        if peek() == "(" {
            position += 1
            let inner = parseOr()
            if peek() == ")" { position += 1 }
            return inner
        }
        let left = parseAtom()
        if let op = peek(), ["=", "!=", "<", "<=", ">", ">="].contains(op) {
            position += 1
            return .compare(op, left, parseAtom())
        }
        return left
    }

    private mutating func parseAtom() -> KconfigExpr {
        guard let token = peek() else { return .symbol("n") }
        position += 1
        return .symbol(token)
    }
}

// MARK: - Evaluation

struct KconfigEvaluator {
    let model: KconfigModel
    let user: [String: String]
    private var tristateCache: [String: Int] = [:]
    private var stringCache: [String: String?] = [:]
    private var inProgress = Set<String>()
    private var choiceCache: [Int: String?] = [:]
    private let modulesEnabled: Bool

    /// Values that win over everything (facts about the toolchain, not choices).
    let forced: [String: String]

    init(model: KconfigModel, user: [String: String], forced: [String: String] = [:]) {
        self.model = model
        self.user = user
        self.forced = forced
        modulesEnabled = user["MODULES"].map { $0 == "y" } ?? true
    }

    /// The value conf writes to .config for `name`, or nil when it writes none (or `n`).
    mutating func writtenValue(_ name: String) -> String? {
        guard let symbol = model.symbols[name] else { return nil }
        switch symbol.type {
        case .bool, .tristate:
            switch tristate(name) {
            case 2: return "y"
            case 1: return "m"
            default: return nil
            }
        case .int, .hex, .string:
            guard dependencyValue(symbol) > 0, let value = stringValue(name) else { return nil }
            if symbol.type == .string { return "\"" + value + "\"" }
            // Version probes (`default $(cc-version)`) expand to nothing when nothing is run: 0,
            // as for a tool that is absent.
            if value.isEmpty || (symbol.type == .int && Int(value) == nil) { return "0" }
            if symbol.type == .hex, !value.lowercased().hasPrefix("0x") { return "0x" + value }
            return value
        case .unknown:
            return nil
        }
    }

    /// A bool/tristate whose prompt is visible: conf records its `n` as a choice.
    mutating func isOfferedBoolean(_ name: String) -> Bool {
        guard let symbol = model.symbols[name], symbol.type == .bool || symbol.type == .tristate else { return false }
        return visibility(symbol) > 0
    }

    private static func tristateConstant(_ text: String) -> Int? {
        switch text {
        case "y", "\"y\"": return 2
        case "m", "\"m\"": return 1
        case "n", "\"n\"", "": return 0
        default: return nil
        }
    }

    private mutating func dependencyValue(_ symbol: KconfigSymbol) -> Int {
        symbol.dependencies.isEmpty ? 2 : symbol.dependencies.map { evaluate($0) }.max() ?? 2
    }

    private mutating func visibility(_ symbol: KconfigSymbol) -> Int {
        var best = 0
        for prompt in symbol.prompts { best = max(best, evaluate(prompt)) }
        return min(best, dependencyValue(symbol))
    }

    mutating func tristate(_ name: String) -> Int {
        if let constant = Self.tristateConstant(name) { return constant }
        if let cached = tristateCache[name] { return cached }
        guard let symbol = model.symbols[name], symbol.type == .bool || symbol.type == .tristate else { return 0 }
        if let forcedValue = forced[name], let constant = Self.tristateConstant(forcedValue) { return constant }
        guard inProgress.insert(name).inserted else { return 0 }   // Kconfig forbids cycles; be safe anyway
        defer { inProgress.remove(name) }
        var value: Int
        if let choice = symbol.choice {
            value = choiceSelection(choice) == name ? 2 : 0
        } else {
            let visible = visibility(symbol)
            let dependency = dependencyValue(symbol)
            if visible > 0, let userValue = user[name], let wanted = Self.tristateConstant(userValue) {
                value = min(wanted, visible)
            } else {
                value = 0
                for (expression, condition) in symbol.defaults where evaluate(condition) > 0 {
                    value = min(evaluate(expression), min(evaluate(condition), dependency))
                    break
                }
                // `imply` raises the default, within the symbol's own dependencies.
                var implied = 0
                for (implier, condition) in symbol.impliedBy {
                    implied = max(implied, min(tristate(implier), evaluate(condition)))
                }
                if implied > 0 { value = min(max(value, implied), dependency) }
            }
            for (selector, condition) in symbol.selectedBy {
                value = max(value, min(tristate(selector), evaluate(condition)))
            }
        }
        if value == 1 && (symbol.type == .bool || !modulesEnabled) { value = 2 }
        tristateCache[name] = value
        return value
    }

    /// The member of a choice that is `y`: the user's pick, else the first applicable default,
    /// else the first visible member.
    private mutating func choiceSelection(_ index: Int) -> String? {
        if let cached = choiceCache[index] { return cached }
        choiceCache[index] = .some(nil)   // guards recursion through members' dependencies
        let choice = model.choices[index]
        var selected: String?
        if evaluate(choice.dependency) > 0 {
            let visibleMembers = choice.members.filter { member in
                guard let symbol = model.symbols[member] else { return false }
                return visibility(symbol) > 0
            }
            if let picked = visibleMembers.first(where: { user[$0] == "y" }) {
                selected = picked
            } else if let fallback = choice.defaults.first(where: { evaluate($0.1) > 0 && visibleMembers.contains($0.0) }) {
                selected = fallback.0
            } else {
                selected = visibleMembers.first
            }
        }
        choiceCache[index] = .some(selected)
        return selected
    }

    /// The value of an int/hex/string symbol, or of a constant token.
    mutating func stringValue(_ name: String) -> String? {
        guard let symbol = model.symbols[name] else {
            return KconfigParser.unquote(name)
        }
        switch symbol.type {
        case .bool, .tristate:
            switch tristate(name) { case 2: return "y"; case 1: return "m"; default: return "n" }
        case .unknown:
            return nil
        default:
            break
        }
        if let cached = stringCache[name] { return cached }
        if let forcedValue = forced[name] { return KconfigParser.unquote(forcedValue) }
        guard inProgress.insert(name).inserted else { return nil }
        defer { inProgress.remove(name) }
        var value: String?
        if visibility(symbol) > 0, let userValue = user[name] {
            value = KconfigParser.unquote(userValue)
        } else {
            for (expression, condition) in symbol.defaults where evaluate(condition) > 0 {
                if case .symbol(let token) = expression { value = stringValue(token) }
                break
            }
            if value == nil, symbol.type == .string, visibility(symbol) > 0 { value = "" }
        }
        stringCache[name] = .some(value)
        return value
    }

    mutating func evaluate(_ expression: KconfigExpr) -> Int {
        switch expression {
        case .symbol(let name):
            if let constant = Self.tristateConstant(name) { return constant == 1 && !modulesEnabled ? 0 : constant }
            return tristate(name)
        case .not(let inner):
            return 2 - evaluate(inner)
        case .and(let left, let right):
            return min(evaluate(left), evaluate(right))
        case .or(let left, let right):
            return max(evaluate(left), evaluate(right))
        case .compare(let op, let left, let right):
            let lhs = operand(left), rhs = operand(right)
            let ordering: Int
            if let l = Self.number(lhs), let r = Self.number(rhs) {
                ordering = l < r ? -1 : (l > r ? 1 : 0)
            } else {
                ordering = lhs < rhs ? -1 : (lhs > rhs ? 1 : 0)
            }
            let result: Bool
            switch op {
            case "=": result = ordering == 0
            case "!=": result = ordering != 0
            case "<": result = ordering < 0
            case "<=": result = ordering <= 0
            case ">": result = ordering > 0
            default: result = ordering >= 0
            }
            return result ? 2 : 0
        }
    }

    private mutating func operand(_ expression: KconfigExpr) -> String {
        guard case .symbol(let token) = expression else { return evaluate(expression) == 2 ? "y" : "n" }
        if model.symbols[token] != nil { return stringValue(token) ?? "" }
        return KconfigParser.unquote(token)
    }

    private static func number(_ text: String) -> Int? {
        if text.lowercased().hasPrefix("0x") { return Int(text.dropFirst(2), radix: 16) }
        return Int(text)
    }
}

// MARK: - Forcing a gate on

/// What else turns on when a file's disabled Makefile gate is forced on: the symbols that
/// depend on it, default from it or are selected by it (`config NETPOLL` brings
/// `NET_POLL_CONTROLLER`; `RIONET` brings `RIONET_RX_SIZE`). Re-evaluates only that downstream
/// part of Kconfig, with the configuration's values as the user's choices.
final class GateClosure: @unchecked Sendable {
    private let resolver: KconfigResolver
    private let config: KernelConfig
    private let lock = NSLock()
    private var model: KconfigModel?
    private var referencedBy: [String: [String]] = [:]
    private var cache: [[String]: [String]] = [:]

    init(resolver: KconfigResolver, config: KernelConfig, model: KconfigModel?) {
        self.resolver = resolver
        self.config = config
        self.model = model
    }

    /// `-D` flags for `gates`, the symbols they require (`depends on`), and the symbols that
    /// change when those are forced to y.
    func defines(forcing gates: [String]) -> [String] {
        let key = gates.sorted()
        lock.lock()
        defer { lock.unlock() }
        if let cached = cache[key] { return cached }
        let model = loadModel()
        let required = requirements(of: key, model: model)
        var forced = resolver.compilerSymbols()
        for symbol in required { forced[symbol] = "y" }
        var evaluator = KconfigEvaluator(model: model, user: config.choices, forced: forced)
        var result = required.filter { !config.isEnabled($0) }.map { "-DCONFIG_\($0)=1" }
        for name in downstream(of: required) where config.value(name) == nil && !required.contains(name) {
            guard let value = evaluator.writtenValue(name) else { continue }
            switch value {
            case "y": result.append("-DCONFIG_\(name)=1")
            case "m": result.append("-DCONFIG_\(name)_MODULE=1")
            default: result.append("-DCONFIG_\(name)=\(value)")
            }
        }
        cache[key] = result
        return result
    }

    private func loadModel() -> KconfigModel {
        if let model, !referencedBy.isEmpty { return model }
        let loaded = model ?? resolver.parseModel()
        model = loaded
        var index: [String: Set<String>] = [:]
        func collect(_ expression: KconfigExpr, into names: inout Set<String>) {
            switch expression {
            case .symbol(let name): names.insert(name)
            case .not(let inner): collect(inner, into: &names)
            case .and(let left, let right), .or(let left, let right), .compare(_, let left, let right):
                collect(left, into: &names)
                collect(right, into: &names)
            }
        }
        for (name, symbol) in loaded.symbols {
            var referenced = Set<String>()
            for (value, condition) in symbol.defaults { collect(value, into: &referenced); collect(condition, into: &referenced) }
            for expression in symbol.prompts + symbol.dependencies { collect(expression, into: &referenced) }
            for (selector, _) in symbol.selectedBy + symbol.impliedBy { referenced.insert(selector) }
            for reference in referenced where reference != name { index[reference, default: []].insert(name) }
        }
        referencedBy = index.mapValues { $0.sorted() }
        return loaded
    }

    /// The arch whose Kconfig defines what `gates` need but this arch's Kconfig does not
    /// (`obj-$(CONFIG_PPC_PMAC) += macintosh/` on x86), if one arch clang can target does.
    func foreignArch(requiredBy gates: [String], currentArch: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        let model = loadModel()
        var undefined: [String] = []
        var seen = Set<String>()
        var queue = gates
        while let name = queue.first, seen.count < 64 {
            queue.removeFirst()
            guard seen.insert(name).inserted else { continue }
            guard let symbol = model.symbols[name], symbol.type != .unknown else {
                undefined.append(name)
                continue
            }
            if let dependency = symbol.dependencies.first { queue += positiveSymbols(dependency) }
            // A symbol without a prompt is only ever selected: what its selector needs counts.
            if symbol.prompts.isEmpty, let selector = symbol.selectedBy.first { queue.append(selector.0) }
        }
        guard !undefined.isEmpty else { return nil }
        let index = archSymbols()
        var votes: [String: Int] = [:]
        for name in undefined {
            for arch in index[name] ?? [] where arch != currentArch && Architecture.clangSupported.contains(arch) {
                votes[arch, default: 0] += 1
            }
        }
        return votes.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
    }

    /// Symbols an expression needs: those of AND chains and of the first branch of an OR.
    private func positiveSymbols(_ expression: KconfigExpr) -> [String] {
        switch expression {
        case .symbol(let name): return ["y", "m", "n"].contains(name) ? [] : [name]
        case .and(let left, let right): return positiveSymbols(left) + positiveSymbols(right)
        case .or(let left, let right): return satisfied(left) || satisfied(right) ? [] : positiveSymbols(left)
        default: return []
        }
    }

    private var archSymbolIndex: [String: Set<String>]?

    /// `config NAME` lines of every arch's Kconfig files: which arches define a symbol.
    private func archSymbols() -> [String: Set<String>] {
        if let archSymbolIndex { return archSymbolIndex }
        var index: [String: Set<String>] = [:]
        let fm = FileManager.default
        let archRoot = resolver.sourceRoot + "/arch"
        for arch in (try? fm.contentsOfDirectory(atPath: archRoot)) ?? [] {
            guard let walker = fm.enumerator(atPath: archRoot + "/" + arch) else { continue }
            while let relative = walker.nextObject() as? String {
                guard (relative as NSString).lastPathComponent.hasPrefix("Kconfig"),
                      let text = try? String(contentsOfFile: "\(archRoot)/\(arch)/\(relative)", encoding: .utf8) else { continue }
                for line in text.split(separator: "\n") {
                    let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                    guard fields.count == 2, fields[0] == "config" || fields[0] == "menuconfig" else { continue }
                    index[String(fields[1]), default: []].insert(arch)
                }
            }
        }
        archSymbolIndex = index
        return index
    }

    /// The gates and, recursively, the symbols their `depends on` needs: every positive symbol
    /// of an AND chain, and the first of an OR that nothing satisfies yet.
    private func requirements(of gates: [String], model: KconfigModel) -> [String] {
        var result: [String] = []
        var seen = Set<String>()
        var queue = gates
        while let name = queue.first, result.count < 64 {
            queue.removeFirst()
            guard seen.insert(name).inserted else { continue }
            result.append(name)
            guard let symbol = model.symbols[name], let dependency = symbol.dependencies.first else { continue }
            queue += needed(dependency)
        }
        return result
    }

    private func needed(_ expression: KconfigExpr) -> [String] {
        switch expression {
        case .symbol(let name):
            // Only what a user could switch on: a prompt-less symbol such as X86_32 states a
            // fact about the arch or the config, and forcing it would contradict the rest.
            guard let symbol = model?.symbols[name], !symbol.prompts.isEmpty, !config.isEnabled(name) else { return [] }
            return [name]
        case .and(let left, let right):
            return needed(left) + needed(right)
        case .or(let left, let right):
            let options = [left, right]
            if options.contains(where: { satisfied($0) }) { return [] }
            return needed(left)
        default:
            return []
        }
    }

    /// Whether the base configuration already satisfies `expression` (positive atoms only).
    private func satisfied(_ expression: KconfigExpr) -> Bool {
        switch expression {
        case .symbol(let name): return name == "y" || config.isEnabled(name)
        case .and(let left, let right): return satisfied(left) && satisfied(right)
        case .or(let left, let right): return satisfied(left) || satisfied(right)
        case .not(let inner): return !satisfied(inner)
        case .compare: return true
        }
    }

    /// Symbols reachable from `gates` through references, in Kconfig order; bounded so a gate
    /// near the root of the dependency graph does not re-evaluate all of Kconfig.
    private func downstream(of gates: [String]) -> [String] {
        var seen = Set(gates)
        var queue = gates
        var position = 0
        while position < queue.count, seen.count < 4000 {
            for next in referencedBy[queue[position]] ?? [] where seen.insert(next).inserted { queue.append(next) }
            position += 1
        }
        return (model?.order ?? []).filter { seen.contains($0) }
    }
}
