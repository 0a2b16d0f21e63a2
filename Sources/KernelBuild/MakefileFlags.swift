import Foundation

/// The per-file part of Kbuild's `c_flags`, read from the directory's Kbuild/Makefile:
/// `ccflags-y`, the `subdir-ccflags-y` of every ancestor, `CFLAGS_<file>.o`, `KBUILD_MODNAME`
/// (a file linked into a composite module gets the module's name), `-DMODULE` for modules.
/// Only preprocessor flags are taken from those (`-I`, `-D`, `-U`, `-include`).
final class MakefileFlags: @unchecked Sendable {
    let sourceRoot: String
    let objectRoot: String
    let config: KernelConfig
    private let lock = NSLock()
    private var cache: [String: DirectoryMakefile] = [:]
    /// Files this configuration does not build, parsed with their gating symbols defined.
    private var gatedFiles = Set<String>()

    /// How many files were parsed with a disabled Kconfig gate forced on.
    var gatedFileCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return gatedFiles.count
    }

    init(sourceRoot: String, objectRoot: String, config: KernelConfig) {
        self.sourceRoot = sourceRoot
        self.objectRoot = objectRoot
        self.config = config
    }

    func flags(for file: String) -> [String] {
        let directory = (file as NSString).deletingLastPathComponent
        let fileName = (file as NSString).lastPathComponent
        let stem = fileName.hasSuffix(".c") ? String(fileName.dropLast(2)) : (fileName as NSString).deletingPathExtension
        var flags: [String] = []
        let inTree = directory == sourceRoot || directory.hasPrefix(sourceRoot + "/")
        if inTree {
            let relative = directory == sourceRoot ? "" : String(directory.dropFirst(sourceRoot.count + 1))
            // subdir-ccflags-y of ancestors apply to every directory below them, outermost first.
            let components = relative.split(separator: "/").map(String.init)
            // Each level (every ancestor directory, the object, its composite) is reached when
            // any one of its `$(CONFIG_X)` lines is enabled.
            var gateLevels: [[String]] = []
            for depth in 0..<components.count {
                let ancestor = makefile(components[0..<depth].joined(separator: "/"))
                flags += ancestor.subdirFlags
                gateLevels.append(ancestor.directoryGates[components[depth]] ?? [])
            }
            let local = makefile(relative)
            flags += local.subdirFlags + local.directoryFlags + (local.fileFlags[stem] ?? [])
            gateLevels += local.gateLevels(for: stem)
            // A file this configuration does not build sees its own feature's headers disabled
            // (static inline stubs that then clash with its definitions). Kbuild would only ever
            // compile it with a gate on, so define the first gate of each closed level.
            let forced = gateLevels.compactMap { level -> String? in
                guard let first = level.first, !level.contains(where: { config.isEnabled($0) }) else { return nil }
                return first
            }
            if !forced.isEmpty {
                var seen = Set<String>()
                for symbol in forced where seen.insert(symbol).inserted { flags.append("-DCONFIG_\(symbol)=1") }
                lock.lock()
                gatedFiles.insert(file)
                lock.unlock()
            }
            let module = local.moduleName(for: stem)
            if local.isModule(stem) { flags.append("-DMODULE") }
            flags.append("-I\(directory)")
            flags += Self.nameFlags(file: file, relative: relative, stem: stem, module: module)
        } else {
            flags.append("-I\(directory)")
            flags += Self.nameFlags(file: file, relative: nil, stem: stem, module: Self.fixName(stem))
        }
        return flags
    }

    static func fixName(_ name: String) -> String {
        name.replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ",", with: "_")
    }

    private static func nameFlags(file: String, relative: String?, stem: String, module: String) -> [String] {
        var flags: [String] = []
        if let relative {
            let modfile = relative.isEmpty ? module : relative + "/" + module
            flags.append("-DKBUILD_MODFILE=\"\(modfile)\"")
        }
        flags.append("-DKBUILD_BASENAME=\"\(fixName(stem))\"")
        flags.append("-DKBUILD_MODNAME=\"\(module)\"")
        flags.append("-D__KBUILD_MODNAME=kmod_\(module)")
        return flags
    }

    private func makefile(_ relativeDirectory: String) -> DirectoryMakefile {
        lock.lock()
        if let cached = cache[relativeDirectory] { lock.unlock(); return cached }
        lock.unlock()
        let parsed = DirectoryMakefile(sourceRoot: sourceRoot, objectRoot: objectRoot, relativeDirectory: relativeDirectory, config: config)
        lock.lock()
        cache[relativeDirectory] = parsed
        lock.unlock()
        return parsed
    }
}

