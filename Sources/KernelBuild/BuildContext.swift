import Foundation

/// A header libclang must see that is not on disk: pass as an unsaved file at `path`.
public struct SynthesizedFile: Sendable, Hashable {
    /// Absolute path, spelled as clang will look it up (the `-I` directory plus the include name).
    public let path: String
    public let contents: String

    public init(path: String, contents: String) {
        self.path = path
        self.contents = contents
    }
}

/// How each `.c` file of one kernel tree must be compiled for libclang to see its real types:
/// from a compile_commands.json when there is one, otherwise from Kbuild's own rules, with the
/// generated headers of an unprepared tree synthesized in memory.
public final class BuildContext: @unchecked Sendable {
    /// The kernel source root (`srctree`).
    public let treeRoot: String
    /// Kbuild SRCARCH (`x86`, `arm64`, ...).
    public var arch: String { architecture.name }
    /// True when the generated headers exist on disk for this arch (`make prepare` was run), so
    /// nothing is synthesized.
    public let isPrepared: Bool
    /// The unsaved files to hand libclang for every parse; empty when the tree is prepared.
    public let synthesizedFiles: [SynthesizedFile]
    /// A digest of everything that changes the flags or synthesized headers.
    public let configurationKey: String

    /// Where Kbuild writes generated files (`objtree`): the tree itself, or the build directory
    /// of an `O=` build named by compile_commands.json.
    let objectRoot: String
    let architecture: Architecture
    let config: KernelConfig
    let configSource: String
    let compileCommands: CompileCommands?
    let clangResourceInclude: String
    /// Flags shared by every file in Kbuild mode (everything up to the per-file part).
    let commonKbuildFlags: [String]
    let makefiles: MakefileFlags
    let gateClosure: GateClosure
    private var staticNotes: [String] = []
    private let lock = NSLock()

