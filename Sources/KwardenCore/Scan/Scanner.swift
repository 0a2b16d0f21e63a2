import Foundation
import Synchronization
import KernelBuild
import ClangKit
import RuleKit

public struct ScanOptions {
    public enum Isolation {
        /// Parse in `kwarden worker` child processes (a libclang crash or hang costs one file).
        case processes(executable: String)
        /// Parse on threads of this process (tests, and hosts where spawning is not possible).
        case threads
    }

    public var paths: [String]
    public var rules: [AnyRule]
    public var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    public var compileCommands: String?
    public var arch: String?
    public var extraArguments: [String] = []
    public var excludes: [String] = []
    public var perFileTimeout: Double = 300
    /// A worker process over this much resident memory is killed and its file counted as failed
    /// (nil: no limit; threads are never limited).
    public var maxMemoryMiB: Int? = 4096
    public var isolation: Isolation = .threads
    public var progress = ProgressReporter(enabled: false)
    /// Extra arguments for worker processes (rules directory, config), so they load the same rules.
    public var workerArguments: [String] = []
    /// At most this many files are parsed in each evidence pass (nearest to the findings first).
    public var maxFactFiles = 200
    /// Per topic of a request (e.g. one struct field), at most this many files in an evidence pass.
    public var maxFactFilesPerTopic = 12
    /// Scan arch/<name>/ of every architecture, each with its own flags (builds one setup per arch).
    public var allArches = false
    /// Only report which files the textual preselection keeps.
    public var dryRun = false
    /// Parse files of a kernel tree with shared precompiled headers where they apply.
    public var sharedHeaders = true
    /// Narrow the files of rules that follow chains across functions to the candidate chains of
    /// the scanned tree's textual call graph (only when evidence comes from the scanned paths).
    public var callGraph = true
    /// Scan only this share of the preselected files (CI jobs in parallel; `kwarden merge` joins
    /// their reports). Evidence is still looked for in the whole tree.
    public var shard: Shard?
    /// File contents that replace (or add to) what is on disk, e.g. a file at another git revision
    /// (handed to worker processes through a file).
    public var overlay = SourceOverlay()
    /// Where evidence passes look for facts (default: the scanned paths). The gate scans a few
    /// changed files but takes facts from the whole tree.
    public var factScope: [String]?
    /// The gate's changed files (absolute paths), and their contents at the other end of its
    /// range: rules that follow chains parse only the chains running through them (with
    /// `factScope`; the same chains at both ends). Nil: not narrowed so.
    public var chainFocus: ChainFocus?
    /// What scans of the same tree on disk share (the gate's base and head); nil: this scan alone.
    public var shared: SharedScanState?
    /// Per-file results kept between scans; nil for none.
    public var cache: ResultCache?
    /// The directory paths are reported against (default: the kernel tree root, or the paths' common directory).
    public var root: String?
    /// Leave the scan's memory (every file's summaries) to the process's exit instead of freeing
    /// it piece by piece, as compilers do: for a command that exits after one scan (on a whole
    /// tree freeing took most of a second).
    public var leavesMemoryToExit = false

    public init(paths: [String], rules: [AnyRule]) {
        self.paths = paths
        self.rules = rules
    }
}

/// Where a gate's chains must run: its changed files, with their contents at the other end of
/// the range (files it adds or deletes are at one end only).
public struct ChainFocus: Sendable {
    public var files: Set<String>
    public var otherRevision: SourceOverlay

    public init(files: Set<String>, otherRevision: SourceOverlay) {
        self.files = files
        self.otherRevision = otherRevision
    }
}

/// Runs a scan: discover files, preselect them by text, parse and check them in parallel, then
/// gather cross-file facts in further passes and let each rule join them into its findings.
public final class Scanner {
    let options: ScanOptions

    public init(options: ScanOptions) { self.options = options }

    public func run() throws -> ScanResult {
        guard !options.paths.isEmpty else { throw ScanError.nothingToScan("no paths to scan") }
        let run = try ScanRun(options: options)
        // A scan that owns its shared state removes its scratch directory itself: the state may be
        // left to the process's exit, which runs no deinitializer.
        defer { if options.shared == nil { run.shared.removeScratchDirectory() } }
        try run.discover()
        run.preselect()
        if options.dryRun { return run.dryRunResult() }
        try run.checkSelectedFiles()
        try run.gatherEvidence()
        let result = run.report()
        if options.leavesMemoryToExit { Self.leftToExit.withLock { $0.append(run) } }
        return result
    }

