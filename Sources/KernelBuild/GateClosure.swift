import Foundation

/// What else turns on when a file's disabled Makefile gate is forced on: the symbols that
/// depend on it, default from it or are selected by it (`config NETPOLL` brings
/// `NET_POLL_CONTROLLER`; `RIONET` brings `RIONET_RX_SIZE`). Re-evaluates only that downstream
/// part of Kconfig, with the configuration's values as the user's choices.
final class GateClosure: @unchecked Sendable {
    private let resolver: KconfigResolver
    private let config: KernelConfig
    private let lock = NSLock()
    private var model: KconfigModel?
    private var referencedBy: [String: [String]] = [:]
    /// What each symbol's evaluation can read, reversed: `referencedBy`, plus the symbols a
    /// `select` or `imply` condition names, and a choice's members for everything its selection reads.
    private var readBy: [String: [String]] = [:]
    /// The configuration's values with only the compiler's facts forced: what a gate set's
    /// evaluation keeps for the symbols it cannot change.
    private var settled: KconfigEvaluator.Settled?
    private var compilerSymbols: [String: String] = [:]
    /// The configuration as a user's choices (made once: every gate set's evaluation reads them).
    private lazy var choices = config.choices
    /// Each symbol's place in the model's order: a gate set's downstream symbols are put in
    /// that order without walking the whole model.
    private var positions: [String: Int] = [:]
    private var cache: [[String]: [String]] = [:]
    private var indexed = false
    private var readFiles = Set<String>()

    /// The Kconfig files read so far (the model's, and every arch's when another arch was looked for).
    var filesRead: Set<String> {
        lock.lock()
        defer { lock.unlock() }
        return readFiles
    }

    init(resolver: KconfigResolver, config: KernelConfig, model: KconfigModel?) {
        self.resolver = resolver
        self.config = config
        self.model = model
    }

    /// `-D` flags for `gates`, the symbols they require (`depends on`), and the symbols that
    /// change when those are forced to y. Evaluated outside the lock: the files of many gates are
    /// set up in parallel, and each gate set takes milliseconds to evaluate.
    func defines(forcing gates: [String]) -> [String] {
        let key = gates.sorted()
        lock.lock()
        if let cached = cache[key] { lock.unlock(); return cached }
        let model = loadModel()
        let referencedBy = self.referencedBy, readBy = self.readBy, positions = self.positions
        let settled = settled(model: model)
        let choices = self.choices
        var forced = compilerSymbols
        lock.unlock()
        let required = requirements(of: key, model: model)
        for symbol in required { forced[symbol] = "y" }
        // Unbounded: a symbol left out would keep its settled value.
        var evaluator = KconfigEvaluator(settled: settled, model: model, user: choices, forced: forced,
                                         changing: Self.reachable(from: required, through: readBy))
        var result = required.filter { !config.isEnabled($0) }.map { "-DCONFIG_\($0)=1" }
        for name in downstream(of: required, referencedBy: referencedBy, order: model.order, positions: positions) where config.value(name) == nil && !required.contains(name) {
            guard let value = evaluator.writtenValue(name) else { continue }
            switch value {
            case "y": result.append("-DCONFIG_\(name)=1")
            case "m": result.append("-DCONFIG_\(name)_MODULE=1")
            default: result.append("-DCONFIG_\(name)=\(value)")
            }
        }
        lock.lock()
        cache[key] = result
        lock.unlock()
        return result
    }

