import Foundation

/// The per-file part of Kbuild's `c_flags`, from the Makefile that builds the file: its
/// `ccflags-y`, the `subdir-ccflags-y` of the directories above it, `CFLAGS_<file>.o`,
/// `KBUILD_MODNAME` (a file linked into a composite module gets the module's name), `-DMODULE`.
/// Only preprocessor flags are taken (`-I`, `-D`, `-U`, `-include`).
///
/// Which Makefile builds a file is found as Kbuild finds it: by descending from the top through
/// `obj-y/obj-m/obj-$(CONFIG_X) += dir/`, reading each directory's Kbuild or Makefile with its
/// `include`s. Files listed by an ancestor (`xfs-y += scrub/alloc.o`) or by an included snippet
/// are attributed to that Makefile. The walk happens once, on first use.
final class MakefileFlags: @unchecked Sendable {
    let sourceRoot: String
    let objectRoot: String
    let config: KernelConfig
    let arch: String
    private let lock = NSLock()
    private var index: KbuildIndex?
    /// Directories the walk from the top never reached, read on their own when a file needs them.
    private var standalone: [String: DirectoryMakefile?] = [:]
    /// Files this configuration does not build, parsed with their gating symbols defined.
    private var gatedFiles = Set<String>()

    let gateClosure: GateClosure

    init(sourceRoot: String, objectRoot: String, config: KernelConfig, arch: String, gateClosure: GateClosure) {
        self.sourceRoot = sourceRoot
        self.objectRoot = objectRoot
        self.config = config
        self.arch = arch
        self.gateClosure = gateClosure
    }

    /// The Makefiles read so far (the walk from the top, directories read on their own) and the
    /// Kconfig files gates were resolved with: the per-file flags come from nothing else.
    var filesRead: Set<String> {
        lock.lock()
        var files = index?.filesRead ?? []
        for case let makefile? in standalone.values { files.formUnion(makefile.includedFiles) }
        lock.unlock()
        return files.union(gateClosure.filesRead)
    }

    /// How many files were parsed with a disabled Kconfig gate forced on.
    var gatedFileCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return gatedFiles.count
    }

    private var kbuildIndex: KbuildIndex {
        lock.lock()
        defer { lock.unlock() }
        if let index { return index }
        let built = KbuildIndex(sourceRoot: sourceRoot, arch: arch, config: config)
        index = built
        return built
    }

    /// Builds what the first file's flags need (the index of the tree's Kbuild files, the
    /// Kconfig model for gates) ahead of it.
    func prepare() {
        _ = kbuildIndex
        gateClosure.prepare()
    }

    /// What the Makefiles say about one file, before Kconfig is consulted.
    private struct Placement {
        var flags: [String] = []
        var module: String
        var modfileDirectory: String?
        /// Disabled Makefile gates, the first of each closed level.
        var closedGates: [String] = []
    }

    private func placement(of file: String) -> Placement {
        let directory = (file as NSString).deletingLastPathComponent
        let fileName = (file as NSString).lastPathComponent
        let stem = fileName.hasSuffix(".c") ? String(fileName.dropLast(2)) : (fileName as NSString).deletingPathExtension
        guard directory == sourceRoot || directory.hasPrefix(sourceRoot + "/") else {
            return Placement(module: Self.fixName(stem), modfileDirectory: nil)
        }
        let relativeStem = String(file.dropFirst(sourceRoot.count + 1).dropLast(fileName.count - stem.count))
        let index = kbuildIndex
        var result = Placement(module: Self.fixName(stem), modfileDirectory: (relativeStem as NSString).deletingLastPathComponent)
        var gateLevels: [[String]] = []
        var owner = index.owner(of: relativeStem)
        if owner == nil, index.directory(result.modfileDirectory!) == nil,
           let makefile = unreachedDirectory(result.modfileDirectory!), makefile.listedObjects.contains(stem) {
            owner = KbuildIndex.Owner(makefile: makefile, objectPath: stem)
        }
        if let owner {
            let makefile = owner.makefile
            result.flags += makefile.inheritedSubdirFlags + makefile.subdirFlags + makefile.directoryFlags
            result.flags += makefile.fileFlags[stem] ?? []
            let objectPath = owner.objectPath
            if makefile.isModule(objectPath) { result.flags.append("-DMODULE") }
            result.module = makefile.moduleName(for: objectPath)
            result.modfileDirectory = makefile.directory
            gateLevels = makefile.directoryGateLevels + makefile.gateLevels(for: objectPath)
        } else if let makefile = index.directory(result.modfileDirectory!) ?? unreachedDirectory(result.modfileDirectory!) {
            // Not listed by any Makefile (a fragment #included elsewhere, or out of the walk):
            // its directory's flags are the best guess.
            result.flags += makefile.inheritedSubdirFlags + makefile.subdirFlags + makefile.directoryFlags
            result.flags += makefile.fileFlags[stem] ?? []
            gateLevels = makefile.directoryGateLevels
        }
        var seen = Set<String>()
        result.closedGates = gateLevels.compactMap { level -> String? in
            guard let first = level.first, !level.contains(where: { config.isEnabled($0) }) else { return nil }
            return first
        }.filter { seen.insert($0).inserted }
        return result
    }

    func flags(for file: String) -> [String] {
        let directory = (file as NSString).deletingLastPathComponent
        let fileName = (file as NSString).lastPathComponent
        let stem = fileName.hasSuffix(".c") ? String(fileName.dropLast(2)) : (fileName as NSString).deletingPathExtension
        let placement = placement(of: file)
        var flags = placement.flags
        // A file this configuration does not build sees its own feature's headers disabled
        // (static inline stubs that then clash with its definitions). Kbuild would only ever
        // compile it with a gate on, so define the first gate of each closed level.
        if !placement.closedGates.isEmpty {
            flags += gateClosure.defines(forcing: placement.closedGates)
            lock.lock()
            gatedFiles.insert(file)
            lock.unlock()
        }
        flags.append("-I\(directory)")
        let modfile = placement.modfileDirectory.map { $0.isEmpty ? placement.module : $0 + "/" + placement.module }
        flags += Self.nameFlags(modfile: modfile, stem: stem, module: placement.module)
        return flags
    }

    /// The Makefile gates that this configuration leaves closed for `file`.
    func closedGates(for file: String) -> [String] { placement(of: file).closedGates }

    private func unreachedDirectory(_ relative: String) -> DirectoryMakefile? {
        lock.lock()
        if let cached = standalone[relative] { lock.unlock(); return cached }
        lock.unlock()
        let parsed = DirectoryMakefile(sourceRoot: sourceRoot, directory: relative, arch: arch, config: config,
                                       directoryGateLevels: [], inheritedSubdirFlags: [])
        lock.lock()
        standalone[relative] = .some(parsed)
        lock.unlock()
        return parsed
    }

    static func fixName(_ name: String) -> String {
        name.replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ",", with: "_")
    }

    private static func nameFlags(modfile: String?, stem: String, module: String) -> [String] {
        var flags: [String] = []
        if let modfile { flags.append("-DKBUILD_MODFILE=\"\(modfile)\"") }
        flags.append("-DKBUILD_BASENAME=\"\(fixName(stem))\"")
        flags.append("-DKBUILD_MODNAME=\"\(module)\"")
        flags.append("-D__KBUILD_MODNAME=kmod_\(module)")
        return flags
    }
}

