import Foundation
import RuleKit
import ClangKit
import KernelBuild

/// How one file is compiled: arguments for libclang and files to supply in memory.
public struct CompileSetup: Sendable {
    public var arguments: [String]
    public var unsavedFiles: [UnsavedFile]
}

/// A file's flags and the architecture it is parsed for, as the scanning process derived them.
public struct DerivedSetup: Codable, Sendable {
    public var arguments: [String]
    /// Another architecture the file needs (nil: the scan's own).
    public var preferredArch: String?
    /// Whether `preferredArch` was derived (files under arch/ take theirs from their path).
    public var knowsArch: Bool
}

/// Where flags come from: the kernel's Kbuild (with or without a build, or a compile_commands.json),
/// or — outside a kernel tree — a clang `compile_flags.txt` beside or above the file.
public final class CompileSetupProvider: @unchecked Sendable {
    public let kernelRoot: String?
    let compileCommands: String?
    private let configurations: ConfigurationStore?
    let requestedArch: String?
    let extraArguments: [String]
    private var contexts: [String: BuildContext] = [:]
    private var unsavedByArch: [String: [UnsavedFile]] = [:]
    private var flagFiles: [String: [String]?] = [:]
    /// Each file's flags, derived once (a scan asks for them when planning, keying the cache and parsing).
    private var argumentsByFile: [String: [String]] = [:]
    private let lock = NSLock()

    /// `configurations`: where configurations resolved through Kconfig are kept between runs.
    public init(kernelRoot: String?, compileCommands: String?, arch: String?, extraArguments: [String] = [],
                configurations: ConfigurationStore? = nil) throws {
        self.kernelRoot = kernelRoot
        self.compileCommands = compileCommands
        self.configurations = configurations
        self.requestedArch = arch
        self.extraArguments = extraArguments
        if let kernelRoot {
            // Fail early on a bad --arch or compile database, with KernelBuild's message.
            _ = try context(forArch: arch, root: kernelRoot)
        }
    }

    /// A file under arch/<name>/ is compiled for that architecture, whatever --arch says; so is a
    /// driver whose Kconfig gate only another architecture can satisfy (a PowerPC-only DMA engine
    /// parses with PowerPC's headers, not with a flood of errors under x86's).
    public func architecture(for file: String) -> String? {
        guard let kernelRoot else { return nil }
        let relative = RelativePath.make(file, root: kernelRoot)
        if relative.hasPrefix("arch/") {
            let name = relative.split(separator: "/")[1]
            if String(name) != primaryArch, FileManager.default.fileExists(atPath: kernelRoot + "/arch/\(name)/Kconfig") { return String(name) }
            return requestedArch
        }
        lock.lock()
        if let known = preferredArchs[file] { lock.unlock(); return known ?? requestedArch }
        lock.unlock()
        var preferred: String?
        if let primary = try? context(forArch: requestedArch, root: kernelRoot), let name = primary.preferredArch(for: file),
           name != primary.arch, FileManager.default.fileExists(atPath: kernelRoot + "/arch/\(name)/Kconfig") {
            preferred = name
        }
        lock.lock(); preferredArchs[file] = .some(preferred); lock.unlock()
        return preferred ?? requestedArch
    }
    private var preferredArchs: [String: String?] = [:]

    /// Sets up the configurations of these architectures side by side (each resolves its own
    /// Kconfig), before files of them are asked for one by one.
    public func prepare(architectures: Set<String>) {
        guard let kernelRoot else { return }
        lock.lock()
        let missing = architectures.filter { contexts[$0] == nil }.sorted()
        lock.unlock()
        guard missing.count > 1 else { return }
        let compileCommands = self.compileCommands, configurations = self.configurations
        let made = parallelMap(missing.count, jobs: ProcessInfo.processInfo.activeProcessorCount) { index in
            try? BuildContext(treeRoot: kernelRoot, compileCommands: compileCommands, arch: missing[index], configurations: configurations)
        }
        lock.lock(); defer { lock.unlock() }
        for (arch, context) in zip(missing, made) where contexts[arch] == nil {
            guard let context else { continue }
            install(context, key: arch)
        }
    }