/// What one directory's Kbuild (or Makefile) says about compiling the files in it.
struct DirectoryMakefile {
    var subdirFlags: [String] = []
    var directoryFlags: [String] = []
    var fileFlags: [String: [String]] = [:]
    /// Composite object name → its parts (stems), from `name-y`/`name-objs`/`name-$(CONFIG_X)`.
    var composites: [String: [String]] = [:]
    /// Objects listed under `obj-m` (after expanding `obj-$(CONFIG_X)`).
    var moduleObjects = Set<String>()
    var builtinObjects = Set<String>()
    /// Object or composite stem → the Kconfig symbols in `name-$(CONFIG_X) += stem.o` lines.
    var objectGates: [String: [String]] = [:]
    /// Subdirectory → the symbols in `obj-$(CONFIG_X) += subdir/` lines.
    var directoryGates: [String: [String]] = [:]
    /// Objects listed in `obj-y`/`name-y`-style lines that carry no `$(CONFIG_X)`.
    var ungatedObjects = Set<String>()

    init(sourceRoot: String, objectRoot: String, relativeDirectory: String, config: KernelConfig) {
        let directory = relativeDirectory.isEmpty ? sourceRoot : sourceRoot + "/" + relativeDirectory
        guard let text = (try? String(contentsOfFile: directory + "/Kbuild", encoding: .utf8))
                ?? (try? String(contentsOfFile: directory + "/Makefile", encoding: .utf8)) else { return }
        // As in an in-tree build: $(src)/$(obj) are relative to the top, where make runs.
        let relative = relativeDirectory.isEmpty ? "." : relativeDirectory
        let variables = ["srctree": sourceRoot, "objtree": objectRoot, "src": relative, "obj": relative]
        for line in Self.logicalLines(text) {
            guard let (rawName, op, rawValue) = Self.assignment(line) else { continue }
            let name = Self.expandConfig(rawName, config: config)
            let value = Self.expand(rawValue, variables: variables, config: config)
            let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            let gateSymbols = Self.configReferences(rawName)
            if gateSymbols.isEmpty, rawName.hasSuffix("-y") || rawName.hasSuffix("-objs") {
                for word in words where word.hasSuffix(".o") { ungatedObjects.insert(String(word.dropLast(2))) }
            }
            if !gateSymbols.isEmpty {
                for word in words {
                    if word.hasSuffix(".o") {
                        objectGates[String(word.dropLast(2)), default: []] += gateSymbols
                    } else if word.hasSuffix("/"), rawName.hasPrefix("obj-") {
                        directoryGates[String(word.dropLast()), default: []] += gateSymbols
                    }
                }
            }
            switch name {
            case "ccflags-y", "EXTRA_CFLAGS":
                directoryFlags += Self.preprocessorFlags(words, base: sourceRoot)
            case "subdir-ccflags-y":
                subdirFlags += Self.preprocessorFlags(words, base: sourceRoot)
            case "obj-y":
                builtinObjects.formUnion(words.filter { $0.hasSuffix(".o") }.map { String($0.dropLast(2)) })
            case "obj-m":
                moduleObjects.formUnion(words.filter { $0.hasSuffix(".o") }.map { String($0.dropLast(2)) })
            default:
                if name.hasPrefix("CFLAGS_"), name.hasSuffix(".o") {
                    let stem = String(name.dropFirst("CFLAGS_".count).dropLast(2))
                    fileFlags[stem, default: []] += Self.preprocessorFlags(words, base: sourceRoot)
                } else if let composite = Self.compositeName(name) {
                    let parts = words.filter { $0.hasSuffix(".o") }.map { String($0.dropLast(2)) }
                    if op == ":=" || op == "=" { composites[composite] = parts } else { composites[composite, default: []] += parts }
                }
            }
        }
    }

    /// `foo-y`, `foo-objs`, `foo-m` name the parts of composite object `foo`.
    private static func compositeName(_ name: String) -> String? {
        for suffix in ["-y", "-objs", "-m"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            let reserved = ["obj", "lib", "ccflags", "asflags", "ldflags", "subdir-ccflags", "subdir", "always", "extra",
                            "targets", "hostprogs", "userprogs", "header-test", "ccflags-remove", "asflags-remove",
                            "subdir-asflags", "clean-files", "obj-", "core", "drivers", "libs", "head", "mandatory",
                            "generic", "generated", "userccflags"]
            guard !base.isEmpty, !reserved.contains(base), !base.contains("$"), !base.hasPrefix("obj") else { return nil }
            return base
        }
        return nil
    }

