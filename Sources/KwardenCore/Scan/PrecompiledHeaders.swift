import Foundation
import ClangKit
import RuleKit

/// Shared precompiled headers: most of a kernel file's parse is the kernel headers every driver
/// includes. Files compiled with the same flags (but for their own directory and module name) are
/// grouped; for each group of a few files the headers its files include most are precompiled once
/// — in a worker process, like any parse — and every file of the group loads them with
/// `-include-pch`. A driver's own `"…"` headers are read through: most driver files include
/// only their driver's header, which includes the kernel's. A file that includes none of its
/// group's headers takes them if its include closure (`IncludeClosure`: the headers it is sure
/// to read) holds them all; the files left share the headers most of their closures hold.
///
/// A file that defines a macro before its last kernel include, where a shared header mentions
/// that macro (it could change what the header declares), is parsed plainly — unless every
/// shared header that names it is one the file's includes before the definition are sure to
/// have read already — and so is any file whose parse rejects the precompiled header; both are
/// counted.
///
/// The precompiled headers live in the result cache's directory, keyed by the flags, the headers
/// and kwarden's build, and are rebuilt when a header they read changed; without a cache they
/// live in the scan's scratch directory.
final class PrecompiledHeaders {
    /// A group needs this many files for its headers to be precompiled (a build costs about as
    /// much as parsing one or two files).
    static let minimumGroup = 4
    /// At most this many headers, each included by at least `minimumShare` of the group's files.
    static let maximumHeaders = 24
    static let minimumShare = 0.25
    /// A prefix whose build fails is built again without the headers that brought the errors in,
    /// at most this many times.
    static let buildRounds = 5
    /// Macros a file may define before its includes without changing what the headers declare:
    /// they are expanded where used, and headers only define them when undefined.
    static let harmlessEarlyMacros: Set<String> = ["pr_fmt", "dev_fmt"]

    struct Plan: Sendable {
        /// The precompiled header's path.
        let output: String
        /// The prefix header that includes the group's headers.
        let prefix: String
        /// Flags of the group (each file adds its own directory and module name).
        let arguments: [String]
        /// A file of the group, for the generated headers its architecture supplies in memory.
        let representative: String
        /// For a driver's headers: the kernel headers' precompiled header they are built on.
        var base: String? = nil
    }

    let directory: String
    /// Per planned file, the `CONFIG_` symbols defined for it alone and the macros it defines
    /// before the shared headers would be read.
    private var ownMacros: [String: Set<EarlyMacro>] = [:]
    /// Per planned file, its own `CONFIG_` symbols' `-D` arguments, by name.
    private var ownDefines: [String: [String: String]] = [:]
    /// Per planned file, its module's names (`-DKBUILD_MODNAME=…`): a driver's headers may use them.
    private var moduleDefines: [String: [String]] = [:]
    /// Per planned file, what its text and its driver's headers do before the kernel headers.
    private var preambles: [String: Preamble] = [:]
    /// What planning learned, kept for later passes and for another scan of the tree sharing it.
    private let plans: PrecompiledHeaderPlans
    /// Files parsed with a variant of their group's headers.
    private(set) var filesWithVariants = 0
    /// Files that took headers they do not include themselves, all of them in their include closure.
    private(set) var filesByClosure = 0
    private var takenByClosure: Set<String> = []
    /// Files parsed with their driver's headers precompiled on top of the kernel's.
    private(set) var filesWithDriverHeaders = 0
    /// Files whose own symbols a shared header mentions: parsed plainly.
    private(set) var excludedByOwnMacros = 0
    /// The macros that kept files from the shared headers, with how many files each kept.
    private(set) var excludingMacros: [String: Int] = [:]
    private(set) var built: [String: String] = [:]
    private(set) var notes: [String] = []