    private func context(forArch arch: String?, root: String) throws -> BuildContext {
        let key = arch ?? ""
        lock.lock(); defer { lock.unlock() }
        if let existing = contexts[key] { return existing }
        let made = try BuildContext(treeRoot: root, compileCommands: compileCommands, arch: arch, configurations: configurations)
        install(made, key: key)
        return made
    }

    /// Called with the lock held.
    private func install(_ context: BuildContext, key: String) {
        contexts[key] = context
        unsavedByArch[key] = context.synthesizedFiles.map { UnsavedFile(path: $0.path, contents: $0.contents) }
        adoptStoredFlags(of: context)
    }

    /// For a scan with a compile database: whether `file` has its own entry there (nil without a
    /// database). Files without one are parsed with Kbuild-derived flags, and the scan says so.
    public func hasCompileCommand(for file: String) -> Bool? {
        guard compileCommands != nil, let kernelRoot, let context = try? context(forArch: architecture(for: file), root: kernelRoot) else { return nil }
        return context.hasCompileCommand(for: file)
    }

    /// The architecture of files outside arch/ (nil outside a kernel tree).
    public var primaryArch: String? {
        guard let kernelRoot else { return nil }
        return try? context(forArch: requestedArch, root: kernelRoot).arch
    }

    public var notes: [String] {
        lock.lock(); defer { lock.unlock() }
        return contexts.keys.sorted().flatMap { contexts[$0]!.notes }
    }

    /// The configuration `file` is parsed under: its architecture's, with the extra arguments.
    /// Not the set of architectures this scan happened to set up so far: a cache key must not
    /// depend on which files were looked at first.
    public func configurationKey(for file: String) -> String {
        guard let kernelRoot, let context = try? context(forArch: architecture(for: file), root: kernelRoot) else { return stableHash(extraArguments) }
        return stableHash([context.configurationKey] + extraArguments)
    }

    public func setup(for file: String) throws -> CompileSetup {
        if let kernelRoot {
            let arch = architecture(for: file)
            let context = try context(forArch: arch, root: kernelRoot)
            lock.lock()
            let unsaved = unsavedByArch[arch ?? ""] ?? [], known = argumentsByFile[file]
            lock.unlock()
            if let known { return CompileSetup(arguments: known, unsavedFiles: unsaved) }
            let arguments = context.arguments(for: file) + extraArguments
            lock.lock(); argumentsByFile[file] = arguments; derivedSinceLoad = true; lock.unlock()
            return CompileSetup(arguments: arguments, unsavedFiles: unsaved)
        }
        return CompileSetup(arguments: plainArguments(for: file) + extraArguments, unsavedFiles: [])
    }

    /// Builds, ahead of the first file's flags, what deriving any file's needs (see
    /// `BuildContext.prepareFileQueries`).
    public func prepareFileQueries() {
        guard let kernelRoot, let primary = try? context(forArch: requestedArch, root: kernelRoot) else { return }
        primary.prepareFileQueries()
    }

    // MARK: Setups handed to workers

    /// Where a scan without a cache keeps its resolved configurations for its workers.
    public var scratchConfigurationsDirectory: String? { (configurations as? ScratchConfigurations)?.directory }

    /// What the scanning process derived of a file's setup. A worker takes it instead of walking
    /// the Makefiles and the Kconfig gates again: that walk (an index of the tree's Kbuild files,
    /// the architecture a driver needs) cost each worker process most of a second before its first
    /// parse. Nil outside a kernel tree, where nothing is costly to derive.
    public func derivedSetup(for file: String) -> DerivedSetup? {
        guard kernelRoot != nil, let derived = try? setup(for: file) else { return nil }
        lock.lock(); defer { lock.unlock() }
        return DerivedSetup(arguments: derived.arguments, preferredArch: preferredArchs[file] ?? nil, knowsArch: preferredArchs[file] != nil)
    }

    /// Takes a setup the scanning process derived (see `derivedSetup`).
    public func adopt(_ derived: DerivedSetup, for file: String) {
        lock.lock(); defer { lock.unlock() }
        if argumentsByFile[file] == nil { argumentsByFile[file] = derived.arguments }
        if derived.knowsArch, preferredArchs[file] == nil { preferredArchs[file] = .some(derived.preferredArch) }
    }

