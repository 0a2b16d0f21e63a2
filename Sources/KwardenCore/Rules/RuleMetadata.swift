import Foundation
import Yams

/// A rule's description as kept in `rules/<id>.yaml`: what it finds, why it matters, the incident
/// behind it, the API name lists it uses, and examples that the test suite runs.
public struct RuleMetadata: Codable, Sendable {
    public struct Examples: Codable, Sendable {
        public var triggering: [String]
        public var nonTriggering: [String]
        enum CodingKeys: String, CodingKey { case triggering, nonTriggering = "non_triggering" }
    }
    public struct Preselect: Codable, Sendable {
        /// The file must contain at least one of these.
        public var any: [String]?
        /// The file must contain every one of these.
        public var all: [String]?
    }

    public var id: String
    public var title: String
    public var severity: Severity
    public var confidence: Confidence
    public var finds: String
    public var why: String
    public var incident: String?
    public var references: [String]?
    public var preselect: Preselect?
    /// Kernel API names the rule recognises, by list name; users extend them here or in `.kwarden.yaml`.
    public var lists: [String: [String]]?
    public var examples: Examples?
    public var review: String? // free text: what the rule found on a real tree, and why a sample is or is not a bug

    public func list(_ name: String) -> [String] { lists?[name] ?? [] }

    /// A list's names, as a set.
    public func names(_ name: String) -> Set<String> { Set(list(name)) }

    /// A list of "name@N" entries (N counts arguments from 1): each name with the 0-based position
    /// of the argument it concerns; a name without `@N` maps to nil. The last entry of a name wins.
    public func positions(_ name: String) -> [String: Int?] {
        var result: [String: Int?] = [:]
        for entry in list(name) {
            let parts = entry.split(separator: "@")
            if parts.count == 2, let position = Int(parts[1]), position >= 1 { result[String(parts[0])] = .some(position - 1) } else { result[entry] = .some(nil) }
        }
        return result
    }
}

public enum RuleCatalogError: Error, CustomStringConvertible {
    case directoryNotFound(searched: [String])
    case unreadable(path: String, reason: String)
    case missingRule(id: String, directory: String)
    case unknownRules([String], known: [String])
    case unknownList(rule: String, list: String, known: [String])

    public var description: String {
        switch self {
        case .directoryNotFound(let searched):
            return "cannot find kwarden's rules/ directory (looked in: \(searched.joined(separator: ", "))); pass --rules-dir or set KWARDEN_RULES_DIR"
        case .unreadable(let path, let reason): return "cannot read rule file \(path): \(reason)"
        case .missingRule(let id, let directory): return "rule \(id) has no metadata file \(directory)/\(id).yaml"
        case .unknownRules(let ids, let known):
            return "unknown rule\(ids.count > 1 ? "s" : "") \(ids.joined(separator: ", ")); known rules: \(known.joined(separator: ", "))"
        case .unknownList(let rule, let list, let known):
            return "lists.\(rule): unknown list '\(list)' (the names would do nothing); \(rule)'s lists: \(known.joined(separator: ", "))"
        }
    }
}

/// Finds and loads `rules/`.
public enum RuleDirectory {
    /// `--rules-dir`, then $KWARDEN_RULES_DIR, then a `rules/` beside or above the executable
    /// (a checkout's `.build/debug/kwarden`, or an install's `share/kwarden/rules`).
    public static func locate(explicit: String? = nil) throws -> String {
        var searched: [String] = []
        let fm = FileManager.default
        func isRulesDir(_ path: String) -> Bool {
            fm.fileExists(atPath: path + "/subtract-loop-zero-divisor.yaml")
        }
        if let explicit {
            if isRulesDir(explicit) { return explicit }
            throw RuleCatalogError.directoryNotFound(searched: [explicit])
        }
        if let env = ProcessInfo.processInfo.environment["KWARDEN_RULES_DIR"] {
            if isRulesDir(env) { return env }
            searched.append(env)
        }
        var starts = [URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()]
        if let executable = Bundle.main.executableURL { starts.append(executable.resolvingSymlinksInPath().deletingLastPathComponent()) }
        starts.append(URL(fileURLWithPath: fm.currentDirectoryPath))
        for start in starts {
            var dir = start
            for _ in 0..<8 {
                for candidate in [dir.appendingPathComponent("rules").path, dir.appendingPathComponent("share/kwarden/rules").path] {
                    if isRulesDir(candidate) { return candidate }
                    searched.append(candidate)
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        throw RuleCatalogError.directoryNotFound(searched: Array(Set(searched)).sorted().prefix(6).map { $0 })
    }

    public static func load(id: String, from directory: String) throws -> RuleMetadata {
        let path = directory + "/" + id + ".yaml"
        guard FileManager.default.fileExists(atPath: path) else { throw RuleCatalogError.missingRule(id: id, directory: directory) }
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return try YAMLDecoder().decode(RuleMetadata.self, from: text)
        } catch {
            throw RuleCatalogError.unreadable(path: path, reason: "\(error)")
        }
    }
}