    /// `parent`: the result cache's directory, or the scan's scratch directory (which the scan
    /// removes). `plans`: what an earlier scan of the tree into the same directory planned (the
    /// gate's other end).
    init(in parent: String, plans: PrecompiledHeaderPlans = PrecompiledHeaderPlans()) {
        self.plans = plans
        directory = parent + "/pch"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// A file's flags without what only it (or its driver) has: its directory's `-I`, its module's
    /// names, and the `CONFIG_` symbols defined for it (a driver the configuration leaves out is
    /// parsed with its Makefile gate defined). Those symbols are returned apart: a file may use
    /// headers precompiled without them only if none of those headers mentions them.
    static func sharedArguments(_ arguments: [String], file: String) -> (shared: [String], ownMacros: Set<String>) {
        let split = splitArguments(arguments, file: file)
        return (split.shared, Set(split.ownDefines.keys))
    }

    /// `sharedArguments`, with each own `CONFIG_` symbol's `-D` argument by name.
    static func splitArguments(_ arguments: [String], file: String) -> (shared: [String], ownDefines: [String: String]) {
        let own = "-I" + (file as NSString).deletingLastPathComponent
        var shared: [String] = [], defines: [String: String] = [:]
        for argument in arguments {
            if argument.hasPrefix("-DKBUILD_") || argument.hasPrefix("-D__KBUILD_MODNAME") || argument == own { continue }
            if argument.hasPrefix("-DCONFIG_") {
                defines[String(argument.dropFirst(2).prefix { $0 != "=" })] = argument
                continue
            }
            shared.append(argument)
        }
        return (shared, defines)
    }

    /// A macro a file defines or undefines before the kernel headers are read.
    struct EarlyMacro: Hashable {
        let name: String
        /// Canonical (`PreprocessorText.macroDirective`); nil: undefined, or not known (a
        /// command-line symbol, a macro defined more than once).
        let definition: String?
    }

    /// What a file's own text and its driver's headers do before the kernel headers are read.
    struct Preamble {
        /// The `<…>` headers it includes, directly or through `"…"` headers of its tree.
        var headers: [String] = []
        /// Per header, whether it is read whenever the file is (outside any condition but include
        /// guards, through `"…"` headers that are too).
        var sure: [Bool] = []
        /// Macros it (or a `"…"` header it includes) defines or undefines, each with the number of
        /// `<…>` includes before it.
        var macros: [(macro: EarlyMacro, after: Int)] = []
        /// The first `"…"` header the file itself includes, if it includes it outside any `#if`
        /// and it is found: with the number of `<…>` includes and of macros before it.
        var firstLocal: (path: String, headersBefore: Int, macrosBefore: Int)?

        /// The macros defined before one of `shared` is included: with the shared headers read
        /// first, such a header that uses one of them (or defines it otherwise) could read
        /// differently, so the file is parsed plainly.
        func macros(before shared: [String]) -> Set<EarlyMacro> {
            let last = headers.lastIndex(where: shared.contains) ?? -1
            let early = macros.filter { $0.after <= last }.map(\.macro)
            var byName: [String: EarlyMacro] = [:]
            for macro in early {
                byName[macro.name] = byName[macro.name] == nil ? macro : EarlyMacro(name: macro.name, definition: nil)
            }
            return Set(byName.values)
        }
    }

    /// Directives of one file in order: a macro defined or undefined, a `<…>` include, a `"…"`
    /// include (and whether it is inside an `#if`); `firstLocal` marks where a file's first
    /// `"…"` header begins once its headers are read in place. `sure`: the include is read
    /// whenever the file is (`HeaderDirectives.sureness`).
    enum Directive { case macro(EarlyMacro), system(String, sure: Bool), local(String, conditional: Bool, sure: Bool), firstLocal(String) }

    /// Comments are not read: an include or a definition commented out is not there.
    static func directives(_ source: SourceText) -> [Directive] {
        var result: [Directive] = []
        var depth = 0
        for line in HeaderDirectives.readLines(source.bytes).lines {
            if let macro = PreprocessorText.macroDirective(line.bytes) {
                if !harmlessEarlyMacros.contains(macro.name) { result.append(.macro(EarlyMacro(name: macro.name, definition: macro.definition))) }
                continue
            }
            guard let (word, rest) = line.directive else { continue }
            if word.hasPrefix("if") { depth += 1; continue }
            if word == "endif" { depth = max(0, depth - 1); continue }
            // `#include_next` names a header too, read from another directory: never taken as sure.
            guard word == "include" || word == "include_next", let include = HeaderDirectives.included(rest) else { continue }
            let isSure = line.sure && word == "include"
            result.append(include.quoted ? .local(include.name, conditional: depth > 0, sure: isSure) : .system(include.name, sure: isSure))
        }
        return result
    }

    /// Per `"…"` header read while planning: its directives (nil: not found). Files' preambles
    /// are read in parallel.
    private var localHeaders: [String: [Directive]?] = [:]
    private let localHeadersLock = NSLock()

    private func localDirectives(_ path: String) -> [Directive]? {
        localHeadersLock.lock()
        if let known = localHeaders[path] { localHeadersLock.unlock(); return known }
        localHeadersLock.unlock()
        var read: [Directive]?
        if case .success(let source) = TextIndex.read(path) { read = Self.directives(source) }
        localHeadersLock.lock(); localHeaders[path] = read; localHeadersLock.unlock()
        return read
    }

    /// The file's preamble: its directives with its `"…"` headers (found beside the file that
    /// names them) read in place, each once.
    func preamble(of source: SourceText, file: String) -> Preamble {
        var sequence: [Directive] = []
        var visited: Set<String> = []
        var sawLocal = false
        // `sure`: the `"…"` headers that led here are all read whenever the file is.
        func expand(_ directives: [Directive], directory: String, depth: Int, sure: Bool) {
            for directive in directives {
                if case .system(let name, let isSure) = directive { sequence.append(.system(name, sure: sure && isSure)); continue }
                guard case .local(let name, let conditional, let isSure) = directive else { sequence.append(directive); continue }
                let path = URL(fileURLWithPath: directory + "/" + name).standardizedFileURL.path
                let first = depth == 0 && !sawLocal
                sawLocal = sawLocal || depth == 0
                guard depth < 8, visited.insert(path).inserted, let inner = localDirectives(path) else { continue }
                if first && !conditional { sequence.append(.firstLocal(path)) }
                expand(inner, directory: (path as NSString).deletingLastPathComponent, depth: depth + 1, sure: sure && isSure)
            }
        }
        expand(Self.directives(source), directory: (file as NSString).deletingLastPathComponent, depth: 0, sure: true)
        var preamble = Preamble()
        for directive in sequence {
            switch directive {
            case .system(let header, let sure):
                preamble.headers.append(header)
                preamble.sure.append(sure)
            case .macro(let macro): preamble.macros.append((macro, preamble.headers.count))
            case .firstLocal(let path): preamble.firstLocal = (path, preamble.headers.count, preamble.macros.count)
            case .local: break
            }
        }
        return preamble
    }

    /// Groups `files` (with their flags and texts) and plans a precompiled header for each group
    /// large enough, unless one valid from an earlier scan is there. Returns the plans to build
    /// and, per file, the precompiled header it will use once they are built.
    /// `unsavedFiles`: the headers a file's parse is given in memory (its configuration's
    /// generated headers), which its include closure finds too.
    func plan(_ files: [(file: String, arguments: [String], source: SourceText)], configurationKey: (String) -> String,
              unsavedFiles: (String) -> [UnsavedFile] = { _ in [] }, identity: String) -> (toBuild: [Plan], assignment: [String: String]) {
        var groups: [String: [(file: String, headers: [String])]] = [:]
        var arguments: [String: [String]] = [:]
        var sources: [String: SourceText] = [:]
        let read = parallelMap(files.count, jobs: ProcessInfo.processInfo.activeProcessorCount) { self.preamble(of: files[$0].source, file: files[$0].file) }
        for (entry, preamble) in zip(files, read) {
            let (shared, defines) = Self.splitArguments(entry.arguments, file: entry.file)
            let key = stableHash([configurationKey(entry.file)] + shared)
            groups[key, default: []].append((entry.file, preamble.headers))
            arguments[key] = shared
            sources[entry.file] = entry.source
            ownMacros[entry.file] = Set(defines.keys.map { EarlyMacro(name: $0, definition: nil) })
            ownDefines[entry.file] = defines
            moduleDefines[entry.file] = entry.arguments.filter(Self.isModuleDefine)
            preambles[entry.file] = preamble
            groupOf[entry.file] = key
        }
        var toBuild: [Plan] = []
        var assignment: [String: String] = [:]
        for (key, everyMember) in groups.sorted(by: { $0.key < $1.key }) {
            let closures = includeClosure(group: key, arguments: arguments[key]!, inMemory: unsavedFiles(everyMember[0].file))
            func closure(_ file: String) -> Set<String> { fileClosure(file, source: sources[file], in: closures) }
            /// Takes `output` for `file`: with its headers read first, the macros `file` defines
            /// before the last of them (`before`) could change them.
            func assign(_ file: String, _ output: String, before: [String]) {
                assignment[file] = output
                ownMacros[file, default: []].formUnion(preambles[file]?.macros(before: before) ?? [])
            }
            // First, the headers an earlier pass planned for this group: each file takes the one
            // that holds most of its headers, if any holds one; else the largest whose headers its
            // include closure holds.
            let members = everyMember.filter { member in
                let planned = (plans.byGroup[key] ?? []).filter { builtAlike(member.file, $0.output) && plans.isUsable($0.output) }
                guard !planned.isEmpty else { return true }
                let mine = Set(member.headers)
                var taken: (output: String, before: [String])?
                if let best = planned.filter({ !$0.closure }).map({ (output: $0.output, headers: $0.headers, overlap: mine.intersection($0.headers).count) })
                    .filter({ $0.overlap > 0 }).max(by: { $0.overlap < $1.overlap }) {
                    taken = (best.output, best.headers)
                } else {
                    let reached = closure(member.file)
                    if let best = planned.filter({ closures.paths($0.headers, byName: !$0.closure).map(reached.isSuperset) ?? false })
                        .max(by: { $0.headers.count < $1.headers.count }) {
                        taken = (best.output, preambles[member.file]?.headers ?? [])
                        takenByClosure.insert(member.file)
                    }
                }
                guard let taken else { return true }
                assign(member.file, taken.output, before: taken.before)
                if plans.built.contains(taken.output) { built[taken.output] = taken.output }
                return false
            }
            guard members.count >= Self.minimumGroup else { continue }
            var counts: [String: Int] = [:]
            for member in members { for header in Set(member.headers) { counts[header, default: 0] += 1 } }
            let threshold = max(2, Int((Double(members.count) * Self.minimumShare).rounded(.up)))
            let chosen = Set(counts.filter { $0.value >= threshold }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .prefix(Self.maximumHeaders).map(\.key))
            // In the order the files include them: some headers only compile after others.
            var headers: [String] = []
            for member in members { for header in member.headers where chosen.contains(header) && !headers.contains(header) { headers.append(header) } }
            // Files that include at least one of the headers use them, and so do files whose
            // include closure holds them all.
            var users = members.filter { !Set($0.headers).isDisjoint(with: headers) }.map(\.file)
            let direct = Set(users)
            if headers.count >= 2, users.count >= Self.minimumGroup, let paths = closures.paths(headers, byName: true) {
                // Only files that define the symbols built in alike as the others do.
                let builtIn = commonDefines(of: users)
                let others = members.filter { member in
                    !direct.contains(member.file) && builtIn.allSatisfy { ownDefines[member.file]?[$0.key] == $0.value }
                }
                let reached = parallelMap(others.count, jobs: ProcessInfo.processInfo.activeProcessorCount) { closure(others[$0].file).isSuperset(of: paths) }
                users += zip(others, reached).filter(\.1).map(\.0.file)
            }
            var taken = Set<String>()
            if headers.count >= 2, users.count >= Self.minimumGroup,
               let output = planGroup(key, users: users, headers: headers, closure: false, prefixText: headers.map { "#include <\($0)>\n" }.joined(),
                                      arguments: arguments[key]!, identity: identity, toBuild: &toBuild) {
                for file in users where !direct.contains(file) { takenByClosure.insert(file) }
                for file in users { assign(file, output, before: direct.contains(file) ? headers : preambles[file]?.headers ?? []) }
                taken = Set(users)
            }
            // The rest share the headers most of their include closures hold.
            let rest = members.filter { !taken.contains($0.file) }.map(\.file)
            guard rest.count >= Self.minimumGroup, let common = commonHeaders(of: rest, closure: closure, in: closures, sources: sources) else { continue }
            if let output = planGroup(key, users: common.users, headers: common.headers, closure: true, prefixText: common.prefixText,
                                      arguments: arguments[key]!, identity: identity, toBuild: &toBuild) {
                takenByClosure.formUnion(common.users)
                for file in common.users { assign(file, output, before: preambles[file]?.headers ?? []) }
            }
        }
        return (toBuild, assignment)
    }

    /// Plans the precompiled header of `headers` for `users` of group `key`; returns its output,
    /// or nil when a build of it failed in an earlier scan.
    private func planGroup(_ key: String, users: [String], headers: [String], closure: Bool, prefixText: String, arguments: [String],
                           identity: String, toBuild: inout [Plan]) -> String? {
        let common = commonDefines(of: users)
        let commonArguments = common.keys.sorted().map { common[$0]! } + commonModule(of: users)
        let name = stableHash([identity, key, prefixText] + commonArguments)
        let output = directory + "/" + name + ".pch"
        // A build that failed on these same headers fails again: those files parse plainly.
        if let failure = Self.lastFailure(of: output) {
            notes.append("shared precompiled headers could not be built (\(failure), in an earlier scan; the headers are unchanged); those files are parsed plainly")
            return nil
        }
        plans.byGroup[key, default: []].append((output, headers, closure))
        plans.recipes[output] = (arguments + commonArguments, prefixText)
        if !common.isEmpty { plans.definedInVariant[output] = Set(common.keys) }
        if built[output] != nil || Self.isFresh(output) { built[output] = output; plans.built.insert(output); return output }
        let prefix = directory + "/" + name + ".h"
        try? prefixText.write(toFile: prefix, atomically: true, encoding: .utf8)
        toBuild.append(Plan(output: output, prefix: prefix, arguments: arguments + commonArguments, representative: users[0]))
        return output
    }

    /// The CONFIG_ symbols every one of `users` defines alike (the Makefile gate of a driver's
    /// directory, outside the configuration): built into their headers, those that test them
    /// then keep none of the users out, and no variant is needed for them.
    private func commonDefines(of users: [String]) -> [String: String] {
        var common = ownDefines[users[0]] ?? [:]
        for file in users.dropFirst() where !common.isEmpty {
            let mine = ownDefines[file] ?? [:]
            common = common.filter { mine[$0.key] == $0.value }
        }
        return common
    }

    /// The module names (`-DKBUILD_MODNAME=…`) when every one of `users` is built into the same
    /// module: a module's headers may use them outside macros (a `dev_dbg` in an inline helper
    /// expands to `KBUILD_MODNAME`), which a build without them fails on. Only files of that
    /// module take such a build (`builtAlike`).
    private func commonModule(of users: [String]) -> [String] {
        guard let user = users.first, let first = moduleDefines[user], !first.isEmpty,
              users.dropFirst().allSatisfy({ moduleDefines[$0] == first }) else { return [] }
        return first
    }

    /// Of the headers at least a share of `files`' include closures hold, the set that saves the
    /// most reading (the files whose closures hold it all, times its size), with those files and
    /// its prefix: the headers in the order the first of them enters them, each left out that
    /// one before it includes already.
    private func commonHeaders(of files: [String], closure: (String) -> Set<String>, in closures: IncludeClosure, sources: [String: SourceText])
        -> (headers: [String], users: [String], prefixText: String)? {
        let reached = parallelMap(files.count, jobs: ProcessInfo.processInfo.activeProcessorCount) { closure(files[$0]) }
        let forced = closures.forcedClosure()
        var counts: [String: Int] = [:]
        for set in reached { for header in set where !forced.contains(header) { counts[header, default: 0] += 1 } }
        var best: (headers: Set<String>, users: [Int], saved: Int)?
        for share in Self.closureShares {
            let threshold = max(2, Int((Double(files.count) * share).rounded(.up)))
            let headers = Set(counts.filter { $0.value >= threshold && closures.includeName(of: $0.key) != nil }.keys)
            let users = reached.indices.filter { reached[$0].isSuperset(of: headers) }
            let saved = users.count * headers.reduce(0) { $0 + closures.size(of: $1) }
            if users.count >= Self.minimumGroup, headers.count >= 2, saved > best?.saved ?? 0 { best = (headers, users, saved) }
        }
        guard let best else { return nil }
        var prefixText = "", covered = Set<String>()
        for header in closures.firstEntered(by: files[best.users[0]], source: sources[files[best.users[0]]]) where best.headers.contains(header) && !covered.contains(header) {
            prefixText += "#include <\(closures.includeName(of: header)!)>\n"
            covered.insert(header)
            covered.formUnion(closures.closure(of: header))
        }
        return (best.headers.sorted(), best.users.map { files[$0] }, prefixText)
    }

    /// The shares of a group's include closures tried for `commonHeaders`.
    static let closureShares = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5]

