import CClang
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file's contents given to libclang in place of (or in addition to) what is on disk.
public struct UnsavedFile: Sendable, Hashable {
    public let path: String
    public let contents: String
    public init(path: String, contents: String) { self.path = path; self.contents = contents }
}

public enum ParseFailure: Error, CustomStringConvertible, Sendable {
    case crashed(file: String)
    case invalidArguments(file: String)
    case astReadError(file: String)
    case failed(file: String, code: Int)

    public var description: String {
        switch self {
        case .crashed(let file): return "libclang crashed while parsing \(file)"
        case .invalidArguments(let file): return "libclang rejected the arguments for \(file)"
        case .astReadError(let file): return "libclang could not read the AST of \(file)"
        case .failed(let file, let code): return "libclang failed to parse \(file) (error \(code))"
        }
    }
}

public struct Diagnostic: Sendable {
    public enum Severity: Int, Sendable { case ignored = 0, note, warning, error, fatal }
    public let severity: Severity
    public let message: String
    public let position: SourcePosition
}

/// One CXIndex. Not shared between threads: make one per worker thread.
public final class ClangIndex {
    let raw: CXIndex

    /// `excludeDeclarationsFromPCH`: visiting a unit parsed with a precompiled header skips the
    /// header's declarations (deserialising thousands of them would cost what the header saved).
    public init(excludeDeclarationsFromPCH: Bool = false) {
        ClangIndex.parseOnCallingThread()
        raw = clang_createIndex(excludeDeclarationsFromPCH ? 1 : 0, 0)
    }

    /// libclang parses on a thread of its own with a fixed 8 MiB stack, which deeply nested code
    /// overflows; told not to (an environment variable it reads at every parse), it parses on the
    /// calling thread, which `parse` makes a large one. The first index sets it; a program calls
    /// this first thing, while it has one thread, since changing the environment races with
    /// threads reading it. Worker processes inherit it.
    public static func parseOnCallingThread() { _ = noSafetyThread }
    private static let noSafetyThread: Void = { setenv("LIBCLANG_NOTHREADS", "1", 1) }()
    deinit { clang_disposeIndex(raw) }

    /// Precompiles `header` (parsed as a C header with `arguments`) into `output`, for later parses
    /// to load with `-include-pch`: the kernel headers most files share are then read once per scan
    /// instead of once per file. The detailed preprocessing record is kept, so that macro
    /// expansions in those headers stay visible. Returns the files the header read, and its errors.
    public func savePrecompiledHeader(_ header: String, arguments: [String], unsavedFiles: [UnsavedFile] = [],
                                      to output: String) throws -> (unit: TranslationUnit, errors: [Diagnostic]) {
        let options = CXTranslationUnit_ForSerialization.rawValue | CXTranslationUnit_Incomplete.rawValue
            | CXTranslationUnit_DetailedPreprocessingRecord.rawValue | CXTranslationUnit_KeepGoing.rawValue
        var unit: CXTranslationUnit?
        let headerArguments = ["-x", "c-header"] + arguments
        let code: CXErrorCode = withCStrings(headerArguments) { argv in
            withUnsavedFiles(unsavedFiles) { unsaved in
                LargeStack.run {
                    clang_parseTranslationUnit2(raw, header, argv, Int32(headerArguments.count),
                                                unsaved.baseAddress, UInt32(unsaved.count), options, &unit)
                }
            }
        }
        guard code == CXError_Success, let unit else {
            throw code == CXError_Crashed ? ParseFailure.crashed(file: header) : ParseFailure.failed(file: header, code: Int(code.rawValue))
        }
        let parsed = TranslationUnit(raw: unit, index: self, file: header)
        let errors = parsed.diagnostics.filter { $0.severity.rawValue >= Diagnostic.Severity.error.rawValue }
        let saved = clang_saveTranslationUnit(unit, output, 0)
        guard saved == 0 else { throw ParseFailure.failed(file: output, code: Int(saved)) }
        return (parsed, errors)
    }