    /// - Parameters:
    ///   - treeRoot: the kernel source root.
    ///   - compileCommands: path to a compile_commands.json, or nil for flags derived from Kbuild.
    ///   - arch: Kbuild ARCH/SRCARCH or a `uname -m` spelling; nil for the host's.
    /// `configurations`: where a configuration resolved through Kconfig is kept and taken back
    /// while every file it was resolved from is unchanged.
    public init(treeRoot: String, compileCommands compileCommandsPath: String?, arch requestedArch: String?,
                configurations: ConfigurationStore? = nil) throws {
        let fm = FileManager.default
        let root = PathUtilities.absolute(treeRoot, relativeTo: fm.currentDirectoryPath)
        let missing = Self.missingTreeMarkers(root)
        guard missing.isEmpty else { throw KernelBuildError.notAKernelTree(path: root, missing: missing) }
        self.treeRoot = root

        let archName = Architecture.canonicalName(requestedArch ?? Architecture.hostName)
        let available = ((try? fm.contentsOfDirectory(atPath: root + "/arch")) ?? [])
            .filter { Self.isDirectory(root + "/arch/" + $0) }.sorted()
        guard available.contains(archName) else { throw KernelBuildError.unknownArch(name: archName, available: available) }
        guard Architecture.clangSupported.contains(archName) else {
            throw KernelBuildError.unsupportedArch(name: archName, reason: Architecture.unsupportedReason(archName))
        }
        let architecture = Architecture(name: archName)
        self.architecture = architecture

        let resourceInclude = try Toolchain.resourceIncludeDirectory()
        clangResourceInclude = resourceInclude
        var notes: [String] = []

        var database: CompileCommands?
        if let compileCommandsPath {
            let absolutePath = PathUtilities.absolute(compileCommandsPath, relativeTo: fm.currentDirectoryPath)
            let loaded = try CompileCommands(path: absolutePath, clangResourceInclude: resourceInclude)
            database = loaded
            notes.append("compile commands: \(loaded.entries.count) entries from \(absolutePath)")
            if !loaded.droppedFlags.isEmpty {
                let sample = loaded.droppedFlags.sorted().prefix(12).joined(separator: " ")
                notes.append("dropped \(loaded.droppedFlags.count) codegen/diagnostic/gcc-only flag spellings (e.g. \(sample))")
            }
        }
        compileCommands = database

        // An O= build keeps generated headers in its own directory; Kbuild then adds both trees.
        var objectRoot = root
        if let buildDirectory = database?.buildDirectory, buildDirectory != root,
           fm.fileExists(atPath: buildDirectory + "/include/generated/autoconf.h") {
            objectRoot = buildDirectory
        }
        self.objectRoot = objectRoot

        // Prepared means: generated headers on disk, and for this arch (autoconf.h names it).
        let autoconfPath = objectRoot + "/include/generated/autoconf.h"
        var prepared = false
        if let autoconf = try? String(contentsOfFile: autoconfPath, encoding: .utf8) {
            let builtArch = Self.archInAutoconf(autoconf)
            if builtArch == nil || builtArch == archName {
                prepared = true
            } else {
                notes.append("tree is prepared for \(builtArch!), not \(archName): synthesizing \(archName) headers over it")
            }
        }
        isPrepared = prepared

        // The configuration: what the build used, else the tree's .config, else the arch defconfig.
        let resolver = KconfigResolver(sourceRoot: root, arch: archName)
        var kconfigModel: KconfigModel?
        var config = KernelConfig()
        var source = "none"
        if prepared, let text = try? String(contentsOfFile: objectRoot + "/include/config/auto.conf", encoding: .utf8) {
            config = KernelConfig(parsing: text)
            source = "include/config/auto.conf"
        } else if prepared, let text = try? String(contentsOfFile: objectRoot + "/.config", encoding: .utf8) {
            config = KernelConfig(parsing: text)
            source = ".config"
        }
        if !prepared {
            if let text = try? String(contentsOfFile: root + "/.config", encoding: .utf8) {
                let candidate = KernelConfig(parsing: text)
                if let configArch = candidate.headerArch, Architecture.canonicalName(configArch) != archName {
                    notes.append(".config is for \(configArch), not \(archName): ignoring it")
                } else {
                    config = candidate
                    source = ".config"
                }
            }
            if source == "none" {
                let defconfig = architecture.defaultDefconfig(sourceRoot: root)
                let name = ResolvedConfiguration.name(root: root, arch: archName, defconfig: defconfig)
                if let data = configurations?.resolvedConfiguration(named: name),
                   let kept = try? JSONDecoder().decode(ResolvedConfiguration.self, from: data), kept.holds {
                    // The model is read again only if a file's Kconfig gate needs it (`GateClosure`).
                    config = kept.config
                } else {
                    let model = resolver.parseModel()
                    kconfigModel = model
                    config = try resolver.resolve(defconfigPath: defconfig, model: model)
                    if let configurations, let data = try? JSONEncoder().encode(ResolvedConfiguration(config: config, model: model, defconfig: defconfig)) {
                        configurations.keepResolvedConfiguration(data, named: name)
                    }
                }
                source = defconfig.map { String($0.dropFirst(root.count + 1)) + " (resolved through Kconfig)" } ?? "Kconfig defaults (arch has no defconfig)"
            }
        }
        self.config = config
        configSource = source

        var synthesized: [SynthesizedFile] = []
        if !prepared {
            let headers = GeneratedHeaders(sourceRoot: root, arch: architecture, config: config).all()
            synthesized = headers.keys.sorted().map { SynthesizedFile(path: objectRoot + "/" + $0, contents: headers[$0]!) }
            notes.insert("tree not prepared: synthesized \(synthesized.count) generated headers for \(archName) from \(source)", at: 0)
        } else {
            notes.insert("tree prepared for \(archName): using generated headers on disk (config from \(source))", at: 0)
        }
        synthesizedFiles = synthesized
        if let limitation = architecture.limitation { notes.append(limitation) }

        commonKbuildFlags = Self.kbuildFlags(sourceRoot: root, objectRoot: objectRoot, architecture: architecture,
                                             config: config, resourceInclude: resourceInclude)
        let closure = GateClosure(resolver: resolver, config: config, model: kconfigModel)
        gateClosure = closure
        makefiles = MakefileFlags(sourceRoot: root, objectRoot: objectRoot, config: config, arch: archName,
                                  gateClosure: closure)
        staticNotes = notes

        var digest = StableHash()
        digest.add("arch=\(archName)")
        digest.add("prepared=\(prepared)")
        digest.add(commonKbuildFlags.joined(separator: "\u{1}"))
        for file in synthesized { digest.add(file.path); digest.add(file.contents) }
        if prepared, let autoconf = try? String(contentsOfFile: autoconfPath, encoding: .utf8) { digest.add(autoconf) }
        if let database {
            for key in database.entries.keys.sorted() {
                digest.add(key)
                digest.add(database.entries[key]!.arguments.joined(separator: "\u{1}"))
            }
        }
        configurationKey = digest.hexDigest
    }