    // MARK: Flags kept across scans

    /// Deriving a file's flags walks the Makefiles and resolves its Kconfig gates: on a rescan
    /// that was most of the work left. The flags of every architecture's files are kept in the
    /// cache with the build files they came from, and taken back while none has changed: the
    /// primary architecture's under its configuration, another's once its own configuration is
    /// set up again and found the same.
    struct StoredFlags: Codable {
        var buildFiles: [ResultCache.Dependency]
        /// Per file: "+" then what follows the common Kbuild flags, or "=" then every argument.
        var files: [String: [String]]
        /// Files outside arch/ that only another architecture's Kconfig builds, with it.
        var preferredArchs: [String: String]?
        /// Other architectures' files, by architecture.
        var otherArchs: [String: ArchitectureFlags]?
    }

    struct ArchitectureFlags: Codable {
        /// The architecture's configuration (`BuildContext.configurationKey`) they were derived under.
        var configurationKey: String
        var files: [String: [String]]
    }

    static let flagsFamily = "compile-flags"
    /// The key stored flags are valid under (configuration, options, kwarden's build); set by `loadFlags`.
    private var flagsIdentity: String?
    private var loadedBuildFiles: [ResultCache.Dependency] = []
    /// Other architectures' stored flags, taken when their configuration is set up and matches.
    private var storedOtherArchs: [String: ArchitectureFlags] = [:]
    private var derivedSinceLoad = false
    /// Files whose flags came from the cache.
    public private(set) var filesWithStoredFlags = 0

    /// Takes back the flags an earlier scan derived, if every build file they came from is unchanged.
    func loadFlags(from cache: ResultCache) {
        guard let kernelRoot, let primary = try? context(forArch: requestedArch, root: kernelRoot),
              let anchor = FileStamp(path: kernelRoot + "/Makefile") else { return }
        lock.lock()
        guard flagsIdentity == nil else { lock.unlock(); return }
        let identity = stableHash([primary.configurationKey, requestedArch ?? "", compileCommands ?? "",
                                   compileCommands.flatMap { ResultCache.stamp($0).map { "\($0.size)-\($0.modified)" } } ?? "",
                                   ResultCache.buildIdentity] + extraArguments)
        flagsIdentity = identity
        lock.unlock()
        guard let data = cache.textFacts(family: Self.flagsFamily, identity: identity, for: [kernelRoot + "/Makefile"], stamps: [anchor]).first ?? nil,
              let stored = try? JSONDecoder().decode(StoredFlags.self, from: data),
              stored.buildFiles.allSatisfy({ ResultCache.stamp($0.path) == $0 }) else { return }
        let common = primary.commonArguments
        lock.lock()
        for (file, coded) in stored.files where argumentsByFile[file] == nil {
            guard let arguments = Self.decode(coded, common: common) else { continue }
            argumentsByFile[file] = arguments
            preferredArchs[file] = .some(nil)
        }
        for (file, arch) in stored.preferredArchs ?? [:] where preferredArchs[file] == nil { preferredArchs[file] = .some(arch) }
        storedOtherArchs = stored.otherArchs ?? [:]
        filesWithStoredFlags = stored.files.count
        loadedBuildFiles = stored.buildFiles
        // Architectures set up already (none but the primary, usually) take theirs now.
        for (arch, context) in contexts where arch != (requestedArch ?? "") { adoptStoredFlags(of: context) }
        lock.unlock()
    }

    /// Another architecture's stored flags, once its configuration is set up: kept only if it is
    /// the configuration they were derived under. Called with the lock held.
    private func adoptStoredFlags(of context: BuildContext) {
        guard let stored = storedOtherArchs.removeValue(forKey: context.arch), stored.configurationKey == context.configurationKey else { return }
        let common = context.commonArguments
        for (file, coded) in stored.files where argumentsByFile[file] == nil {
            guard let arguments = Self.decode(coded, common: common) else { continue }
            argumentsByFile[file] = arguments
            filesWithStoredFlags += 1
        }
    }