    private func loadModel() -> KconfigModel {
        if let model, indexed { return model }
        let loaded = model ?? resolver.parseModel()
        model = loaded
        readFiles.formUnion(loaded.files)
        var index: [String: Set<String>] = [:]
        func collect(_ expression: KconfigExpr, into names: inout Set<String>) {
            switch expression {
            case .symbol(let name): names.insert(name)
            case .not(let inner): collect(inner, into: &names)
            case .and(let left, let right), .or(let left, let right), .compare(_, let left, let right):
                collect(left, into: &names)
                collect(right, into: &names)
            }
        }
        for (name, symbol) in loaded.symbols {
            var referenced = Set<String>()
            for (value, condition) in symbol.defaults { collect(value, into: &referenced); collect(condition, into: &referenced) }
            for expression in symbol.prompts + symbol.dependencies { collect(expression, into: &referenced) }
            for (selector, _) in symbol.selectedBy + symbol.impliedBy { referenced.insert(selector) }
            for reference in referenced where reference != name { index[reference, default: []].insert(name) }
        }
        referencedBy = index.mapValues { $0.sorted() }
        // What evaluating a symbol reads beyond those: the conditions of the `select`s and
        // `imply`s that name it (x86's `select ARCH_ENABLE_MEMORY_HOTREMOVE if MEMORY_HOTPLUG`).
        for (name, symbol) in loaded.symbols {
            var read = Set<String>()
            for (_, condition) in symbol.selectedBy + symbol.impliedBy { collect(condition, into: &read) }
            for reference in read where reference != name { index[reference, default: []].insert(name) }
        }
        // A choice's selection reads its dependency, its defaults' conditions and every member's
        // visibility: whatever one of those reads reaches all its members.
        for choice in loaded.choices {
            var read = Set<String>(choice.members)
            collect(choice.dependency, into: &read)
            for (_, condition) in choice.defaults { collect(condition, into: &read) }
            for member in choice.members {
                guard let symbol = loaded.symbols[member] else { continue }
                for expression in symbol.prompts + symbol.dependencies { collect(expression, into: &read) }
            }
            for name in read { index[name, default: []].formUnion(choice.members) }
        }
        readBy = index.mapValues { $0.sorted() }
        // The first place of each (a name listed twice keeps the whole walk: see `downstream`).
        positions = [:]
        for (position, name) in loaded.order.enumerated() where positions[name] == nil { positions[name] = position }
        if positions.count != loaded.order.count { positions = [:] }
        compilerSymbols = resolver.compilerSymbols()
        indexed = true
        return loaded
    }

    /// Evaluated once, with the lock held.
    private func settled(model: KconfigModel) -> KconfigEvaluator.Settled {
        if let settled { return settled }
        var evaluator = KconfigEvaluator(model: model, user: choices, forced: compilerSymbols)
        let made = evaluator.settle()
        settled = made
        return made
    }

    /// Reads the Kconfig model and every arch's symbols now, as the first file with a closed gate
    /// would (for a scan that keeps no flags, whose otherwise idle core can do it meanwhile).
    func prepare() {
        lock.lock()
        defer { lock.unlock() }
        _ = loadModel()
        _ = archSymbols()
    }

    /// The arch whose Kconfig defines what `gates` need but this arch's Kconfig does not
    /// (`obj-$(CONFIG_PPC_PMAC) += macintosh/` on x86), if one arch clang can target does.
    func foreignArch(requiredBy gates: [String], currentArch: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        let model = loadModel()
        var undefined: [String] = []
        var seen = Set<String>()
        var queue = gates
        while let name = queue.first, seen.count < 64 {
            queue.removeFirst()
            guard seen.insert(name).inserted else { continue }
            guard let symbol = model.symbols[name], symbol.type != .unknown else {
                undefined.append(name)
                continue
            }
            if let dependency = symbol.dependencies.first { queue += positiveSymbols(dependency) }
            // A symbol without a prompt is only ever selected: what its selector needs counts.
            if symbol.prompts.isEmpty, let selector = symbol.selectedBy.first { queue.append(selector.0) }
        }
        guard !undefined.isEmpty else { return nil }
        let index = archSymbols()
        var votes: [String: Int] = [:]
        for name in undefined {
            for arch in index[name] ?? [] where arch != currentArch && Architecture.clangSupported.contains(arch) {
                votes[arch, default: 0] += 1
            }
        }
        return votes.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
    }

    /// Symbols an expression needs: those of AND chains and of the first branch of an OR.
    private func positiveSymbols(_ expression: KconfigExpr) -> [String] {
        switch expression {
        case .symbol(let name): return ["y", "m", "n"].contains(name) ? [] : [name]
        case .and(let left, let right): return positiveSymbols(left) + positiveSymbols(right)
        case .or(let left, let right): return satisfied(left) || satisfied(right) ? [] : positiveSymbols(left)
        default: return []
        }
    }

