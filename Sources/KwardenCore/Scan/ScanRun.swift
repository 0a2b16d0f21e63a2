import Foundation
import KernelBuild
import RuleKit

/// One scan, stage by stage: find the files (`discover`), keep those a rule may match
/// (`preselect`), parse them (`checkSelectedFiles`), let the rules' questions send the scan to
/// other files (`gatherEvidence`), judge and summarise (`report`).
final class ScanRun {
    let options: ScanOptions
    let started = Date()
    let kernelRoot: String?
    /// Paths are reported relative to it.
    let root: String
    let shared: SharedScanState
    let setups: CompileSetupProvider
    let onlyArch: String?
    let runner: JobRunner
    /// Headers precompiled once for groups of files (nil: outside a kernel tree, turned off, or
    /// headers at another revision than on disk — the gate).
    let sharedHeaders: PrecompiledHeaders?
    /// Their plans, kept in the cache for the next scan (under `plansMemo`, beside the headers).
    private let sharedHeaderPlans: PrecompiledHeaderPlans?
    static let plansMemo = "shared-header-plans"
    let sessions: [RuleSession]

    var notes: [String] = []
    var failures: [FileFailure] = []
    var summary = ScanSummary()
    private(set) var discovery = SourceDiscovery.Result()
    private var texts: TextIndex!
    private(set) var selected: [String] = []
    private var outcomes: [FileOutcome] = []
    /// Per rule narrowed by the call graph, the files on its candidate chains.
    private var chainFiles: [String: Set<String>] = [:]
    /// Chain files outside the scanned paths (a gate's), parsed in pass 1 with the scanned ones.
    private var chainFilesBeyondPaths: Set<String> = []
    private var factOutcomes: [FileOutcome] = []
    /// Rules whose evidence is settled after pass 1 (narrowed by the call graph, every chain file
    /// parsed): their final judgement is made from pass 1's summaries alone, on another thread
    /// while the evidence passes run, and what those passes extract is not given to them.
    private var settled: Set<String> = []
    private var earlyJudgements: [String: ErasedJudgement] = [:]
    private let earlyJudging = DispatchGroup()
    private let earlyLock = NSLock()

    init(options: ScanOptions) throws {
        self.options = options
        kernelRoot = options.paths.lazy.compactMap { BuildContext.findTreeRoot(containing: URL(fileURLWithPath: $0).standardizedFileURL.path) }.first
        root = options.root ?? kernelRoot ?? RelativePath.commonDirectory(options.paths)
        shared = options.shared ?? SharedScanState()
        let setupKey = [kernelRoot ?? "", options.compileCommands ?? "", options.arch ?? ""] + options.extraArguments
        let kernelRoot = self.kernelRoot
        // Without a cache, configurations are kept for the scan's workers in its scratch directory.
        let configurations: ConfigurationStore? = options.cache
            ?? kernelRoot.map { [shared] _ in ScratchConfigurations(directory: shared.scratchDirectory + "/configurations", writable: true) }
        setups = try shared.setups(key: setupKey.joined(separator: "\n")) {
            try CompileSetupProvider(kernelRoot: kernelRoot, compileCommands: options.compileCommands,
                                     arch: options.arch, extraArguments: options.extraArguments, configurations: configurations)
        }
        onlyArch = options.allArches ? nil : setups.primaryArch
        runner = JobRunner(options: options, setups: setups, kernelRoot: kernelRoot)
        if kernelRoot != nil && options.sharedHeaders && !options.overlay.files.keys.contains(where: { $0.hasSuffix(".h") }) {
            let directory = options.cache.map { ($0.path as NSString).deletingLastPathComponent } ?? shared.scratchDirectory
            let plans = options.shared.map { $0.precompiledHeaderPlans(directory: directory) } ?? PrecompiledHeaderPlans()
            if let cache = options.cache, let data = cache.memo(name: Self.plansMemo, key: ResultCache.buildIdentity),
               let earlier = try? JSONDecoder().decode(PrecompiledHeaderPlans.Stored.self, from: data) {
                plans.adopt(earlier)
            }
            sharedHeaders = PrecompiledHeaders(in: directory, plans: plans)
            sharedHeaderPlans = plans
        } else {
            sharedHeaders = nil
            sharedHeaderPlans = nil
        }
        sessions = options.rules.map { $0.session() }
        if let cache = options.cache { setups.loadFlags(from: cache) }
        if kernelRoot == nil { notes.append("not inside a kernel tree: flags from compile_flags.txt where present") }
    }

