import Foundation
import KernelBuild
import RuleKit
import GRDB

/// Per-file results kept between scans (SQLite), so that a rescan after a one-file change parses
/// only what changed. An entry is keyed by the file's content, the flags, the rules and kwarden's
/// version, and is valid only while every file the parse read (its headers) has the size and
/// modification time it had then.
public final class ResultCache: @unchecked Sendable {
    public let path: String
    private let database: DatabaseQueue

    /// `$XDG_CACHE_HOME/kwarden`, else `~/.cache/kwarden`: never inside the scanned tree.
    public static var defaultDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let cache = environment["XDG_CACHE_HOME"], !cache.isEmpty { return cache + "/kwarden" }
        return (environment["HOME"] ?? NSTemporaryDirectory()) + "/.cache/kwarden"
    }

    /// Opens an existing cache only to read it (a worker's view of its scan's cache): no schema
    /// statement, no write lock, and nothing made when there is no cache.
    public init(readingOnly directory: String) throws {
        path = directory + "/results.sqlite"
        var configuration = Configuration()
        configuration.readonly = true
        database = try DatabaseQueue(path: path, configuration: configuration)
    }

    public init(directory: String = ResultCache.defaultDirectory) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/results.sqlite"
        database = try DatabaseQueue(path: path)
        try database.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS results (
                    key TEXT PRIMARY KEY,
                    file TEXT NOT NULL,
                    outcome BLOB NOT NULL,
                    dependencies BLOB NOT NULL,
                    stored REAL NOT NULL)
                """)
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS text_facts (
                    path TEXT NOT NULL,
                    family TEXT NOT NULL,
                    identity TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    modified REAL NOT NULL,
                    data BLOB NOT NULL,
                    PRIMARY KEY (path, family))
                """)
            // Identifier signatures were a table of their own before they became a text-facts family.
            try db.execute(sql: "DROP TABLE IF EXISTS signatures")
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS memos (
                    name TEXT PRIMARY KEY,
                    key TEXT NOT NULL,
                    data BLOB NOT NULL)
                """)
        }
    }

    // MARK: What a file's text says (preselection verdicts, call outlines)

    /// Stored facts of one family (`preselect`, `outline`) for `paths`, where they were made by
    /// the same rules and build (`identity`) from a file of the same size and modification time:
    /// a rescan reads again only the files that changed.
    func textFacts(family: String, identity: String, for paths: [String], stamps: [FileStamp?]) -> [Data?] {
        var stored: [String: (Int64, Double, Data)] = [:]
        try? database.read { db in
            if paths.count < 2000 {
                // A few files of a large family: each by its key, not the whole family.
                let statement = try db.cachedStatement(sql: "SELECT size, modified, data FROM text_facts WHERE path = ? AND family = ? AND identity = ?")
                for (path, stamp) in zip(paths, stamps) where stamp != nil {
                    if let row = try Row.fetchOne(statement, arguments: [path, family, identity]) { stored[path] = (row["size"], row["modified"], row["data"]) }
                }
                return
            }
            let rows = try Row.fetchCursor(db, sql: "SELECT path, size, modified, data FROM text_facts WHERE family = ? AND identity = ?",
                                           arguments: [family, identity])
            while let row = try rows.next() { stored[row["path"]] = (row["size"], row["modified"], row["data"]) }
        }
        return zip(paths, stamps).map { path, stamp in
            guard let stamp, let (size, modified, data) = stored[path], size == stamp.size, modified == stamp.modified else { return nil }
            return data
        }
    }

    func storeTextFacts(family: String, identity: String, _ entries: [(path: String, stamp: FileStamp, data: Data)]) {
        guard !entries.isEmpty else { return }
        try? database.write { db in
            let statement = try db.makeStatement(sql: "INSERT OR REPLACE INTO text_facts (path, family, identity, size, modified, data) VALUES (?, ?, ?, ?, ?, ?)")
            for entry in entries {
                try statement.execute(arguments: [entry.path, family, identity, entry.stamp.size, entry.stamp.modified, entry.data])
            }
        }
    }

    // MARK: What a whole scan derived from many files (the call graph's chains)

    /// The value stored under `name` if it was made from the same inputs (`key`, a digest of
    /// them). One value per name: a new one replaces it, so memos never pile up.
    func memo(name: String, key: String) -> Data? {
        try? database.read { db in try Data.fetchOne(db, sql: "SELECT data FROM memos WHERE name = ? AND key = ?", arguments: [name, key]) }
    }

    /// The memos whose name starts with `prefix`.
    func memos(named prefix: String) -> [(name: String, key: String, data: Data)] {
        (try? database.read { db in
            try Row.fetchAll(db, sql: "SELECT name, key, data FROM memos WHERE substr(name, 1, ?) = ? ORDER BY name",
                             arguments: [prefix.utf8.count, prefix]).map { ($0["name"], $0["key"], $0["data"]) }
        }) ?? []
    }

    func storeMemo(name: String, key: String, data: Data) {
        try? database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO memos (name, key, data) VALUES (?, ?, ?)", arguments: [name, key, data])
        }
    }

    // MARK: Identifier signatures of files (for the evidence index)

    /// The text-facts family of identifier signatures.
    static let signatureFamily = "signature"

    /// Stored signatures of `paths` that still match the file's size and modification time.
    func signatures(for paths: [String], stamps: [FileStamp?]) -> [IdentifierSignature?] {
        textFacts(family: Self.signatureFamily, identity: IdentifierSignature.format, for: paths, stamps: stamps).map { $0.map(IdentifierSignature.init(data:)) }
    }

    func storeSignatures(_ entries: [(path: String, stamp: FileStamp, signature: IdentifierSignature)]) {
        storeTextFacts(family: Self.signatureFamily, identity: IdentifierSignature.format, entries.map { ($0.path, $0.stamp, $0.signature.data) })
    }

    struct Dependency: Codable, Equatable {
        let path: String
        let size: Int64
        let modified: Double

        /// A parse reads hundreds of headers, and a rescan checks every stored list: one line per
        /// file (`size TAB modified TAB path`), not JSON.
        static func encode(list: [Dependency]) -> Data {
            var text = ""
            for dependency in list { text += dependency.stampText + "\t\(dependency.path)\n" }
            return Data(text.utf8)
        }

        /// `size TAB modified`: how a line of the list starts.
        var stampText: String { "\(size)\t\(modified)" }

        static func decode(list data: Data) -> [Dependency]? {
            var list: [Dependency] = []
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
                guard fields.count == 3, let size = Int64(fields[0]), let modified = Double(fields[1]) else { return nil }
                list.append(Dependency(path: String(fields[2]), size: size, modified: modified))
            }
            return list
        }
    }

    static func stamp(_ path: String) -> Dependency? {
        FileStamp(path: path).map { Dependency(path: path, size: $0.size, modified: $0.modified) }
    }

    /// Identifies this build of kwarden, so that a changed rule never reuses results of an older build
    /// (the version number alone does not change while rules are being developed).
    /// `KWARDEN_BUILD_IDENTITY` stands in for it: for developers timing a rescan across rebuilds
    /// that leave every rule's extraction as it was (a wrong claim reuses stale results).
    static let buildIdentity: String = {
        if let given = ProcessInfo.processInfo.environment["KWARDEN_BUILD_IDENTITY"], !given.isEmpty { return given }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        guard let stamp = stamp(executable) else { return Kwarden.version }
        return "\(Kwarden.version)-\(stamp.size)-\(stamp.modified)"
    }()

    /// The key of a job: content of the file, how it is compiled and checked, and what is asked.
    public static func key(job: FileJob, content: [UInt8], configuration: String) -> String {
        // What a file contributes depends on the questions asked of it (each rule's, already in a
        // canonical encoding), taken in rule-id order: a key that changed from process to process
        // would never hit.
        var requests = job.questions.keys.sorted().map { $0 + "=" + String(decoding: job.questions[$0]!, as: UTF8.self) }.joined(separator: "\n")
        if let skipped = job.skippedRules, !skipped.isEmpty { requests += "\nskipped=" + skipped.sorted().joined(separator: ",") }
        let contentHash = stableHash([String(decoding: content, as: UTF8.self), String(content.count)])
        let reverseHash = stableHash([String(decoding: content.reversed(), as: UTF8.self)])
        return [contentHash, reverseHash, stableHash([job.file, String(job.pass), requests, configuration, buildIdentity])].joined(separator: "-")
    }

    /// A stored outcome, if every file it depended on is unchanged and none is in `excluded`
    /// (files whose contents are overlaid for this scan).
    /// `stamps`: stamps already taken in this batch of lookups (files share most headers).
    public func lookup(key: String, unless excluded: Set<String> = [], stamps: StampMemo? = nil) -> FileOutcome? {
        guard let row = try? database.read({ db in try Row.fetchOne(db, sql: "SELECT outcome, dependencies FROM results WHERE key = ?", arguments: [key]) }),
              let outcomeData: Data = row["outcome"], let dependencyData: Data = row["dependencies"],
              Self.dependenciesHold(dependencyData, unless: excluded, stamps: stamps ?? StampMemo()) else { return nil }
        return FileOutcome(cacheData: outcomeData)
    }

    /// Whether every file of an encoded dependency list (`Dependency.encode`) still has its
    /// stamp and none is in `excluded`. A rescan checks hundreds of thousands of lines: each is
    /// compared as text with the file's stamp in the same form, without parsing its numbers.
    static func dependenciesHold(_ data: Data, unless excluded: Set<String>, stamps: StampMemo) -> Bool {
        let tab = UInt8(ascii: "\t"), newline = UInt8(ascii: "\n")
        return data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var line = 0
            while line < bytes.count {
                var end = line, secondTab = -1, tabs = 0
                while end < bytes.count && bytes[end] != newline {
                    if bytes[end] == tab && tabs < 2 { tabs += 1; if tabs == 2 { secondTab = end } }
                    end += 1
                }
                defer { line = end + 1 }
                if end == line { continue }
                guard secondTab > line else { return false }
                let path = String(decoding: UnsafeBufferPointer(rebasing: bytes[(secondTab + 1)..<end]), as: UTF8.self)
                guard !excluded.contains(path), let current = stamps.stampText(path),
                      current.count == secondTab - line,
                      current.withUnsafeBufferPointer({ memcmp($0.baseAddress!, bytes.baseAddress! + line, current.count) == 0 }) else { return false }
            }
            return true
        }
    }

    /// Stamps of files, each taken once for a batch of lookups made at one moment.
    public final class StampMemo: @unchecked Sendable {
        private var known: [String: (stamp: Dependency, text: [UInt8])?] = [:]
        private let lock = NSLock()
        public init() {}

        private func entry(_ path: String) -> (stamp: Dependency, text: [UInt8])? {
            lock.lock()
            if let known = known[path] { lock.unlock(); return known }
            lock.unlock()
            let taken = ResultCache.stamp(path).map { ($0, Array($0.stampText.utf8)) }
            lock.lock(); known[path] = .some(taken); lock.unlock()
            return taken
        }

        func stamp(_ path: String) -> Dependency? { entry(path)?.stamp }

        /// The file's stamp as a dependency line starts with it (nil: the file is gone).
        func stampText(_ path: String) -> [UInt8]? { entry(path)?.text }
    }

    /// The stamps outcomes are stored with, each file's taken once: the thousands of headers
    /// most files read are stamped once a scan, not once per file. A header changed meanwhile
    /// keeps its older stamp here, which only makes the entry stale: never a wrong hit.
    private let storedStamps = StampMemo()

    public func store(key: String, outcome: FileOutcome) {
        // Failures (crashes, timeouts) are not cached: they may not happen again.
        guard outcome.failure == nil else { return }
        let dependencies = outcome.dependencies.compactMap(storedStamps.stamp)
        var stored = outcome
        stored.dependencies = []
        guard let outcomeData = stored.cacheData else { return }
        let dependencyData = Dependency.encode(list: dependencies)
        try? database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO results (key, file, outcome, dependencies, stored) VALUES (?, ?, ?, ?, ?)",
                           arguments: [key, outcome.file, outcomeData, dependencyData, Date().timeIntervalSince1970])
        }
    }

    // MARK: Maintenance (`kwarden cache stats|prune|clear`)

    public struct Statistics: Sendable {
        public var results = 0
        public var files = 0
        public var signatures = 0
        /// Files' preselection verdicts and call outlines.
        public var textFacts = 0
        public var bytes: Int64 = 0
        public var oldest: Date?
        public var newest: Date?
    }

    public func statistics() throws -> Statistics {
        var statistics = Statistics()
        try database.read { db in
            statistics.results = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results") ?? 0
            statistics.files = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT file) FROM results") ?? 0
            statistics.signatures = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM text_facts WHERE family = ?", arguments: [Self.signatureFamily]) ?? 0
            statistics.textFacts = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM text_facts WHERE family != ?", arguments: [Self.signatureFamily]) ?? 0
            statistics.oldest = try Double.fetchOne(db, sql: "SELECT MIN(stored) FROM results").map(Date.init(timeIntervalSince1970:))
            statistics.newest = try Double.fetchOne(db, sql: "SELECT MAX(stored) FROM results").map(Date.init(timeIntervalSince1970:))
        }
        for suffix in ["", "-wal", "-shm"] {
            statistics.bytes += FileStamp(path: path + suffix)?.size ?? 0
        }
        return statistics
    }

    /// How many text facts of `family`, or of its subfamilies (`family/…`), are stored.
    func textFactCount(family: String) -> Int {
        (try? database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM text_facts WHERE family = ? OR substr(family, 1, ?) = ?",
                             arguments: [family, family.utf8.count + 1, family + "/"]) ?? 0
        }) ?? 0
    }

    /// Removes what can never be used again — results whose file or headers changed or are gone,
    /// signatures of files that changed or are gone — and results stored before `cutoff`.
    /// Returns how many results and signatures were removed.
    @discardableResult
    public func prune(storedBefore cutoff: Date? = nil) throws -> (results: Int, signatures: Int) {
        var deadResults: [String] = []
        var deadFacts: [(String, String)] = []
        let stamps = StampMemo()
        try database.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT key, dependencies, stored FROM results")
            while let row = try rows.next() {
                let key: String = row["key"]
                if let cutoff, (row["stored"] as Double) < cutoff.timeIntervalSince1970 { deadResults.append(key); continue }
                let data: Data = row["dependencies"]
                guard Self.dependenciesHold(data, unless: [], stamps: stamps) else { deadResults.append(key); continue }
            }
            let facts = try Row.fetchCursor(db, sql: "SELECT path, family, size, modified FROM text_facts")
            while let row = try facts.next() {
                let stamp = stamps.stamp(row["path"])
                if stamp?.size != row["size"] || stamp?.modified != row["modified"] { deadFacts.append((row["path"], row["family"])) }
            }
        }
        try database.write { db in
            let results = try db.makeStatement(sql: "DELETE FROM results WHERE key = ?")
            for key in deadResults { try results.execute(arguments: [key]) }
            let facts = try db.makeStatement(sql: "DELETE FROM text_facts WHERE path = ? AND family = ?")
            for (path, family) in deadFacts { try facts.execute(arguments: [path, family]) }
        }
        try database.vacuum()
        pruneSharedHeaders(all: false)
        return (deadResults.count, deadFacts.filter { $0.1 == Self.signatureFamily }.count)
    }

    /// Shared precompiled headers kept beside the cache: those whose headers changed (`all`: every one).
    private func pruneSharedHeaders(all: Bool) {
        let directory = (path as NSString).deletingLastPathComponent + "/pch"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        // By their records: a failed build leaves a record without a precompiled header.
        for name in names where name.hasSuffix(".pch.record") {
            let output = directory + "/" + String(name.dropLast(".record".count))
            guard all || !(PrecompiledHeaders.isFresh(output) || PrecompiledHeaders.lastFailure(of: output) != nil) else { continue }
            let base = String(output.dropLast(4))
            for file in [output, base + ".h", PrecompiledHeaders.recordFile(of: output), PrecompiledHeaders.functionsFile(of: output)] { try? FileManager.default.removeItem(atPath: file) }
        }
    }

    /// Empties the cache.
    public func clear() throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM results")
            try db.execute(sql: "DELETE FROM text_facts")
            try db.execute(sql: "DELETE FROM memos")
        }
        try database.vacuum()
        pruneSharedHeaders(all: true)
    }
}

/// A 128-bit digest of many parts (two independent 64-bit lanes), each part prefixed with its
/// length so that no two sequences of parts run together: what a memo is keyed by.
struct ContentDigest {
    private var first: UInt64 = 0xcbf2_9ce4_8422_2325
    private var second: UInt64 = 0x9e37_79b9_7f4a_7c15

    mutating func add(_ text: String) {
        var text = text
        text.withUTF8 { add(bytes: UnsafeRawBufferPointer($0)) }
    }

    mutating func add(_ data: Data) { data.withUnsafeBytes { add(bytes: $0) } }

    private mutating func add(bytes: UnsafeRawBufferPointer) {
        var a = first, b = second
        func mix(_ byte: UInt8) {
            a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
            b = ((b ^ UInt64(byte)) &* 0xff51_afd7_ed55_8ccd)
            b = (b << 29) | (b >> 35)
        }
        var length = UInt64(bytes.count)
        for _ in 0..<8 { mix(UInt8(truncatingIfNeeded: length)); length >>= 8 }
        for byte in bytes { mix(byte) }
        first = a; second = b
    }

    /// The two lanes folded into one word, for digests kept by the thousand.
    var word: UInt64 { first ^ (second << 1 | second >> 63) }

    var value: String {
        [first, second].map { word in
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}

/// Configurations resolved through Kconfig, kept as memos of this kwarden build.
extension ResultCache: ConfigurationStore {
    public func resolvedConfiguration(named name: String) -> Data? { memo(name: name, key: Self.buildIdentity) }
    public func keepResolvedConfiguration(_ data: Data, named name: String) { storeMemo(name: name, key: Self.buildIdentity, data: data) }
}

/// A cache's kept configurations, read but never written: a worker's view (the scanning
/// process keeps what it resolves; workers would only contend for the database).
public struct KeptConfigurations: ConfigurationStore {
    let cache: ResultCache

    public init?(directory: String) {
        guard let cache = try? ResultCache(readingOnly: directory) else { return nil }
        self.cache = cache
    }

    public func resolvedConfiguration(named name: String) -> Data? { cache.resolvedConfiguration(named: name) }
    public func keepResolvedConfiguration(_ data: Data, named name: String) {}
}

/// Configurations resolved by a scan without a cache, kept as files in its scratch directory for
/// the scan's worker processes (which only read them): each would otherwise read the Kconfig
/// tree of its architecture again, most of a second before its first parse.
public struct ScratchConfigurations: ConfigurationStore {
    public let directory: String
    let writable: Bool

    public init(directory: String, writable: Bool) {
        self.directory = directory
        self.writable = writable
        if writable { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
    }

    private func path(of name: String) -> String { directory + "/" + stableHash([name]) }

    public func resolvedConfiguration(named name: String) -> Data? { FileManager.default.contents(atPath: path(of: name)) }

    public func keepResolvedConfiguration(_ data: Data, named name: String) {
        guard writable else { return }
        try? data.write(to: URL(fileURLWithPath: path(of: name)), options: .atomic)
    }
}
