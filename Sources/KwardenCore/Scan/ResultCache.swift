import Foundation
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
                CREATE TABLE IF NOT EXISTS signatures (
                    path TEXT PRIMARY KEY,
                    size INTEGER NOT NULL,
                    modified REAL NOT NULL,
                    bits BLOB NOT NULL)
                """)
        }
    }

    // MARK: Identifier signatures of files (for the evidence index)

    /// Stored signatures of `paths` that still match the file's size and modification time.
    func signatures(for paths: [String], stamps: [FileStamp?]) -> [IdentifierSignature?] {
        var stored: [String: (Int64, Double, Data)] = [:]
        try? database.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT path, size, modified, bits FROM signatures")
            while let row = try rows.next() { stored[row["path"]] = (row["size"], row["modified"], row["bits"]) }
        }
        return zip(paths, stamps).map { path, stamp in
            guard let stamp, let (size, modified, bits) = stored[path], size == stamp.size, modified == stamp.modified else { return nil }
            return IdentifierSignature(data: bits)
        }
    }

    func storeSignatures(_ entries: [(path: String, stamp: FileStamp, signature: IdentifierSignature)]) {
        guard !entries.isEmpty else { return }
        try? database.write { db in
            let statement = try db.makeStatement(sql: "INSERT OR REPLACE INTO signatures (path, size, modified, bits) VALUES (?, ?, ?, ?)")
            for entry in entries {
                try statement.execute(arguments: [entry.path, entry.stamp.size, entry.stamp.modified, entry.signature.data])
            }
        }
    }

    struct Dependency: Codable, Equatable {
        let path: String
        let size: Int64
        let modified: Double
    }

    static func stamp(_ path: String) -> Dependency? {
        FileStamp(path: path).map { Dependency(path: path, size: $0.size, modified: $0.modified) }
    }

    /// Identifies this build of kwarden, so that a changed rule never reuses results of an older build
    /// (the version number alone does not change while rules are being developed).
    static let buildIdentity: String = {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        guard let stamp = stamp(executable) else { return Kwarden.version }
        return "\(Kwarden.version)-\(stamp.size)-\(stamp.modified)"
    }()

    /// The key of a job: content of the file, how it is compiled and checked, and what is asked.
    public static func key(job: FileJob, content: [UInt8], configuration: String) -> String {
        // `near` only ranks candidate files; what a file contributes depends on needles and keys.
        let asked = job.requests.map { FactRequest(needles: $0.needles, keys: $0.keys) }
        let requests = (try? JSONEncoder().encode(asked)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let contentHash = stableHash([String(decoding: content, as: UTF8.self), String(content.count)])
        let reverseHash = stableHash([String(decoding: content.reversed(), as: UTF8.self)])
        return [contentHash, reverseHash, stableHash([job.file, String(job.pass), requests, configuration, buildIdentity])].joined(separator: "-")
    }

    /// A stored outcome, if every file it depended on is unchanged and none is in `excluded`
    /// (files whose contents are overlaid for this scan).
    public func lookup(key: String, unless excluded: Set<String> = []) -> FileOutcome? {
        guard let row = try? database.read({ db in try Row.fetchOne(db, sql: "SELECT outcome, dependencies FROM results WHERE key = ?", arguments: [key]) }),
              let outcomeData: Data = row["outcome"], let dependencyData: Data = row["dependencies"],
              let outcome = try? JSONDecoder().decode(FileOutcome.self, from: outcomeData),
              let dependencies = try? JSONDecoder().decode([Dependency].self, from: dependencyData) else { return nil }
        for dependency in dependencies where excluded.contains(dependency.path) || ResultCache.stamp(dependency.path) != dependency { return nil }
        return outcome
    }

    public func store(key: String, outcome: FileOutcome) {
        // Failures (crashes, timeouts) are not cached: they may not happen again.
        guard outcome.failure == nil else { return }
        let dependencies = outcome.dependencies.compactMap(ResultCache.stamp)
        var stored = outcome
        stored.dependencies = []
        guard let outcomeData = try? JSONEncoder().encode(stored),
              let dependencyData = try? JSONEncoder().encode(dependencies) else { return }
        try? database.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO results (key, file, outcome, dependencies, stored) VALUES (?, ?, ?, ?, ?)",
                           arguments: [key, outcome.file, outcomeData, dependencyData, Date().timeIntervalSince1970])
        }
    }
}