    /// The .c files under the paths, and notes on what was left out.
    func discover() throws {
        let options = self.options, root = self.root, onlyArch = self.onlyArch
        discovery = SourceDiscovery(excludes: options.excludes, onlyArch: onlyArch).discover(paths: options.paths.filter { !options.overlay.contains($0) }, root: root, isKernelTree: kernelRoot != nil)
        discovery.files = (discovery.files + options.paths.filter { options.overlay.contains($0) && $0.hasSuffix(".c") }).sorted()
        guard !discovery.files.isEmpty else { throw ScanError.nothingToScan(Scanner.whyNothing(discovery, paths: options.paths)) }
        failures = discovery.missing.map { FileFailure(file: $0, reason: "no such file or directory") }
        // A tree's configuration may exclude parts outside this scan's paths; only a pattern that
        // reaches into the scanned paths and leaves nothing out is a mistake worth a warning.
        let scanned = options.paths.map { RelativePath.make(URL(fileURLWithPath: $0).standardizedFileURL.path, root: root) }
        func reachesScannedPaths(_ pattern: String) -> Bool {
            let literal = String(pattern.prefix { $0 != "*" && $0 != "?" && $0 != "[" }).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            return scanned.contains { path in
                path == root || path.hasPrefix("/") || literal.isEmpty || literal == path
                    || literal.hasPrefix(path + "/") || path.hasPrefix(literal + "/") || (pattern.contains("*") && path.hasPrefix(literal))
            }
        }
        for pattern in options.excludes where !discovery.matchedExcludes.contains(pattern) && reachesScannedPaths(pattern) {
            notes.append("warning: exclude '\(pattern)' matches nothing under the scanned paths (patterns are relative to \(root))")
        }
        for path in discovery.notSources {
            notes.append("\(path): not scanned: not a .c file (headers are checked through the .c files that include them)")
        }
        if discovery.skippedUserspace > 0 {
            notes.append("skipped \(discovery.skippedUserspace) .c files of userspace programs (\(SourceDiscovery.kernelUserspaceDirectories.joined(separator: ", ")))")
        }

        if discovery.skippedOtherArch > 0, let onlyArch {
            notes.append("left out \(discovery.skippedOtherArch) .c files under arch/ of other architectures than \(onlyArch) (--arch NAME for another, --all-arches for all)")
        }
        summary.filesConsidered = discovery.files.count
    }

    /// Pass 1's selection: the files some rule's textual preselection keeps (this shard's share).
    func preselect() {
        let options = self.options, root = self.root
        options.progress.message("reading \(discovery.files.count) files")
        let rules = options.rules
        // Verdicts depend on the rules' metadata and kwarden's build.
        let identity = stableHash(rules.map { String(decoding: SummaryCoding.encode($0.metadata), as: UTF8.self) } + [ResultCache.buildIdentity])
        texts = TextIndex(files: discovery.files, jobs: options.jobs, overlay: options.overlay, cache: options.cache, identity: identity) { source in
            rules.map { $0.preselect(source) }
        }
        failures += texts.unreadable
        deriveFlagsMeanwhile()
        narrowByCallGraph()
        prepareIndexMeanwhile()
        let notUTF8 = texts.notUTF8.count
        if notUTF8 > 0 { notes.append("\(notUTF8) file\(notUTF8 == 1 ? " is" : "s are") not valid UTF-8 (parsed as bytes): \(texts.notUTF8.prefix(5).map { RelativePath.make($0, root: root) }.joined(separator: ", "))\(notUTF8 > 5 ? ", …" : "")") }
        selected = texts.firstSelection + chainFilesBeyondPaths.sorted()
        let selectedSet = Set(selected)
        for file in discovery.named.sorted() where !selectedSet.contains(file) && !texts.unreadableFiles.contains(file) {
            notes.append("\(RelativePath.make(file, root: root)): not parsed: no rule's preselection keeps it (it holds none of the calls and shapes the rules look for, or lies on no candidate chain of the call graph)")
        }
        if let shard = options.shard {
            selected = shard.share(of: selected.map { RelativePath.make($0, root: root) }).map { selected[$0] }
            notes.append("shard \(shard): \(selected.count) of \(selectedSet.count) preselected files")
        }
    }

