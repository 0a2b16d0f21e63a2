import Foundation
import RuleKit

/// Hands jobs to parallel analyzers — threads, or worker processes — and collects one outcome per job.
final class JobRunner {
    let options: ScanOptions
    let setups: CompileSetupProvider
    let kernelRoot: String?

    /// Worker processes between phases: each one sets up the kernel's build (Kconfig, Makefiles)
    /// when it starts, so a scan's evidence passes reuse the first pass's workers.
    private var idleWorkers: [WorkerProcess] = []
    /// Workers read an overlay (the gate's files at a revision) from a file this runner writes once.
    private var overlayFile: String?
    private let poolLock = NSLock()

    init(options: ScanOptions, setups: CompileSetupProvider, kernelRoot: String?) {
        self.options = options
        self.setups = setups
        self.kernelRoot = kernelRoot
    }

    deinit {
        stopWorkers()
        if let overlayFile { try? FileManager.default.removeItem(atPath: overlayFile) }
    }

    /// A running worker: an idle one from an earlier phase, else a new one.
    private func checkOutWorker(executable: String) throws -> WorkerProcess {
        poolLock.lock()
        if let worker = idleWorkers.popLast() { poolLock.unlock(); return worker }
        defer { poolLock.unlock() }
        if overlayFile == nil, !options.overlay.isEmpty {
            let path = NSTemporaryDirectory() + "kwarden-overlay-" + UUID().uuidString
            try options.overlay.write(to: path)
            overlayFile = path
        }
        let worker = WorkerProcess(executable: executable, arguments: workerArguments() + (overlayFile.map { ["--overlay", $0] } ?? []))
        try worker.start()
        return worker
    }

    /// Ends the idle workers (the scan parses nothing more).
    func stopWorkers() {
        poolLock.lock(); let idle = idleWorkers; idleWorkers = []; poolLock.unlock()
        idle.forEach { $0.terminate() }
    }

    private func checkIn(_ worker: WorkerProcess) {
        guard worker.isRunning else { return }
        poolLock.lock(); idleWorkers.append(worker); poolLock.unlock()
    }

    /// `lookedUp`: the caller found no kept outcome for any of `jobs` already (`lookups` with
    /// `eitherSharing`): their keys are made, for storing, but not looked up again.
    func run(_ jobs: [FileJob], phase: String, lookedUp: Bool = false) throws -> [FileOutcome] {
        guard !jobs.isEmpty else { return [] }
        // Outcomes still valid in the cache are taken from it; only the rest are parsed.
        let found = lookups(jobs, eitherSharing: false, query: !lookedUp)
        let keys = found.map(\.key)
        var outcomes = found.map(\.hit)
        // With an overlay (the gate: files read from git objects), an outcome is kept only if
        // nothing it was parsed with is overlaid, except the file itself, whose content is in the key.
        let overlaid = Set(options.overlay.files.keys)
        let memo = options.shared
        let pending = jobs.indices.filter { outcomes[$0] == nil }
        let queue = JobQueue(pending.map { jobs[$0] }, indices: pending)
        let workers = max(1, min(options.jobs, max(1, pending.count)))
        let lock = NSLock()
        var done = jobs.count - pending.count, failed = 0
        var startError: Error?
        // Outcomes are written to the cache on a queue of their own: the thread that feeds a
        // worker sends it the next file at once (a write stamps each of the file's headers).
        let storing = DispatchQueue(label: "kwarden.cache-store")
        defer { storing.sync {} }

        func record(_ index: Int, _ outcome: FileOutcome) {
            lock.lock()
            outcomes[index] = outcome
            if let key = keys[index], outcome.failure == nil,
               !outcome.dependencies.contains(where: { $0 != outcome.file && overlaid.contains($0) }) {
                if let cache = options.cache { storing.async { cache.store(key: key, outcome: outcome) } }
                memo?.keep(outcome, key: key)
            }
            done += 1
            if outcome.failure != nil { failed += 1 }
            let (d, x) = (done, failed)
            lock.unlock()
            options.progress.update(phase: phase, done: d, total: jobs.count, failed: x)
        }

        if !pending.isEmpty { DispatchQueue.concurrentPerform(iterations: workers) { _ in
            switch options.isolation {
            case .threads:
                let analyzer = FileAnalyzer(rules: options.rules, setups: setups, overlay: options.overlay)
                while let (index, job) = queue.next() { record(index, analyzer.analyze(job)) }
            case .processes(let executable):
                let worker: WorkerProcess
                do { worker = try checkOutWorker(executable: executable) } catch {
                    lock.lock(); startError = error; lock.unlock()
                    return
                }
                let encoder = JSONEncoder(), decoder = JSONDecoder()
                while let (index, queued) = queue.next() {
                    var job = queued
                    var derived: [String: DerivedSetup] = [:]
                    for file in job.precompile.map({ [$0.representative] }) ?? [job.file] { derived[file] = setups.derivedSetup(for: file) }
                    if !derived.isEmpty { job.setups = derived }
                    var outcome = FileOutcome(file: job.file)
                    let reply = worker.exchange((try? encoder.encode(job)) ?? Data(), timeout: options.perFileTimeout,
                                                memoryLimit: options.maxMemoryMiB.map { $0 << 20 })
                    switch reply {
                    case .line(let data):
                        if let decoded = try? decoder.decode(FileOutcome.self, from: data) { outcome = decoded } else { outcome.failure = "worker sent an unreadable reply" }
                    case .exited(let how):
                        outcome.failure = how
                    case .timedOut:
                        outcome.failure = "timed out after \(Int(options.perFileTimeout)) s"
                    case .overMemory:
                        outcome.failure = "used more than \(options.maxMemoryMiB ?? 0) MiB of memory (--max-memory)"
                    }
                    if outcome.failure != nil, case .line = reply {} else if outcome.failure != nil {
                        // The worker is gone: start a fresh one for the remaining jobs.
                        do { try worker.start() } catch {
                            record(index, outcome)
                            lock.lock(); startError = error; lock.unlock()
                            return
                        }
                    }
                    record(index, outcome)
                }
                checkIn(worker)
            }
        } }
        if let startError, outcomes.contains(where: { $0 == nil }) { throw startError }
        return outcomes.enumerated().map { offset, outcome in
            if let outcome { return outcome }
            var lost = FileOutcome(file: jobs[offset].file)
            lost.failure = "not scanned: no worker could be started"
            return lost
        }
    }