    /// Walks up from `path` to the first directory that looks like a kernel source root.
    public static func findTreeRoot(containing path: String) -> String? {
        var current = PathUtilities.absolute(path, relativeTo: FileManager.default.currentDirectoryPath)
        if !isDirectory(current) { current = (current as NSString).deletingLastPathComponent }
        while true {
            if missingTreeMarkers(current).isEmpty { return current }
            if current == "/" || current.isEmpty { return nil }
            current = (current as NSString).deletingLastPathComponent
        }
    }

    public var notes: [String] {
        var result = staticNotes
        let gated = makefiles.gatedFileCount
        if gated > 0 {
            result.append("\(gated) file(s) not built by this configuration: parsed with their Makefile's CONFIG_ gate defined")
        }
        return result
    }

    /// clang arguments for `file` (a `.c` path, absolute or relative to the current directory),
    /// not including the file itself.
    public func arguments(for file: String) -> [String] {
        let path = PathUtilities.absolute(file, relativeTo: FileManager.default.currentDirectoryPath)
        if let database = compileCommands {
            if let entry = database.entry(for: path) {
                var arguments = entry.arguments
                if !arguments.contains(where: { $0.hasPrefix("--target=") || $0 == "-target" }) {
                    if let triple = entry.compilerTriple {
                        arguments.insert("--target=\(triple)", at: 0)
                    } else if let target = architecture.targetFlags(config: config).first(where: { $0.hasPrefix("--target=") }) {
                        arguments.insert(target, at: 0)
                    }
                }
                if !arguments.contains(where: { $0 == "-isystem" || $0.hasPrefix("-isystem") }) {
                    arguments += ["-isystem", clangResourceInclude]
                }
                return arguments + Self.diagnosticFlags
            }
        }
        return commonKbuildFlags + makefiles.flags(for: path) + Self.diagnosticFlags
    }

    /// Whether `file` has its own entry in the compile database (false without one: its flags are
    /// then derived from Kbuild). The scan counts and names such fallbacks.
    public func hasCompileCommand(for file: String) -> Bool {
        compileCommands?.entry(for: PathUtilities.absolute(file, relativeTo: FileManager.default.currentDirectoryPath)) != nil
    }

    /// Builds, ahead of the first file's flags, what deriving them needs.
    public func prepareFileQueries() { makefiles.prepare() }

    /// Another arch to parse `file` with, when it is outside this configuration because its
    /// Makefile gate needs symbols only that arch's Kconfig defines (drivers/macintosh on x86
    /// → powerpc). nil when this arch is right, or no arch clang can target would do better.
    /// Files under arch/<name>/ are not judged here: their directory names their arch.
    public func preferredArch(for file: String) -> String? {
        guard compileCommands?.entry(for: PathUtilities.absolute(file, relativeTo: FileManager.default.currentDirectoryPath)) == nil
        else { return nil }
        let path = PathUtilities.absolute(file, relativeTo: FileManager.default.currentDirectoryPath)
        let gates = makefiles.closedGates(for: path)
        guard !gates.isEmpty else { return nil }
        return gateClosure.foreignArch(requiredBy: gates, currentArch: architecture.name)
    }

    /// The build files (Makefiles, Kconfig files) the per-file flags given so far were derived
    /// from, beside the configuration `configurationKey` covers: while none of them changes, those
    /// flags stay right (a scan keeps them in its cache).
    public var buildFilesRead: Set<String> { makefiles.filesRead }

    /// The flags every file gets in Kbuild mode, before its own (`arguments(for:)` starts with them
    /// unless a compile database has the file).
    public var commonArguments: [String] { commonKbuildFlags }

    /// The directory clang should run in for `file`: the build directory of its compile command,
    /// else the object tree (Kbuild runs the compiler at the top of the tree).
    public func workingDirectory(for file: String) -> String {
        let path = PathUtilities.absolute(file, relativeTo: FileManager.default.currentDirectoryPath)
        return compileCommands?.entry(for: path)?.directory ?? objectRoot
    }

    // MARK: Kbuild flags

    /// Warnings are noise for a scanner; errors are kept and all of them counted.
    static let diagnosticFlags = ["-w", "-ferror-limit=0"]