    /// Parses one file. The detailed preprocessing record is kept so rules can see macro expansions.
    public func parse(file: String, arguments: [String], unsavedFiles: [UnsavedFile] = [],
                      skipFunctionBodies: Bool = false) throws -> TranslationUnit {
        var options = CXTranslationUnit_DetailedPreprocessingRecord.rawValue
            | CXTranslationUnit_KeepGoing.rawValue
            | CXTranslationUnit_IgnoreNonErrorsFromIncludedFiles.rawValue
        if skipFunctionBodies { options |= CXTranslationUnit_SkipFunctionBodies.rawValue }

        var unit: CXTranslationUnit?
        let code: CXErrorCode = withCStrings(arguments) { argv in
            withUnsavedFiles(unsavedFiles) { unsaved in
                LargeStack.run {
                    clang_parseTranslationUnit2(raw, file, argv, Int32(arguments.count),
                                                unsaved.baseAddress, UInt32(unsaved.count), options, &unit)
                }
            }
        }
        switch code {
        case CXError_Success:
            guard let unit else { throw ParseFailure.failed(file: file, code: 0) }
            return TranslationUnit(raw: unit, index: self, file: file)
        case CXError_Crashed: throw ParseFailure.crashed(file: file)
        case CXError_InvalidArguments: throw ParseFailure.invalidArguments(file: file)
        case CXError_ASTReadError: throw ParseFailure.astReadError(file: file)
        default: throw ParseFailure.failed(file: file, code: Int(code.rawValue))
        }
    }
}

/// A parsed file with everything it includes.
public final class TranslationUnit {
    let raw: CXTranslationUnit
    let index: ClangIndex  // keeps the index alive as long as the unit
    public let file: String

    init(raw: CXTranslationUnit, index: ClangIndex, file: String) {
        self.raw = raw; self.index = index; self.file = file
    }
    deinit { clang_disposeTranslationUnit(raw) }

    public var cursor: Cursor { Cursor(clang_getTranslationUnitCursor(raw)) }

    public var diagnostics: [Diagnostic] {
        let count = clang_getNumDiagnostics(raw)
        var result: [Diagnostic] = []
        result.reserveCapacity(Int(count))
        for i in 0..<count {
            let diagnostic = clang_getDiagnostic(raw, i)
            defer { clang_disposeDiagnostic(diagnostic) }
            let severity = Diagnostic.Severity(rawValue: Int(clang_getDiagnosticSeverity(diagnostic).rawValue)) ?? .error
            result.append(Diagnostic(severity: severity,
                                     message: consume(clang_getDiagnosticSpelling(diagnostic)),
                                     position: SourcePosition(clang_getDiagnosticLocation(diagnostic))))
        }
        return result
    }

    /// The text of `path` exactly as this unit was parsed from it (an unsaved file's contents, or
    /// the file as read then), nil when the unit did not read that file. Offsets of the unit's
    /// source locations index into these bytes.
    public func contents(of path: String) -> [UInt8]? {
        guard let file = clang_getFile(raw, path) else { return nil }
        var size = 0
        guard let buffer = clang_getFileContents(raw, file, &size) else { return nil }
        return buffer.withMemoryRebound(to: UInt8.self, capacity: size) { Array(UnsafeBufferPointer(start: $0, count: size)) }
    }

    /// Whether a second `#include` of `path` would read nothing: an include guard or `#pragma
    /// once` covers the whole file (false when the unit did not read it).
    public func isIncludeGuarded(_ path: String) -> Bool {
        guard let file = clang_getFile(raw, path) else { return false }
        return clang_isFileMultipleIncludeGuarded(raw, file) != 0
    }

    /// The most specific cursor at `offset` of `path` (nil when the unit did not read the file).
    public func cursor(inFile path: String, offset: Int) -> Cursor? {
        guard let file = clang_getFile(raw, path) else { return nil }
        let cursor = Cursor(clang_getCursor(raw, clang_getLocationForOffset(raw, file, UInt32(offset))))
        return cursor.isValid ? cursor : nil
    }

    /// The most specific cursor at each offset of `path`, located as `location(in:path:offset:)`
    /// does. Such a location is not mapped into macro argument expansions as
    /// `cursor(inFile:offset:)`'s is: a caller that finds the wrong cursor asks that one again.
    public func cursors(inFile path: String, offsets: [Int]) -> [Cursor?] {
        guard let file = clang_getFile(raw, path) else { return offsets.map { _ in nil } }
        return offsets.map { offset in
            let cursor = Cursor(clang_getCursor(raw, location(in: file, path: path, offset: offset)))
            return cursor.isValid ? cursor : nil
        }
    }