    /// The flags of the files that rules not narrowed by the call graph keep are derived on a
    /// background thread while the call graph is joined (serial, on one core): deriving flags
    /// (Makefiles, Kconfig gates) is most of planning the shared headers.
    private func deriveFlagsMeanwhile() {
        guard kernelRoot != nil, options.callGraph else { return }
        let plain = options.rules.indices.filter { options.rules[$0].callGraphCriteria == nil }
        guard plain.count < options.rules.count else { return }
        let texts = self.texts!, setups = self.setups
        let files = discovery.files.filter { file in plain.contains { texts.isSelected(file, rule: $0) } }
        DispatchQueue.global(qos: .utility).async { for file in files { _ = try? setups.setup(for: file) } }
    }

    /// Without a cache, the identifier index of a wider fact scope (the gate's whole tree) makes
    /// its files' signatures on a background thread while the scan's own files are parsed.
    private func prepareIndexMeanwhile() {
        guard options.cache == nil, let scope = options.factScope else { return }
        let index = shared.scopeIndex(scope, root: root, onlyArch: onlyArch, isKernelTree: kernelRoot != nil, excludes: options.excludes, cache: nil)
        DispatchQueue.global(qos: .utility).async { index.prepareSignatures() }
    }

    /// Rules that follow chains across functions parse the files on the candidate chains of the
    /// scanned files' textual call graph, all of them in pass 1, and no others. A scan whose
    /// evidence comes from a wider scope (the gate: a few changed files against the whole tree)
    /// is narrowed only when told which files its chains must run through (`chainFocus`).
    private func narrowByCallGraph() {
        let narrowing = options.rules.enumerated().compactMap { index, rule in rule.callGraphCriteria.map { (index: index, rule: rule, criteria: $0) } }
        guard options.callGraph, !narrowing.isEmpty, options.factScope == nil || options.chainFocus != nil else { return }
        let started = Date()
        let chains: ChainSelection
        if let focus = options.chainFocus, let scope = options.factScope {
            // Both ends of a gate outline the same files (the changed ones at both revisions):
            // the chains are the same, found once.
            let key = ([root, onlyArch ?? ""] + scope + ["--"] + options.excludes + ["--"] + narrowing.map(\.rule.id)).joined(separator: "\n")
            chains = shared.chains(key: key) {
                let found = shared.scopeFiles(scope, root: root, onlyArch: onlyArch, isKernelTree: kernelRoot != nil, excludes: options.excludes)
                let known = Set(found.files + found.headers)
                let files = found.files + found.headers + focus.files.filter { !known.contains($0) }.sorted()
                return chainSelection(files, otherRevision: focus.otherRevision, focus: focus.files, narrowing: narrowing)
            }
        } else {
            chains = chainSelection(texts.readableFiles + discovery.headers, otherRevision: nil, focus: nil, narrowing: narrowing)
        }
        let scanned = Set(discovery.files)
        for (index, rule, _) in narrowing {
            let before = texts.count(rule: index)
            // Files named one by one are parsed as asked.
            let keep = Set(chains.files[rule.id] ?? []).union(discovery.named.filter { texts.isSelected($0, rule: index) })
            chainFiles[rule.id] = keep
            summary.filesSkippedByCallGraph += texts.restrict(rule: index, ruleCount: options.rules.count, to: keep)
            // Chain files outside the scanned paths (the gate's) are parsed in pass 1 too.
            chainFilesBeyondPaths.formUnion(keep.subtracting(scanned).filter { $0.hasSuffix(".c") })
            let timing = chains.outlined > 0 ? " (\(chains.definitions) functions and macros in \(chains.outlined) files, \(String(format: "%.1f", Date().timeIntervalSince(started))) s; --no-call-graph parses by text search alone)" : ""
            if options.chainFocus != nil {
                notes.append("\(rule.id): \(keep.filter { $0.hasSuffix(".c") }.count) files on candidate chains through the changed files parsed\(timing)")
            } else {
                notes.append("\(rule.id): \(texts.count(rule: index)) files on candidate chains of the call graph parsed, against \(before) by text search alone\(timing)")
            }
        }
    }