/// Every directory Kbuild descends into, and which of them lists each object.
struct KbuildIndex {
    struct Owner { let makefile: DirectoryMakefile; let objectPath: String }

    private var directories: [String: DirectoryMakefile] = [:]
    /// Tree-relative object stem ("fs/xfs/scrub/alloc") → owning directory and the path as listed.
    private var owners: [String: (directory: String, objectPath: String)] = [:]

    init(sourceRoot: String, arch: String, config: KernelConfig) {
        // The top Kbuild lists most directories; the top Makefile adds lib/ and the arch's.
        var queue: [(String, [[String]], [String])] = [("", [], [])]
        let topLevel = ((try? FileManager.default.contentsOfDirectory(atPath: sourceRoot)) ?? []).sorted()
        let skipped: Set<String> = ["tools", "scripts", "Documentation", "samples", "usr", "arch", "rust", "LICENSES"]
        for name in topLevel where !skipped.contains(name) && !name.hasPrefix(".") {
            queue.append((name, [], []))
        }
        queue.append(("arch/\(arch)", [], []))
        var visited = Set<String>()
        var position = 0
        while position < queue.count {
            let (relative, gateLevels, inheritedFlags) = queue[position]
            position += 1
            guard visited.insert(relative).inserted else { continue }
            guard let makefile = DirectoryMakefile(sourceRoot: sourceRoot, directory: relative, arch: arch, config: config,
                                                   directoryGateLevels: gateLevels, inheritedSubdirFlags: inheritedFlags)
            else { continue }
            directories[relative] = makefile
            for objectPath in makefile.listedObjects {
                let full = PathUtilities.normalize((relative.isEmpty ? "" : relative + "/") + objectPath).dropFirst()
                if owners[String(full)] == nil { owners[String(full)] = (relative, objectPath) }
            }
            for (subdirectory, gates) in makefile.subdirectories {
                let child = String(PathUtilities.normalize((relative.isEmpty ? "" : relative + "/") + subdirectory).dropFirst())
                guard !child.isEmpty, !visited.contains(child) else { continue }
                let levels = gates.isEmpty ? gateLevels : gateLevels + [gates]
                queue.append((child, levels, inheritedFlags + makefile.subdirFlags))
            }
        }
    }