    private var includeClosures: [String: IncludeClosure] = [:]
    private let headerDirectives = HeaderDirectives()
    private var fileClosures: [String: Set<String>] = [:]
    private let fileClosuresLock = NSLock()

    private func includeClosure(group key: String, arguments: [String], inMemory: @autoclosure () -> [UnsavedFile]) -> IncludeClosure {
        if let known = includeClosures[key] { return known }
        let made = IncludeClosure(arguments: arguments, inMemory: inMemory(), directives: headerDirectives)
        includeClosures[key] = made
        return made
    }

    /// `file`'s include closure with its group's flags (its text as the scan reads it).
    private func fileClosure(_ file: String, source: SourceText?, in closures: IncludeClosure) -> Set<String> {
        fileClosuresLock.lock()
        if let known = fileClosures[file] { fileClosuresLock.unlock(); return known }
        fileClosuresLock.unlock()
        let made = closures.closure(of: file, source: source)
        fileClosuresLock.lock(); fileClosures[file] = made; fileClosuresLock.unlock()
        return made
    }

    /// The precompiled header `file` is to use, once built: none when a `CONFIG_` symbol defined
    /// for the file alone, or a macro its text defines before its last kernel include, is used
    /// by a header it holds or defined there otherwise (the header could read differently with it)
    /// — a macro defined only after every such header was read excepted.
    func headerToUse(for file: String, planned: String?) -> String? {
        guard let planned, let output = built[planned], builtAlike(file, output) else { return nil }
        let mentioned = macros(keeping: file, from: output)
        if mentioned.isEmpty, plans.definedInVariant[output] != nil { filesWithVariants += 1 }
        guard mentioned.isEmpty else {
            excludedByOwnMacros += 1
            for macro in mentioned { excludingMacros[macro, default: 0] += 1 }
            return nil
        }
        if takenByClosure.contains(file) { filesByClosure += 1 }
        return output
    }

