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

    /// Tells the rule's lists apart from other lists within a process (what a rule makes of a
    /// shared header's helper is kept per set of lists).
    public var listsIdentity: String {
        var hasher = Hasher()
        for key in (lists ?? [:]).keys.sorted() { hasher.combine(key); hasher.combine(lists?[key] ?? []) }
        return String(hasher.finalize())
    }

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
    case notARulesDirectory(String)
    case unreadable(path: String, reason: String)
    case missingRule(id: String, directory: String)
    case unknownRules([String], known: [String])
    case unknownList(rule: String, list: String, known: [String])

    public var description: String {
        switch self {
        case .notARulesDirectory(let path):
            return "\(path) is not a kwarden rules directory (it has no subtract-loop-zero-divisor.yaml)"
        case .unreadable(let path, let reason): return "cannot read rule file \(path): \(reason)"
        case .missingRule(let id, let directory): return "rule \(id) has no metadata file \(directory)/\(id).yaml"
        case .unknownRules(let ids, let known):
            return "unknown rule\(ids.count > 1 ? "s" : "") \(ids.joined(separator: ", ")); known rules: \(known.joined(separator: ", "))"
        case .unknownList(let rule, let list, let known):
            return "lists.\(rule): unknown list '\(list)' (the names would do nothing); \(rule)'s lists: \(known.joined(separator: ", "))"
        }
    }
}

/// Where the files of `rules/` (`<id>.yaml`, `fixes.yaml`) are read from.
public enum RuleSource: Equatable, Sendable {
    case directory(String)
    /// The copy built into the executable (`scripts/embed-rules`).
    case embedded
}

/// Finds and loads `rules/`.
public enum RuleDirectory {
    /// `--rules-dir`, then $KWARDEN_RULES_DIR, then the `rules/` of the checkout whose `.build/`
    /// holds this executable (so that an edited rule counts at once in development), then the copy
    /// built into the executable: a binary copied or installed anywhere needs no files beside it.
    public static func locate(explicit: String? = nil) throws -> RuleSource {
        for given in [explicit, ProcessInfo.processInfo.environment["KWARDEN_RULES_DIR"]].compactMap({ $0 }) {
            guard isRulesDirectory(given) else { throw RuleCatalogError.notARulesDirectory(given) }
            return .directory(given)
        }
        if let checkout = checkoutRules() { return .directory(checkout) }
        return .embedded
    }

    private static func isRulesDirectory(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/subtract-loop-zero-divisor.yaml")
    }

    /// `<checkout>/rules` when this executable lies under `<checkout>/.build/` of a kwarden checkout.
    private static func checkoutRules() -> String? {
        let components = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().pathComponents
        guard let build = components.lastIndex(of: ".build") else { return nil }
        let checkout = NSString.path(withComponents: Array(components[..<build]))
        let rules = checkout + "/rules"
        let isKwarden = FileManager.default.fileExists(atPath: checkout + "/Package.swift")
        return isKwarden && isRulesDirectory(rules) ? rules : nil
    }

    /// The text of one file of `rules/` (`<id>.yaml`, `fixes.yaml`), nil when `source` has no such file.
    public static func text(of name: String, from source: RuleSource) throws -> String? {
        switch source {
        case .embedded:
            return EmbeddedRules.files[name]
        case .directory(let directory):
            let path = directory + "/" + name
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw RuleCatalogError.unreadable(path: path, reason: "\(error)")
            }
        }
    }

    public static func load(id: String, from directory: String) throws -> RuleMetadata {
        try load(id: id, from: .directory(directory))
    }

    public static func load(id: String, from source: RuleSource) throws -> RuleMetadata {
        let place: String
        switch source {
        case .directory(let directory): place = directory
        case .embedded: place = "(built into kwarden)"
        }
        guard let text = try text(of: id + ".yaml", from: source) else { throw RuleCatalogError.missingRule(id: id, directory: place) }
        do {
            return try YAMLDecoder().decode(RuleMetadata.self, from: text)
        } catch {
            throw RuleCatalogError.unreadable(path: place + "/" + id + ".yaml", reason: "\(error)")
        }
    }
}