    /// Scans whose memory the process's exit reclaims (`ScanOptions.leavesMemoryToExit`).
    private static let leftToExit = Mutex<[AnyObject]>([])

    /// Why a scan found no .c file to consider, naming each path's reason.
    static func whyNothing(_ discovery: SourceDiscovery.Result, paths: [String]) -> String {
        var reasons = discovery.missing.map { "\($0): no such file or directory" }
        reasons += discovery.notSources.map { "\($0): not a .c file (headers are checked through the .c files that include them)" }
        let named = Set(discovery.missing + discovery.notSources)
        reasons += paths.filter { !named.contains($0) }.map { "\($0): holds no .c file that kwarden would scan" }
        return "nothing to scan: " + reasons.joined(separator: "; ")
    }
}

extension Scanner {
    /// The candidate files of an evidence pass: every file with a topic-less match, and per topic
    /// the `perTopic` best ranked, nearest to that topic's findings.
    /// `near`: per topic ("rule|topic"), the directories its nearest candidates are taken from.
    static func selectFactFiles(_ candidates: [(String, [String: Int])], near: [String: [String]],
                                findingDirectories: Set<String>, perTopic: Int, pass: Int, notes: inout [String]) -> [String] {
        var chosen: Set<String> = []
        var byTopic: [String: [(file: String, rank: Int)]] = [:]
        for (file, topics) in candidates {
            for (topic, rank) in topics {
                if topic.isEmpty || topic.hasSuffix("|") { chosen.insert(file) } else { byTopic[topic, default: []].append((file, rank)) }
            }
        }
        var capped = 0
        var lists: [[String]] = []
        for topic in byTopic.keys.sorted() {
            let files = byTopic[topic]!
            let directories = DirectoryTrie(near[topic] ?? Array(findingDirectories))
            let ranked = files.map { entry in (entry, directories.deepestSharedPrefix(entry.file)) }
                .sorted { a, b in
                    if a.0.rank != b.0.rank { return a.0.rank > b.0.rank }
                    if a.1 != b.1 { return a.1 > b.1 }
                    return a.0.file < b.0.file
                }
            if ranked.count > perTopic { capped += 1 }
            lists.append(ranked.prefix(perTopic).map(\.0.file))
        }
        if capped > 0 {
            notes.append("evidence pass \(pass): for \(capped) topic\(capped == 1 ? "" : "s") (e.g. a common field name) more than \(perTopic) files may hold facts; parsed the \(perTopic) likeliest and nearest of each (--max-fact-files-per-topic)")
        }
        // In priority order, so that a cap on the whole pass keeps every topic's best files: the
        // topic-less files, then each topic's first choice, then each one's second, ...
        var ordered = chosen.sorted()
        var seen = chosen
        for round in 0..<(lists.map(\.count).max() ?? 0) {
            for list in lists where round < list.count && seen.insert(list[round]).inserted { ordered.append(list[round]) }
        }
        return ordered
    }

}

/// Directories by their path components: how many leading components a path shares with the
/// nearest of them, in one walk down the path (evidence ranks thousands of files against
/// hundreds of directories).
struct DirectoryTrie {
    private final class Node { var children: [Substring: Node] = [:] }
    private let root = Node()

    init<S: Sequence>(_ directories: S) where S.Element == String {
        for directory in directories {
            var node = root
            for component in directory.split(separator: "/") {
                if let next = node.children[component] { node = next } else {
                    let made = Node()
                    node.children[component] = made
                    node = made
                }
            }
        }
    }

