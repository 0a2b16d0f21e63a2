import Foundation
import RuleKit

/// A text as the preprocessor reads its directives: comments removed, continued lines joined.
/// The shared-header planning asks two questions of it: does a header really use a macro (a
/// register named in a comment does not count), and is a macro a driver defines early defined
/// the same way by a header (`#define SPEED_10 10` twice changes nothing)?
enum PreprocessorText {
    /// Whether the text holds code outside preprocessor directives (a header read twice would
    /// declare it twice); a wrapper that only includes another header holds none.
    static func holdsCode(_ bytes: [UInt8]) -> Bool {
        logicalLines(bytes).contains { line in
            guard let first = line.firstIndex(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0d && $0 != 0x0c }) else { return false }
            return line[first] != 0x23
        }
    }

    /// The logical lines of `bytes`, each without its comments (a comment becomes one blank, as
    /// in translation phase 3) and with backslash-newlines removed. String and character literals
    /// are kept whole; one left open ends at its line's end.
    static func logicalLines(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var line: [UInt8] = []
        enum State { case code, string(UInt8), lineComment, blockComment }
        var state = State.code
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            // A backslash before the end of a line joins the next one, anywhere but in a block comment.
            if b == 0x5c, i + 1 < n, bytes[i + 1] == 0x0a || (bytes[i + 1] == 0x0d && i + 2 < n && bytes[i + 2] == 0x0a) {
                if case .blockComment = state {} else {
                    i += bytes[i + 1] == 0x0a ? 2 : 3
                    continue
                }
            }
            switch state {
            case .code:
                if b == 0x2f, i + 1 < n, bytes[i + 1] == 0x2a { state = .blockComment; line.append(0x20); i += 2; continue }
                if b == 0x2f, i + 1 < n, bytes[i + 1] == 0x2f { state = .lineComment; i += 2; continue }
                if b == 0x22 || b == 0x27 { state = .string(b) }
                if b == 0x0a { lines.append(line); line.removeAll(keepingCapacity: true) } else { line.append(b) }
            case .string(let quote):
                if b == 0x0a { state = .code; lines.append(line); line.removeAll(keepingCapacity: true); i += 1; continue }
                line.append(b)
                if b == 0x5c, i + 1 < n, bytes[i + 1] != 0x0a { line.append(bytes[i + 1]); i += 2; continue }
                if b == quote { state = .code }
            case .lineComment:
                if b == 0x0a { state = .code; lines.append(line); line.removeAll(keepingCapacity: true) }
            case .blockComment:
                // The whole comment is one blank: a directive goes on after a comment that spans lines.
                if b == 0x2a, i + 1 < n, bytes[i + 1] == 0x2f { state = .code; i += 2; continue }
            }
            i += 1
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    /// `#define`/`#undef` in a logical line: the macro's name and, for a definition, its
    /// replacement in a canonical form (parameters included; blanks collapsed, so two definitions
    /// compare equal exactly when the preprocessor would accept the second as no redefinition).
    static func macroDirective(_ line: [UInt8]) -> (name: String, definition: String?, rest: ArraySlice<UInt8>)? {
        var i = skipBlanks(line, 0)
        guard i < line.count, line[i] == 0x23 else { return nil }
        i = skipBlanks(line, i + 1)
        let wordStart = i
        while i < line.count, SourceText.isIdentifierByte(line[i]) { i += 1 }
        let word = String(decoding: line[wordStart..<i], as: UTF8.self)
        guard word == "define" || word == "undef" else { return nil }
        i = skipBlanks(line, i)
        let nameStart = i
        while i < line.count, SourceText.isIdentifierByte(line[i]) { i += 1 }
        guard i > nameStart else { return nil }
        let name = String(decoding: line[nameStart..<i], as: UTF8.self)
        let rest = line[i...]
        guard word == "define" else { return (name, nil, rest) }
        // A function-like macro's `(` follows its name directly; an object-like macro's
        // replacement starts after a blank.
        var canonical: [UInt8] = rest.first == 0x28 ? [] : [0x20]
        var pendingBlank = false
        for b in rest {
            if b == 0x20 || b == 0x09 || b == 0x0d || b == 0x0c || b == 0x0b { pendingBlank = true; continue }
            if pendingBlank, canonical.count > 1 || canonical.first == 0x28 { canonical.append(0x20) }
            pendingBlank = false
            canonical.append(b)
        }
        return (name, String(decoding: canonical, as: UTF8.self), rest)
    }

    /// The index of the first byte at or after `start` that is not a space or a tab.
    static func skipBlanks(_ line: [UInt8], _ start: Int) -> Int {
        var i = start
        while i < line.count, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
        return i
    }
}

/// What a set of headers does with macros, for deciding whether a macro defined before them
/// could change how they read: the identifiers their code uses (comments excluded; a `#define`'s
/// own name excluded, its replacement included) and each macro's definition.
struct HeaderMacroFacts: Codable, Sendable, Equatable {
    enum CodingKeys: String, CodingKey { case identifiers, definitions, expandable }
    var identifiers: Set<String> = []
    /// Macro → canonical definition; a macro defined differently by two headers maps to `conflicting`.
    var definitions: [String: String] = [:]
    static let conflicting = "\u{0}"
    /// The identifiers a function-like macro of that name could change (set by `settle`; nil in
    /// facts recorded before it existed): those followed by `(`, those on a directive line (a
    /// macro's replacement, `#ifdef`, `#undef`), and those inside the parentheses of a use of one
    /// of the headers' macros (whose replacement may call its argument). Elsewhere — a struct
    /// field, a parameter's name — a function-like macro of the name is not expanded.
    var expandable: Set<String>?
    /// While headers are added: what `settle` needs.
    var onDirectiveOrCalled: Set<String> = []
    var enclosedBy: [String: Set<String>] = [:]