    /// Whether `output` was built with no `CONFIG_` symbol that `file` does not define the same
    /// way (a later pass's file of the group, outside the gate its first files shared), and for
    /// `file`'s module if for one.
    private func builtAlike(_ file: String, _ output: String) -> Bool {
        guard let recipe = plans.recipes[output] else { return true }
        let mine = ownDefines[file] ?? [:]
        let module = recipe.arguments.filter(Self.isModuleDefine)
        guard module.isEmpty || Set(module) == Set(moduleDefines[file] ?? []) else { return false }
        return Self.splitArguments(recipe.arguments, file: file).ownDefines.allSatisfy { mine[$0.key] == $0.value }
    }

    /// The file's own macros that the built headers `output` use or define otherwise (those it
    /// was built with excepted).
    private func macros(keeping file: String, from output: String) -> Set<String> {
        let macros = (ownMacros[file] ?? []).filter { !(plans.definedInVariant[output]?.contains($0.name) ?? false) }
        let facts = macros.isEmpty ? HeaderMacroFacts() : Self.record(of: output).macros
        return Set(macros.filter { facts.isAffected(by: $0.name, definition: $0.definition) && !isDefinedAfterItsUsers($0.name, in: file, output: output) }.map(\.name))
    }

    /// Whether `name`, a macro `file` defines before its last kernel include, is first defined
    /// only after every header of `output` that names it was read: in the file's own order those
    /// headers read it undefined too, so reading them first changes nothing (`MIN` defined by a
    /// driver's header after its kernel includes brought `minmax.h` in). Each such header must
    /// have an include guard (it is read once) and be in the include closure of the file's
    /// includes before that definition that are read whenever the file is. A `CONFIG_` symbol of
    /// the file's own is defined before everything.
    private func isDefinedAfterItsUsers(_ name: String, in file: String, output: String) -> Bool {
        guard ownDefines[file]?[name] == nil, let preamble = preambles[file], let key = groupOf[file], let closures = includeClosures[key],
              let position = preamble.macros.first(where: { $0.macro.name == name })?.after else { return false }
        let answer = file + "\u{0}" + name + "\u{0}" + output
        if let known = definedAfterUsers[answer] { return known }
        let read = recordPaths(of: output)
        let readBefore = "\(file)\u{0}\(position)"
        let before = headersReadBefore[readBefore] ?? closures.closure(of: (0..<min(position, preamble.headers.count)).filter { preamble.sure[$0] }
            .compactMap { closures.resolve(preamble.headers[$0], quoted: false, from: "") })
        headersReadBefore[readBefore] = before
        // No header read otherwise may name it (a header that cannot be read might).
        let after = !read.isEmpty && read.allSatisfy { path in
            if before.contains(path) && closures.isGuarded(path) { return true }
            guard let text = closures.inMemoryText(path) ?? headerText(path) else { return false }
            return !text.containsIdentifier(name)
        }
        definedAfterUsers[answer] = after
        return after
    }
    private var definedAfterUsers: [String: Bool] = [:]
    private var headersReadBefore: [String: Set<String>] = [:]

