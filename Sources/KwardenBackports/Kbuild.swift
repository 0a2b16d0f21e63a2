import Foundation

/// A kernel `.config`: `CONFIG_X=y|m|<value>` lines; `# CONFIG_X is not set` and absent symbols are off.
public struct KernelConfig: Equatable {
    public var values: [String: String]

    public init(values: [String: String] = [:]) { self.values = values }

    public static func parse(_ text: String) -> KernelConfig {
        var values: [String: String] = [:]
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.trimmingWhitespace()
            guard line.hasPrefix("CONFIG_"), let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return KernelConfig(values: values)
    }

    /// Built in or as a module.
    public func isEnabled(_ symbol: String) -> Bool { values[symbol] == "y" || values[symbol] == "m" }
}

/// Decides from the tree's Kbuild makefiles whether a configuration builds a file: `obj-$(CONFIG_X) += x.o` in
/// the file's directory (or a composite object `foo-$(CONFIG_Y) += x.o` whose `foo.o` is built), and every
/// directory on the way down entered by its parent (`obj-$(CONFIG_Z) += dir/`). Conditionals (`ifdef`, `ifeq`)
/// and computed variables are not evaluated: whatever the model cannot decide counts as built, so a fix is only
/// called not-built on positive evidence.
final class KbuildModel {
    enum Build: Equatable {
        case built(String)
        case notBuilt(symbols: Set<String>, reason: String)
        /// Not decidable from the makefiles; counted as built.
        case unknown(String)
    }

    struct Assignment {
        let variable: String
        let values: [String]
    }

    let config: KernelConfig
    let readFile: (String) throws -> String?
    let listDirectory: (String) throws -> [String]?
    private var makefiles: [String: (file: String, assignments: [Assignment])?] = [:]

    init(config: KernelConfig, readFile: @escaping (String) throws -> String?,
         listDirectory: @escaping (String) throws -> [String]?) {
        self.config = config
        self.readFile = readFile
        self.listDirectory = listDirectory
    }

    /// Turns a missing, partial or reverted fix whose every file is left out of the build into `not-built`.
    func judge(_ report: inout FixReport, paths: [String]) throws {
        guard [.missing, .partial, .reverted].contains(report.status), !paths.isEmpty else { return }
        var symbols = Set<String>()
        var evidence: [Evidence] = []
        for path in paths {
            guard case .notBuilt(let needed, let reason) = try build(of: path) else { return }
            symbols.formUnion(needed)
            evidence.append(Evidence(commit: nil, line: "\(path) is not built: \(reason)"))
        }
        report.note = "was \(report.status.rawValue); not built in this configuration"
        report.status = .notBuilt
        report.evidence = evidence
        report.configSymbols = symbols.sorted()
        report.apply = nil
        report.conflicts = nil
    }

    func build(of path: String) throws -> Build {
        let (directory, name) = split(path)
        if name.hasSuffix(".c") || name.hasSuffix(".S") {
            return try sourceBuild(path)
        }
        if name.hasSuffix(".h") {
            return try headerBuild(path, directory: directory, name: name)
        }
        return .unknown("not a compiled file")
    }

    /// The object of a source file, looked up in its directory's makefile and then in the makefiles above
    /// (which may name it as `sub/x.o`).
    func sourceBuild(_ path: String) throws -> Build {
        let object = String(path.dropLast(2)) + ".o"
        var directory = split(path).directory
        while true {
            let relative = directory.isEmpty ? object : String(object.dropFirst(directory.count + 1))
            if let makefile = try makefile(in: directory),
               makefile.assignments.contains(where: { $0.values.contains(relative) }) {
                return try objectBuild(relative, in: directory, depth: 0)
            }
            if directory.isEmpty { return .unknown("\(object) is not named in any Makefile above it") }
            directory = split(directory).directory
        }
    }

    func objectBuild(_ object: String, in directory: String, depth: Int) throws -> Build {
        guard depth < 8, let makefile = try makefile(in: directory) else { return .unknown("no Makefile in \(directory)") }
        let naming = makefile.assignments.filter { $0.values.contains(object) }
        guard !naming.isEmpty else { return .unknown("\(object) is not named in \(makefile.file)") }
        var symbols = Set<String>(), reasons: [String] = []
        for assignment in naming {
            let (owner, suffix) = splitVariable(assignment.variable)
            let line = "\(assignment.variable) += \(object) in \(makefile.file)"
            guard let condition = condition(suffix) else { return .unknown("\(line): condition not evaluated") }
            if !condition.enabled {
                if let symbol = condition.symbol { symbols.insert(symbol) }
                reasons.append(line + (condition.symbol.map { " and \($0) is not set" } ?? ""))
                continue
            }
            let outcome: Build
            if ["obj", "lib", "core", "extra", "always"].contains(owner) {
                outcome = try directoryBuild(directory, depth: depth + 1)
            } else {
                // Part of a composite object: built when the composite is.
                outcome = try objectBuild(owner + ".o", in: directory, depth: depth + 1)
            }
            switch outcome {
            case .built, .unknown: return outcome
            case .notBuilt(let needed, let reason):
                symbols.formUnion(needed)
                reasons.append(reason)
            }
        }
        return .notBuilt(symbols: symbols, reason: reasons.joined(separator: "; "))
    }

