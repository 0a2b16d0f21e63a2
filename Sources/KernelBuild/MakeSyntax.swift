import Foundation

/// One variable assignment of a Makefile or Kbuild file, as written: nothing is expanded, so
/// `obj-$(CONFIG_X)` still names the symbol that gates its list.
public struct MakeAssignment: Equatable, Sendable {
    public enum Operator: String, Sendable {
        case append = "+="
        case simple = ":="
        case conditional = "?="
        case recursive = "="
    }

    public let variable: String
    public let op: Operator
    /// The right-hand side, blanks trimmed.
    public let rawValue: String
    /// The right-hand side's words (objects, directories, flags), unexpanded.
    public let values: [String]

    public init(variable: String, op: Operator, rawValue: String) {
        self.variable = variable
        self.op = op
        self.rawValue = rawValue
        values = MakeSyntax.words(rawValue)
    }
}

/// The Make syntax Kbuild files are written in, read once for every reader of them: the flags
/// and object lists of `MakefileFlags`, asm Kbuild lists, the syscall Makefile, and the backport
/// checker's not-built judgement.
public enum MakeSyntax {
    /// Logical lines: `#` comments dropped (a line that escapes one as `\#` is kept whole),
    /// backslash-continued lines joined with a space, LF or CRLF endings.
    public static func logicalLines(_ text: String) -> [String] {
        var lines: [String] = []
        var pending = ""
        for raw in physicalLines(text) {
            var line = String(raw)
            if let hash = line.firstIndex(of: "#"), !line.contains("\\#") { line = String(line[..<hash]) }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
            } else {
                lines.append(pending + line)
                pending = ""
            }
        }
        return lines
    }

    /// The assignment a logical line makes, or nil for anything else (rules, directives,
    /// conditionals). A name with a blank or `:` is a rule's (`x.o: FOO := 1`), not an assignment.
    /// `tabIndentedLinesAreRecipes`: make runs a tab-indented line after a rule as a recipe, and
    /// `MakefileFlags` skips every such line; readers of files without rules, and the backport
    /// checker, take them as assignments (as make does outside a rule).
    public static func assignment(in line: String, tabIndentedLinesAreRecipes: Bool) -> MakeAssignment? {
        if tabIndentedLinesAreRecipes, line.hasPrefix("\t") { return nil }
        for op in [MakeAssignment.Operator.append, .simple, .conditional, .recursive] {
            guard let range = line.firstByteRange(of: op.rawValue) else { continue }
            let name = line[..<range.lowerBound].trimmedBlanks
            guard !name.isEmpty, !name.contains(" "), !name.contains("\t"), !name.contains(":") else { return nil }
            return MakeAssignment(variable: name, op: op, rawValue: line[range.upperBound...].trimmedBlanks)
        }
        return nil
    }

    /// Every assignment of a Makefile's text, in order.
    public static func assignments(in text: String, tabIndentedLinesAreRecipes: Bool) -> [MakeAssignment] {
        logicalLines(text).compactMap { assignment(in: $0, tabIndentedLinesAreRecipes: tabIndentedLinesAreRecipes) }
    }

    /// A Kbuild list variable's owner and suffix: `obj-$(CONFIG_X)` → ("obj", "$(CONFIG_X)"),
    /// `snd-hda-codec-y` → ("snd-hda-codec", "y"), `foo-objs` → ("foo", "objs").
    public static func splitListVariable(_ variable: String) -> (owner: String, suffix: String) {
        if variable.hasSuffix(")"), let dash = variable.range(of: "-$(", options: .backwards) {
            return (String(variable[..<dash.lowerBound]), String(variable[variable.index(after: dash.lowerBound)...]))
        }
        guard let dash = variable.lastIndex(of: "-") else { return (variable, "") }
        return (String(variable[..<dash]), String(variable[variable.index(after: dash)...]))
    }

    /// The symbol (without `CONFIG_`) of a suffix that is exactly one `$(CONFIG_X)`; nil for
    /// anything else (`y`, `$(subst m,y,$(CONFIG_X))`), whose value needs evaluating.
    public static func configSymbol(ofSuffix suffix: String) -> String? {
        guard suffix.hasPrefix("$(CONFIG_"), suffix.hasSuffix(")") else { return nil }
        let symbol = suffix.dropFirst("$(CONFIG_".count).dropLast()
        guard !symbol.utf8.contains(0x24), !symbol.utf8.contains(0x20) else { return nil }
        return String(symbol)
    }

    /// The symbols (without `CONFIG_`) of every `$(CONFIG_X)` reference in `text`.
    public static func configReferences(_ text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let start = rest.firstByteRange(of: "$(CONFIG_") {
            let after = rest[start.upperBound...]
            guard let end = after.firstIndex(of: ")") else { break }
            names.append(String(after[..<end]))
            rest = after[end...]
        }
        return names
    }

    static func words(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }

    /// Lines split at LF with a CR before it dropped. (Swift takes "\r\n" for one character,
    /// which a split at "\n" never sees.)
    static func physicalLines(_ text: String) -> [Substring] {
        let bytes = text.utf8
        var lines: [Substring] = []
        var start = bytes.startIndex
        for index in bytes.indices where bytes[index] == 0x0A {
            var end = index
            if end > start, bytes[bytes.index(before: end)] == 0x0D { end = bytes.index(before: end) }
            lines.append(text[start..<end])
            start = bytes.index(after: index)
        }
        lines.append(text[start...])
        return lines
    }
}

