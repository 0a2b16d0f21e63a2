import CClang
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A position in a file, resolved to where the code appears in the file being read
/// (for macro-expanded code: where the macro is used).
public struct SourcePosition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let offset: Int

    public init(file: String, line: Int, column: Int, offset: Int) {
        self.file = file; self.line = line; self.column = column; self.offset = offset
    }

    public static let unknown = SourcePosition(file: "", line: 0, column: 0, offset: 0)
    public var isKnown: Bool { !file.isEmpty }
    public var description: String { "\(file):\(line):\(column)" }
    public static func < (a: SourcePosition, b: SourcePosition) -> Bool {
        (a.file, a.offset) < (b.file, b.offset)
    }
}

public struct SourceRange: Hashable, Sendable {
    public let start: SourcePosition
    public let end: SourcePosition
    public init(start: SourcePosition, end: SourcePosition) { self.start = start; self.end = end }
    public func contains(_ p: SourcePosition) -> Bool {
        p.file == start.file && p.offset >= start.offset && p.offset <= end.offset
    }
}

extension SourcePosition {
    private typealias Resolver = (CXSourceLocation, UnsafeMutablePointer<CXFile?>?, UnsafeMutablePointer<UInt32>?,
                                  UnsafeMutablePointer<UInt32>?, UnsafeMutablePointer<UInt32>?) -> Void

    private init(_ location: CXSourceLocation, resolvedBy resolve: Resolver) {
        var file: CXFile?
        var line: UInt32 = 0, column: UInt32 = 0, offset: UInt32 = 0
        resolve(location, &file, &line, &column, &offset)
        let name = file.map(FileNames.name) ?? ""
        self.init(file: name, line: Int(line), column: Int(column), offset: Int(offset))
    }

    /// File location: the expansion site for macro bodies, the spelling site for macro arguments.
    init(_ location: CXSourceLocation) { self.init(location, resolvedBy: clang_getFileLocation) }

    /// libclang's "spelling" location (it resolves to the file location too; kept for clarity at call sites).
    init(spellingOf location: CXSourceLocation) { self.init(location, resolvedBy: clang_getSpellingLocation) }

    /// Expansion location: always the place the code is written in the file (the macro use site).
    init(expansionOf location: CXSourceLocation) { self.init(location, resolvedBy: clang_getExpansionLocation) }
}

extension SourceRange {
    init(_ range: CXSourceRange) {
        start = SourcePosition(clang_getRangeStart(range))
        end = SourcePosition(clang_getRangeEnd(range))
    }
}

/// File names as Swift strings, made once per file rather than once per location: rules ask for
/// the positions of most nodes, and each new string cost an allocation and a UTF-8 check.
enum FileNames {
    private static let interned = Mutex(CStringInterner(capacity: 4096))

    static func name(_ file: CXFile) -> String {
        let string = clang_getFileName(file)
        defer { clang_disposeString(string) }
        guard let cString = clang_getCString(string) else { return "" }
        return interned.withLock { $0.name(of: cString) }
    }
}

/// Swift strings for C strings, kept by the C string's address and checked against its text (a
/// later translation unit may reuse the address for another file's name); at most `capacity`
/// are kept, all dropped when full.
struct CStringInterner {
    let capacity: Int
    private var known: [UnsafeRawPointer: (text: UnsafeMutablePointer<CChar>, name: String)] = [:]

    init(capacity: Int) { self.capacity = capacity }

    mutating func name(of cString: UnsafePointer<CChar>) -> String {
        let key = UnsafeRawPointer(cString)
        if let entry = known[key] {
            if strcmp(entry.text, cString) == 0 { return entry.name }
            // Another name at the same address: the entry goes (its copy freed once, here).
            free(entry.text)
            known[key] = nil
        }
        if known.count >= capacity {
            for entry in known.values { free(entry.text) }
            known.removeAll(keepingCapacity: true)
        }
        let name = String(cString: cString)
        known[key] = (strdup(cString)!, name)
        return name
    }
}
