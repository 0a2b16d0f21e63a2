import ArgumentParser
import Foundation
import KwardenCore
import KwardenRules
import RuleKit

/// `kwarden cache stats|prune|clear`: the per-file result cache that `scan` and `gate` keep.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Show, prune or clear the result cache that scan and gate keep between runs.",
        subcommands: [Stats.self, Prune.self, Clear.self])

    struct Location: ParsableArguments {
        @Option(name: .customLong("cache-dir"), help: "Where the result cache lives (default: $XDG_CACHE_HOME/kwarden or ~/.cache/kwarden).")
        var cacheDir: String?

        func open() throws -> ResultCache {
            let directory = cacheDir ?? ResultCache.defaultDirectory
            do { return try ResultCache(directory: directory) } catch {
                throw ValidationError("cannot open the result cache in \(directory): \(error)")
            }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stats", abstract: "How much the cache holds.")
        @OptionGroup var location: Location

        func run() throws {
            let cache = try location.open()
            let statistics = try cache.statistics()
            let formatter = ISO8601DateFormatter()
            print("cache: \(cache.path)")
            print("results: \(statistics.results) (\(statistics.files) files)")
            print("identifier signatures: \(statistics.signatures)")
            print("text verdicts and outlines: \(statistics.textFacts)")
            print("size: \(String(format: "%.1f", Double(statistics.bytes) / 1_048_576)) MiB")
            if let oldest = statistics.oldest, let newest = statistics.newest {
                print("stored: \(formatter.string(from: oldest)) to \(formatter.string(from: newest))")
            }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Remove entries that can never be used again (their file or headers changed or are gone), and old ones.")
        @OptionGroup var location: Location
        @Option(name: .customLong("older-than"), help: "Also remove results stored more than this many days ago.")
        var olderThan: Double?

        func validate() throws {
            if let olderThan, olderThan < 0 { throw ValidationError("--older-than takes a number of days, 0 or more") }
        }

        func run() throws {
            let cache = try location.open()
            let cutoff = olderThan.map { Date().addingTimeInterval(-$0 * 86_400) }
            let removed = try cache.prune(storedBefore: cutoff)
            print("removed \(removed.results) result\(removed.results == 1 ? "" : "s") and \(removed.signatures) identifier signature\(removed.signatures == 1 ? "" : "s")")
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "clear", abstract: "Remove everything from the cache.")
        @OptionGroup var location: Location

        func run() throws {
            let cache = try location.open()
            try cache.clear()
            print("cleared \(cache.path)")
        }
    }
}
