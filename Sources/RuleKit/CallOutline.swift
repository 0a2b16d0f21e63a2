import Foundation

/// A textual outline of one file's functions and function-like macros: what each is called, what
/// it calls, and whether its body loops. Read from bytes in one
/// sweep, without a preprocessor: it only narrows which files are parsed (`CallGraph`); the AST
/// decides every finding.
public struct CallOutline: Sendable {
    public struct Definition: Sendable {
        public let name: String
        /// A `static` function of a `.c` file, or a macro of a `.c` file: callable from its file only.
        public let isFileLocal: Bool
        /// Identifiers followed by `(` in the body (calls and macro uses), without C keywords.
        public let calls: [String]
        /// Whether the body holds a `for`, `while` or `do` loop.
        public let hasLoop: Bool
    }

    public var definitions: [Definition] = []
    /// Designated initializers naming a function (`.ndo_stop = foo_close`): a call through the
    /// member `ndo_stop` in this file may reach `foo_close`.
    public var memberTargets: [String: [String]] = [:]

    public init(definitions: [Definition] = [], memberTargets: [String: [String]] = [:]) {
        self.definitions = definitions
        self.memberTargets = memberTargets
    }

    /// A compact encoding for the result cache: a line per definition that calls something
    /// (`D name local loop call,call`), a line per ops-table member (`M member target,target`).
    public var encoded: Data {
        var text = ""
        for definition in definitions where !definition.calls.isEmpty {
            text += "D\t\(definition.name)\t\(definition.isFileLocal ? 1 : 0)\t\(definition.hasLoop ? 1 : 0)\t\(definition.calls.joined(separator: ","))\n"
        }
        for (member, targets) in memberTargets.sorted(by: { $0.key < $1.key }) { text += "M\t\(member)\t\(targets.joined(separator: ","))\n" }
        return Data(text.utf8)
    }