    /// The headers `output` read, by standardized path.
    private func recordPaths(of output: String) -> [String] {
        if let known = recordPathsByOutput[output] { return known }
        let paths = Self.record(of: output).files.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        recordPathsByOutput[output] = paths
        return paths
    }

    private func headerText(_ path: String) -> SourceText? {
        if let known = headerTexts[path] { return known }
        var text: SourceText?
        if case .success(let source) = TextIndex.read(path) { text = source }
        headerTexts[path] = text
        return text
    }
    private var groupOf: [String: String] = [:]
    private var recordPathsByOutput: [String: [String]] = [:]
    private var headerTexts: [String: SourceText?] = [:]

    /// Variants for files that their own `CONFIG_` symbols keep from their group's built headers
    /// (a driver built only with `CONFIG_DCB`, which the networking headers test): the same
    /// headers, built with those symbols defined as the files define them, shared by the files
    /// that define the same ones — when at least `minimumGroup` do, or a variant is built already.
    /// A macro a file defines in its text before the headers keeps it out still.
    func planVariants(_ files: [String], planned: [String: String], identity: String) -> (toBuild: [Plan], assignment: [String: String]) {
        var groups: [String: (base: String, defines: [String], names: Set<String>, files: [String])] = [:]
        for file in files {
            guard let base = planned[file], built[base] != nil, plans.recipes[base] != nil else { continue }
            let mentioned = macros(keeping: file, from: base)
            let defines = ownDefines[file] ?? [:]
            guard !mentioned.isEmpty, mentioned.allSatisfy({ defines[$0] != nil }) else { continue }
            let arguments = mentioned.sorted().map { defines[$0]! }
            let name = stableHash([identity, (base as NSString).lastPathComponent] + arguments)
            groups[name, default: (base, arguments, mentioned, [])].files.append(file)
        }
        var toBuild: [Plan] = []
        var assignment: [String: String] = [:]
        for (name, group) in groups.sorted(by: { $0.key < $1.key }) {
            let output = directory + "/" + name + ".pch"
            let known = built[output] != nil || plans.built.contains(output) || Self.isFresh(output)
            guard known || group.files.count >= Self.minimumGroup, Self.lastFailure(of: output) == nil, let recipe = plans.recipes[group.base] else { continue }
            plans.definedInVariant[output] = group.names.union(plans.definedInVariant[group.base] ?? [])
            plans.recipes[output] = (recipe.arguments + group.defines, recipe.prefixText)
            for file in group.files { assignment[file] = output }
            if known { built[output] = output; plans.built.insert(output); continue }
            let prefix = directory + "/" + name + ".h"
            try? recipe.prefixText.write(toFile: prefix, atomically: true, encoding: .utf8)
            toBuild.append(Plan(output: output, prefix: prefix, arguments: recipe.arguments + group.defines, representative: group.files[0]))
        }
        return (toBuild, assignment)
    }