    private var archSymbolIndex: [String: Set<String>]?

    /// `config NAME` lines of every arch's Kconfig files: which arches define a symbol.
    private func archSymbols() -> [String: Set<String>] {
        if let archSymbolIndex { return archSymbolIndex }
        var index: [String: Set<String>] = [:]
        let fm = FileManager.default
        let archRoot = resolver.sourceRoot + "/arch"
        for arch in (try? fm.contentsOfDirectory(atPath: archRoot)) ?? [] {
            guard let walker = fm.enumerator(atPath: archRoot + "/" + arch) else { continue }
            while let relative = walker.nextObject() as? String {
                guard (relative as NSString).lastPathComponent.hasPrefix("Kconfig"),
                      let text = try? String(contentsOfFile: "\(archRoot)/\(arch)/\(relative)", encoding: .utf8) else { continue }
                readFiles.insert("\(archRoot)/\(arch)/\(relative)")
                for line in text.split(separator: "\n") {
                    let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                    guard fields.count == 2, fields[0] == "config" || fields[0] == "menuconfig" else { continue }
                    index[String(fields[1]), default: []].insert(arch)
                }
            }
        }
        archSymbolIndex = index
        return index
    }

    /// The gates and, recursively, the symbols their `depends on` needs: every positive symbol
    /// of an AND chain, and the first of an OR that nothing satisfies yet.
    private func requirements(of gates: [String], model: KconfigModel) -> [String] {
        var result: [String] = []
        var seen = Set<String>()
        var queue = gates
        while let name = queue.first, result.count < 64 {
            queue.removeFirst()
            guard seen.insert(name).inserted else { continue }
            result.append(name)
            guard let symbol = model.symbols[name], let dependency = symbol.dependencies.first else { continue }
            queue += needed(dependency, model: model)
        }
        return result
    }

    private func needed(_ expression: KconfigExpr, model: KconfigModel) -> [String] {
        switch expression {
        case .symbol(let name):
            // Only what a user could switch on: a prompt-less symbol such as X86_32 states a
            // fact about the arch or the config, and forcing it would contradict the rest.
            guard let symbol = model.symbols[name], !symbol.prompts.isEmpty, !config.isEnabled(name) else { return [] }
            return [name]
        case .and(let left, let right):
            return needed(left, model: model) + needed(right, model: model)
        case .or(let left, let right):
            let options = [left, right]
            if options.contains(where: { satisfied($0) }) { return [] }
            return needed(left, model: model)
        default:
            return []
        }
    }

    /// Whether the base configuration already satisfies `expression` (positive atoms only).
    private func satisfied(_ expression: KconfigExpr) -> Bool {
        switch expression {
        case .symbol(let name): return name == "y" || config.isEnabled(name)
        case .and(let left, let right): return satisfied(left) && satisfied(right)
        case .or(let left, let right): return satisfied(left) || satisfied(right)
        case .not(let inner): return !satisfied(inner)
        case .compare: return true
        }
    }

    /// Symbols reachable from `gates` through references, in Kconfig order; bounded so a gate
    /// near the root of the dependency graph does not re-evaluate all of Kconfig.
    private func downstream(of gates: [String], referencedBy: [String: [String]], order: [String], positions: [String: Int]) -> [String] {
        let seen = Self.reachable(from: gates, through: referencedBy, limit: 4000)
        // In the model's order, which lists each symbol once: by each one's place, not by a walk
        // of the whole order (a gate set reaches a few of its thousands of symbols).
        guard !positions.isEmpty else { return order.filter { seen.contains($0) } }
        return seen.compactMap { positions[$0] }.sorted().map { order[$0] }
    }

    /// `start` and the symbols an index leads to from it, breadth first, until `limit` symbols
    /// are found (the symbols of the last one followed are all kept).
    private static func reachable(from start: [String], through index: [String: [String]], limit: Int = .max) -> Set<String> {
        var seen = Set(start)
        var queue = start
        var position = 0
        while position < queue.count, seen.count < limit {
            for next in index[queue[position]] ?? [] where seen.insert(next).inserted { queue.append(next) }
            position += 1
        }
        return seen
    }
}
