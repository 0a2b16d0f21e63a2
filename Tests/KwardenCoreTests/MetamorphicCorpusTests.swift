import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// Renames every identifier a rule's corpus cases define to a neutral name and requires exactly the
/// same findings on the same lines: a rule decides on the code's structure and on kernel API, never
/// on what a driver chose to call its functions, macros, fields, constants or bits.
///
/// Kernel API keeps its name: C keywords, everything the shared headers `corpus/include/kcorpus*.h`
/// spell (they stand for the kernel), and the names in the rules' lists (`rules/*.yaml`). Each other
/// identifier of the case files is renamed word by word (words between underscores), consistently
/// across the files of one rule's folder (cross-file cases share names): `brk_rx_queue_off` becomes
/// `zc_zd_ze_zf`, `BRK_RXCTL_EN` becomes `ZC_ZG_ZH`. Case and underscores are kept, meaning is not.
/// Comments, strings and `#include` lines stay as they are, so lines and annotations do not move.
final class MetamorphicCorpusTests: XCTestCase {
    func testRenamedCorpusGivesTheSameFindingsForEveryRule() throws {
        let kept = try Self.keptNames()
        for id in RuleRegistry.ids {
            let renamed = try Self.renamedCopy(of: id, keeping: kept)
            defer { try? FileManager.default.removeItem(atPath: renamed.root) }
            let result = try scanCorpus([renamed.corpus], rules: [id])
            XCTAssertEqual(result.summary.filesFailed, 0, "\(id): renamed corpus files failed: \(result.failures)")
            XCTAssertEqual(result.summary.filesWithErrors, 0, "\(id): renamed corpus must parse cleanly: \(result.parseErrors)")
            let expected = try CorpusAnnotations.read(directory: renamed.corpus, marker: "expect").filter { $0.rule == id }
            XCTAssertFalse(expected.isEmpty)
            let actual = result.findings.map { Expectation(file: $0.file, line: $0.line, rule: $0.rule) }
            let missing = difference(expected, actual), extra = difference(actual, expected)
            XCTAssertTrue(missing.isEmpty, "\(id), names renamed: missing findings:\n" + missing.map(\.description).joined(separator: "\n"))
            XCTAssertTrue(extra.isEmpty, "\(id), names renamed: unexpected findings:\n" + extra.map(\.description).joined(separator: "\n"))
        }
    }

    func testRenamingKeepsKernelAPIAndLinesAndChangesDefinedNames() throws {
        var renamer = NeutralRenamer(kept: ["writel", "u32"])
        let source = "#include <kcorpus-dma.h>\n#define BRK_RXCTL_EN 0x2 // keep brk_off\nstatic void brk_off(u32 v) { writel(v & ~BRK_RXCTL_EN, \"brk\"); }\n"
        let output = renamer.rename(source)
        XCTAssertEqual(output.split(separator: "\n", omittingEmptySubsequences: false).count,
                       source.split(separator: "\n", omittingEmptySubsequences: false).count)
        XCTAssertTrue(output.contains("#include <kcorpus-dma.h>"))
        XCTAssertTrue(output.contains("writel(") && output.contains("u32 "))
        XCTAssertFalse(output.contains("BRK_RXCTL_EN 0x2"))
        XCTAssertTrue(output.contains("// keep brk_off") && output.contains("\"brk\""))
        XCTAssertFalse(output.contains("void brk_off"))
    }

    /// Names that stand for the kernel or the language.
    static func keptNames() throws -> Set<String> {
        var kept = NeutralRenamer.keywords
        let include = Repository.corpus + "/include"
        for file in try FileManager.default.contentsOfDirectory(atPath: include) where file.hasPrefix("kcorpus") {
            let text = try String(contentsOfFile: include + "/" + file, encoding: .utf8)
            kept.formUnion(NeutralRenamer.identifiers(in: text))
        }
        for id in RuleRegistry.ids {
            let metadata = try RuleDirectory.load(id: id, from: Repository.rules)
            for names in (metadata.lists ?? [:]).values {
                // `writel@1`: the name before the position.
                kept.formUnion(names.map { String($0.split(separator: "@").first ?? "") })
            }
        }
        return kept
    }

    /// A copy of the corpus in a temporary directory with `id`'s cases renamed.
    static func renamedCopy(of id: String, keeping kept: Set<String>) throws -> (root: String, corpus: String) {
        let fm = FileManager.default
        let root = NSTemporaryDirectory() + "kwarden-renamed-" + UUID().uuidString
        let corpus = root + "/corpus"
        try fm.createDirectory(atPath: corpus + "/" + id, withIntermediateDirectories: true)
        try fm.copyItem(atPath: Repository.corpus + "/include", toPath: corpus + "/include")
        try fm.copyItem(atPath: Repository.corpus + "/compile_flags.txt", toPath: corpus + "/compile_flags.txt")
        var renamer = NeutralRenamer(kept: kept)
        let source = Repository.corpus + "/" + id
        for file in try fm.subpathsOfDirectory(atPath: source).sorted() where file.hasSuffix(".c") || file.hasSuffix(".h") {
            let text = try String(contentsOfFile: source + "/" + file, encoding: .utf8)
            let target = corpus + "/" + id + "/" + file
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try renamer.rename(text).write(toFile: target, atomically: true, encoding: .utf8)
        }
        return (root, corpus)
    }
}