    /// The location at `offset` of a file the unit read. libclang looks a file up by walking the
    /// unit's source entries, deserialising a precompiled header's as it goes: one lookup per
    /// header function, and per token range in a header, made that walk the largest cost of the
    /// rules that read headers. Here the location is the start of the file moved by the offset
    /// (libclang's locations are offsets into the file's range), and a file's start is found
    /// once per unit and remembered across units (units parsed with the same precompiled header
    /// place its files alike). Every location made so is checked to resolve to that file and
    /// offset, and looked up the slow way otherwise.
    func location(in file: CXFile, path: String, offset: Int) -> CXSourceLocation {
        func resolves(_ location: CXSourceLocation, to offset: Int) -> Bool {
            var found: CXFile?
            var resolved: UInt32 = 0
            clang_getFileLocation(location, &found, nil, nil, &resolved)
            return found != nil && clang_File_isEqual(found, file) != 0 && Int(resolved) == offset
        }
        let start: CXSourceLocation
        if let known = fileStarts[path] { start = known } else {
            var remembered = clang_getRangeStart(clang_getCursorExtent(clang_getTranslationUnitCursor(raw)))
            if let known = Self.rememberedStarts.withLock({ $0[path] }) { remembered.int_data = known }
            if !resolves(remembered, to: 0) {
                remembered = clang_getLocationForOffset(raw, file, 0)
                Self.rememberedStarts.withLock { $0[path] = remembered.int_data }
            }
            fileStarts[path] = remembered
            start = remembered
        }
        var location = start
        location.int_data = start.int_data &+ UInt32(truncatingIfNeeded: offset)
        return resolves(location, to: offset) ? location : clang_getLocationForOffset(raw, file, UInt32(offset))
    }
    /// Where each file asked about starts in this unit.
    private var fileStarts: [String: CXSourceLocation] = [:]
    /// Per file, where it started in the last unit that looked it up.
    private static let rememberedStarts = Mutex<[String: UInt32]>([:])

    public var errorCount: Int { diagnostics.filter { $0.severity.rawValue >= Diagnostic.Severity.error.rawValue }.count }

    /// Top-level cursors, including preprocessing entities (macro expansions and definitions):
    /// visited once, since every rule walks them (tens of thousands in a unit without shared headers).
    public private(set) lazy var topLevel: [Cursor] = cursor.children
    /// See `macroExpansionsByFile`.
    var macroExpansionGroups: [CXFile: [CXCursor]]?

    /// The tokens of a source range, as written (a macro use is its name and arguments, not its expansion).
    public func tokens(in range: SourceRange) -> [Token] {
        tokens(cursorExtent: nil, range: range)
    }

    public func tokens(of cursor: Cursor) -> [Token] {
        tokens(cursorExtent: clang_getCursorExtent(cursor.raw), range: nil)
    }

    private func tokens(cursorExtent: CXSourceRange?, range: SourceRange?) -> [Token] {
        let extent: CXSourceRange
        if let cursorExtent { extent = cursorExtent } else if let range {
            guard let file = clang_getFile(raw, range.start.file) else { return [] }
            extent = clang_getRange(location(in: file, path: range.start.file, offset: range.start.offset),
                                    location(in: file, path: range.start.file, offset: range.end.offset))
        } else { return [] }
        return tokenize(extent)
    }

    /// Every token of each file asked for so far, in order.
    private var tokensByFile: [String: [Token]] = [:]

    /// The tokens of `file` that start at or after offset `start` and before `end`. The file is
    /// tokenized once and kept: each node of a long expression asks for the few tokens before its
    /// right operand, and tokenizing the whole left operand each time made that quadratic.
    public func tokens(inFile file: String, from start: Int, before end: Int) -> ArraySlice<Token> {
        let all: [Token]
        if let known = tokensByFile[file] { all = known } else {
            var size = 0
            if let handle = clang_getFile(raw, file), clang_getFileContents(raw, handle, &size) != nil {
                all = tokenize(clang_getRange(location(in: handle, path: file, offset: 0), location(in: handle, path: file, offset: size)))
            } else { all = [] }
            tokensByFile[file] = all
        }
        func firstIndex(atOrAfter offset: Int) -> Int {
            var low = 0, high = all.count
            while low < high {
                let middle = (low + high) / 2
                if all[middle].position.offset < offset { low = middle + 1 } else { high = middle }
            }
            return low
        }
        let lower = firstIndex(atOrAfter: start)
        return all[lower..<max(lower, firstIndex(atOrAfter: end))]
    }

    private func tokenize(_ extent: CXSourceRange) -> [Token] {
        var pointer: UnsafeMutablePointer<CXToken>?
        var count: UInt32 = 0
        clang_tokenize(raw, extent, &pointer, &count)
        guard let pointer else { return [] }
        defer { clang_disposeTokens(raw, pointer, count) }
        var result: [Token] = []
        result.reserveCapacity(Int(count))
        for i in 0..<Int(count) {
            let token = pointer[i]
            let kind: Token.Kind
            switch clang_getTokenKind(token) {
            case CXToken_Punctuation: kind = .punctuation
            case CXToken_Keyword: kind = .keyword
            case CXToken_Identifier: kind = .identifier
            case CXToken_Literal: kind = .literal
            default: kind = .comment
            }
            result.append(Token(kind: kind, text: consume(clang_getTokenSpelling(raw, token)),
                                position: SourcePosition(clang_getTokenLocation(raw, token))))
        }
        return result
    }
}