    /// Per narrowed rule, the files on its candidate chains of the textual call graph of `listed`
    /// (and of `otherRevision`'s versions of them, as further files of the same paths), through
    /// one of `focus` when given. The kernel's own headers are added: their inline helpers
    /// release and poll for every driver.
    ///
    /// The selection is kept in the cache under a digest of every file's outline and the rules'
    /// criteria: a rescan whose edits change no outline (most edits inside a function body)
    /// joins no graph; any other rescan joins it again from the kept outlines.
    private func chainSelection(_ listed: [String], otherRevision: SourceOverlay?, focus: Set<String>?,
                                narrowing: [(index: Int, rule: AnyRule, criteria: CallGraphCriteria)]) -> ChainSelection {
        var files = listed
        if let kernelRoot {
            let known = Set(files)
            files += SourceDiscovery().discover(paths: [kernelRoot + "/include"], root: kernelRoot, isKernelTree: true).headers.filter { !known.contains($0) }
        }
        options.progress.message("outlining \(files.count) files for the call graph")
        let overlay = options.overlay, cache = options.cache, jobs = options.jobs
        // With a cache, every file's outline, encoded: kept for files unchanged since an earlier
        // scan, made (and kept) for the rest. Without one, each is made from its file while the
        // graph is joined, and never encoded.
        var encoded = [Data?](repeating: nil, count: files.count)
        if let cache {
            let stamps = files.map { overlay.contains($0) ? nil : FileStamp(path: $0) }
            let kept = cache.textFacts(family: "outline", identity: ResultCache.buildIdentity, for: files, stamps: stamps)
            let made = parallelMap(files.count, jobs: jobs) { i -> (encoded: Data, fresh: Bool) in
                if let data = kept[i] { return (data, false) }
                guard case .success(let source) = overlay.read(files[i]) else { return (Data(), false) }
                return (CallOutline(source, isHeader: files[i].hasSuffix(".h")).encoded, true)
            }
            cache.storeTextFacts(family: "outline", identity: ResultCache.buildIdentity,
                                 files.indices.compactMap { i in made[i].fresh ? stamps[i].map { (files[i], $0, made[i].encoded) } : nil })
            encoded = made.map(\.encoded)
        }
        var paths = files
        for path in otherRevision?.files.keys.sorted() ?? [] where path.hasSuffix(".c") || path.hasSuffix(".h") {
            guard let bytes = otherRevision?.files[path] else { continue }
            paths.append(path)
            encoded.append(CallOutline(SourceText(bytes: bytes), isHeader: path.hasSuffix(".h")).encoded)
        }

        let memoName = "call-graph-chains|" + stableHash([root, onlyArch ?? "", focus == nil ? "scan" : "gate"] + options.paths + ["--"] + (options.factScope ?? []))
        var digest = ContentDigest()
        digest.add(ResultCache.buildIdentity)
        for (_, rule, _) in narrowing { digest.add(rule.id); digest.add(SummaryCoding.encode(rule.metadata)) }
        digest.add("focus")
        for file in focus?.sorted() ?? [] { digest.add(file) }
        if let cache {
            digest.add("outlines")
            for (path, data) in zip(paths, encoded) { digest.add(path); digest.add(data ?? Data()) }
            if let data = cache.memo(name: memoName, key: digest.value), let known = try? JSONDecoder().decode(ChainSelection.self, from: data) {
                return known
            }
        }

        // The graph, joined in slices: the next slice's outlines are decoded meanwhile (joining is serial).
        let graph = CallGraph()
        let slice = 4096
        let starts = Array(stride(from: 0, to: paths.count, by: slice))
        func decoded(_ start: Int) -> [CallOutline] {
            let range = start..<min(paths.count, start + slice)
            return parallelMap(range.count, jobs: jobs) { offset -> CallOutline in
                let i = range.lowerBound + offset
                if let data = encoded[i], let outline = CallOutline(encoded: data) { return outline }
                guard case .success(let source) = overlay.read(paths[i]) else { return CallOutline() }
                return CallOutline(source, isHeader: paths[i].hasSuffix(".h"))
            }
        }
        var ahead = starts.first.map { start in Ahead { decoded(start) } }
        for (position, start) in starts.enumerated() {
            guard let outlines = ahead?.value else { break }
            ahead = position + 1 < starts.count ? Ahead { [next = starts[position + 1]] in decoded(next) } : nil
            for (offset, outline) in outlines.enumerated() { graph.add(path: paths[start + offset], outline: outline) }
        }
        // Choosing the chain files is serial: without a cache (where no flags are kept), the
        // other core builds meanwhile what the chain files' flags will need.
        if cache == nil, kernelRoot != nil { DispatchQueue.global(qos: .utility).async { [setups] in setups.prepareFileQueries() } }
        let focused = focus.map { focus in Set(paths.indices.filter { focus.contains(paths[$0]) }) }
        var selection = ChainSelection(outlined: paths.count, definitions: graph.definitionCount)
        for (_, rule, criteria) in narrowing {
            selection.files[rule.id] = Set(graph.selectFiles(criteria, through: focused).map { paths[$0] }).sorted()
        }
        if let data = try? JSONEncoder().encode(selection) { cache?.storeMemo(name: memoName, key: digest.value, data: data) }
        // Taking a graph of the whole tree apart is a few hundred milliseconds: not on the way
        // to parsing.
        DispatchQueue.global(qos: .utility).async { withExtendedLifetime(graph) {} }
        return selection
    }

