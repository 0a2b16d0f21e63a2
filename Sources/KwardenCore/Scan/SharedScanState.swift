import Foundation
import Synchronization
import KernelBuild
import RuleKit

/// What several scans of one tree on disk can share — the gate scans the same work tree at base
/// and at head: the build setup, the file list of the fact scope, which files name each
/// identifier an evidence pass looks for, the call graph's chains through the changed files, and
/// the outcomes of files parsed alike at both ends. Only what comes from disk is shared; files a scan
/// overlays (contents at another revision) are always read from its overlay.
public final class SharedScanState: @unchecked Sendable {
    private let lock = NSLock()
    private var setups: [String: CompileSetupProvider] = [:]
    private var scopes: [String: (files: [String], headers: [String])] = [:]
    private var indexes: [String: IdentifierFileIndex] = [:]
    private var chainSelections: [String: ChainSelection] = [:]
    private var outcomes: [String: FileOutcome] = [:]
    private var scratch: String?
    private var headerPlans: [String: PrecompiledHeaderPlans] = [:]

    public init() {}

    deinit { removeScratchDirectory() }

    func removeScratchDirectory() {
        lock.lock(); defer { lock.unlock() }
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
        scratch = nil
    }

    /// A file's outcome under its cache key, as an earlier scan parsed it.
    func outcome(key: String) -> FileOutcome? {
        lock.lock(); defer { lock.unlock() }
        return outcomes[key]
    }

    func keep(_ outcome: FileOutcome, key: String) {
        lock.lock(); defer { lock.unlock() }
        outcomes[key] = outcome
    }

    /// A scratch directory the scans share (precompiled headers without a cache), removed with this object.
    var scratchDirectory: String {
        lock.lock(); defer { lock.unlock() }
        if let scratch { return scratch }
        let made = NSTemporaryDirectory() + "kwarden-shared-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: made, withIntermediateDirectories: true)
        scratch = made
        return made
    }

    /// The shared precompiled headers planned so far into `directory`.
    func precompiledHeaderPlans(directory: String) -> PrecompiledHeaderPlans {
        lock.lock(); defer { lock.unlock() }
        if let known = headerPlans[directory] { return known }
        let made = PrecompiledHeaderPlans()
        headerPlans[directory] = made
        return made
    }

    func setups(key: String, make: () throws -> CompileSetupProvider) rethrows -> CompileSetupProvider {
        lock.lock(); defer { lock.unlock() }
        if let known = setups[key] { return known }
        let made = try make()
        setups[key] = made
        return made
    }

    /// The `.c` files and headers of a fact scope, found once for the scans sharing this state;
    /// `key` names the scope (its identifier index is kept under it too).
    func scopeFiles(_ scope: [String], root: String, onlyArch: String?, isKernelTree: Bool, excludes: [String]) -> (key: String, files: [String], headers: [String]) {
        let key = ([root, onlyArch ?? "", "\(isKernelTree)"] + scope + ["--"] + excludes).joined(separator: "\n")
        lock.lock(); defer { lock.unlock() }
        if let known = scopes[key] { return (key, known.files, known.headers) }
        let found = SourceDiscovery(excludes: excludes, onlyArch: onlyArch).discover(paths: scope, root: root, isKernelTree: isKernelTree)
        scopes[key] = (found.files, found.headers)
        return (key, found.files, found.headers)
    }

    /// Per rule, the files on the call graph's chains through a gate's changed files. Made
    /// outside the lock (making it takes the scope's discovery).
    func chains(key: String, make: () -> ChainSelection) -> ChainSelection {
        lock.lock()
        if let known = chainSelections[key] { lock.unlock(); return known }
        lock.unlock()
        let made = make()
        lock.lock(); defer { lock.unlock() }
        chainSelections[key] = made
        return made
    }

    /// The identifier index of a scope's files (`scopeFiles`), made once for every scan and
    /// pass that asks.
    func scopeIndex(_ scope: [String], root: String, onlyArch: String?, isKernelTree: Bool, excludes: [String],
                    cache: ResultCache?) -> IdentifierFileIndex {
        let found = scopeFiles(scope, root: root, onlyArch: onlyArch, isKernelTree: isKernelTree, excludes: excludes)
        lock.lock(); defer { lock.unlock() }
        if let known = indexes[found.key] { return known }
        let made = IdentifierFileIndex(files: found.files, cache: cache)
        indexes[found.key] = made
        return made
    }
}