    /// The module (or built-in composite) a file belongs to: Kbuild's KBUILD_MODNAME.
    func moduleName(for stem: String) -> String {
        let listed = moduleObjects.union(builtinObjects)
        for (composite, parts) in composites.sorted(by: { $0.key < $1.key }) where parts.contains(stem) && composite != stem {
            if listed.contains(composite) { return MakefileFlags.fixName(composite) }
        }
        // A part of a composite that is itself a part (rare): still take the first owner.
        if let owner = composites.sorted(by: { $0.key < $1.key }).first(where: { $0.value.contains(stem) && $0.key != stem }) {
            return MakefileFlags.fixName(owner.key)
        }
        return MakefileFlags.fixName(stem)
    }

    /// The symbols gating `stem`, one level for its own lines and one per composite containing it.
    /// A stem listed in some line without a `$(CONFIG_X)` is not gated at that level.
    func gateLevels(for stem: String) -> [[String]] {
        var levels: [[String]] = []
        if !ungatedObjects.contains(stem) { levels.append(objectGates[stem] ?? []) }
        for (composite, parts) in composites.sorted(by: { $0.key < $1.key }) where composite != stem && parts.contains(stem) {
            if !ungatedObjects.contains(composite) { levels.append(objectGates[composite] ?? []) }
        }
        return levels.filter { !$0.isEmpty }
    }

    /// `CONFIG_X` names inside `$(CONFIG_X)` references.
    static func configReferences(_ text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "$(CONFIG_") {
            let after = rest[start.upperBound...]
            guard let end = after.firstIndex(of: ")") else { break }
            names.append(String(after[..<end]))
            rest = after[end...]
        }
        return names
    }

    func isModule(_ stem: String) -> Bool {
        if moduleObjects.contains(stem) { return true }
        return composites.contains { moduleObjects.contains($0.key) && $0.value.contains(stem) }
    }

    // MARK: parsing

    private static func logicalLines(_ text: String) -> [String] {
        var lines: [String] = []
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
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

    private static func assignment(_ line: String) -> (String, String, String)? {
        guard !line.hasPrefix("\t") else { return nil }   // recipe lines
        for op in ["+=", ":=", "?=", "="] {
            guard let range = line.range(of: op) else { continue }
            let name = line[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, !name.contains(" "), !name.contains(":") else { return nil }
            return (name, op, line[range.upperBound...].trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// `$(CONFIG_X)` → y/m/empty, as in `obj-$(CONFIG_FOO) += foo.o`.
    private static func expandConfig(_ text: String, config: KernelConfig) -> String {
        expand(text, variables: [:], config: config)
    }

    private static func expand(_ text: String, variables: [String: String], config: KernelConfig) -> String {
        guard text.contains("$") else { return text }
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let char = text[index]
            let next = text.index(after: index)
            guard char == "$", next < text.endIndex, text[next] == "(" || text[next] == "{" else {
                result.append(char)
                index = next
                continue
            }
            let close: Character = text[next] == "(" ? ")" : "}"
            guard let end = text[next...].firstIndex(of: close) else { result += text[index...]; break }
            let name = String(text[text.index(after: next)..<end])
            if name.hasPrefix("CONFIG_") {
                result += config.value(String(name.dropFirst(7))) ?? ""
            } else if let value = variables[name] {
                result += value
            } else if name.contains(" ") || name.contains(",") {
                // Make functions ($(call cc-option,...), $(addprefix ...)) decide nothing we need.
                result += ""
            }
            index = text.index(after: end)
        }
        return result
    }

    /// Keeps `-I`, `-D`, `-U`, `-include`; relative paths are relative to the top of the tree
    /// (where make runs; they name source directories).
    private static func preprocessorFlags(_ words: [String], base: String) -> [String] {
        var flags: [String] = []
        var index = 0
        func absolute(_ path: String) -> String { PathUtilities.absolute(path, relativeTo: base) }
        while index < words.count {
            let word = words[index]
            index += 1
            if word == "-I" || word == "-include" || word == "-isystem" || word == "-iquote" {
                guard index < words.count else { break }
                flags += [word, absolute(words[index])]
                index += 1
            } else if word.hasPrefix("-I") {
                flags.append("-I" + absolute(String(word.dropFirst(2))))
            } else if word.hasPrefix("-D") || word.hasPrefix("-U") {
                flags.append(word.replacingOccurrences(of: "'", with: ""))
            }
        }
        return flags
    }
}
