import Foundation

/// One file's entry from a compile_commands.json, with its flags reduced to those that change
/// how the file parses, relative paths made absolute.
struct CompileEntry: Sendable, Hashable {
    let file: String
    let directory: String
    let arguments: [String]
    /// The triple implied by a cross compiler's name (`aarch64-linux-gnu-gcc`), if any.
    let compilerTriple: String?
}

/// Reads the kernel's `scripts/clang-tools/gen_compile_commands.py` output (or any clang
/// compilation database) in both the "arguments" and the "command" form.
struct CompileCommands: Sendable {
    private(set) var entries: [String: CompileEntry] = [:]
    /// Flags dropped across all entries (distinct spellings), for notes.
    private(set) var droppedFlags: Set<String> = []
    /// The directory most entries were compiled in: the object tree of the build.
    private(set) var buildDirectory: String?

    init(path: String, clangResourceInclude: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw KernelBuildError.unreadableCompileCommands(path: path, reason: error.localizedDescription)
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw KernelBuildError.malformedCompileCommands(path: path, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let list = json as? [Any] else {
            throw KernelBuildError.malformedCompileCommands(path: path, reason: "top level is not an array of entries")
        }
        var directoryCounts: [String: Int] = [:]
        for (index, item) in list.enumerated() {
            guard let object = item as? [String: Any] else {
                throw KernelBuildError.malformedCompileCommands(path: path, reason: "entry \(index) is not an object")
            }
            guard let directory = object["directory"] as? String, let file = object["file"] as? String else {
                throw KernelBuildError.malformedCompileCommands(path: path, reason: "entry \(index) lacks \"directory\" or \"file\"")
            }
            let rawArguments: [String]
            if let arguments = object["arguments"] as? [String] {
                rawArguments = arguments
            } else if let command = object["command"] as? String {
                guard let split = ShellWords.split(command) else {
                    throw KernelBuildError.malformedCompileCommands(path: path, reason: "entry \(index): unbalanced quotes in \"command\"")
                }
                rawArguments = split
            } else {
                throw KernelBuildError.malformedCompileCommands(path: path, reason: "entry \(index) has neither \"arguments\" nor \"command\"")
            }
            // A relative "directory" is relative to the database's own place, not to where kwarden runs.
            let databaseDirectory = (PathUtilities.absolute(path, relativeTo: FileManager.default.currentDirectoryPath) as NSString).deletingLastPathComponent
            let absoluteDirectory = PathUtilities.absolute(directory, relativeTo: databaseDirectory)
            let absoluteFile = PathUtilities.absolute(file, relativeTo: absoluteDirectory)
            let reduced = Self.reduce(rawArguments, file: absoluteFile, directory: absoluteDirectory,
                                      clangResourceInclude: clangResourceInclude)
            droppedFlags.formUnion(reduced.dropped)
            entries[absoluteFile] = CompileEntry(file: absoluteFile, directory: absoluteDirectory,
                                                 arguments: reduced.kept, compilerTriple: reduced.triple)
            directoryCounts[absoluteDirectory, default: 0] += 1
        }
        buildDirectory = directoryCounts.max { $0.value < $1.value }?.key
    }

    func entry(for file: String) -> CompileEntry? { entries[file] }

    // MARK: flag reduction

    /// Flags taking a separate value whose value is a path to make absolute.
    private static let pathValueFlags: Set<String> = ["-I", "-isystem", "-iquote", "-idirafter", "-include", "-imacros", "-iprefix", "--sysroot", "-isysroot"]
    /// Flags taking a separate value that is kept as is.
    private static let keptValueFlags: Set<String> = ["-D", "-U", "-x", "-target", "-Xclang"]
    /// Flags taking a separate value that are dropped with it.
    private static let droppedValueFlags: Set<String> = ["-o", "-MF", "-MT", "-MQ", "-Xassembler", "-Xlinker", "-Xpreprocessor", "--param", "-aux-info"]

    /// `-f` flags that change the language or predefined macros; every other `-f` is codegen or
    /// diagnostics and many are gcc-only (`-fconserve-stack`, `-fno-allow-store-data-races`,
    /// `-fzero-call-used-regs`, `-fmin-function-alignment`, `-fplugin=`, `-fsanitize-coverage=`...).
    private static let keptFFlags: Set<String> = [
        "-fshort-wchar", "-fno-short-wchar", "-funsigned-char", "-fsigned-char", "-fno-signed-char",
        "-fms-extensions", "-fno-ms-extensions", "-ffreestanding", "-fno-builtin", "-fgnu89-inline",
        "-fno-common", "-fcommon", "-fno-strict-aliasing", "-fwrapv", "-fno-strict-overflow",
        "-fno-PIE", "-fno-pie", "-fno-PIC", "-fno-pic", "-fPIE", "-fpie", "-fPIC", "-fpic",
        "-fno-delete-null-pointer-checks", "-fshort-enums", "-fno-short-enums",
    ]

    /// `-m` flags that change predefined macros or type sizes, which clang also understands.
    /// Others are gcc-only or codegen (`-mindirect-branch=`, `-mfunction-return=`,
    /// `-mpreferred-stack-boundary=`, `-mrecord-mcount`, `-mskip-rax-setup`, `-mharden-sls=`, ...).
    private static let keptMFlagPrefixes: [String] = [
        "-m16", "-m32", "-m64", "-mx32", "-mno-sse", "-msse", "-mno-mmx", "-mmmx", "-mno-3dnow", "-mno-avx", "-mavx",
        "-mno-80387", "-msoft-float", "-mhard-float", "-mfloat-abi=", "-mfpu=", "-march=", "-mcpu=", "-mabi=",
        "-mlittle-endian", "-mbig-endian", "-mgeneral-regs-only", "-mthumb", "-marm", "-mcmodel=", "-mno-red-zone",
        "-mregparm=", "-mno-abicalls", "-mabicalls", "-mno-relax", "-mrelax", "-mlong-calls",
    ]

    struct Reduction { var kept: [String]; var dropped: Set<String>; var triple: String? }

    static func reduce(_ arguments: [String], file: String, directory: String, clangResourceInclude: String) -> Reduction {
        var kept: [String] = []
        var dropped = Set<String>()
        var triple: String?
        guard !arguments.isEmpty else { return Reduction(kept: [], dropped: [], triple: nil) }
        // argv[0] is the compiler; a cross gcc names its triple.
        let compiler = (arguments[0] as NSString).lastPathComponent
        if let range = compiler.firstByteRange(of: "-gcc") ?? compiler.firstByteRange(of: "-clang") ?? compiler.firstByteRange(of: "-cc"),
           range.upperBound == compiler.endIndex || compiler[range.upperBound...].hasPrefix("-") {
            let prefix = String(compiler[..<range.lowerBound])
            if prefix.contains("-") { triple = prefix }
        }
        var index = 1
        func absolute(_ path: String) -> String { PathUtilities.absolute(path, relativeTo: directory) }
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if PathUtilities.absolute(argument, relativeTo: directory) == file, !argument.hasPrefix("-") { continue }
            if pathValueFlags.contains(argument), index < arguments.count {
                var value = absolute(arguments[index])
                if argument == "-isystem", isGCCResourceInclude(value) { value = clangResourceInclude }
                kept += [argument, value]
                index += 1
                continue
            }
            if keptValueFlags.contains(argument), index < arguments.count {
                kept += [argument, arguments[index]]
                index += 1
                continue
            }
            if droppedValueFlags.contains(argument) {
                dropped.insert(argument)
                index += 1
                continue
            }
            if let joined = ["-I", "-isystem", "-iquote", "-idirafter"].first(where: { argument.hasPrefix($0) && argument.count > $0.count }) {
                var value = absolute(String(argument.dropFirst(joined.count)))
                if joined == "-isystem", isGCCResourceInclude(value) { value = clangResourceInclude }
                kept.append(joined + value)
                continue
            }
            // -O levels only define __OPTIMIZE__/__OPTIMIZE_SIZE__ for a parse, which headers test.
            if argument.hasPrefix("-D") || argument.hasPrefix("-U") || argument.hasPrefix("-std=") || argument.hasPrefix("-O")
                || argument.hasPrefix("--target=") || argument == "-nostdinc" || argument == "-undef" {
                kept.append(argument)
                continue
            }
            if argument.hasPrefix("-f") {
                if keptFFlags.contains(argument) || argument.hasPrefix("-fno-builtin-") { kept.append(argument) } else { dropped.insert(argument) }
                continue
            }
            if argument.hasPrefix("-m") {
                if keptMFlagPrefixes.contains(where: { argument.hasPrefix($0) }) { kept.append(argument) } else { dropped.insert(argument) }
                continue
            }
            if argument == "-EB" || argument == "-EL" {
                kept.append(argument == "-EB" ? "-mbig-endian" : "-mlittle-endian")
                continue
            }
            // -c, -S, -E, -MD, -MMD, -Wp,-MMD,..., -W*, -g*, -pg, -pipe, and anything else
            // that only affects output, dependencies, diagnostics or codegen.
            dropped.insert(argument.hasPrefix("-Wp,") ? "-Wp,…" : argument)
        }
        return Reduction(kept: kept, dropped: dropped, triple: triple)
    }