    func owner(of relativeStem: String) -> Owner? {
        guard let (directory, objectPath) = owners[relativeStem], let makefile = directories[directory] else { return nil }
        return Owner(makefile: makefile, objectPath: objectPath)
    }

    func directory(_ relative: String) -> DirectoryMakefile? { directories[relative] }

    /// Every Makefile (or Kbuild) the walk read, with their includes.
    var filesRead: Set<String> { directories.values.reduce(into: Set<String>()) { $0.formUnion($1.includedFiles) } }
}

/// What one directory's Kbuild (or Makefile), with its includes, says about compiling files.
struct DirectoryMakefile {
    /// Tree-relative directory ("" for the top).
    let directory: String
    var subdirFlags: [String] = []
    var directoryFlags: [String] = []
    /// `subdir-ccflags-y` of the directories above, outermost first.
    let inheritedSubdirFlags: [String]
    /// Gates of the `obj-$(CONFIG_X) += dir/` lines that lead here, one level per directory.
    let directoryGateLevels: [[String]]
    var fileFlags: [String: [String]] = [:]
    /// Composite object → its parts (object paths as listed), from `name-y`/`name-objs`/`name-$(CONFIG_X)`.
    var composites: [String: [String]] = [:]
    var moduleObjects = Set<String>()
    var builtinObjects = Set<String>()
    /// Object path → symbols of the `name-$(CONFIG_X) += path.o` lines listing it.
    var objectGates: [String: [String]] = [:]
    /// Objects listed in some line that carries no `$(CONFIG_X)`.
    var ungatedObjects = Set<String>()
    /// Every object path listed, in order.
    var listedObjects: [String] = []
    /// Subdirectories Kbuild descends into, in order, with the symbols of all lines naming
    /// them; empty when some line names one unconditionally.
    var subdirectories: [(String, [String])] {
        subdirectoryOrder.map { ($0, ungatedSubdirectories.contains($0) ? [] : subdirectoryGates[$0] ?? []) }
    }
    private var subdirectoryOrder: [String] = []
    private var subdirectoryGates: [String: [String]] = [:]
    private var ungatedSubdirectories = Set<String>()

    private var variables = MakeVariables()
    /// The Makefile and the files it includes.
    private(set) var includedFiles = Set<String>()

    init?(sourceRoot: String, directory: String, arch: String, config: KernelConfig, directoryGateLevels: [[String]],
          inheritedSubdirFlags: [String]) {
        self.directory = directory
        self.directoryGateLevels = directoryGateLevels
        self.inheritedSubdirFlags = inheritedSubdirFlags
        let absolute = directory.isEmpty ? sourceRoot : sourceRoot + "/" + directory
        let path = FileManager.default.fileExists(atPath: absolute + "/Kbuild") ? absolute + "/Kbuild" : absolute + "/Makefile"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        // As in an in-tree build: make runs at the top, $(src)/$(obj) are relative to it.
        let relative = directory.isEmpty ? "." : directory
        variables = MakeVariables(["srctree": sourceRoot, "objtree": sourceRoot, "src": relative, "obj": relative,
                                   "SRCARCH": arch, "ARCH": arch])
        includedFiles.insert(path)
        read(text, sourceRoot: sourceRoot, config: config, depth: 0)
    }