    /// The most leading path components `path` shares with one of the directories.
    func deepestSharedPrefix(_ path: String) -> Int {
        // Component by component in place: no array of the path's components.
        let utf8 = path.utf8
        var node = root, depth = 0
        var start = utf8.startIndex, index = utf8.startIndex
        while true {
            let atEnd = index == utf8.endIndex
            if atEnd || utf8[index] == UInt8(ascii: "/") {
                if index > start {
                    guard let next = node.children[path[start..<index]] else { return depth }
                    node = next
                    depth += 1
                }
                if atEnd { return depth }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
    }
}

/// Files' bytes, read once in parallel for the textual preselection of every pass.
final class TextIndex {
    let files: [String]
    private(set) var unreadable: [FileFailure] = []
    private(set) var notUTF8: [String] = []
    private var readable: [String] = []
    var readableFiles: [String] { readable }
    private(set) lazy var unreadableFiles: Set<String> = Set(unreadable.map(\.file))

    /// Files passing the first selection, found while reading every file once.
    private(set) var firstSelection: [String] = []

    let overlay: SourceOverlay

    /// Per file of the first selection, which of the predicates kept it.
    private(set) var selectedBy: [String: [Bool]] = [:]

    /// `predicates`: one verdict per rule; a file is in the first selection when one of them keeps it.
    /// `cache`: verdicts kept from an earlier scan with the same rules (`identity`) for files
    /// unchanged since; only the others are read.
    init(files: [String], jobs: Int, overlay: SourceOverlay, cache: ResultCache? = nil, identity: String = "",
         firstSelection predicates: @escaping (SourceText) -> [Bool]) {
        self.files = files
        self.overlay = overlay
        let stamps = files.map { overlay.contains($0) ? nil : FileStamp(path: $0) }
        let kept = cache?.textFacts(family: "preselect", identity: identity, for: files, stamps: stamps)
        // Per file: why it cannot be read, or whether it is valid UTF-8 and passes the selection.
        let read = parallelMap(files.count, jobs: jobs) { i -> (failure: FileFailure?, badEncoding: Bool, selected: [Bool]) in
            if let data = kept?[i], let first = data.first { return (nil, first == 1, data.dropFirst().map { $0 == 1 }) }
            switch overlay.read(files[i]) {
            case .failure(let error): return (FileFailure(file: files[i], reason: error.reason), false, [])
            case .success(let source): return (nil, !source.isValidUTF8, predicates(source))
            }
        }
        if let cache {
            var fresh: [(path: String, stamp: FileStamp, data: Data)] = []
            for (i, outcome) in read.enumerated() where kept?[i] == nil && outcome.failure == nil {
                guard let stamp = stamps[i] else { continue }
                fresh.append((files[i], stamp, Data([outcome.badEncoding ? 1 : 0] + outcome.selected.map { $0 ? 1 : 0 })))
            }
            cache.storeTextFacts(family: "preselect", identity: identity, fresh)
        }
        let failures = read.map(\.failure), badEncoding = read.map(\.badEncoding)
        unreadable = failures.compactMap { $0 }
        notUTF8 = zip(files, badEncoding).filter { $0.1 }.map { $0.0 }
        for (file, outcome) in zip(files, read) where outcome.selected.contains(true) { selectedBy[file] = outcome.selected }
        firstSelection = files.filter { selectedBy[$0] != nil }
        let bad = Set(unreadable.map(\.file))
        readable = files.filter { !bad.contains($0) }
    }

    /// An index over files that are read only when searched (unreadable ones are then skipped).
    init(unreadFiles files: [String], overlay: SourceOverlay) {
        self.files = files
        self.overlay = overlay
        readable = files
    }

    /// Rule `rule` keeps exactly the readable files of `keep`; files no rule keeps leave the
    /// first selection, files only it keeps join it. Returns how many files left it.
    func restrict(rule: Int, ruleCount: Int, to keep: Set<String>) -> Int {
        var left = 0
        for file in readable {
            let verdicts = selectedBy[file]
            let kept = keep.contains(file)
            guard verdicts?[rule] ?? false != kept else { continue }
            var changed = verdicts ?? [Bool](repeating: false, count: ruleCount)
            changed[rule] = kept
            if changed.contains(true) { selectedBy[file] = changed } else { selectedBy[file] = nil; left += 1 }
        }
        firstSelection = files.filter { selectedBy[$0] != nil }
        return left
    }

    func isSelected(_ file: String, rule: Int) -> Bool { selectedBy[file]?[rule] ?? false }

    /// How many files rule `rule` keeps.
    func count(rule: Int) -> Int { selectedBy.values.filter { $0[rule] }.count }

    /// A file's bytes, read straight into one buffer (whole-tree passes read every file: no
    /// intermediate copies).
    static func read(_ file: String) -> Result<SourceText, ReadError> {
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let reason = errno == ENOENT ? "no such file" : errno == EACCES ? "cannot read file: permission denied" : "cannot read file: " + String(cString: strerror(errno))
            return .failure(ReadError(reason))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return .failure(ReadError("cannot read file: " + String(cString: strerror(errno)))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .failure(ReadError("cannot read file: not a regular file")) }
        var bytes: [UInt8] = []
        var capacity = max(Int(info.st_size), 0) + 1
        var failure: Int32 = 0
        // The size may change under us: read until end of file, growing if needed.
        while true {
            let previous = bytes
            var filled = previous.count
            bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
                if filled > 0 { _ = buffer.initialize(from: previous) }
                while filled < capacity {
                    let got = Glibc.read(descriptor, buffer.baseAddress! + filled, capacity - filled)
                    if got < 0 { if errno == EINTR { continue }; failure = errno; break }
                    if got == 0 { break }
                    filled += got
                }
                initialized = filled
            }
            if failure != 0 { return .failure(ReadError("cannot read file: " + String(cString: strerror(failure)))) }
            if bytes.count < capacity { break }
            capacity *= 2
        }
        return .success(SourceText(bytes: bytes))
    }

    struct ReadError: Error { let reason: String; init(_ reason: String) { self.reason = reason } }

    /// For each readable file whose text gives a value, that value, in parallel.
    func collect<T>(_ body: @escaping (String, SourceText) -> T?) -> [(String, T)] {
        let files = readable
        let overlay = self.overlay
        let values = parallelMap(files.count, jobs: ProcessInfo.processInfo.activeProcessorCount) { i -> T? in
            guard case .success(let source) = overlay.read(files[i]) else { return nil }
            return body(files[i], source)
        }
        return zip(files, values).compactMap { file, value in value.map { (file, $0) } }
    }
}

extension Result where Failure == TextIndex.ReadError {
    fileprivate static func failure(_ reason: String) -> Self { .failure(TextIndex.ReadError(reason)) }
}

/// Contents standing in for files on disk, by absolute path.
public struct SourceOverlay: Sendable {
    public private(set) var files: [String: [UInt8]] = [:]
    public init(_ files: [String: [UInt8]] = [:]) { self.files = files }