public struct Token: Hashable, Sendable {
    public enum Kind: Sendable { case punctuation, keyword, identifier, literal, comment }
    public let kind: Kind
    public let text: String
    public let position: SourcePosition
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicated = strings.map { strdup($0) }
    defer { duplicated.forEach { free($0) } }
    let pointers = duplicated.map { UnsafePointer<CChar>($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

private func withUnsavedFiles<R>(_ files: [UnsavedFile], _ body: (UnsafeMutableBufferPointer<CXUnsavedFile>) -> R) -> R {
    var keep: [UnsafeMutablePointer<CChar>?] = []
    defer { keep.forEach { free($0) } }
    var raw: [CXUnsavedFile] = []
    for file in files {
        let name = strdup(file.path)
        let contents = strdup(file.contents)
        keep.append(name)
        keep.append(contents)
        raw.append(CXUnsavedFile(Filename: name, Contents: contents, Length: UInt(file.contents.utf8.count)))
    }
    return raw.withUnsafeMutableBufferPointer { body($0) }
}

/// A macro use written in a file, with the range of its invocation (name and arguments).
public struct MacroUse: Sendable, Hashable {
    public let name: String
    public let range: SourceRange
}

extension TranslationUnit {
    /// Macro uses written in `file` (recorded because units are parsed with a detailed preprocessing record).
    public func macroUses(inFile file: String) -> [MacroUse] {
        guard let target = clang_getFile(raw, file) else { return [] }
        let groups = macroExpansionsByFile
        var found: [CXCursor] = []
        if let direct = groups[target] { found = direct } else if let same = groups.first(where: { clang_File_isEqual($0.key, target) != 0 }) { found = same.value }
        return found.map { raw in
            let use = Cursor(raw)
            return MacroUse(name: use.spelling, range: use.extent)
        }
    }
}

extension TranslationUnit {
    /// The unit's macro expansions grouped by the file they are written in, from one pass over
    /// its top-level cursors: a unit holds tens of thousands of preprocessing entities, mostly in
    /// headers, and rules ask for the uses of several files (the main file, headers whose inline
    /// functions they read). Keyed by libclang's file handle: naming each entity's file would
    /// cost more than the pass.
    var macroExpansionsByFile: [CXFile: [CXCursor]] {
        if let known = macroExpansionGroups { return known }
        var groups: [CXFile: [CXCursor]] = [:]
        for cursor in topLevel where clang_getCursorKind(cursor.raw) == CXCursor_MacroExpansion {
            var file: CXFile?
            clang_getFileLocation(clang_getRangeStart(clang_getCursorExtent(cursor.raw)), &file, nil, nil, nil)
            if let file { groups[file, default: []].append(cursor.raw) }
        }
        macroExpansionGroups = groups
        return groups
    }
}

extension TranslationUnit {
    /// Every file the unit read: the main file and all it includes, directly or not.
    /// For each file the unit read, the file the main file included on the way to it (itself when
    /// the main file includes it directly): which of a prefix header's headers brought a file in.
    public var topLevelIncluders: [String: String] {
        var result: [String: String] = [:]
        withUnsafeMutablePointer(to: &result) { pointer in
            clang_getInclusions(raw, { file, stack, depth, data in
                guard let file, depth > 0, let stack else { return }
                let name = consume(clang_getFileName(file))
                var top = name
                if depth >= 2 {
                    var included: CXFile?
                    var line: UInt32 = 0, column: UInt32 = 0, offset: UInt32 = 0
                    clang_getExpansionLocation(stack[Int(depth) - 2], &included, &line, &column, &offset)
                    if let included { top = consume(clang_getFileName(included)) }
                }
                data!.assumingMemoryBound(to: [String: String].self).pointee[name] = top
            }, pointer)
        }
        return result
    }

    public var includedFiles: [String] {
        var files = Set<String>()
        withUnsafeMutablePointer(to: &files) { pointer in
            clang_getInclusions(raw, { file, _, _, data in
                guard let file else { return }
                let name = consume(clang_getFileName(file))
                data!.assumingMemoryBound(to: Set<String>.self).pointee.insert(name)
            }, pointer)
        }
        return files.sorted()
    }
}