    private mutating func read(_ text: String, sourceRoot: String, config: KernelConfig, depth: Int) {
        for line in MakeSyntax.logicalLines(text) {
            let trimmed = line.trimmedBlanks
            if trimmed.hasPrefix("include ") || trimmed.hasPrefix("-include ") || trimmed.hasPrefix("sinclude ") {
                guard depth < 8 else { continue }
                let target = variables.expand(String(trimmed.drop { $0 != " " }).trimmedBlanks, config: config)
                for name in target.split(separator: " ") {
                    let included = PathUtilities.absolute(String(name), relativeTo: sourceRoot)
                    // The kernel's own rule files add no objects; reading them would only cost time.
                    guard !included.hasPrefix(sourceRoot + "/scripts/"), includedFiles.insert(included).inserted,
                          let includedText = try? String(contentsOfFile: included, encoding: .utf8) else { continue }
                    read(includedText, sourceRoot: sourceRoot, config: config, depth: depth + 1)
                }
                continue
            }
            guard let assignment = MakeSyntax.assignment(in: line, tabIndentedLinesAreRecipes: true) else { continue }
            let (rawName, op, rawValue) = (assignment.variable, assignment.op, assignment.rawValue)
            let name = variables.expand(rawName, config: config)
            let value = variables.expand(rawValue, config: config)
            let words = MakeSyntax.words(value)
            let gateSymbols = MakeSyntax.configReferences(rawName)
            switch name {
            case "ccflags-y", "EXTRA_CFLAGS":
                directoryFlags += Self.preprocessorFlags(words, base: sourceRoot)
                continue
            case "subdir-ccflags-y":
                subdirFlags += Self.preprocessorFlags(words, base: sourceRoot)
                continue
            default:
                break
            }
            if name.hasPrefix("CFLAGS_"), name.hasSuffix(".o") {
                let stem = String(name.dropFirst("CFLAGS_".count).dropLast(2))
                fileFlags[stem, default: []] += Self.preprocessorFlags(words, base: sourceRoot)
                continue
            }
            // "xfs-$(CONFIG_XFS_RT) += ..." names composite xfs whether or not the symbol is set.
            let composite: String? = {
                if let gate = rawName.firstByteRange(of: "-$(CONFIG_") { return Self.compositeName(rawName[..<gate.lowerBound] + "-y") }
                return Self.compositeName(name)
            }()
            let isObjectList = name.hasPrefix("obj-") || name.hasPrefix("lib-") || name.hasPrefix("subdir-") || composite != nil
            guard isObjectList else {
                // A plain make variable: later lines may expand it.
                variables.assign(name, op, rawValue: rawValue, expandedValue: value)
                continue
            }
            let objects = words.filter { $0.hasSuffix(".o") }.map { String($0.dropLast(2)) }
            for object in objects where !listedObjects.contains(object) { listedObjects.append(object) }
            if gateSymbols.isEmpty, rawName.hasSuffix("-y") || rawName.hasSuffix("-objs") || rawName == "obj-m" {
                ungatedObjects.formUnion(objects)
            } else {
                for object in objects { objectGates[object, default: []] += gateSymbols }
            }
            if name.hasPrefix("obj-") || name.hasPrefix("subdir-") {
                for word in words where word.hasSuffix("/") {
                    let subdirectory = String(word.dropLast())
                    if subdirectoryGates[subdirectory] == nil && !ungatedSubdirectories.contains(subdirectory) {
                        subdirectoryOrder.append(subdirectory)
                    }
                    if gateSymbols.isEmpty {
                        ungatedSubdirectories.insert(subdirectory)
                    } else {
                        subdirectoryGates[subdirectory, default: []] += gateSymbols
                    }
                }
            }
            switch name {
            case "obj-y", "lib-y": builtinObjects.formUnion(objects)
            case "obj-m": moduleObjects.formUnion(objects)
            default:
                if let composite {
                    if op == .simple || op == .recursive { composites[composite] = objects } else { composites[composite, default: []] += objects }
                }
            }
        }
    }

    /// `foo-y`, `foo-objs`, `foo-m`, `foo-$(CONFIG_X)` name the parts of composite object `foo`.
    private static func compositeName(_ name: String) -> String? {
        for suffix in ["-y", "-objs", "-m"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            let reserved: Set<String> = ["obj", "lib", "ccflags", "asflags", "ldflags", "subdir-ccflags", "subdir", "always",
                                         "extra", "targets", "hostprogs", "userprogs", "header-test", "ccflags-remove",
                                         "asflags-remove", "subdir-asflags", "clean-files", "core", "drivers", "libs",
                                         "head", "mandatory", "generic", "generated", "userccflags", "always-y", "vdso"]
            guard !base.isEmpty, !reserved.contains(base), !base.utf8.contains(0x24), !base.hasPrefix("obj-"),
                  !base.hasPrefix("hostprogs"), !base.hasPrefix("subdir-") else { return nil }
            return base
        }
        return nil
    }

    /// The module (or built-in composite) an object belongs to: Kbuild's KBUILD_MODNAME.
    func moduleName(for objectPath: String) -> String {
        let owners = composites.keys.sorted().filter { $0 != objectPath && composites[$0]!.contains(objectPath) }
        let listed = moduleObjects.union(builtinObjects)
        if let top = owners.first(where: { listed.contains($0) }) ?? owners.first {
            return MakefileFlags.fixName((top as NSString).lastPathComponent)
        }
        return MakefileFlags.fixName((objectPath as NSString).lastPathComponent)
    }

    func isModule(_ objectPath: String) -> Bool {
        if moduleObjects.contains(objectPath) { return true }
        return composites.contains { moduleObjects.contains($0.key) && $0.value.contains(objectPath) }
    }

    /// The symbols gating an object: one level for its own lines, one per composite containing it.
    func gateLevels(for objectPath: String) -> [[String]] {
        var levels: [[String]] = []
        if !ungatedObjects.contains(objectPath) { levels.append(objectGates[objectPath] ?? []) }
        for composite in composites.keys.sorted() where composite != objectPath && composites[composite]!.contains(objectPath) {
            if !ungatedObjects.contains(composite) { levels.append(objectGates[composite] ?? []) }
        }
        return levels.filter { !$0.isEmpty }
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