    func dryRunResult() -> ScanResult {
        ScanResult(root: root, findings: [], summary: summary, failures: failures,
                   parseErrors: [], notes: notes + selected.map { "would parse " + RelativePath.make($0, root: root) })
    }

    /// The jobs that parse `files` in a pass, each with the shared precompiled headers of its group
    /// (precompiled first where missing). A file whose headers are settled while headers are still
    /// to be built is parsed alongside the builds (a file no headers are planned for, with the
    /// kernel headers' builds; a file no driver's headers are planned for, with the drivers'):
    /// `parsed` holds their outcomes, and `jobs` the rest.
    private func jobs(_ files: [String], pass: Int, questions: [String: Data] = [:], phase: String) throws -> (jobs: [FileJob], parsed: [String: FileOutcome]) {
        let options = self.options, setups = self.setups
        guard let sharedHeaders else { return (files.map { fileJob($0, pass: pass, questions: questions) }, [:]) }
        let entries = parallelMap(files.count, jobs: options.jobs) { i -> (file: String, arguments: [String], source: SourceText)? in
            guard let arguments = try? setups.setup(for: files[i]).arguments, case .success(let source) = options.overlay.read(files[i]) else { return nil }
            return (files[i], arguments, source)
        }.compactMap { $0 }
        var parsed: [String: FileOutcome] = [:]
        func build(_ plans: [PrecompiledHeaders.Plan], alongside settled: [FileJob] = []) throws {
            guard !plans.isEmpty else { return }
            let builds = plans.map { plan -> FileJob in
                var job = FileJob(file: plan.prefix, pass: pass)
                job.precompile = PrecompileRequest(prefix: plan.prefix, output: plan.output, arguments: plan.arguments, representative: plan.representative,
                                                   base: plan.base)
                return job
            }
            let label = settled.isEmpty ? "precompiling shared headers" : "\(phase) (and precompiling \(plans.count) shared headers)"
            let outcomes = try runner.run(builds + settled, phase: label, lookedUp: true)
            for (plan, outcome) in zip(plans, outcomes) {
                _ = sharedHeaders.record(plan, failure: outcome.failure)
            }
            for (job, outcome) in zip(settled, outcomes.dropFirst(plans.count)) { parsed[job.file] = outcome }
        }
        let planned = sharedHeaders.plan(entries, configurationKey: { setups.configurationKey(for: $0) },
                                         unsavedFiles: { (try? setups.setup(for: $0).unsavedFiles) ?? [] }, identity: ResultCache.buildIdentity)
        // Files no headers are planned for are parsed plainly, whatever is built.
        try build(planned.toBuild, alongside: files.filter { planned.assignment[$0] == nil }.map { fileJob($0, pass: pass, questions: questions) })
        // Files their own CONFIG_ symbols keep from their group's headers may share a variant.
        let variants = sharedHeaders.planVariants(files, planned: planned.assignment, identity: ResultCache.buildIdentity)
        try build(variants.toBuild)
        let remaining = files.filter { parsed[$0] == nil }
        var kernelHeaders: [String: String] = [:]
        for file in remaining {
            let variant = variants.assignment[file].flatMap { sharedHeaders.built[$0] }
            kernelHeaders[file] = sharedHeaders.headerToUse(for: file, planned: variant ?? planned.assignment[file])
        }
        // Then each driver's own headers, on top of the kernel headers its files took.
        let drivers = sharedHeaders.planDriverHeaders(remaining, base: kernelHeaders, identity: ResultCache.buildIdentity)
        func job(_ file: String) -> FileJob {
            let header = kernelHeaders[file].map { sharedHeaders.driverHeaderToUse(for: file, planned: drivers.assignment[file], base: $0) }
            var job = fileJob(file, pass: pass, questions: questions, precompiledHeader: header)
            if header != kernelHeaders[file] { job.kernelHeader = kernelHeaders[file] }
            return job
        }
        if drivers.toBuild.isEmpty { return (remaining.map(job), parsed) }
        try build(drivers.toBuild, alongside: remaining.filter { drivers.assignment[$0] == nil }.map(job))
        return (remaining.filter { parsed[$0] == nil }.map(job), parsed)
    }