    public var isEmpty: Bool { files.isEmpty }
    public func contains(_ path: String) -> Bool { files[path] != nil }

    func read(_ path: String) -> Result<SourceText, TextIndex.ReadError> {
        if let bytes = files[path] { return .success(SourceText(bytes: bytes)) }
        return TextIndex.read(path)
    }

    /// Saves the overlay for worker processes: per file, the path's and the content's length
    /// (little-endian UInt64) followed by their bytes.
    public func write(to path: String) throws {
        var data = Data()
        func append(_ bytes: [UInt8]) {
            withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(contentsOf: bytes)
        }
        for file in files.keys.sorted() {
            append(Array(file.utf8))
            append(files[file]!)
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// An overlay saved by `write(to:)`.
    public init(contentsOf path: String) throws {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var offset = 0
        func take() throws -> [UInt8] {
            guard offset + 8 <= data.count else { throw ScanError.badInput("\(path): truncated overlay") }
            let count = data[offset..<(offset + 8)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            offset += 8
            guard count <= UInt64(data.count - offset) else { throw ScanError.badInput("\(path): truncated overlay") }
            defer { offset += Int(count) }
            return Array(data[offset..<(offset + Int(count))])
        }
        while offset < data.count {
            let file = String(decoding: try take(), as: UTF8.self)
            files[file] = try take()
        }
    }

    /// The overlay as libclang unsaved files.
    public var unsavedFiles: [UnsavedFile] {
        files.keys.sorted().map { UnsavedFile(path: $0, contents: String(decoding: files[$0]!, as: UTF8.self)) }
    }
}

/// Chooses the files of each evidence pass: files naming a question's identifiers (from an index
/// kept across passes, and across the base and head scans of a gate), those whose text may answer
/// it, at most a few per topic, likeliest and nearest first, and at most `maxFactFiles` in all.
final class EvidencePlanner {
    let options: ScanOptions
    let root: String
    let onlyArch: String?
    let kernelRoot: String?
    let shared: SharedScanState
    let discovered: [String]
    let texts: TextIndex
    /// Files parsed so far: not parsed again in pass 2 (later passes may need their summaries anew).
    var parsed: Set<String>
    /// Per rule narrowed by the call graph, the files on its candidate chains: its evidence can
    /// only come from them.
    var chainFiles: [String: Set<String>] = [:]
    private(set) var findingDirectories: Set<String> = []
    private var index: IdentifierFileIndex?
    /// Files this scan overlays, or that lie outside the index: searched directly.
    private var liveCandidates: Set<String> = []

    init(options: ScanOptions, root: String, onlyArch: String?, kernelRoot: String?, shared: SharedScanState,
         discovered: [String], texts: TextIndex, parsed: Set<String>) {
        self.options = options; self.root = root; self.onlyArch = onlyArch; self.kernelRoot = kernelRoot
        self.shared = shared; self.discovered = discovered; self.texts = texts; self.parsed = parsed
    }

    /// Evidence is looked for nearest to these findings first.
    func focus(on findings: [Finding]) {
        findingDirectories = Set(findings.map { ($0.file as NSString).deletingLastPathComponent })
    }

    func files(answering asked: [(rule: String, questions: AskedQuestions)], pass: Int, notes: inout [String]) -> [String] {
        let reparse = pass > 2
        let index = self.index ?? makeIndex()
        let needles = Set(asked.flatMap(\.questions.needles))
        let memo = passMemo(asked: asked, pass: pass, indexed: index.files)
        if let memo, let kept = reuse(memo, asked: asked, needles: needles) {
            notes += kept.notes
            return kept.files
        }
        let notesBefore = notes.count
        // The index confirmed which needles each file names: topics need not search for them again.
        let presence = index.presence(of: needles, jobs: options.jobs).filter { !options.overlay.contains($0.key) }
        let candidates = Set(presence.keys).union(liveCandidates).sorted()
        var topicsOfFile: [String: [String: Int]] = [:]
        let admitted = asked.map { rule, _ in candidates.filter { admits(rule: rule, file: $0) } }
        for (index, topicsByRuleFile) in topics(asked: asked, admitted: admitted, pass: pass, presence: presence).enumerated() {
            for (file, topics) in topicsByRuleFile {
                let unanswered = asked[index].questions.unanswered(topics, of: file)
                if !unanswered.isEmpty { Self.merge(rule: asked[index].rule, topics: unanswered, into: &topicsOfFile[file, default: [:]]) }
            }
        }
        let topicsByFile = candidates.compactMap { file in topicsOfFile[file].map { (file, $0) } }.filter { reparse || !parsed.contains($0.0) }
        var near: [String: [String]] = [:]
        for (rule, questions) in asked {
            for (topic, directories) in questions.near { near["\(rule)|\(topic)", default: []] += directories }
        }
        var files = Scanner.selectFactFiles(topicsByFile, near: near, findingDirectories: findingDirectories,
                                            perTopic: options.maxFactFilesPerTopic, pass: pass, notes: &notes)
        if files.count > options.maxFactFiles {
            // Topic-ranked files come in priority order already; the rest nearest to the findings
            // first: a driver's own teardown path is the likeliest evidence.
            let priority = Dictionary(uniqueKeysWithValues: files.enumerated().map { ($0.element, $0.offset) })
            let nearest = DirectoryTrie(findingDirectories)
            let ranked = files.map { file in (file, nearest.deepestSharedPrefix(file)) }
            files = ranked.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : priority[$0.0]! < priority[$1.0]! }.prefix(options.maxFactFiles).map(\.0)
            notes.append("evidence pass \(pass): \(ranked.count) files may hold facts; parsed the \(options.maxFactFiles) nearest to the findings (--max-fact-files)")
        }
        if let memo { store(memo, files: files, notes: Array(notes[notesBefore...]), topicsOfFile: topicsOfFile) }
        return files
    }

    /// Whether a file may answer a rule's questions at all: a rule narrowed by the call graph
    /// parsed its chains in pass 1, so its evidence can only be a chain file not parsed yet
    /// (another shard's).
    private func admits(rule: String, file: String) -> Bool {
        chainFiles[rule].map { $0.contains(file) && !parsed.contains(file) } ?? true
    }

    /// One file's topics across the rules, as ranking weighs them: per rule and topic, the best rank.
    private static func merge(rule: String, topics: [String: Int], into merged: inout [String: Int]) {
        for (topic, rank) in topics { merged["\(rule)|\(topic)"] = max(rank, merged["\(rule)|\(topic)"] ?? rank) }
    }

    // MARK: Each pass's choice, kept for the next scan

    /// A pass's choice depends on the questions, the planner's state and each file's topics; a
    /// rescan after an edit asks the same questions of a tree where a few files changed. The
    /// choice is kept under a digest of everything but the files' texts, with each tracked file's
    /// stamp and a digest of what it contributed (its topics): a rescan re-reads only the files
    /// whose stamps moved, and keeps the choice when each contributes what it did. (Not for
    /// overlaid scans: a gate's ends differ in content on every push.)
    struct PassMemo {
        let name: String
        let key: String
        /// The indexed files, then the candidates outside the index, in a fixed order.
        let tracked: [String]
        let stamps: [FileStamp?]
    }

    /// More changed files than this and choosing afresh is cheaper than checking each.
    static let passMemoMaxChanged = 256

    private func passMemo(asked: [(rule: String, questions: AskedQuestions)], pass: Int, indexed: [String]) -> PassMemo? {
        guard options.cache != nil, options.overlay.isEmpty else { return nil }
        let live = liveCandidates.sorted()
        let tracked = indexed + live
        var digest = ContentDigest()
        digest.add(Self.passMemoFormat)
        digest.add(rulesIdentity)
        digest.add(String(pass))
        digest.add(String(options.maxFactFiles)); digest.add(String(options.maxFactFilesPerTopic))
        for (rule, questions) in asked {
            digest.add(rule); digest.add(questions.encoded)
            for topic in questions.near.keys.sorted() { digest.add(topic); for directory in questions.near[topic]! { digest.add(directory) } }
            for topic in questions.answeredIn.keys.sorted() { digest.add(topic); for file in questions.answeredIn[topic]!.sorted() { digest.add(file) } }
        }
        digest.add("chains")
        for rule in chainFiles.keys.sorted() { digest.add(rule); for file in chainFiles[rule]!.sorted() { digest.add(file) } }
        digest.add("parsed"); for file in parsed.sorted() { digest.add(file) }
        digest.add("near"); for directory in findingDirectories.sorted() { digest.add(directory) }
        digest.add("indexed"); for file in indexed { digest.add(file) }
        digest.add("live"); for file in live { digest.add(file) }
        let name = "evidence-pass|\(pass)|" + stableHash([root, onlyArch ?? ""] + options.paths + ["--"] + (options.factScope ?? []))
        // Taken once per scan: every pass tracks the same files.
        if trackedStamps?.files != tracked { trackedStamps = (tracked, parallelMap(tracked.count, jobs: options.jobs) { FileStamp(path: tracked[$0]) }) }
        return PassMemo(name: name, key: digest.value, tracked: tracked, stamps: trackedStamps!.stamps)
    }

    private var trackedStamps: (files: [String], stamps: [FileStamp?])?

    static let passMemoFormat = "evidence-pass-2"

    /// The kept choice and its notes if every tracked file whose stamp moved still contributes
    /// what it did.
    private func reuse(_ memo: PassMemo, asked: [(rule: String, questions: AskedQuestions)], needles: Set<String>) -> (files: [String], notes: [String])? {
        guard let data = options.cache?.memo(name: memo.name, key: memo.key), let kept = StoredPass(data), kept.entries.count == memo.tracked.count else { return nil }
        var changed: [Int] = []
        for (position, stamp) in memo.stamps.enumerated() where !kept.entries[position].matches(stamp) {
            changed.append(position)
            if changed.count > Self.passMemoMaxChanged { return nil }
        }
        if !changed.isEmpty {
            let matcher = IdentifierMatcher(needles)
            let now = parallelMap(changed.count, jobs: options.jobs) { slot in
                Self.topicsDigest(self.contribution(of: memo.tracked[changed[slot]], asked: asked, needles: needles, matcher: matcher))
            }
            for (slot, position) in changed.enumerated() where now[slot] != kept.entries[position].topics { return nil }
            var entries = kept.entries
            for position in changed { entries[position] = StoredPass.Entry(stamp: memo.stamps[position], topics: kept.entries[position].topics) }
            options.cache?.storeMemo(name: memo.name, key: memo.key, data: StoredPass(files: kept.files, notes: kept.notes, entries: entries).data)
        }
        return (kept.files, kept.notes)
    }

    private func store(_ memo: PassMemo, files: [String], notes: [String], topicsOfFile: [String: [String: Int]]) {
        let entries = zip(memo.tracked, memo.stamps).map { file, stamp in StoredPass.Entry(stamp: stamp, topics: Self.topicsDigest(topicsOfFile[file])) }
        options.cache?.storeMemo(name: memo.name, key: memo.key, data: StoredPass(files: files, notes: notes, entries: entries).data)
    }

    /// What one file contributes to a pass's choice, found the way `files(answering:)` finds it:
    /// a candidate if it names one of the needles (as the index's signature and confirming read
    /// see it) or lies outside the index, then its topics for each rule that admits it.
    private func contribution(of file: String, asked: [(rule: String, questions: AskedQuestions)], needles: Set<String>, matcher: IdentifierMatcher) -> [String: Int]? {
        let live = liveCandidates.contains(file)
        guard case .success(let source) = options.overlay.read(file) else { return nil }
        if !live {
            let present = matcher.present(in: source)
            guard !present.isEmpty else { return nil }
            let signature = IdentifierSignature(text: source.bytes)
            guard present.contains(where: { IdentifierSignature.hash(of: $0).map(signature.mayContain) ?? true }) else { return nil }
        }
        var merged: [String: Int] = [:]
        for (rule, questions) in asked where admits(rule: rule, file: file) {
            Self.merge(rule: rule, topics: questions.unanswered(questions.topics(source), of: file), into: &merged)
        }
        return merged.isEmpty ? nil : merged
    }

    /// 0 for no topics.
    static func topicsDigest(_ topics: [String: Int]?) -> UInt64 {
        guard let topics, !topics.isEmpty else { return 0 }
        var digest = ContentDigest()
        for topic in topics.keys.sorted() { digest.add(topic); digest.add(String(topics[topic]!)) }
        return digest.word | 1
    }

    static let topicsFamily = "evidence-topics"

    /// The cache keeps one fact per file and family: each rule's pass has a family of its own, or
    /// the passes would overwrite each other's answers and a rescan would find only the last.
    static func topicsFamily(rule: String, pass: Int) -> String { "\(topicsFamily)/\(rule)/\(pass)" }

    /// Per asked rule, the topics of its questions each of its admitted files may answer (files
    /// with none left out). A rescan usually asks the same questions again: what each file's text
    /// answered is kept in the cache, per file (by its size and modification time), per rule and
    /// pass, for the rule's set of questions. Each file left to read is read once for all rules.
    /// `presence`: for files of the identifier index, the needles each names.
    private func topics(asked: [(rule: String, questions: AskedQuestions)], admitted: [[String]], pass: Int,
                        presence: [String: Set<String>] = [:]) -> [[String: [String: Int]]] {
        var found = [[String: [String: Int]]](repeating: [:], count: asked.count)
        let identities = asked.map { stableHash([$0.rule, $0.questions.encoded.base64EncodedString(), rulesIdentity, Self.topicsFormat]) }
        var unknown: [String: [Int]] = [:]
        var stamps: [String: FileStamp] = [:]
        for (index, files) in admitted.enumerated() {
            guard let cache = options.cache else {
                for file in files { unknown[file, default: []].append(index) }
                continue
            }
            let fileStamps = files.map { stamps[$0] ?? (options.overlay.contains($0) ? nil : FileStamp(path: $0)) }
            let stored = cache.textFacts(family: Self.topicsFamily(rule: asked[index].rule, pass: pass), identity: identities[index], for: files, stamps: fileStamps)
            for (position, file) in files.enumerated() {
                if let stamp = fileStamps[position] { stamps[file] = stamp }
                if let data = stored[position], let topics = Self.decodeTopics(data) {
                    found[index][file] = topics
                } else {
                    unknown[file, default: []].append(index)
                }
            }
        }
        let computed = TextIndex(unreadFiles: unknown.keys.sorted(), overlay: options.overlay).collect { file, source in
            (unknown[file] ?? []).map { index in
                let questions = asked[index].questions
                return (index: index, topics: presence[file].map { questions.topics(source, naming: $0) } ?? questions.topics(source))
            }
        }
        var fresh = [[(path: String, stamp: FileStamp, data: Data)]](repeating: [], count: asked.count)
        for (file, answers) in computed {
            for answer in answers {
                found[answer.index][file] = answer.topics
                if let stamp = stamps[file] { fresh[answer.index].append((file, stamp, Self.encodeTopics(answer.topics))) }
            }
        }
        if let cache = options.cache {
            for index in asked.indices { cache.storeTextFacts(family: Self.topicsFamily(rule: asked[index].rule, pass: pass), identity: identities[index], fresh[index]) }
        }
        return found.map { $0.filter { !$0.value.isEmpty } }
    }

    /// A file's topics as the cache keeps them: per topic, its rank (64-bit) and its length
    /// (32-bit, little-endian) and bytes. A rescan reads tens of thousands of them.
    static let topicsFormat = "topics-binary-1"

    static func encodeTopics(_ topics: [String: Int]) -> Data {
        var data = Data()
        for topic in topics.keys.sorted() {
            let bytes = Array(topic.utf8)
            withUnsafeBytes(of: Int64(topics[topic]!).littleEndian) { data.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(contentsOf: bytes)
        }
        return data
    }

    static func decodeTopics(_ data: Data) -> [String: Int]? {
        data.withUnsafeBytes { raw -> [String: Int]? in
            var topics: [String: Int] = [:], offset = 0
            while offset < raw.count {
                guard raw.count - offset >= 12 else { return nil }
                let rank = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                let count = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)))
                offset += 12
                guard raw.count - offset >= count else { return nil }
                topics[String(decoding: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)]), as: UTF8.self)] = Int(rank)
                offset += count
            }
            return topics
        }
    }

    /// The rules as configured (their lists decide what a text may answer) and kwarden's build.
    private lazy var rulesIdentity = stableHash(options.rules.map { String(decoding: SummaryCoding.encode($0.metadata), as: UTF8.self) } + [ResultCache.buildIdentity])

    /// Every rule finds evidence only in files naming one of its questions' identifiers.
    private func makeIndex() -> IdentifierFileIndex {
        let indexed: [String]
        let made: IdentifierFileIndex
        if let scope = options.factScope {
            // Facts may live anywhere in the tree, not only in the files scanned for findings.
            made = shared.scopeIndex(scope, root: root, onlyArch: onlyArch, isKernelTree: kernelRoot != nil, excludes: options.excludes, cache: options.cache)
            indexed = made.files
        } else {
            indexed = texts.readableFiles
            made = IdentifierFileIndex(files: indexed, cache: options.cache)
        }
        let indexedSet = Set(indexed)
        liveCandidates = Set(discovered.filter { !indexedSet.contains($0) && !texts.unreadableFiles.contains($0) })
            .union(options.overlay.files.keys.filter { indexedSet.contains($0) })
        index = made
        return made
    }
}