    mutating func add(_ bytes: [UInt8]) {
        // The code that counts as a use, line by line, read for identifiers once.
        var code: [UInt8] = []
        code.reserveCapacity(bytes.count)
        var plain: [UInt8] = []
        plain.reserveCapacity(bytes.count)
        for line in PreprocessorText.logicalLines(bytes) {
            let isDirective = line.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0d && $0 != 0x0c }) == 0x23
            if let directive = PreprocessorText.macroDirective(line), let definition = directive.definition {
                let replacement = Self.withoutParameters(directive.rest)
                code += replacement
                onDirectiveOrCalled.formUnion(SourceText(bytes: replacement).identifiers)
                if let known = definitions[directive.name], known != definition {
                    definitions[directive.name] = Self.conflicting
                } else {
                    definitions[directive.name] = definition
                }
            } else {
                code += line
                if isDirective { onDirectiveOrCalled.formUnion(SourceText(bytes: line).identifiers) } else { plain += line; plain.append(0x0a) }
            }
            code.append(0x0a)
        }
        identifiers.formUnion(SourceText(bytes: code).identifiers)
        noteContexts(plain)
    }

    /// A function-like macro's parameter list and replacement with its parameters blanked out: in
    /// `#define offsetofend(TYPE, MEMBER) ...MEMBER...` the names are the macro's own, and a
    /// macro a file defines as `MEMBER` cannot change the definition (the parameter shadows it).
    static func withoutParameters(_ rest: ArraySlice<UInt8>) -> [UInt8] {
        var bytes = Array(rest)
        guard bytes.first == 0x28, let close = bytes.firstIndex(of: 0x29) else { return bytes }
        var parameters = Set<[UInt8]>()
        var i = 1
        while i < close {
            if SourceText.isIdentifierByte(bytes[i]) {
                let start = i
                while i < close && SourceText.isIdentifierByte(bytes[i]) { i += 1 }
                parameters.insert(Array(bytes[start..<i]))
            } else {
                i += 1
            }
        }
        for j in 0...close { bytes[j] = 0x20 }
        guard !parameters.isEmpty else { return bytes }
        i = close + 1
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x22 || b == 0x27 {                       // a literal: left as it is
                i += 1
                while i < bytes.count && bytes[i] != b { if bytes[i] == 0x5c { i += 1 }; i += 1 }
                i += 1
                continue
            }
            guard SourceText.isIdentifierByte(b) else { i += 1; continue }
            let start = i
            while i < bytes.count && SourceText.isIdentifierByte(bytes[i]) { i += 1 }
            if !(b >= 0x30 && b <= 0x39), parameters.contains(Array(bytes[start..<i])) {
                for j in start..<i { bytes[j] = 0x20 }
            }
        }
        return bytes
    }

    /// For each identifier of code outside directives: whether `(` follows it, and otherwise the
    /// identifiers before the parentheses it is in.
    private mutating func noteContexts(_ code: [UInt8]) {
        var openers: [String?] = []
        var i = 0
        let n = code.count
        while i < n {
            let b = code[i]
            if b == 0x22 || b == 0x27 {                       // a literal: skipped whole
                i += 1
                while i < n && code[i] != b && code[i] != 0x0a { if code[i] == 0x5c { i += 1 }; i += 1 }
                i += 1
                continue
            }
            if SourceText.isIdentifierByte(b) {
                var j = i + 1
                while j < n && SourceText.isIdentifierByte(code[j]) { j += 1 }
                if b >= 0x30 && b <= 0x39 { i = j; continue }  // a number
                let word = String(decoding: code[i..<j], as: UTF8.self)
                var k = j
                while k < n && (code[k] == 0x20 || code[k] == 0x09 || code[k] == 0x0a || code[k] == 0x0d || code[k] == 0x0c) { k += 1 }
                if k < n && code[k] == 0x28 {
                    onDirectiveOrCalled.insert(word)
                    openers.append(word)
                    i = k + 1
                    continue
                }
                let enclosing = openers.compactMap { $0 }
                if !enclosing.isEmpty { enclosedBy[word, default: []].formUnion(enclosing) }
                i = j
                continue
            }
            if b == 0x28 { openers.append(nil) } else if b == 0x29, !openers.isEmpty { openers.removeLast() }
            i += 1
        }
    }

    /// Once every header is added: which identifiers a function-like macro would change.
    mutating func settle() {
        var found = onDirectiveOrCalled
        for (identifier, openers) in enclosedBy where !found.contains(identifier) {
            if openers.contains(where: { definitions[$0] != nil }) { found.insert(identifier) }
        }
        expandable = found
        onDirectiveOrCalled = []
        enclosedBy = [:]
    }

    /// Whether a macro a file defines as `definition` (nil: undefines it, or its definition is
    /// unknown) before these headers are read could change them: they use it, or define it otherwise.
    func isAffected(by name: String, definition: String?) -> Bool {
        if let definition, definition.hasPrefix("("), let expandable {
            // A function-like macro changes only what could invoke it.
            if expandable.contains(name) { return true }
        } else if identifiers.contains(name) { return true }
        guard let defined = definitions[name] else { return false }
        return defined != definition
    }
}
