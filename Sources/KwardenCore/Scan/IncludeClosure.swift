import Foundation
import RuleKit
import ClangKit

/// The headers a file is sure to read, whatever its configuration: its `#include`s outside any
/// conditional, followed through the include paths of its flags. An include guard does not
/// count as a condition, nor does `#ifndef __ASSEMBLY__`, which C code always passes.
///
/// Headers generated in memory (an unprepared tree's) are found and read as the compiler finds
/// them. What it cannot resolve — an include through a macro, `#include_next` — it leaves out,
/// so a closure may miss headers but never holds one the file would not read: precompiled
/// headers all of which lie in a file's closure declare nothing the file would not have declared
/// itself (a header included only under `#ifdef CONFIG_…` is in no closure, nor one only another
/// file of the group includes).
final class IncludeClosure: @unchecked Sendable {
    /// One header's unconditional includes, in order, and whether an include guard wraps it.
    struct Directives: Sendable {
        var includes: [(name: String, quoted: Bool)] = []
        var guarded = false
        var size = 0
    }

    /// Directories searched for `"…"` after the including file's own (`-iquote`), and for both
    /// forms (`-I`, then `-isystem`, then `-idirafter`, as the compiler orders them).
    let quoteDirectories: [String]
    let searchDirectories: [String]
    /// Headers read before the file (`-include`): their closures are everyone's.
    let forcedIncludes: [String]
    private let directives: HeaderDirectives
    /// Headers the compiler is given in memory, by path: found before the disk is asked.
    private let inMemory: [String: IncludeClosure.Directives]
    private var resolved: [String: String?] = [:]
    private let lock = NSLock()