/// An evidence pass's kept choice (`EvidencePlanner.PassMemo`): per tracked file its stamp and
/// the digest of its topics, 24 bytes each (a whole tree tracks some 25,000 files), then the
/// chosen files and the notes the choice made, as JSON.
struct StoredPass {
    struct Entry {
        /// -1: the file had no stamp (it could not be stat'ed).
        let size: Int64
        let modified: UInt64
        let topics: UInt64

        init(stamp: FileStamp?, topics: UInt64) {
            size = stamp?.size ?? -1
            modified = stamp?.modified.bitPattern ?? 0
            self.topics = topics
        }

        init(size: Int64, modified: UInt64, topics: UInt64) { self.size = size; self.modified = modified; self.topics = topics }

        func matches(_ stamp: FileStamp?) -> Bool {
            guard let stamp else { return size == -1 }
            return size == stamp.size && modified == stamp.modified.bitPattern
        }
    }

    private struct Choice: Codable { var files: [String]; var notes: [String] }


    let files: [String]
    let notes: [String]
    let entries: [Entry]

    init(files: [String], notes: [String], entries: [Entry]) { self.files = files; self.notes = notes; self.entries = entries }

    init?(_ data: Data) {
        let parsed: (entries: [Entry], rest: Data)? = data.withUnsafeBytes { raw in
            guard raw.count >= 8 else { return nil }
            let count = Int(UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)))
            guard count >= 0, count <= (raw.count - 8) / 24 else { return nil }
            var entries: [Entry] = []
            entries.reserveCapacity(count)
            for position in 0..<count {
                let offset = 8 + position * 24
                entries.append(Entry(size: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self)),
                                     modified: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)),
                                     topics: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))))
            }
            return (entries, Data(raw[(8 + count * 24)...]))
        }
        guard let parsed, let choice = try? JSONDecoder().decode(Choice.self, from: parsed.rest) else { return nil }
        entries = parsed.entries
        files = choice.files
        notes = choice.notes
    }

    var data: Data {
        var data = Data(capacity: 8 + entries.count * 24)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        append(UInt64(entries.count))
        for entry in entries { append(entry.size); append(entry.modified); append(entry.topics) }
        data.append((try? JSONEncoder().encode(Choice(files: files, notes: notes))) ?? Data())
        return data
    }
}

/// One of N deterministic shares of a scan: files are dealt round-robin in the order of their
/// paths relative to the tree's root, so every shard of the same tree agrees on who scans what.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// From 1.
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (1...count).contains(index) else { throw ScanError.badInput("shard \(index)/\(count): K/N needs 1 ≤ K ≤ N") }
        self.index = index
        self.count = count
    }

    /// `K/N`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw ScanError.badInput("--shard \(text): write K/N, e.g. 2/4")
        }
        try self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    /// The positions in `relativePaths` that belong to this shard.
    public func share(of relativePaths: [String]) -> [Int] {
        relativePaths.indices.sorted { relativePaths[$0] < relativePaths[$1] }.enumerated()
            .filter { $0.offset % count == index - 1 }.map(\.element).sorted()
    }
}