    /// Outcomes kept for `jobs` (with their cache keys): in the result cache, or — the gate's two
    /// ends parse many of the same files unchanged — in memory from the other end, under the
    /// cache's keys and on the same condition. `eitherSharing`: an outcome stored with or without
    /// the shared precompiled headers will do (they do not change what a file yields), for a
    /// rescan that looks before planning them. `query` false: the keys only.
    func lookups(_ jobs: [FileJob], eitherSharing: Bool, query: Bool = true) -> [(key: String?, hit: FileOutcome?)] {
        let overlaid = Set(options.overlay.files.keys)
        let memo = options.shared
        guard options.cache != nil || memo != nil else { return jobs.map { _ in (nil, nil) } }
        let rulesKey = self.rulesKey
        let setups = self.setups, overlay = options.overlay, cache = options.cache, stamps = ResultCache.StampMemo()
        // In parallel: each lookup hashes the file, decodes the stored outcome and checks the
        // stamps of every header the parse read.
        return parallelMap(jobs.count, jobs: options.jobs) { index -> (key: String?, hit: FileOutcome?) in
            let job = jobs[index]
            guard job.precompile == nil else { return (nil, nil) }
            let content: [UInt8]
            if let bytes = overlay.files[job.file] { content = bytes } else {
                guard case .success(let source) = TextIndex.read(job.file) else { return (nil, nil) }
                content = source.bytes
            }
            // The file's own flags too: a Makefile's ccflags change them without changing the tree's key.
            let arguments = (try? setups.setup(for: job.file).arguments.joined(separator: " ")) ?? ""
            let configuration = setups.configurationKey(for: job.file) + "|" + rulesKey
            // Shared headers should not change what a file yields; kept apart all the same.
            let sharing = job.precompiledHeader == nil ? "" : "|shared-headers"
            let variants = eitherSharing ? ["|shared-headers", ""] : [sharing]
            var first: String?
            for variant in variants {
                let key = ResultCache.key(job: job, content: content, configuration: configuration + "|" + arguments + variant)
                if first == nil { first = key }
                guard query else { break }
                if let kept = memo?.outcome(key: key), !kept.dependencies.contains(where: { $0 != job.file && overlaid.contains($0) }) {
                    return (key, kept)
                }
                if var hit = cache?.lookup(key: key, unless: overlaid.subtracting([job.file]), stamps: stamps) {
                    hit.cached = true
                    return (key, hit)
                }
            }
            return (first, nil)
        }
    }

    /// Changes whenever a rule or one of its lists does.
    private var rulesKey: String {
        stableHash(options.rules.map { rule in
            rule.id + ":" + (rule.metadata.lists ?? [:]).keys.sorted().map { $0 + "=" + (rule.metadata.lists![$0] ?? []).joined(separator: ",") }.joined(separator: ";")
        })
    }

    private func workerArguments() -> [String] {
        var arguments = ["worker", "--rules", options.rules.map(\.id).joined(separator: ",")]
        if let kernelRoot { arguments += ["--kernel-root", kernelRoot] }
        if let arch = options.arch { arguments += ["--arch", arch] }
        if let compileCommands = options.compileCommands { arguments += ["--compile-commands", compileCommands] }
        for argument in options.extraArguments { arguments += ["--extra-arg=\(argument)"] }
        // Workers take configurations resolved through Kconfig from the cache (and keep none).
        if let cache = options.cache { arguments += ["--configurations-from", (cache.path as NSString).deletingLastPathComponent] }
        else if let scratch = setups.scratchConfigurationsDirectory { arguments += ["--configurations-dir", scratch] }
        return arguments + options.workerArguments
    }
}

/// A thread-safe cursor over the job list.
final class JobQueue: @unchecked Sendable {
    private let jobs: [FileJob]
    private var nextIndex = 0
    private let lock = NSLock()

    private let indices: [Int]

    /// `indices`: each job's position in the caller's list.
    init(_ jobs: [FileJob], indices: [Int]) {
        self.jobs = jobs
        self.indices = indices
    }

    func next() -> (Int, FileJob)? {
        lock.lock(); defer { lock.unlock() }
        guard nextIndex < jobs.count else { return nil }
        defer { nextIndex += 1 }
        return (indices[nextIndex], jobs[nextIndex])
    }
}