    init(arguments: [String], inMemory: [UnsavedFile] = [], directives: HeaderDirectives) {
        // Each flag's paths, in order; a flag's value joined to it or the next argument.
        var paths: [String: [String]] = [:]
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            if let flag = ["-iquote", "-isystem", "-idirafter", "-include", "-I"].first(where: argument.hasPrefix) {
                let value: String
                if argument == flag, i + 1 < arguments.count { value = arguments[i + 1]; i += 1 } else { value = String(argument.dropFirst(flag.count)) }
                paths[flag, default: []].append(URL(fileURLWithPath: value).standardizedFileURL.path)
            }
            i += 1
        }
        quoteDirectories = paths["-iquote"] ?? []
        searchDirectories = ["-I", "-isystem", "-idirafter"].flatMap { paths[$0] ?? [] }
        forcedIncludes = paths["-include"] ?? []
        self.directives = directives
        var parsed: [String: IncludeClosure.Directives] = [:], texts: [String: SourceText] = [:]
        for file in inMemory {
            let path = URL(fileURLWithPath: file.path).standardizedFileURL.path
            texts[path] = SourceText(bytes: Array(file.contents.utf8))
            parsed[path] = HeaderDirectives.parse(texts[path]!.bytes)
        }
        self.inMemory = parsed
        inMemoryTexts = texts
    }

    /// The text of a header given in memory.
    func inMemoryText(_ path: String) -> SourceText? { inMemoryTexts[path] }
    private let inMemoryTexts: [String: SourceText]

    private func exists(_ path: String) -> Bool { inMemory[path] != nil || FileManager.default.fileExists(atPath: path) }

    private func directives(of path: String) -> Directives? { inMemory[path] ?? directives.of(path) }

    /// The path `#include "name"` (`quoted`) or `<name>` in a file of `directory` reads, if it
    /// is in memory or on disk.
    func resolve(_ name: String, quoted: Bool, from directory: String) -> String? {
        let key = quoted ? directory + "\u{0}" + name : name
        lock.lock()
        if let known = resolved[key] { lock.unlock(); return known }
        lock.unlock()
        var found: String?
        if name.hasPrefix("/") {
            let path = URL(fileURLWithPath: name).standardizedFileURL.path
            found = exists(path) ? path : nil
        } else {
            for base in (quoted ? [directory] + quoteDirectories : []) + searchDirectories {
                let path = URL(fileURLWithPath: base + "/" + name).standardizedFileURL.path
                if exists(path) { found = path; break }
            }
        }
        lock.lock(); resolved[key] = found; lock.unlock()
        return found
    }

    /// The name under which `#include <…>` reads `path` with these flags, if any.
    func includeName(of path: String) -> String? {
        for base in searchDirectories where path.hasPrefix(base + "/") {
            let name = String(path.dropFirst(base.count + 1))
            return resolve(name, quoted: false, from: "") == path ? name : nil
        }
        return nil
    }

    /// The headers `file` is sure to read (the forced includes' with them), by path; `source`:
    /// its text, if not to be read from disk.
    func closure(of file: String, source: SourceText? = nil) -> Set<String> {
        var seen = forcedClosure()
        visit(file, includes: source.map { HeaderDirectives.parse($0.bytes).includes }, into: &seen)
        seen.remove(file)
        return seen
    }

    /// Whether an include guard wraps the header (it is read once, however often included).
    func isGuarded(_ path: String) -> Bool { directives(of: path)?.guarded ?? false }

    /// `headers` by path: as given, or (`byName`) resolved as `<…>` names; nil if one is not found.
    func paths(_ headers: [String], byName: Bool) -> [String]? {
        guard byName else { return headers }
        var found: [String] = []
        for name in headers {
            guard let path = resolve(name, quoted: false, from: "") else { return nil }
            found.append(path)
        }
        return found
    }

    /// A header's size in bytes (0 if unread).
    func size(of path: String) -> Int { directives(of: path)?.size ?? 0 }

    /// The headers read by reading `headers` after the forced includes, all of them included.
    func closure(of headers: [String]) -> Set<String> {
        var seen = Set<String>()
        for root in forcedIncludes + headers where seen.insert(root).inserted { visit(root, into: &seen) }
        return seen
    }

    /// The headers the forced includes are sure to read, themselves included (made once: every
    /// closure starts from it).
    func forcedClosure() -> Set<String> {
        lock.lock()
        if let known = forcedMemo { lock.unlock(); return known }
        lock.unlock()
        let made = closure(of: [])
        lock.lock(); forcedMemo = made; lock.unlock()
        return made
    }
    private var forcedMemo: Set<String>?

    /// The headers of `file`'s closure in the order the preprocessor first enters them.
    func firstEntered(by file: String, source: SourceText? = nil) -> [String] {
        var seen = Set<String>()
        return visit(file, includes: source.map { HeaderDirectives.parse($0.bytes).includes }, into: &seen)
    }

    /// Adds what `path` (or a file with `includes`) reads to `seen`; returns the headers newly
    /// entered, in order.
    @discardableResult
    private func visit(_ path: String, includes: [(name: String, quoted: Bool)]? = nil, into seen: inout Set<String>) -> [String] {
        var order: [String] = []
        // Iterative, in preprocessing order: a header's includes are entered before the next
        // include of the file that named it.
        var stack: [(path: String, next: Int, includes: [(name: String, quoted: Bool)])] = [(path, 0, includes ?? directives(of: path)?.includes ?? [])]
        while !stack.isEmpty {
            let top = stack.count - 1
            guard stack[top].next < stack[top].includes.count else { stack.removeLast(); continue }
            let include = stack[top].includes[stack[top].next]
            stack[top].next += 1
            guard let found = resolve(include.name, quoted: include.quoted, from: (stack[top].path as NSString).deletingLastPathComponent),
                  seen.insert(found).inserted else { continue }
            order.append(found)
            stack.append((found, 0, directives(of: found)?.includes ?? []))
        }
        return order
    }
}

/// Headers' unconditional includes, each header read once for every closure of a scan.
final class HeaderDirectives: @unchecked Sendable {
    private var known: [String: IncludeClosure.Directives?] = [:]
    private let lock = NSLock()

    func of(_ path: String) -> IncludeClosure.Directives? {
        lock.lock()
        if let entry = known[path] { lock.unlock(); return entry }
        lock.unlock()
        var parsed: IncludeClosure.Directives?
        if case .success(let source) = TextIndex.read(path) { parsed = Self.parse(source.bytes) }
        lock.lock(); known[path] = parsed; lock.unlock()
        return parsed
    }

    /// Macros no C compilation of the kernel defines: `#ifndef` of one is always taken.
    static let neverDefined: Set<String> = ["__ASSEMBLY__", "__ASSEMBLER__"]

    /// A logical line that is not blank: a directive's word and the rest, or code (nil).
    typealias Line = (word: String, rest: String)?