    /// The job that parses `file` in a pass: evidence passes skip the settled rules' extraction.
    private func fileJob(_ file: String, pass: Int, questions: [String: Data], precompiledHeader: String? = nil) -> FileJob {
        var job = FileJob(file: file, pass: pass, questions: questions, precompiledHeader: precompiledHeader)
        if pass > 1 && !settled.isEmpty { job.skippedRules = settled.sorted() }
        return job
    }

    /// Parses `files` in a pass. Outcomes kept from an earlier scan are taken first; only the
    /// rest are planned into groups with shared precompiled headers (planning reads each file
    /// and its local headers: on a rescan, all but the changed files are kept).
    private func parse(_ files: [String], pass: Int, questions: [String: Data] = [:], phase: String) throws -> [FileOutcome] {
        if options.cache != nil || options.shared != nil { options.progress.message("\(phase): looking up \(files.count) files' kept results") }
        let kept = runner.lookups(files.map { fileJob($0, pass: pass, questions: questions) }, eitherSharing: true).map(\.hit)
        let missing = files.indices.filter { kept[$0] == nil }
        guard !missing.isEmpty else { return kept.compactMap { $0 } }
        // The kept summaries are decoded while the rest are parsed.
        let decoding = DispatchGroup()
        for (rule, session) in zip(options.rules, sessions) where !settled.contains(rule.id) {
            let encoded = kept.compactMap { $0?.summaries[rule.id] }
            if !encoded.isEmpty { DispatchQueue.global().async(group: decoding) { session.decodeAhead(encoded) } }
        }
        defer { decoding.wait() }
        let planned = try jobs(missing.map { files[$0] }, pass: pass, questions: questions, phase: phase)
        var parsed = planned.parsed
        for (job, outcome) in zip(planned.jobs, try runner.run(planned.jobs, phase: phase, lookedUp: true)) { parsed[job.file] = outcome }
        var outcomes = kept
        for index in missing { outcomes[index] = parsed[files[index]] }
        return outcomes.compactMap { $0 }
    }

    /// Hands each file's summaries to its rule's judge.
    private func collect(_ gathered: [FileOutcome]) {
        for (rule, session) in zip(options.rules, sessions) where !settled.contains(rule.id) {
            session.add(all: gathered.compactMap { $0.summaries[rule.id] })
        }
    }

    /// Pass 1: parse the preselected files; every rule extracts its summaries.
    func checkSelectedFiles() throws {
        let setups = self.setups
        // Grouped by architecture, so that each worker sets up as few architectures as possible.
        let archs = selected.map { (arch: setups.architecture(for: $0) ?? "", file: $0) }
        setups.prepare(architectures: Set(archs.map(\.arch).filter { !$0.isEmpty }))
        let byArch = archs.sorted { ($0.arch, $0.file) < ($1.arch, $1.file) }.map(\.file)
        outcomes = try parse(byArch, pass: 1, phase: "checking")
        collect(outcomes)
    }