/// Which files on disk name an identifier, searched once per identifier and remembered.
///
/// Evidence passes ask for a few dozen identifiers (struct fields, function names) across a whole
/// tree; the passes of one scan, and the base and head scans of a gate, ask for mostly the same
/// ones. Each file gets a signature of the identifiers it names (a Bloom filter, kept in the result
/// cache while the file's size and modification time hold), so a new identifier costs a read of
/// only the files whose signature may hold it, to confirm it there.
final class IdentifierFileIndex: @unchecked Sendable {
    let files: [String]
    let cache: ResultCache?
    private var signatures: [IdentifierSignature?]?
    private var known: [String: [Int32]] = [:]
    private let lock = NSLock()

    init(files: [String], cache: ResultCache? = nil) {
        self.files = files
        self.cache = cache
    }

    /// Files on disk naming at least one of `identifiers` as a whole identifier, each with those
    /// it names.
    func presence(of identifiers: Set<String>, jobs: Int) -> [String: Set<String>] {
        lock.lock(); defer { lock.unlock() }
        let missing = identifiers.filter { known[$0] == nil }.sorted()
        if !missing.isEmpty { search(missing, jobs: jobs) }
        var result: [String: Set<String>] = [:]
        for identifier in identifiers { for index in known[identifier]! { result[files[Int(index)], default: []].insert(identifier) } }
        return result
    }

    /// Files on disk naming at least one of `identifiers` as a whole identifier.
    func files(naming identifiers: Set<String>, jobs: Int) -> Set<String> {
        Set(presence(of: identifiers, jobs: jobs).keys)
    }

    /// Each file's stamp, taken with its signature.
    private var stamps: [FileStamp?] = []
    /// How many searches this index made: a search's confirmations are kept in the cache under
    /// its ordinal (a rescan asks the same identifiers in the same order).
    private var searches = 0

    /// Signatures made ahead (`prepareSignatures`), in the files' order, and whether to stop.
    private let ahead = Mutex<(signatures: [IdentifierSignature?], started: Bool, stop: Bool)>(([], false, false))

    /// Without a cache to take them from, makes the files' signatures one after another ahead of
    /// the first search, on a core the scan leaves idle meanwhile (a gate's shared headers are
    /// built by one worker); that search takes what is done and makes the rest itself.
    func prepareSignatures() {
        guard cache == nil, ahead.withLock({ state in defer { state.started = true }; return !state.started }) else { return }
        for file in files {
            guard !ahead.withLock({ $0.stop }) else { return }
            let signature = IdentifierSignature(file: file)
            ahead.withLock { state in if !state.stop { state.signatures.append(signature) } }
        }
    }

    /// Signatures from the cache where still valid (or made ahead), computed (in parallel) for the rest.
    private func loadSignatures(jobs: Int) -> [IdentifierSignature?] {
        if let signatures { return signatures }
        let files = self.files
        let stamps = files.map(FileStamp.init(path:))
        var loaded = cache?.signatures(for: files, stamps: stamps) ?? [IdentifierSignature?](repeating: nil, count: files.count)
        let madeAhead = ahead.withLock { state -> [IdentifierSignature?] in
            state.stop = true
            return state.signatures
        }
        for (index, signature) in madeAhead.enumerated() where loaded[index] == nil { loaded[index] = signature }
        let pending = files.indices.filter { loaded[$0] == nil && stamps[$0] != nil }
        let computed = parallelMap(pending.count, jobs: jobs) { IdentifierSignature(file: files[pending[$0]]) }
        var fresh: [(path: String, stamp: FileStamp, signature: IdentifierSignature)] = []
        for (slot, index) in pending.enumerated() {
            guard let signature = computed[slot] else { continue }
            loaded[index] = signature
            fresh.append((files[index], stamps[index]!, signature))
        }
        cache?.storeSignatures(fresh)
        signatures = loaded
        self.stamps = stamps
        return loaded
    }