    /// Is `directory` entered? Top-level directories count as entered (the top Makefile and the architecture's
    /// choose them in ways not modelled); below that, the parent's makefile must name `dir/` under a set symbol.
    func directoryBuild(_ directory: String, depth: Int) throws -> Build {
        guard directory.contains("/") else { return .built("top-level directory \(directory.isEmpty ? "/" : directory)") }
        guard depth < 32 else { return .unknown("too deep") }
        let (parent, name) = split(directory)
        guard let makefile = try makefile(in: parent) else { return .unknown("no Makefile in \(parent)") }
        let naming = makefile.assignments.filter { $0.values.contains(name + "/") }
        guard !naming.isEmpty else { return .unknown("\(name)/ is not named in \(makefile.file)") }
        var symbols = Set<String>(), reasons: [String] = []
        for assignment in naming {
            let line = "\(assignment.variable) += \(name)/ in \(makefile.file)"
            guard let condition = condition(splitVariable(assignment.variable).suffix) else {
                return .unknown("\(line): condition not evaluated")
            }
            if condition.enabled {
                let outcome = try directoryBuild(parent, depth: depth + 1)
                if case .notBuilt(let needed, let reason) = outcome {
                    symbols.formUnion(needed)
                    reasons.append(reason)
                    continue
                }
                return outcome
            }
            if let symbol = condition.symbol { symbols.insert(symbol) }
            reasons.append(line + (condition.symbol.map { " and \($0) is not set" } ?? ""))
        }
        return .notBuilt(symbols: symbols, reason: reasons.joined(separator: "; "))
    }

    /// Approximate: a header under an `include/` directory is shared and counts as built; another header counts
    /// as built when a built (or undecidable) `.c` file of its own directory includes it by name, and as not built
    /// when every such includer is not built. Includers elsewhere in the tree are not searched.
    func headerBuild(_ path: String, directory: String, name: String) throws -> Build {
        if path.hasPrefix("include/") || path.contains("/include/") {
            return .unknown("shared header under include/ (approximate: counted as built)")
        }
        var symbols = Set<String>(), includers: [String] = []
        for entry in try listDirectory(directory) ?? [] where entry.hasSuffix(".c") {
            let source = directory.isEmpty ? entry : directory + "/" + entry
            guard let text = try readFile(source), text.contains("#include \"\(name)\"") else { continue }
            includers.append(entry)
            switch try sourceBuild(source) {
            case .built, .unknown:
                return .built("approximate: included by \(source), which is built")
            case .notBuilt(let needed, _):
                symbols.formUnion(needed)
            }
        }
        guard !includers.isEmpty else { return .unknown("no .c file of \(directory) includes it (approximate)") }
        return .notBuilt(symbols: symbols,
                         reason: "approximate: only included by \(includers.joined(separator: ", ")) in \(directory), none built")
    }

    // MARK: - Makefiles

    /// The assignments of `directory`'s Kbuild file (preferred, as Kbuild does) or Makefile.
    func makefile(in directory: String) throws -> (file: String, assignments: [Assignment])? {
        if let cached = makefiles[directory] { return cached }
        var result: (String, [Assignment])?
        for name in ["Kbuild", "Makefile"] {
            let file = directory.isEmpty ? name : directory + "/" + name
            if let text = try readFile(file) {
                result = (file, KbuildModel.assignments(in: text))
                break
            }
        }
        makefiles[directory] = .some(result)
        return result
    }

    static func assignments(in text: String) -> [Assignment] {
        var logical: [String] = []
        var pending = ""
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(rawLine)
            if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]) }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            logical.append(pending + line)
            pending = ""
        }
        var result: [Assignment] = []
        for line in logical {
            guard let operatorRange = line.range(of: "+=") ?? line.range(of: ":=") ?? line.range(of: "=") else { continue }
            let variable = line[..<operatorRange.lowerBound].trimmingWhitespace()
            guard !variable.isEmpty, !variable.contains(" "), !variable.contains("\t") else { continue }
            let values = line[operatorRange.upperBound...].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            result.append(Assignment(variable: String(variable), values: values))
        }
        return result
    }

    /// `obj-$(CONFIG_X)` → ("obj", "$(CONFIG_X)"); `snd-hda-codec-y` → ("snd-hda-codec", "y").
    func splitVariable(_ variable: String) -> (owner: String, suffix: String) {
        if variable.hasSuffix(")"), let dash = variable.range(of: "-$(", options: .backwards) {
            return (String(variable[..<dash.lowerBound]), String(variable[variable.index(after: dash.lowerBound)...]))
        }
        guard let dash = variable.lastIndex(of: "-") else { return (variable, "") }
        return (String(variable[..<dash]), String(variable[variable.index(after: dash)...]))
    }

    /// Whether a variable suffix selects its objects, and the symbol deciding it; nil when not evaluated.
    func condition(_ suffix: String) -> (enabled: Bool, symbol: String?)? {
        switch suffix {
        case "y", "m", "objs": return (true, nil)
        case "n", "": return (false, nil)
        default:
            guard suffix.hasPrefix("$(CONFIG_"), suffix.hasSuffix(")") else { return nil }
            let symbol = String(suffix.dropFirst(2).dropLast())
            guard !symbol.contains("$"), !symbol.contains(" ") else { return nil }
            return (config.isEnabled(symbol), symbol)
        }
    }

    func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }
}