    /// The line, or nil for a blank one.
    private static func line(_ bytes: [UInt8]) -> Line? {
        guard let first = bytes.firstIndex(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0d && $0 != 0x0c }) else { return nil }
        guard bytes[first] == 0x23 else { return .some(nil) }
        // The name and the blanks around it are ASCII in real code: read off the bytes. Foundation's
        // trimming (which goes through NSString on Linux, for every directive of every header a
        // scan reads) is left for the rare line with other bytes at those places.
        func isOther(_ index: Int) -> Bool { index < bytes.count && bytes[index] >= 0x80 }
        let start = PreprocessorText.skipBlanks(bytes, first + 1)
        var wordEnd = start
        while wordEnd < bytes.count, bytes[wordEnd] == 0x5f || (bytes[wordEnd] | 0x20 >= 0x61 && bytes[wordEnd] | 0x20 <= 0x7a) { wordEnd += 1 }
        let restStart = PreprocessorText.skipBlanks(bytes, wordEnd)
        var end = bytes.count
        while end > restStart, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard isOther(start) || isOther(wordEnd) || isOther(restStart) || (end > restStart && isOther(end - 1)) else {
            return .some((String(decoding: bytes[start..<wordEnd], as: UTF8.self), String(decoding: bytes[restStart..<end], as: UTF8.self)))
        }
        let text = String(decoding: bytes[(first + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        let word = String(text.prefix { $0.isLetter || $0 == "_" })
        return .some((word, text.dropFirst(word.count).trimmingCharacters(in: .whitespaces)))
    }

    private static func leadingName(_ text: String) -> String { String(text.prefix { $0.isLetter || $0.isNumber || $0 == "_" }) }

    /// Whether an include guard wraps `lines` (`#ifndef X` and `#define X` first, the `#endif`
    /// closing it last), and per line whether it is read whenever the text is: outside any
    /// conditional but the guard and conditions on `neverDefined` macros (an `#else` of a
    /// condition that is always taken is never taken).
    private static func sureness(_ lines: [Line]) -> (guarded: Bool, sure: [Bool]) {
        var guarded = false
        if lines.count >= 3, let first = lines[0], first.word == "ifndef",
           let second = lines[1], second.word == "define", leadingName(second.rest) == leadingName(first.rest) {
            var depth = 0
            for (index, line) in lines.enumerated() {
                guard let line else { continue }
                if line.word.hasPrefix("if") { depth += 1 } else if line.word == "endif" { depth -= 1 }
                if depth == 0 { guarded = index == lines.count - 1; break }
            }
        }
        // Per open conditional: whether its current branch is always taken.
        var open: [Bool] = []
        var sure: [Bool] = []
        sure.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            guard let (word, rest) = line else { sure.append(!open.contains(false)); continue }
            switch word {
            case "ifndef": open.append((guarded && index == 0) || neverDefined.contains(leadingName(rest)))
            case "if":
                let compact = rest.filter { !$0.isWhitespace }
                open.append(neverDefined.contains { compact == "!defined(\($0))" || compact == "!defined\($0)" })
            case "ifdef": open.append(false)
            case "elif", "else", "elifdef", "elifndef": if !open.isEmpty { open[open.count - 1] = false }
            case "endif": if !open.isEmpty { open.removeLast() }
            default: break
            }
            sure.append(!open.contains(false))
        }
        return (guarded, sure)
    }

    /// An `#include`'s header name and whether it is quoted, from the rest of its line.
    static func included(_ rest: String) -> (name: String, quoted: Bool)? {
        if rest.hasPrefix("<"), let close = rest.firstIndex(of: ">") {
            return (String(rest[rest.index(after: rest.startIndex)..<close]), false)
        }
        if rest.hasPrefix("\""), let close = rest.dropFirst().firstIndex(of: "\"") {
            return (String(rest[rest.index(after: rest.startIndex)..<close]), true)
        }
        return nil
    }

    /// A text's logical lines that are not blank, each with its directive (`line`) and whether it
    /// is read whenever the text is (`sureness`), and whether an include guard wraps them.
    static func readLines(_ bytes: [UInt8]) -> (guarded: Bool, lines: [(bytes: [UInt8], directive: Line, sure: Bool)]) {
        var kept: [[UInt8]] = [], lines: [Line] = []
        for logical in PreprocessorText.logicalLines(bytes) {
            guard let read = line(logical) else { continue }
            kept.append(logical)
            lines.append(read)
        }
        let (guarded, sure) = sureness(lines)
        return (guarded, (0..<kept.count).map { (kept[$0], lines[$0], sure[$0]) })
    }

    /// The includes read whenever the text is (`sureness`), in order.
    static func parse(_ bytes: [UInt8]) -> IncludeClosure.Directives {
        let (guarded, lines) = readLines(bytes)
        var result = IncludeClosure.Directives(includes: [], guarded: guarded, size: bytes.count)
        for line in lines where line.sure {
            guard let directive = line.directive, directive.word == "include", let include = included(directive.rest) else { continue }
            result.includes.append(include)
        }
        return result
    }
}