    static func isModuleDefine(_ argument: String) -> Bool {
        argument.hasPrefix("-DKBUILD_MODNAME=") || argument.hasPrefix("-D__KBUILD_MODNAME=") || argument.hasPrefix("-DKBUILD_MODFILE=")
    }

    /// Drivers' own headers, precompiled on top of the kernel's: most files of a driver begin with
    /// its main header (`"ice.h"`), which reads hundreds of kilobytes of the driver's own headers
    /// — most of what is left of a parse once the kernel headers are shared. Files with the same
    /// kernel headers (`base`: the precompiled header each will use), the same first `"…"`
    /// header, directory and module share one built from that header alone, chained to the
    /// kernel headers' (a build costs about one parse of that header). A file takes part only
    /// where the chained headers read as they would in its own order: its first `"…"` include is
    /// outside any `#if`, and each `<…>` header it includes before that one is among those the
    /// kernel headers' build read (it is read before the driver's header either way).
    func planDriverHeaders(_ files: [String], base: [String: String], identity: String) -> (toBuild: [Plan], assignment: [String: String]) {
        var groups: [String: (base: String, header: String, directory: String, files: [String])] = [:]
        for file in files {
            guard let kernel = base[file], plans.recipes[kernel] != nil, let preamble = preambles[file], let first = preamble.firstLocal else { continue }
            let read = Self.headerNames(readBy: kernel)
            guard preamble.headers.prefix(first.headersBefore).allSatisfy(read.contains) else { continue }
            let directory = (file as NSString).deletingLastPathComponent
            let module = moduleDefines[file] ?? []
            let name = stableHash([identity, (kernel as NSString).lastPathComponent, first.path, directory] + module)
            groups[name, default: (kernel, first.path, directory, [])].files.append(file)
        }
        var toBuild: [Plan] = []
        var assignment: [String: String] = [:]
        for (key, group) in groups.sorted(by: { $0.key < $1.key }) {
            guard let recipe = plans.recipes[group.base] else { continue }
            // The CONFIG_ symbols every file defines alike (the driver's own gate) are built in,
            // as for a group's kernel headers.
            let builtIn = Self.splitArguments(recipe.arguments, file: group.files[0]).ownDefines
            var common = (ownDefines[group.files[0]] ?? [:]).filter { builtIn[$0.key] == nil }
            for file in group.files.dropFirst() where !common.isEmpty {
                let mine = ownDefines[file] ?? [:]
                common = common.filter { mine[$0.key] == $0.value }
            }
            let commonArguments = common.keys.sorted().map { common[$0]! }
            let arguments = recipe.arguments + commonArguments + (moduleDefines[group.files[0]] ?? []) + ["-I" + group.directory]
            let output = directory + "/" + stableHash([key] + commonArguments) + ".pch"
            let known = built[output] != nil || plans.built.contains(output) || Self.isFresh(output)
            guard known || group.files.count >= Self.minimumGroup, Self.lastFailure(of: output) == nil else { continue }
            let prefixText = "#include \"\(group.header)\"\n"
            plans.recipes[output] = (arguments, prefixText)
            plans.driverHeaderBase[output] = group.base
            plans.definedInVariant[output] = Set(common.keys).union(plans.definedInVariant[group.base] ?? [])
            for file in group.files { assignment[file] = output }
            if known { built[output] = output; plans.built.insert(output); continue }
            let prefix = (output as NSString).deletingPathExtension + ".h"
            try? prefixText.write(toFile: prefix, atomically: true, encoding: .utf8)
            toBuild.append(Plan(output: output, prefix: prefix, arguments: arguments, representative: group.files[0], base: group.base))
        }
        return (toBuild, assignment)
    }