/// A Makefile's variables as its assignments set them, and Make's `$(…)` expansion against them
/// and a configuration: variables, `$(CONFIG_X)`, substitution references and the list functions
/// object lists use. Other functions (`$(call cc-option,…)`) expand to nothing: nothing is run.
public struct MakeVariables: Sendable {
    private var values: [String: String]

    public init(_ values: [String: String] = [:]) { self.values = values }

    public subscript(name: String) -> String? { values[name] }

    /// Records an assignment: `=` keeps the raw text (expanded when used), the other operators
    /// the text expanded now.
    public mutating func assign(_ name: String, _ op: MakeAssignment.Operator, rawValue: String, expandedValue: String) {
        let assigned = op == .recursive ? rawValue : expandedValue
        switch op {
        case .append: values[name] = (values[name].map { $0 + " " } ?? "") + assigned
        case .conditional: if values[name] == nil { values[name] = assigned }
        case .simple, .recursive: values[name] = assigned
        }
    }

    public func expand(_ text: String, config: KernelConfig, depth: Int = 0) -> String {
        guard text.utf8.contains(0x24), depth < 16 else { return text }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let char = text[index]
            let next = text.index(after: index)
            guard char == "$", next < text.endIndex else {
                result.append(char)
                index = next
                continue
            }
            let opener = text[next]
            guard opener == "(" || opener == "{" else {
                if opener == "$" { result.append("$"); index = text.index(after: next); continue }
                index = text.index(after: next)   // $@, $< and the like
                continue
            }
            let closer: Character = opener == "(" ? ")" : "}"
            guard let end = text.matchingCloser(of: next, opener: opener, closer: closer) else { break }
            let inner = String(text[text.index(after: next)..<end])
            result += evaluate(inner, config: config, depth: depth + 1)
            index = text.index(after: end)
        }
        return result
    }

    private func evaluate(_ inner: String, config: KernelConfig, depth: Int) -> String {
        if let space = inner.firstIndex(of: " "), !inner[..<space].contains(":") {
            let function = String(inner[..<space])
            let arguments = inner[inner.index(after: space)...].splitAtTopLevelCommas(openers: "({", closers: ")}").map { expand($0, config: config, depth: depth) }
            func words(_ text: String) -> [String] { MakeSyntax.words(text) }
            switch function {
            case "addprefix" where arguments.count == 2:
                return words(arguments[1]).map { arguments[0].trimmedBlanks + $0 }.joined(separator: " ")
            case "addsuffix" where arguments.count == 2:
                return words(arguments[1]).map { $0 + arguments[0].trimmedBlanks }.joined(separator: " ")
            case "patsubst" where arguments.count == 3:
                return words(arguments[2]).map { Self.patsubst($0, arguments[0].trimmedBlanks, arguments[1].trimmedBlanks) }.joined(separator: " ")
            case "subst" where arguments.count == 3:
                return arguments[2].replacingOccurrences(of: arguments[0], with: arguments[1])
            case "strip" where arguments.count == 1:
                return words(arguments[0]).joined(separator: " ")
            default:
                return ""
            }
        }
        // $(VAR:.c=.o) substitution reference.
        if let colon = inner.firstIndex(of: ":"), let equals = inner[colon...].firstIndex(of: "=") {
            let name = String(inner[..<colon])
            let from = String(inner[inner.index(after: colon)..<equals])
            let to = String(inner[inner.index(after: equals)...])
            let value = expand(values[name] ?? "", config: config, depth: depth)
            return value.split(separator: " ").map { $0.hasSuffix(from) ? String($0.dropLast(from.count)) + to : String($0) }.joined(separator: " ")
        }
        if inner.hasPrefix("CONFIG_") { return config.value(String(inner.dropFirst(7))) ?? "" }
        return expand(values[inner] ?? "", config: config, depth: depth)
    }

    private static func patsubst(_ word: String, _ pattern: String, _ replacement: String) -> String {
        guard let percent = pattern.firstIndex(of: "%") else { return word == pattern ? replacement : word }
        let prefix = pattern[..<percent], suffix = pattern[pattern.index(after: percent)...]
        guard word.hasPrefix(prefix), word.hasSuffix(suffix), word.count >= prefix.count + suffix.count else { return word }
        let stem = word.dropFirst(prefix.count).dropLast(suffix.count)
        return replacement.replacingOccurrences(of: "%", with: stem)
    }
}
