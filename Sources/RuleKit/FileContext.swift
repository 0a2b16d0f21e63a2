import Foundation
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
    /// Lazily computed views of the unit's headers (see the extension below).
    let headerCache = HeaderCache()

    /// Function definitions of the shared precompiled headers the unit was parsed with.
    public let sharedHeaderFunctions: SharedHeaderFunctions

    public init(path: String, unit: TranslationUnit, sharedHeaderFunctions: SharedHeaderFunctions = SharedHeaderFunctions([])) {
        self.path = path
        self.unit = unit
        self.sharedHeaderFunctions = sharedHeaderFunctions
    }

    /// Function definitions written in the main file (not in headers), but those nested too deep.
    public lazy var functions: [FunctionDefinition] = unit.topLevel.compactMap { cursor in
        guard cursor.kind == .functionDecl, cursor.isDefinition, cursor.isInMainFile else { return nil }
        return analysable(cursor, tree: Node.tree(of: cursor, in: unit))
    }

    /// A function left out because its code nests deeper than `Node.maximumDepth`.
    public struct TooDeep: Hashable {
        public let function: String
        /// Where its tree was cut.
        public let at: SourcePosition
        public var message: String { "too deep: nesting over \(Node.maximumDepth) levels in \(function)(), not analysed" }
    }

    /// Functions left out because their code nests deeper than `Node.maximumDepth`.
    public private(set) var tooDeep: [TooDeep] = []

    /// The function's definition, or nil (noted in `tooDeep`) when its tree had to be cut.
    private func analysable(_ cursor: Cursor, tree: Node) -> FunctionDefinition? {
        if let cut = tree.tooDeepAt {
            tooDeep.append(TooDeep(function: cursor.spelling, at: cut))
            return nil
        }
        return FunctionDefinition(name: cursor.spelling, declaration: tree)
    }

    /// Macro uses written in the main file, in source order.
    public private(set) lazy var macroUses: [MacroUse] = unit.macroUses(inFile: path).sorted { $0.range.start.offset < $1.range.start.offset }

    /// For each of `macroUses`, the furthest end of it and those before it: uses may nest (a
    /// macro in another's arguments), so a lookup walks back from a position only while an
    /// earlier use could still cover it. Rules ask for thousands of positions in a large file.
    private lazy var macroUseReach: [Int] = {
        var furthest = Int.min
        return macroUses.map { furthest = max(furthest, $0.range.end.offset); return furthest }
    }()

    /// The index of the first of `macroUses` that starts after `offset`.
    private func firstMacroUse(after offset: Int) -> Int {
        var low = 0, high = macroUses.count
        while low < high {
            let middle = (low + high) / 2
            if macroUses[middle].range.start.offset <= offset { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Macro uses whose invocation covers `position` (outermost first).
    public func macroUses(covering position: SourcePosition) -> [MacroUse] {
        guard position.file == path else { return [] }
        var first = firstMacroUse(after: position.offset)
        let end = first
        while first > 0 && macroUseReach[first - 1] > position.offset { first -= 1 }
        return macroUses[first..<end].filter { position.offset < $0.range.end.offset }
    }

    /// The macro use that produced `node`, if its whole code comes from one macro invocation.
    public func macroUse(producing node: Node) -> MacroUse? {
        let position = node.cursor.expansionPosition
        var index = firstMacroUse(after: position.offset)
        while index > 0 && macroUses[index - 1].range.start.offset == position.offset {
            index -= 1
            if macroUses[index].range.start.file == position.file { return macroUses[index] }
        }
        return nil
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

// MARK: Headers

extension FileContext {
    /// Macro uses written in `file` (any file of the unit, headers included), in source order;
    /// cached, since each lookup walks every preprocessing entity of the unit.
    public func macroUses(inFile file: String) -> [MacroUse] {
        if file == path { return macroUses }
        if let cached = headerCache.macroUses[file] { return cached }
        let uses = unit.macroUses(inFile: file).sorted { $0.range.start.offset < $1.range.start.offset }
        headerCache.macroUses[file] = uses
        return uses
    }

    /// Macro uses whose invocation covers `position`, in whichever file it is (outermost first).
    public func macroUses(coveringAnywhere position: SourcePosition) -> [MacroUse] {
        if position.file == path { return macroUses(covering: position) }
        return macroUses(inFile: position.file).filter {
            $0.range.start.offset <= position.offset && position.offset < $0.range.end.offset
        }
    }

    /// The tree of a declaration the unit holds (a callee's definition, the file's own or a
    /// header's; a variable's initializer), built once for every rule that asks and kept while
    /// the context lives: the file's own functions have theirs in `functions` already.
    public func definitionTree(_ cursor: Cursor) -> Node {
        if headerCache.definitionTrees.isEmpty {
            for function in functions { headerCache.definitionTrees[function.declaration.cursor] = function.declaration }
        }
        if let known = headerCache.definitionTrees[cursor] { return known }
        let tree = Node.tree(of: cursor, in: unit)
        headerCache.definitionTrees[cursor] = tree
        return tree
    }

    /// What a rule makes of each shared-header function that mentions one of `names`, in their
    /// order: made once per set of shared headers and `key` (the rule, its pass) in a process,
    /// and taken by every later file parsed with them — unless `make` says it read something
    /// of the file's own (then made again for each file), or the file itself defines one of the
    /// functions whose definitions the making looked up (`consulted`: a callee found in the
    /// shared headers, or nowhere, in the file it was made for). `alsoMentioning`: only those
    /// that also mention one of these names (what the rule needs in a function to make anything).
    public func sharedHeaderFacts<Fact>(mentioning names: Set<String>, alsoMentioning others: Set<String>? = nil, key: String,
                                        make: (FunctionDefinition) -> (fact: Fact?, consulted: Set<String>, ownFacts: Bool)) -> [Fact] {
        var wanted = sharedHeaderFunctions.mentioning(names)
        if let others { wanted = wanted.filter { !others.isDisjoint(with: $0.identifiers) } }
        guard !wanted.isEmpty else { return [] }
        let keys = wanted.map { key + "|" + $0.file + "|" + String($0.offset) }
        let own = definedFunctionNames
        var made = keys.map { key -> SharedHeaderFunctions.Made? in
            guard let kept = sharedHeaderFunctions.made(key), kept.consulted.isDisjoint(with: own) else { return nil }
            return kept
        }
        let missing = made.indices.filter { made[$0] == nil }
        for (index, cursor) in zip(missing, resolve(missing.map { wanted[$0] })) {
            guard let cursor else { made[index] = SharedHeaderFunctions.Made(fact: nil, consulted: [], cut: nil); continue }
            let before = tooDeep.count
            guard let definition = headerFunction(cursor) else {
                made[index] = SharedHeaderFunctions.Made(fact: nil, consulted: [], cut: tooDeep.count > before ? tooDeep.last : headerCache.cuts[cursor])
                sharedHeaderFunctions.keep(made[index]!, key: keys[index])
                continue
            }
            let result = make(definition)
            made[index] = SharedHeaderFunctions.Made(fact: result.fact, consulted: result.consulted, cut: nil)
            if !result.ownFacts && result.consulted.isDisjoint(with: own) { sharedHeaderFunctions.keep(made[index]!, key: keys[index]) }
        }
        var facts: [Fact] = []
        let madeHere = Set(missing)
        for (index, entry) in made.enumerated() {
            guard let entry else { continue }
            // A function cut for nesting too deep is noted for every file, as when it is made.
            if let cut = entry.cut, !madeHere.contains(index) { tooDeep.append(cut) }
            if let fact = entry.fact as? Fact { facts.append(fact) }
        }
        return facts
    }

    /// The names of the functions this unit defines itself (in the file and in headers read
    /// without shared precompiled headers).
    public var definedFunctionNames: Set<String> {
        if let known = headerCache.definedNames { return known }
        let names = Set(unit.topLevel.lazy.filter { $0.kind == .functionDecl && $0.isDefinition }.map(\.spelling))
        headerCache.definedNames = names
        return names
    }

    /// The cursors of shared-header functions' definitions, looked up file by file (see
    /// `TranslationUnit.cursors`); nil where none is found.
    private func resolve(_ wanted: [SharedHeaderFunction]) -> [Cursor?] {
        // The cursor at the name may be a part of the declaration: climb to it.
        func definition(at start: Cursor?, named name: String) -> Cursor? {
            guard var cursor = start else { return nil }
            for _ in 0..<3 where !(cursor.kind == .functionDecl && cursor.spelling == name) {
                guard let parent = cursor.semanticParent else { break }
                cursor = parent
            }
            return cursor.kind == .functionDecl && cursor.spelling == name && cursor.isDefinition ? cursor : nil
        }
        var found = [Cursor?](repeating: nil, count: wanted.count)
        for (file, indices) in Dictionary(grouping: wanted.indices, by: { wanted[$0].file }) {
            for (index, cursor) in zip(indices, unit.cursors(inFile: file, offsets: indices.map { wanted[$0].offset })) {
                found[index] = definition(at: cursor, named: wanted[index].name)
                    ?? definition(at: unit.cursor(inFile: file, offset: wanted[index].offset), named: wanted[index].name)
            }
        }
        return found
    }

    /// Function definitions from headers (static inline helpers) that the unit read itself (not
    /// from shared precompiled headers: `sharedHeaderFacts`) whose text mentions one of `names`
    /// as an identifier. Every unit that includes a header sees them: callers dedupe their facts.
    /// `alsoMentioning`: only those that also mention one of these names.
    public func unsharedHeaderFunctions(mentioning names: Set<String>, alsoMentioning others: Set<String>? = nil) -> [FunctionDefinition] {
        guard !names.isEmpty else { return [] }
        var result: [FunctionDefinition] = []
        let matcher = IdentifierMatcher(names), otherMatcher = others.map { IdentifierMatcher($0) }
        for (cursor, extent) in headerDefinitions where text(of: extent, mentions: matcher) && otherMatcher.map({ text(of: extent, mentions: $0) }) ?? true {
            if let definition = headerFunction(cursor) { result.append(definition) }
        }
        return result
    }

    /// The names of the functions the unit defines — its own, its headers', its shared headers'
    /// — whose text mentions one of `names`: read from their text, no tree is built.
    public func functionNames(mentioning names: Set<String>) -> Set<String> {
        guard !names.isEmpty else { return [] }
        var result = Set(sharedHeaderFunctions.mentioning(names).map(\.name))
        let matcher = IdentifierMatcher(names)
        for (cursor, extent) in headerDefinitions + functions.map({ ($0.declaration.cursor, $0.declaration.cursor.extent) })
        where text(of: extent, mentions: matcher) {
            result.insert(cursor.spelling)
        }
        return result
    }

    /// Whether the text of `extent`, as the unit read it, names one of the matcher's identifiers.
    private func text(of extent: SourceRange, mentions matcher: IdentifierMatcher) -> Bool {
        guard let text = headerText(extent.start.file), extent.start.offset < extent.end.offset, extent.end.offset <= text.bytes.count else { return false }
        return matcher.any(in: text, range: extent.start.offset..<extent.end.offset)
    }

    /// A header function's definition, its tree built once for every rule that asks (the same
    /// tree `definitionTree` gives for it as a callee).
    private func headerFunction(_ cursor: Cursor) -> FunctionDefinition? {
        if let known = headerCache.trees[cursor] { return known }
        let before = tooDeep.count
        let definition = analysable(cursor, tree: definitionTree(cursor))
        if tooDeep.count > before { headerCache.cuts[cursor] = tooDeep.last }
        headerCache.trees[cursor] = .some(definition)
        return definition
    }

    /// Function definitions the unit read from headers, with their extents: found once, asked
    /// for by several rules.
    private var headerDefinitions: [(Cursor, SourceRange)] {
        if let known = headerCache.definitions { return known }
        let found = unit.topLevel.filter { $0.kind == .functionDecl && $0.isDefinition && !$0.isInMainFile }.map { ($0, $0.extent) }
        headerCache.definitions = found
        return found
    }

    /// A header's text as the parse saw it: from the translation unit, never from disk (the gate
    /// parses headers at another revision than the one on disk; offsets must match what was parsed).
    private func headerText(_ file: String) -> SourceText? {
        if let cached = headerCache.texts[file] { return cached }
        guard let bytes = unit.contents(of: file) else { return nil }
        let text = SourceText(bytes: bytes)
        headerCache.texts[file] = text
        return text
    }
}

/// What FileContext's header helpers computed for one unit.
final class HeaderCache {
    var macroUses: [String: [MacroUse]] = [:]
    var texts: [String: SourceText] = [:]
    var definitions: [(Cursor, SourceRange)]?
    /// Header functions' trees, built once for every rule that asks (nil: nested too deep).
    var trees: [Cursor: FunctionDefinition?] = [:]
    /// Trees of definitions asked for by cursor (see `definitionTree`).
    var definitionTrees: [Cursor: Node] = [:]
    /// Header functions left out for nesting too deep, with where their trees were cut.
    var cuts: [Cursor: FileContext.TooDeep] = [:]
    /// See `definedFunctionNames`.
    var definedNames: Set<String>?
}

/// The functions one set of shared precompiled headers defines. Every file parsed with them asks
/// which of them mention a rule's names, with the same names (a rule's vocabulary): each answer
/// is kept, so that thousands of functions' identifier sets are not searched again for each file.
public final class SharedHeaderFunctions: @unchecked Sendable {
    public let all: [SharedHeaderFunction]
    private var answers: [Set<String>: [SharedHeaderFunction]] = [:]
    private let lock = NSLock()

    public init(_ all: [SharedHeaderFunction]) { self.all = all }

    /// What a rule made of one of these functions (see `FileContext.sharedHeaderFacts`).
    struct Made {
        let fact: Any?
        /// The callees whose definitions the making looked up.
        let consulted: Set<String>
        /// Where the function's tree was cut, if it nests too deep.
        let cut: FileContext.TooDeep?
    }
    private var madeByKey: [String: Made] = [:]

    func made(_ key: String) -> Made? {
        lock.lock(); defer { lock.unlock() }
        return madeByKey[key]
    }

    func keep(_ made: Made, key: String) {
        lock.lock(); defer { lock.unlock() }
        madeByKey[key] = made
    }

    /// Those that name one of `names`, in their order.
    public func mentioning(_ names: Set<String>) -> [SharedHeaderFunction] {
        lock.lock()
        if let known = answers[names] { lock.unlock(); return known }
        lock.unlock()
        let found = all.filter { !names.isDisjoint(with: $0.identifiers) }
        lock.lock()
        // Rules ask with a few fixed vocabularies; per-file name sets (fields a file publishes)
        // must not pile up in a long-lived worker.
        if answers.count >= 64 { answers.removeAll(keepingCapacity: true) }
        answers[names] = found
        lock.unlock()
        return found
    }
}

/// A function defined in a shared precompiled header, as recorded when it was built: where its
/// name is, and the identifiers its text holds.
public struct SharedHeaderFunction: Codable, Sendable {
    public let name: String
    public let file: String
    public let offset: Int
    public let identifiers: Set<String>

    public init(name: String, file: String, offset: Int, identifiers: Set<String>) {
        self.name = name; self.file = file; self.offset = offset; self.identifiers = identifiers
    }

    /// The definitions of a unit parsed to be precompiled, in the unit's order.
    public static func record(_ unit: TranslationUnit) -> [SharedHeaderFunction] {
        var texts: [String: SourceText] = [:]
        return unit.topLevel.compactMap { cursor in
            guard cursor.kind == .functionDecl, cursor.isDefinition else { return nil }
            let extent = cursor.extent
            if texts[extent.start.file] == nil, let bytes = unit.contents(of: extent.start.file) { texts[extent.start.file] = SourceText(bytes: bytes) }
            guard let text = texts[extent.start.file], extent.start.offset < extent.end.offset, extent.end.offset <= text.bytes.count else { return nil }
            let position = cursor.expansionPosition
            return SharedHeaderFunction(name: cursor.spelling, file: position.file, offset: position.offset,
                                        identifiers: SourceText(bytes: Array(text.bytes[extent.start.offset..<extent.end.offset])).identifiers)
        }
    }
}