    /// gcc's own include dir (`/usr/lib/gcc/x86_64-linux-gnu/12/include`): clang needs its own.
    private static func isGCCResourceInclude(_ path: String) -> Bool {
        (path.contains("/lib/gcc/") || path.contains("/gcc-lib/") || path.contains("/lib/gcc-cross/")) && path.hasSuffix("/include")
    }
}

/// POSIX-shell word splitting for the "command" form (quotes and backslashes, no expansions).
enum ShellWords {
    static func split(_ command: String) -> [String]? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var iterator = command.makeIterator()
        while let char = iterator.next() {
            switch char {
            case " ", "\t", "\n":
                if inWord { words.append(current); current = ""; inWord = false }
            case "'":
                inWord = true
                var closed = false
                while let next = iterator.next() {
                    if next == "'" { closed = true; break }
                    current.append(next)
                }
                if !closed { return nil }
            case "\"":
                inWord = true
                var closed = false
                while let next = iterator.next() {
                    if next == "\"" { closed = true; break }
                    if next == "\\" {
                        guard let escaped = iterator.next() else { return nil }
                        if !["\"", "\\", "$", "`", "\n"].contains(escaped) { current.append("\\") }
                        current.append(escaped)
                        continue
                    }
                    current.append(next)
                }
                if !closed { return nil }
            case "\\":
                inWord = true
                guard let escaped = iterator.next() else { return nil }
                current.append(escaped)
            default:
                inWord = true
                current.append(char)
            }
        }
        if inWord { words.append(current) }
        return words
    }
}

enum PathUtilities {
    /// `path` made absolute against `base`, with `.`/`..` removed (no symlink resolution, so it
    /// matches the spelling clang builds from `-I` directories).
    static func absolute(_ path: String, relativeTo base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        return normalize(joined)
    }

    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(component)
        }
        return "/" + parts.joined(separator: "/")
    }
}