    /// The driver's headers `file` is to use, once built, on top of its kernel headers `base`
    /// (which it takes otherwise): none when the file's module differs (`builtAlike`), or a `CONFIG_` symbol of
    /// its own or a macro it defines before its first `"…"` include is used or defined otherwise
    /// by the driver's headers or the kernel's.
    func driverHeaderToUse(for file: String, planned: String?, base: String) -> String {
        guard let planned, let output = built[planned], plans.driverHeaderBase[output] == base, builtAlike(file, output),
              let preamble = preambles[file], let first = preamble.firstLocal else { return base }
        let defined = plans.definedInVariant[output] ?? []
        var early = Set((ownDefines[file] ?? [:]).keys.filter { !defined.contains($0) }.map { EarlyMacro(name: $0, definition: nil) })
        var byName: [String: EarlyMacro] = [:]
        for (macro, _) in preamble.macros.prefix(first.macrosBefore) {
            byName[macro.name] = byName[macro.name] == nil ? macro : EarlyMacro(name: macro.name, definition: nil)
        }
        early.formUnion(byName.values)
        let driverFacts = Self.record(of: output).macros, kernelFacts = Self.record(of: base).macros
        guard !early.contains(where: { driverFacts.isAffected(by: $0.name, definition: $0.definition)
            || (!defined.contains($0.name) && kernelFacts.isAffected(by: $0.name, definition: $0.definition)) }) else { return base }
        filesWithDriverHeaders += 1
        return output
    }

    /// The names (`linux/list.h`, `asm/io.h`) under which a build's files can be included.
    static func headerNames(readBy output: String) -> Set<String> {
        namesLock.lock()
        if let known = headerNamesByOutput[output] { namesLock.unlock(); return known }
        namesLock.unlock()
        var names = Set<String>()
        for path in record(of: output).files {
            var rest = Substring(path)
            while let range = rest.range(of: "/include/") {
                rest = rest[range.upperBound...]
                var name = rest
                names.insert(String(name))
                for prefix in ["generated/", "uapi/"] where name.hasPrefix(prefix) {
                    name = name.dropFirst(prefix.count)
                    names.insert(String(name))
                }
            }
        }
        namesLock.lock(); headerNamesByOutput[output] = names; namesLock.unlock()
        return names
    }
    nonisolated(unsafe) private static var headerNamesByOutput: [String: Set<String>] = [:]
    private static let namesLock = NSLock()

    /// Records what building did: a failed build leaves its files to plain parses.
    func record(_ plan: Plan, failure: String?) -> Bool {
        if let failure {
            notes.append(plan.base == nil ? "shared precompiled headers could not be built (\(failure)); those files are parsed plainly"
                         : "a driver's own headers could not be precompiled (\(failure)); its files take the kernel headers' alone")
            try? FileManager.default.removeItem(atPath: plan.output)
            return false
        }
        built[plan.output] = plan.output
        plans.built.insert(plan.output)
        // Built anew (perhaps in another process): what was read of it before is stale.
        Self.recordLock.lock(); Self.records[plan.output] = nil; Self.functionLists[plan.output] = nil; Self.recordLock.unlock()
        return true
    }

    /// What is saved beside a precompiled header: the files it read (with their size and
    /// modification time: the cache's dependencies of every file parsed with it, and how a later
    /// scan knows it is still valid) and the functions its headers define. The functions, which
    /// only the parses need, are kept in a file of their own (`functionsFile`): planning reads
    /// the rest of every record.
    struct Record: Codable {
        enum CodingKeys: String, CodingKey { case files, stamps, macros, failure }
        var files: [String] = []
        var stamps: [ResultCache.Dependency] = []
        var functions: [SharedHeaderFunction] = []
        /// What the headers' code does with macros (identifiers used, definitions).
        var macros = HeaderMacroFacts()
        /// Why the build failed (then nothing was saved but this record).
        var failure: String?

        init(files: [String], functions: [SharedHeaderFunction], macros: HeaderMacroFacts = HeaderMacroFacts(), failure: String? = nil) {
            self.files = files
            self.stamps = files.compactMap(ResultCache.stamp)
            self.functions = functions
            self.macros = macros
            self.failure = failure
        }

        /// Every file it read still has the size and modification time it had then.
        var headersUnchanged: Bool { !stamps.isEmpty && stamps.allSatisfy { ResultCache.stamp($0.path) == $0 } }
    }

    static func recordFile(of output: String) -> String { output + ".record" }
    static func functionsFile(of output: String) -> String { output + ".functions" }

    static func save(_ record: Record, of output: String) {
        // The functions first: a record on disk names a complete build.
        var text = ""
        for function in record.functions {
            text += "\(function.name)\t\(function.file)\t\(function.offset)\t\(function.identifiers.sorted().joined(separator: " "))\n"
        }
        try? Data(text.utf8).write(to: URL(fileURLWithPath: functionsFile(of: output)))
        try? record.encoded().write(to: URL(fileURLWithPath: recordFile(of: output)))
        recordLock.lock(); records[output] = record; functionLists[output] = SharedHeaderFunctions(record.functions); recordLock.unlock()
    }