    /// The top Makefile and scripts/Makefile.lib `c_flags`, in Kbuild's order.
    static func kbuildFlags(sourceRoot src: String, objectRoot obj: String, architecture: Architecture,
                            config: KernelConfig, resourceInclude: String) -> [String] {
        let a = architecture.name
        var flags = ["-nostdinc", "-isystem", resourceInclude]
        // LINUXINCLUDE
        flags += ["-I\(src)/arch/\(a)/include", "-I\(obj)/arch/\(a)/include/generated"]
        if obj != src { flags.append("-I\(src)/include") }
        flags.append("-I\(obj)/include")
        // USERINCLUDE
        flags += ["-I\(src)/arch/\(a)/include/uapi", "-I\(obj)/arch/\(a)/include/generated/uapi",
                  "-I\(src)/include/uapi", "-I\(obj)/include/generated/uapi"]
        for directory in architecture.extraIncludeDirectories(sourceRoot: src) { flags.append("-I\(directory)") }
        if FileManager.default.fileExists(atPath: "\(src)/include/linux/compiler-version.h") {
            flags += ["-include", "\(src)/include/linux/compiler-version.h"]
        }
        flags += ["-include", "\(src)/include/linux/kconfig.h"]
        flags += ["-include", "\(src)/include/linux/compiler_types.h"]
        flags += ["-D__KERNEL__"]
        flags += architecture.targetFlags(config: config)
        flags += ftraceFlags(architecture: architecture, config: config)
        flags += ["-std=gnu11", "-fno-strict-aliasing", "-fno-common", "-fshort-wchar", "-fno-PIE"]
        // Kbuild always optimizes; headers test __OPTIMIZE__ (compiletime_assert, fortify-string.h).
        flags.append(config.isEnabled("CC_OPTIMIZE_FOR_SIZE") ? "-Os" : "-O2")
        return flags
    }

    /// CC_FLAGS_USING of the top Makefile and the arch Makefiles: headers refuse to build
    /// (`#error Compiler does not support fentry?`) when tracing is on without them.
    static func ftraceFlags(architecture: Architecture, config: KernelConfig) -> [String] {
        var flags: [String] = []
        if config.isEnabled("FUNCTION_TRACER") {
            if config.isEnabled("HAVE_FENTRY") { flags.append("-DCC_USING_FENTRY") }
            if config.isEnabled("FTRACE_MCOUNT_USE_OBJTOOL") { flags.append("-DCC_USING_NOP_MCOUNT") }
        }
        switch architecture.name {
        case "arm64" where config.isEnabled("DYNAMIC_FTRACE_WITH_REGS"),
             "riscv" where config.isEnabled("DYNAMIC_FTRACE"):
            flags.append("-DCC_USING_PATCHABLE_FUNCTION_ENTRY")
        default:
            break
        }
        return flags
    }

    // MARK: helpers

    static func missingTreeMarkers(_ root: String) -> [String] {
        let fm = FileManager.default
        var missing: [String] = []
        for file in ["Makefile", "Kconfig"] where !fm.fileExists(atPath: "\(root)/\(file)") { missing.append(file) }
        for directory in ["arch", "include/linux"] where !isDirectory("\(root)/\(directory)") { missing.append(directory + "/") }
        return missing
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The arch in conf's header comment of autoconf.h (` * Linux/x86 6.1.0 Kernel Configuration`).
    static func archInAutoconf(_ text: String) -> String? {
        for line in text.split(separator: "\n").prefix(6) {
            guard let range = line.firstByteRange(of: "Linux/") else { continue }
            let rest = line[range.upperBound...]
            if let arch = rest.split(separator: " ").first { return Architecture.canonicalName(String(arch)) }
        }
        return nil
    }
}

/// FNV-1a 64-bit, twice with different offsets: stable across runs and platforms, unlike Hasher.
struct StableHash {
    private var first: UInt64 = 0xcbf2_9ce4_8422_2325
    private var second: UInt64 = 0x8422_2325_cbf2_9ce4

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            first = (first ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            second = (second ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        // A separator so ("ab","c") and ("a","bc") differ.
        first = (first ^ 0xff) &* 0x0000_0100_0000_01b3
        second = (second ^ 0xfe) &* 0x0000_0100_0000_01b3
    }

    var hexDigest: String {
        String(format: "%016llx%016llx", first, second)
    }
}