    /// Evidence passes: each rule's judge asks questions; files that may answer them are parsed
    /// and every rule extracts from them again.
    func gatherEvidence() throws {
        // The last phase that parses: its workers are not needed for judging.
        defer { runner.stopWorkers() }
        let planner = EvidencePlanner(options: options, root: root, onlyArch: onlyArch, kernelRoot: kernelRoot, shared: shared,
                                      discovered: discovery.files, texts: texts, parsed: Set(selected))
        planner.chainFiles = chainFiles
        // A rule narrowed by the call graph whose chain files were all parsed in pass 1 can have
        // no file admitted for its questions: it is not asked them (its judge runs once, at the end).
        settled = Set(chainFiles.filter { $0.value.filter { $0.hasSuffix(".c") }.allSatisfy(planner.parsed.contains) }.keys)
        for (rule, session) in zip(options.rules, sessions) where settled.contains(rule.id) {
            DispatchQueue.global().async(group: earlyJudging) { [earlyLock] in
                let judgement = session.judge(.final)
                earlyLock.lock(); self.earlyJudgements[rule.id] = judgement; earlyLock.unlock()
            }
        }
        var pass = 1
        while pass < 4 {
            options.progress.message("judging after pass \(pass)")
            let judgements = zip(options.rules, sessions).map { rule, session in
                settled.contains(rule.id) ? ErasedJudgement() : session.judge(.afterPass(pass))
            }
            // Provisional findings of the first pass say where evidence is likeliest.
            if pass == 1 { planner.focus(on: judgements.flatMap(\.findings)) }
            let asked = zip(options.rules, judgements).compactMap { rule, judgement in judgement.questions.map { (rule.id, $0) } }
            pass += 1
            guard !asked.isEmpty else { break }
            options.progress.message("choosing the files of evidence pass \(pass)")
            let files = planner.files(answering: asked, pass: pass, notes: &notes)
            if files.isEmpty { continue }
            let questions = Dictionary(uniqueKeysWithValues: asked.map { ($0.0, $0.1.encoded) })
            let more = try parse(files, pass: pass, questions: questions, phase: "gathering evidence (pass \(pass))")
            planner.parsed.formUnion(files)
            factOutcomes += more
            collect(more)
        }
    }