    /// For each missing identifier, the files that name it: those whose signature may, confirmed
    /// by reading them. What a file confirmed is kept in the cache while its stamp holds.
    private func search(_ identifiers: [String], jobs: Int) {
        let files = self.files
        let signatures = loadSignatures(jobs: jobs)
        let hashes = identifiers.map(IdentifierSignature.hash(of:))
        let maybe = parallelMap(files.count, jobs: jobs) { i -> [Int] in
            guard let signature = signatures[i] else { return [] }
            return identifiers.indices.filter { hashes[$0].map(signature.mayContain) ?? true }
        }
        let candidates = files.indices.filter { !maybe[$0].isEmpty }
        searches += 1
        let family = "identifier-confirmations/\(searches)", identity = stableHash([IdentifierSignature.format] + identifiers)
        let kept = cache?.textFacts(family: family, identity: identity, for: candidates.map { files[$0] }, stamps: candidates.map { stamps[$0] })
        let matcher = IdentifierMatcher(identifiers)
        let confirmed = parallelMap(candidates.count, jobs: jobs) { slot -> (present: [Int], fresh: Bool) in
            if let data = kept?[slot] { return (IdentifierFileIndex.decodePositions(data), false) }
            let i = candidates[slot]
            guard case .success(let source) = TextIndex.read(files[i]) else { return ([], false) }
            let present = matcher.present(in: source)
            return (maybe[i].filter { present.contains(identifiers[$0]) }, true)
        }
        cache?.storeTextFacts(family: family, identity: identity, candidates.indices.compactMap { slot in
            guard confirmed[slot].fresh, let stamp = stamps[candidates[slot]] else { return nil }
            return (files[candidates[slot]], stamp, IdentifierFileIndex.encodePositions(confirmed[slot].present))
        })
        var postings = [[Int32]](repeating: [], count: identifiers.count)
        for (slot, file) in candidates.enumerated() { for k in confirmed[slot].present where k < identifiers.count { postings[k].append(Int32(file)) } }
        for (k, identifier) in identifiers.enumerated() { known[identifier] = postings[k] }
    }

    /// Positions in a search's identifier list, as little-endian 32-bit words.
    static func encodePositions(_ positions: [Int]) -> Data {
        var data = Data(capacity: positions.count * 4)
        for position in positions { withUnsafeBytes(of: UInt32(position).littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    static func decodePositions(_ data: Data) -> [Int] {
        data.withUnsafeBytes { raw in (0..<(raw.count / 4)).map { Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) } }
    }
}

/// A Bloom filter of the identifiers a text names (C identifiers, wherever they appear, as
/// `SourceText.containsIdentifier` finds them): "maybe" or a certain "no".
struct IdentifierSignature {
    private(set) var words: [UInt64]
    private static let probes: UInt64 = 3
    /// Changes whenever what a signature's bits mean does: older ones in the cache are not read.
    static let format = "bloom-3-fnv1a-256"

    /// About four bytes of text per bit: some 25 bits per distinct identifier in kernel sources.
    init(text bytes: [UInt8]) {
        words = [UInt64](repeating: 0, count: max(8, bytes.count / 256))
        let bitCount = UInt64(words.count * 64)
        bytes.withUnsafeBufferPointer { text in
            var i = 0
            let n = text.count
            while i < n {
                let byte = text[i]
                guard SourceText.isIdentifierByte(byte) else { i += 1; continue }
                if byte >= 0x30 && byte <= 0x39 {
                    // A number (0x1f, 10UL): not an identifier, and nothing in it starts one.
                    while i < n && SourceText.isIdentifierByte(text[i]) { i += 1 }
                    continue
                }
                var hash = IdentifierMatcher.seed
                while i < n && SourceText.isIdentifierByte(text[i]) {
                    hash = IdentifierMatcher.step(hash, text[i])
                    i += 1
                }
                IdentifierSignature.positions(hash, bitCount) { words[Int($0 >> 6)] |= 1 << ($0 & 63) }
            }
        }
    }

    /// The signature of a file on disk (nil when it cannot be read).
    init?(file: String) {
        guard case .success(let source) = TextIndex.read(file) else { return nil }
        self.init(text: source.bytes)
    }

    init(data: Data) {
        words = data.withUnsafeBytes { raw in (0..<(raw.count / 8)).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) } }
        if words.isEmpty { words = [UInt64](repeating: ~0, count: 1) }
    }

    var data: Data { words.withUnsafeBufferPointer { Data(buffer: $0) } }

    /// The hash of an identifier (nil for anything else: every signature may hold it).
    static func hash(of identifier: String) -> UInt64? {
        let bytes = Array(identifier.utf8)
        guard let first = bytes.first, !(first >= 0x30 && first <= 0x39), bytes.allSatisfy(SourceText.isIdentifierByte) else { return nil }
        return bytes.reduce(IdentifierMatcher.seed, IdentifierMatcher.step)
    }

    func mayContain(_ hash: UInt64) -> Bool {
        var all = true
        IdentifierSignature.positions(hash, UInt64(words.count * 64)) { if words[Int($0 >> 6)] & (1 << ($0 & 63)) == 0 { all = false } }
        return all
    }

    private static func positions(_ hash: UInt64, _ bitCount: UInt64, _ body: (UInt64) -> Void) {
        let low = hash & 0xffff_ffff, high = (hash >> 32) | 1
        for probe in 0..<probes { body((low &+ probe &* high) % bitCount) }
    }
}