    private static func encode(_ arguments: [String], common: [String]) -> [String] {
        arguments.starts(with: common) ? ["+"] + arguments.dropFirst(common.count) : ["="] + arguments
    }

    private static func decode(_ coded: [String], common: [String]) -> [String]? {
        guard let mark = coded.first else { return nil }
        return mark == "+" ? common + coded.dropFirst() : Array(coded.dropFirst())
    }

    /// Keeps the flags derived for every architecture's files, with the build files read.
    func storeFlags(to cache: ResultCache) {
        guard let kernelRoot, let anchor = FileStamp(path: kernelRoot + "/Makefile") else { return }
        lock.lock()
        let built = contexts, identity = flagsIdentity, derived = derivedSinceLoad
        let computed = argumentsByFile, known = preferredArchs, pending = storedOtherArchs
        lock.unlock()
        guard derived, let primary = built[requestedArch ?? ""], let identity else { return }
        var stored = StoredFlags(buildFiles: [], files: [:], preferredArchs: [:], otherArchs: [:])
        for (file, arguments) in computed {
            // The file's configuration, under the key it was set up by (`context(forArch:)`).
            let key = known[file].map { $0 ?? (requestedArch ?? "") } ?? architecture(for: file) ?? ""
            guard let context = built[key] else { continue }
            if context === primary {
                stored.files[file] = Self.encode(arguments, common: primary.commonArguments)
                continue
            }
            if case .some(.some(let preferred)) = known[file] { stored.preferredArchs?[file] = preferred }
            stored.otherArchs?[context.arch, default: ArchitectureFlags(configurationKey: context.configurationKey, files: [:])]
                .files[file] = Self.encode(arguments, common: context.commonArguments)
        }
        // Architectures this scan did not set up keep what an earlier scan stored for them.
        for (arch, flags) in pending where stored.otherArchs?[arch] == nil { stored.otherArchs?[arch] = flags }
        var paths: Set<String> = [kernelRoot + "/Makefile"]
        for context in built.values { paths.formUnion(context.buildFilesRead) }
        var buildFiles = Dictionary(loadedBuildFiles.map { ($0.path, $0) }) { first, _ in first }
        for path in paths { buildFiles[path] = ResultCache.stamp(path) }
        stored.buildFiles = buildFiles.values.sorted { $0.path < $1.path }
        guard let data = try? JSONEncoder().encode(stored) else { return }
        // Filed under the top Makefile, whose stamp it carries (`cache prune` checks it).
        cache.storeTextFacts(family: Self.flagsFamily, identity: identity, [(kernelRoot + "/Makefile", anchor, data)])
        lock.lock(); derivedSinceLoad = false; lock.unlock()
    }

    /// clang's convention for projects without a build: `compile_flags.txt`, one flag per line,
    /// relative include paths resolved against its directory.
    private func plainArguments(for file: String) -> [String] {
        var directory = (file as NSString).deletingLastPathComponent
        while !directory.isEmpty {
            if let flags = flagsFile(in: directory) { return flags + ["-I" + (file as NSString).deletingLastPathComponent] }
            let parent = (directory as NSString).deletingLastPathComponent
            if parent == directory { break }
            directory = parent
        }
        return ["-std=gnu11", "-I" + (file as NSString).deletingLastPathComponent]
    }

    private func flagsFile(in directory: String) -> [String]? {
        lock.lock()
        if let cached = flagFiles[directory] { lock.unlock(); return cached }
        lock.unlock()
        let path = directory + "/compile_flags.txt"
        var flags: [String]?
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            flags = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
                .map { flag in
                    for prefix in ["-I", "-isystem", "-include"] where flag.hasPrefix(prefix) && flag.count > prefix.count {
                        let value = String(flag.dropFirst(prefix.count))
                        return value.hasPrefix("/") ? flag : prefix + directory + "/" + value
                    }
                    return flag
                }
        }
        lock.lock(); flagFiles[directory] = .some(flags); lock.unlock()
        return flags
    }
}

/// The kernel tree a path belongs to, if any.
public enum KernelTree {
    public static func root(containing path: String) -> String? {
        BuildContext.findTreeRoot(containing: URL(fileURLWithPath: path).standardizedFileURL.path)
    }
}