    /// The judges' findings (minus those suppressed in the source), with the summary of the scan.
    func report() -> ScanResult {
        let options = self.options, root = self.root, setups = self.setups
        if let cache = options.cache {
            setups.storeFlags(to: cache)
            if let plans = sharedHeaderPlans, let data = try? JSONEncoder().encode(plans.stored) {
                cache.storeMemo(name: Self.plansMemo, key: ResultCache.buildIdentity, data: data)
            }
        }
        options.progress.message("judging")
        earlyJudging.wait()
        var findings = zip(options.rules, sessions).flatMap { rule, session in (earlyJudgements[rule.id] ?? session.judge(.final)).findings }
        let inline = InlineSuppressions.apply(to: findings, overlay: options.overlay)
        findings = inline.kept
        notes += inline.notes.map { RelativePath.make($0.file, root: root) + ":" + String($0.line) + ": " + $0.message }
        let outcomes = self.outcomes + factOutcomes

        // Summary and failures.
        var parseErrors: [ParseErrorReport] = []
        var countedFiles = Set<String>()
        var driverHeadersSetAside = 0
        for outcome in outcomes {
            if let failure = outcome.failure {
                failures.append(FileFailure(file: RelativePath.make(outcome.file, root: root), reason: failure))
                continue
            }
            guard countedFiles.insert(outcome.file).inserted else { continue }
            summary.filesParsed += 1
            if outcome.cached { summary.filesFromCache += 1 }
            if outcome.usedPrecompiledHeader { summary.filesWithSharedHeaders += 1 }
            if let fallback = outcome.precompiledHeaderFallback {
                summary.sharedHeaderFallbacks += 1
                if summary.sharedHeaderFallbacks <= 3 { notes.append("\(RelativePath.make(outcome.file, root: root)): parsed without the shared precompiled headers: \(fallback)") }
            }
            if let setAside = outcome.driverHeadersSetAside {
                driverHeadersSetAside += 1
                if driverHeadersSetAside <= 3 { notes.append("\(RelativePath.make(outcome.file, root: root)): parsed with the kernel's shared headers alone: \(setAside)") }
            }
            if outcome.errorCount > 0 {
                summary.filesWithErrors += 1
                summary.parseErrors += outcome.errorCount
                parseErrors.append(ParseErrorReport(file: RelativePath.make(outcome.file, root: root), errors: outcome.errorCount,
                                                    first: RelativePath.make(outcome.firstError, root: root)))
            }
        }
        summary.factFilesParsed = factOutcomes.count
        if let sharedHeaders {
            notes += sharedHeaders.notes
            if sharedHeaders.excludedByOwnMacros > 0 {
                notes.append("\(sharedHeaders.excludedByOwnMacros) file\(sharedHeaders.excludedByOwnMacros == 1 ? "" : "s") parsed without the shared precompiled headers: a CONFIG_ symbol defined for the file alone, or a macro it defines before its includes, is used in them or defined there otherwise (\(sharedHeaders.excludingMacros.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(5).map { "\($0.key): \($0.value)" }.joined(separator: ", ")))")
            }
            if summary.filesWithSharedHeaders > 0 {
                let variants = sharedHeaders.filesWithVariants > 0 ? "; \(sharedHeaders.filesWithVariants) files took headers built with CONFIG_ symbols of their own that the headers test (symbols their whole group defines alike, or a variant's)" : ""
                let setAside = driverHeadersSetAside > 0 ? " (\(driverHeadersSetAside) set them aside: they left errors the kernel's alone do not)" : ""
                let drivers = sharedHeaders.filesWithDriverHeaders > 0 ? "; \(sharedHeaders.filesWithDriverHeaders) files took their driver's own headers precompiled on top of the kernel's\(setAside)" : ""
                let closure = sharedHeaders.filesByClosure > 0 ? "; \(sharedHeaders.filesByClosure) files took headers they do not include themselves, each of them one their own includes are sure to read" : ""
                notes.append("\(summary.filesWithSharedHeaders) of \(summary.filesParsed) files parsed with shared precompiled headers (\(sharedHeaders.built.count) built or reused), \(summary.sharedHeaderFallbacks) fell back to a plain parse\(closure)\(variants)\(drivers)")
            }
        }
        if options.compileCommands != nil {
            let fallbacks = countedFiles.filter { setups.hasCompileCommand(for: $0) == false }.sorted()
            if !fallbacks.isEmpty {
                notes.append("\(fallbacks.count) of \(countedFiles.count) parsed files are not in the compile database: their flags were derived from Kbuild (\(fallbacks.prefix(5).map { RelativePath.make($0, root: root) }.joined(separator: ", "))\(fallbacks.count > 5 ? ", …" : ""))")
            }
        }
        let fileNotes = Set(outcomes.flatMap(\.notes)).sorted { ($0.file, $0.line) < ($1.file, $1.line) }
        notes += fileNotes.map { "\(RelativePath.make($0.file, root: root)):\($0.line): \($0.message)" }
        failures = failures.map { FileFailure(file: RelativePath.make($0.file, root: root), reason: $0.reason) }
        summary.filesFailed = Set(failures.map(\.file)).count

        func relative(_ finding: Finding) -> Finding {
            var f = finding
            f.file = RelativePath.make(f.file, root: root)
            f.evidence = f.evidence.map { e in var e = e; e.file = RelativePath.make(e.file, root: root); return e }
            f.fingerprint = f.fingerprint(file: f.file)
            return f
        }
        let ordered = findings.map(relative).sorted(by: Finding.reportOrder)
        summary.findings = ordered.count
        summary.seconds = (Date().timeIntervalSince(started) * 100).rounded() / 100
        options.progress.finish()
        var result = ScanResult(root: root, findings: ordered, summary: summary, failures: failures.sorted { $0.file < $1.file },
                                parseErrors: parseErrors.sorted { $0.file < $1.file }, notes: notes + setups.notes)
        result.suppressed = inline.suppressed.map { SuppressedFinding(finding: relative($0.finding), kind: .inSource, justification: $0.justification) }
        result.shard = options.shard
        return result
    }
}

/// Per rule narrowed by the call graph, the files on its candidate chains, and the size of the
/// graph they were chosen from.
struct ChainSelection: Codable {
    var outlined: Int
    var definitions: Int
    var files: [String: [String]] = [:]
}

/// A value computed on another thread, ready when asked for.
final class Ahead<Value>: @unchecked Sendable {
    private var result: Value?
    private let done = DispatchSemaphore(value: 0)

    init(_ make: @escaping () -> Value) {
        Thread.detachNewThread { [self] in
            result = make()
            done.signal()
        }
    }

    /// Waits for the value (once).
    var value: Value {
        done.wait()
        done.signal()
        return result!
    }
}