    /// The functions the headers of `output` define (read once per process).
    static func functions(of output: String) -> SharedHeaderFunctions {
        recordLock.lock()
        if let known = functionLists[output] { recordLock.unlock(); return known }
        recordLock.unlock()
        var functions: [SharedHeaderFunction] = []
        if let data = FileManager.default.contents(atPath: functionsFile(of: output)) {
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard fields.count == 4, let offset = Int(fields[2]) else { continue }
                functions.append(SharedHeaderFunction(name: String(fields[0]), file: String(fields[1]), offset: offset,
                                                      identifiers: Set(fields[3].split(separator: " ").map(String.init))))
            }
        }
        let list = SharedHeaderFunctions(functions)
        recordLock.lock(); functionLists[output] = list; recordLock.unlock()
        return list
    }
    nonisolated(unsafe) private static var functionLists: [String: SharedHeaderFunctions] = [:]

    static func record(of output: String) -> Record {
        recordLock.lock()
        if let known = records[output] { recordLock.unlock(); return known }
        recordLock.unlock()
        let record = readRecord(of: output)
        recordLock.lock(); records[output] = record; recordLock.unlock()
        return record
    }
    nonisolated(unsafe) private static var records: [String: Record] = [:]
    private static let recordLock = NSLock()

    private static func readRecord(of output: String) -> Record {
        guard let data = FileManager.default.contents(atPath: recordFile(of: output)),
              let record = Record(encoded: data) else { return Record(files: [], functions: []) }
        return record
    }

    /// A precompiled header from an earlier scan whose headers are all unchanged.
    static func isFresh(_ output: String) -> Bool {
        guard FileManager.default.fileExists(atPath: output), FileManager.default.fileExists(atPath: functionsFile(of: output)) else { return false }
        let record = readRecord(of: output)
        return record.failure == nil && record.headersUnchanged
    }

    /// Why an earlier build of `output` failed, if it did and every header it read is unchanged.
    static func lastFailure(of output: String) -> String? {
        guard FileManager.default.fileExists(atPath: recordFile(of: output)), !FileManager.default.fileExists(atPath: output) else { return nil }
        let record = readRecord(of: output)
        guard let failure = record.failure, record.headersUnchanged else { return nil }
        return failure
    }
}

/// What planning shared precompiled headers learned — per group of flags the headers planned
/// (a later pass's files of that group use them rather than parse plainly for want of company),
/// how each was built, the symbols each variant was built with, which are built — kept for the
/// scan's later passes and for another scan of the same tree into the same directory (the
/// gate's other end, whose few changed files then need no headers of their own).
final class PrecompiledHeaderPlans: @unchecked Sendable {
    /// Per group, the headers planned: by name, or (`closure`) by path, for files whose include
    /// closure holds them all.
    var byGroup: [String: [(output: String, headers: [String], closure: Bool)]] = [:]
    var recipes: [String: (arguments: [String], prefixText: String)] = [:]
    /// Per output built with `CONFIG_` symbols of its files (a variant, or the symbols a whole
    /// group defines alike), those symbols: they cannot keep a file that defines them out.
    var definedInVariant: [String: Set<String>] = [:]
    /// Per driver's headers, the kernel headers' precompiled header they are chained to.
    var driverHeaderBase: [String: String] = [:]
    var built: Set<String> = []

    /// The plans as the result cache keeps them between scans.
    struct Stored: Codable {
        struct Planned: Codable { var output: String; var headers: [String]; var closure: Bool? }
        struct Recipe: Codable { var arguments: [String]; var prefixText: String }
        var byGroup: [String: [Planned]]
        var recipes: [String: Recipe]
        var definedInVariant: [String: [String]]
        var driverHeaderBase: [String: String]?
    }

    /// What is built, or was taken from an earlier scan and not found stale.
    var stored: Stored {
        let kept = built.union(unverified)
        return Stored(byGroup: byGroup.mapValues { $0.filter { kept.contains($0.output) }.map { Stored.Planned(output: $0.output, headers: $0.headers, closure: $0.closure ? true : nil) } }.filter { !$0.value.isEmpty },
                      recipes: recipes.filter { kept.contains($0.key) }.mapValues { Stored.Recipe(arguments: $0.arguments, prefixText: $0.prefixText) },
                      definedInVariant: definedInVariant.filter { kept.contains($0.key) }.mapValues { $0.sorted() },
                      driverHeaderBase: driverHeaderBase.filter { kept.contains($0.key) })
    }

    /// Outputs taken from an earlier scan whose freshness is not checked yet (reading a record
    /// costs more than most rescans use): each is checked when a file would take it.
    private var unverified: Set<String> = []

    /// Takes an earlier scan's plans: a rescan's few changed files use their group's headers
    /// instead of parsing plainly for want of company, if those are still fresh on disk (their
    /// headers unchanged). Plans this scan made already come first.
    func adopt(_ earlier: Stored) {
        for (group, planned) in earlier.byGroup {
            let known = Set((byGroup[group] ?? []).map(\.output))
            for plan in planned where !known.contains(plan.output) && !built.contains(plan.output) {
                byGroup[group, default: []].append((plan.output, plan.headers, plan.closure ?? false))
                unverified.insert(plan.output)
            }
        }
        for (output, recipe) in earlier.recipes where recipes[output] == nil {
            recipes[output] = (recipe.arguments, recipe.prefixText)
            if !built.contains(output) { unverified.insert(output) }
        }
        for (output, names) in earlier.definedInVariant where definedInVariant[output] == nil { definedInVariant[output] = Set(names) }
        for (output, base) in earlier.driverHeaderBase ?? [:] where driverHeaderBase[output] == nil { driverHeaderBase[output] = base }
    }

    /// Whether a planned output may be used: planned by this scan, or taken from an earlier one
    /// and still fresh (checked once; a stale one is dropped).
    func isUsable(_ output: String) -> Bool {
        guard unverified.contains(output) else { return true }
        unverified.remove(output)
        if PrecompiledHeaders.isFresh(output) {
            built.insert(output)
            return true
        }
        for group in byGroup.keys { byGroup[group]?.removeAll { $0.output == output } }
        recipes[output] = nil
        definedInVariant[output] = nil
        driverHeaderBase[output] = nil
        return false
    }
}