/// Renames identifiers of C source word by word to neutral words, leaving kept names, comments,
/// string and character literals, numbers and `#include` lines untouched.
struct NeutralRenamer {
    static let keywords: Set<String> = [
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
        "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
        "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool",
        "bool", "true", "false", "NULL", "__attribute__", "__typeof__", "typeof", "asm", "__asm__", "__inline__",
        "__volatile__", "_Static_assert", "__VA_ARGS__", "define", "undef", "ifdef", "ifndef", "endif", "elif",
        "defined", "include", "pragma", "error", "__func__", "__LINE__", "__FILE__", "__always_inline", "__packed",
        "__iomem", "__user", "__rcu", "__force", "__maybe_unused",
    ]

    let kept: Set<String>
    private var words: [String: String] = [:]

    init(kept: Set<String>) { self.kept = kept }

    /// The identifier tokens of C source, outside comments and literals.
    static func identifiers(in text: String) -> Set<String> {
        var found = Set<String>()
        _ = transform(text) { found.insert($0); return $0 }
        return found
    }

    mutating func rename(_ text: String) -> String {
        Self.transform(text) { name in
            guard !kept.contains(name), !name.hasPrefix("__builtin") else { return name }
            return name.split(separator: "_", omittingEmptySubsequences: false).map { neutral(String($0)) }.joined(separator: "_")
        }
    }

    private mutating func neutral(_ word: String) -> String {
        guard word.contains(where: \.isLetter) else { return word }
        let key = word.lowercased()
        let base: String
        if let known = words[key] {
            base = known
        } else {
            var n = words.count, letters = ""
            repeat { letters = String(UnicodeScalar(UInt8(97 + n % 26))) + letters; n = n / 26 - 1 } while n >= 0
            base = "z" + letters
            words[key] = base
        }
        return word.contains(where: \.isLowercase) ? base : base.uppercased()
    }

    /// Applies `map` to every identifier token of `text` that is code (not a comment, a string or
    /// character literal, a number, or part of an `#include` line).
    static func transform(_ text: String, _ map: (String) -> String) -> String {
        let chars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        var lineStart = true
        func isIdentStart(_ c: Unicode.Scalar) -> Bool { c == "_" || (c.isASCII && c.properties.isAlphabetic) }
        func isIdent(_ c: Unicode.Scalar) -> Bool { isIdentStart(c) || (c.isASCII && c.properties.numericType != nil) }
        while i < chars.count {
            let c = chars[i]
            if lineStart, c == "#" {
                // `#include <...>` / `"..."`: copied as it is.
                var j = i
                while j < chars.count, chars[j] != "\n" { j += 1 }
                let line = String(String.UnicodeScalarView(chars[i..<j]))
                if line.replacingOccurrences(of: " ", with: "").hasPrefix("#include") {
                    out.append(contentsOf: chars[i..<j]); i = j; continue
                }
            }
            if c == "\n" { lineStart = true } else if c != " " && c != "\t" { lineStart = false }
            if c == "/", i + 1 < chars.count, chars[i + 1] == "/" {
                var j = i
                while j < chars.count, chars[j] != "\n" { j += 1 }
                out.append(contentsOf: chars[i..<j]); i = j; continue
            }
            if c == "/", i + 1 < chars.count, chars[i + 1] == "*" {
                var j = i + 2
                while j + 1 < chars.count, !(chars[j] == "*" && chars[j + 1] == "/") { j += 1 }
                j = min(j + 2, chars.count)
                out.append(contentsOf: chars[i..<j]); i = j; continue
            }
            if c == "\"" || c == "'" {
                var j = i + 1
                while j < chars.count, chars[j] != c, chars[j] != "\n" { j += chars[j] == "\\" ? 2 : 1 }
                j = min(j + 1, chars.count)
                out.append(contentsOf: chars[i..<j]); i = j; continue
            }
            if c.isASCII, c.properties.numericType != nil {
                var j = i
                while j < chars.count, isIdent(chars[j]) || chars[j] == "." { j += 1 }
                out.append(contentsOf: chars[i..<j]); i = j; continue
            }
            if isIdentStart(c) {
                var j = i
                while j < chars.count, isIdent(chars[j]) { j += 1 }
                out.append(contentsOf: map(String(String.UnicodeScalarView(chars[i..<j]))).unicodeScalars)
                i = j; continue
            }
            out.append(c); i += 1
        }
        return String(out)
    }
}