    /// Read back byte by byte: a rescan decodes the outlines of every file of the tree.
    public init?(encoded: Data) {
        let tab = UInt8(ascii: "\t"), newline = UInt8(ascii: "\n"), comma = UInt8(ascii: ",")
        let decoded: Bool = encoded.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.count
            func text(_ start: Int, _ stop: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<stop]), as: UTF8.self) }
            /// The comma-separated words of `start..<stop`, empty ones left out.
            func words(_ start: Int, _ stop: Int) -> [String] {
                var list: [String] = []
                var from = start
                for i in start...stop where i == stop || bytes[i] == comma {
                    if i > from { list.append(text(from, i)) }
                    from = i + 1
                }
                return list
            }
            var line = 0
            while line < end {
                var lineEnd = line
                while lineEnd < end && bytes[lineEnd] != newline { lineEnd += 1 }
                defer { line = lineEnd + 1 }
                guard lineEnd > line else { continue }
                // The tab-separated fields of the line (at most 5).
                var fields: [(Int, Int)] = []
                var from = line
                for i in line...lineEnd where i == lineEnd || bytes[i] == tab {
                    fields.append((from, i))
                    from = i + 1
                    if fields.count > 5 { return false }
                }
                let kind = fields[0].1 - fields[0].0 == 1 ? bytes[fields[0].0] : 0
                if kind == UInt8(ascii: "D"), fields.count == 5 {
                    func flag(_ field: (Int, Int)) -> Bool { field.1 - field.0 == 1 && bytes[field.0] == UInt8(ascii: "1") }
                    definitions.append(Definition(name: text(fields[1].0, fields[1].1), isFileLocal: flag(fields[2]),
                                                  calls: words(fields[4].0, fields[4].1), hasLoop: flag(fields[3])))
                } else if kind == UInt8(ascii: "M"), fields.count == 3 {
                    memberTargets[text(fields[1].0, fields[1].1)] = words(fields[2].0, fields[2].1)
                } else {
                    return false
                }
            }
            return true
        }
        guard decoded else { return nil }
    }

    static let keywords: Set<String> = ["if", "for", "while", "do", "switch", "return", "sizeof", "typeof", "__typeof__",
                                        "_Generic", "defined", "__attribute__", "asm", "__asm__", "case", "else", "goto",
                                        "__builtin_expect", "likely", "unlikely", "offsetof", "alignof", "_Alignof", "__alignof__"]
    static func word(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    static let staticWord = Array("static".utf8)
    static let defineWord = Array("define".utf8)
    private static let loopWords = [Array("for".utf8), Array("while".utf8), Array("do".utf8)]

    static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ word: [UInt8]) -> Bool {
        guard end - start == word.count else { return false }
        for offset in 0..<word.count where bytes[start + offset] != word[offset] { return false }
        return true
    }

    /// Whether `bytes[start..<end]` is `for`, `while` or `do`.
    static func isLoopKeyword(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        let length = end - start
        guard length >= 2 && length <= 5 else { return false }
        return loopWords.contains { equals(bytes, start, end, $0) }
    }

    /// Outlines `source`; `isHeader`: its static inline functions and macros are seen by every
    /// file that includes it, so they are not file-local.
    public init(_ source: SourceText, isHeader: Bool) {
        self = source.bytes.withUnsafeBufferPointer { CallOutline(outlining: $0, isHeader: isHeader) }
    }

    /// One sweep over the bytes (unchecked access: every file of a tree goes through here).
    private init(outlining bytes: UnsafeBufferPointer<UInt8>, isHeader: Bool) {
        let count = bytes.count
        var definitions: [Definition] = []
        var memberTargets: [String: [String]] = [:]

        // State at brace depth 0: the head of the declaration being read.
        var depth = 0
        var headName: Range<Int>?      // last identifier before the head's first `(`
        var headHasParen = false
        var headHasAssign = false
        var headIsStatic = false
        var parenDepth = 0
        // Inside a function body.
        var bodyName: String?
        var bodyLocal = false
        var bodyCalls = Set<String>()
        var bodyHasLoop = false
        var atLineStart = true
        // `.member = function`: the member seen, waiting for `=`, then for the function.
        var pendingMember: Range<Int>?
        var memberAwaitsValue = false
        var sawDot = false

        func resetHead() {
            headName = nil; headHasParen = false; headHasAssign = false; headIsStatic = false; parenDepth = 0
        }

        var i = 0
        while i < count {
            let b = bytes[i]
            // Comments and literals.
            if b == 0x2f, i + 1 < count, bytes[i + 1] == 0x2f {          // //
                while i < count && bytes[i] != 0x0a { i += 1 }
                continue
            }
            if b == 0x2f, i + 1 < count, bytes[i + 1] == 0x2a {          // /* */
                i += 2
                while i + 1 < count && !(bytes[i] == 0x2a && bytes[i + 1] == 0x2f) { i += 1 }
                i += 2
                continue
            }
            if b == 0x22 || b == 0x27 {                                   // "..." '...'
                i += 1
                while i < count && bytes[i] != b && bytes[i] != 0x0a {
                    if bytes[i] == 0x5c { i += 1 }
                    i += 1
                }
                i += 1
                continue
            }
            if b == 0x0a { atLineStart = true; i += 1; continue }
            if b == 0x20 || b == 0x09 || b == 0x0d || b == 0x0c { i += 1; continue }
            if b == 0x23 && atLineStart {                                 // a preprocessor line
                let end = Self.logicalLineEnd(bytes, from: i)
                if let macro = Self.macroDefinition(bytes, i, end) {
                    var calls = Set<String>()
                    var hasLoop = false
                    Self.scanCalls(bytes, macro.bodyStart, end, into: &calls, hasLoop: &hasLoop)
                    definitions.append(Definition(name: macro.name, isFileLocal: !isHeader, calls: calls.sorted(), hasLoop: hasLoop))
                }
                i = end
                continue
            }
            atLineStart = false

            if SourceText.isIdentifierByte(b) && !(b >= 0x30 && b <= 0x39) {
                var j = i + 1
                while j < count && SourceText.isIdentifierByte(bytes[j]) { j += 1 }
                // Words become strings only when kept: most are neither calls nor names.
                if depth == 0 {
                    if Self.equals(bytes, i, j, Self.staticWord) { headIsStatic = true }
                    if parenDepth == 0 && !headHasParen { headName = i..<j }
                } else if bodyName != nil {
                    if Self.isLoopKeyword(bytes, i, j) { bodyHasLoop = true }
                    var k = j
                    while k < count && (bytes[k] == 0x20 || bytes[k] == 0x09 || bytes[k] == 0x0a || bytes[k] == 0x0d) { k += 1 }
                    if k < count && bytes[k] == 0x28 {
                        let word = Self.word(bytes, i..<j)
                        if !Self.keywords.contains(word) { bodyCalls.insert(word) }
                    }
                }
                if memberAwaitsValue {
                    if let member = pendingMember {
                        memberTargets[Self.word(bytes, member), default: []].append(Self.word(bytes, i..<j))
                    }
                    pendingMember = nil; memberAwaitsValue = false
                } else if sawDot {
                    pendingMember = i..<j
                }
                sawDot = false
                i = j
                continue
            }
            if b >= 0x30 && b <= 0x39 {                                   // a number
                var j = i + 1
                while j < count && (SourceText.isIdentifierByte(bytes[j]) || bytes[j] == 0x2e) { j += 1 }
                i = j; sawDot = false; pendingMember = nil; memberAwaitsValue = false
                continue
            }
            switch b {
            case 0x2e: // .
                sawDot = true; pendingMember = nil; memberAwaitsValue = false
            case 0x3d: // =
                if i + 1 < count, bytes[i + 1] == 0x3d { i += 2; pendingMember = nil; continue }
                if depth == 0 && parenDepth == 0 { headHasAssign = true }
                if pendingMember != nil { memberAwaitsValue = true }
                sawDot = false
            case 0x26: // & (an address of a function in an initializer)
                if !memberAwaitsValue { pendingMember = nil }
                sawDot = false
            case 0x28: // (
                if depth == 0 {
                    if parenDepth == 0 && !headHasParen && !headHasAssign { headHasParen = true }
                    parenDepth += 1
                }
                sawDot = false; pendingMember = nil; memberAwaitsValue = false
            case 0x29: // )
                if depth == 0 && parenDepth > 0 { parenDepth -= 1 }
                sawDot = false; pendingMember = nil; memberAwaitsValue = false
            case 0x7b: // {
                if depth == 0 {
                    if headHasParen && !headHasAssign && parenDepth == 0, let name = headName {
                        bodyName = Self.word(bytes, name)
                        bodyLocal = headIsStatic && !isHeader
                        bodyCalls = []; bodyHasLoop = false
                    } else {
                        bodyName = nil
                    }
                }
                depth += 1
                sawDot = false; pendingMember = nil; memberAwaitsValue = false
            case 0x7d: // }
                depth = max(0, depth - 1)
                if depth == 0 {
                    if let name = bodyName {
                        definitions.append(Definition(name: name, isFileLocal: bodyLocal, calls: bodyCalls.sorted(), hasLoop: bodyHasLoop))
                    }
                    bodyName = nil
                    resetHead()
                }
                sawDot = false; pendingMember = nil; memberAwaitsValue = false
            case 0x3b: // ;
                if depth == 0 { resetHead() }
                sawDot = false; pendingMember = nil; memberAwaitsValue = false
            default:
                sawDot = false
                if b != 0x2c { pendingMember = nil; memberAwaitsValue = false }
            }
            i += 1
        }
        self.definitions = definitions
        self.memberTargets = memberTargets
    }

    /// The end of a preprocessor line, after its backslash continuations (comments inside are skipped).
    static func logicalLineEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        while i < bytes.count {
            if bytes[i] == 0x0a {
                var k = i - 1
                while k > start && (bytes[k] == 0x0d || bytes[k] == 0x20 || bytes[k] == 0x09) { k -= 1 }
                if bytes[k] != 0x5c { return i }
            } else if bytes[i] == 0x2f, i + 1 < bytes.count, bytes[i + 1] == 0x2a {
                i += 2
                while i + 1 < bytes.count && !(bytes[i] == 0x2a && bytes[i + 1] == 0x2f) { i += 1 }
                i += 1
            }
            i += 1
        }
        return bytes.count
    }

    /// `# define NAME(args) body` or `#define NAME body`: the name and where the body starts.
    static func macroDefinition(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (name: String, bodyStart: Int)? {
        var i = start + 1
        func skipBlanks() { while i < end && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 } }
        skipBlanks()
        guard i + defineWord.count < end, equals(bytes, i, i + defineWord.count, defineWord) else { return nil }
        i += defineWord.count
        guard i < end, bytes[i] == 0x20 || bytes[i] == 0x09 else { return nil }
        skipBlanks()
        let nameStart = i
        while i < end && SourceText.isIdentifierByte(bytes[i]) { i += 1 }
        guard i > nameStart else { return nil }
        let name = word(bytes, nameStart..<i)
        if i < end && bytes[i] == 0x28 {                   // parameters
            while i < end && bytes[i] != 0x29 { i += 1 }
            i += 1
        }
        return (name, min(i, end))
    }

    /// Identifiers followed by `(` in `bytes[start..<end]`, and whether a loop keyword occurs.
    static func scanCalls(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into calls: inout Set<String>, hasLoop: inout Bool) {
        var i = start
        while i < end {
            let b = bytes[i]
            if b == 0x22 || b == 0x27 {
                i += 1
                while i < end && bytes[i] != b { if bytes[i] == 0x5c { i += 1 }; i += 1 }
                i += 1
                continue
            }
            if SourceText.isIdentifierByte(b) && !(b >= 0x30 && b <= 0x39) {
                var j = i + 1
                while j < end && SourceText.isIdentifierByte(bytes[j]) { j += 1 }
                if isLoopKeyword(bytes, i, j) { hasLoop = true }
                var k = j
                while k < end && (bytes[k] == 0x20 || bytes[k] == 0x09 || bytes[k] == 0x5c || bytes[k] == 0x0a || bytes[k] == 0x0d) { k += 1 }
                if k < end && bytes[k] == 0x28 {
                    let word = Self.word(bytes, i..<j)
                    if !keywords.contains(word) { calls.insert(word) }
                }
                i = j
                continue
            }
            if b >= 0x30 && b <= 0x39 {
                i += 1
                while i < end && SourceText.isIdentifierByte(bytes[i]) { i += 1 }
                continue
            }
            i += 1
        }
    }
}

/// Marks a rule puts on a function's body (bit set).
public struct CallMarks: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
}
