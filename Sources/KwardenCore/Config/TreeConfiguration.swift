import Foundation
import KwardenRules
import RuleKit
import Yams

/// A tree's own settings for kwarden, from `.kwarden.yaml` at the tree root (or `--config`):
///
/// ```yaml
/// exclude: [drivers/staging, "arch/*/boot"]   # paths relative to the tree root
/// rules:
///   disable: [subtract-loop-zero-divisor]    # or `enable: [...]` to run only those
/// lists:                                      # extra kernel API names for the rules' lists
///   subtract-loop-zero-divisor:
///     noreturn_functions: [my_fatal_error]
/// arch: arm64
/// flags: ["-DCONFIG_VENDOR_FEATURE=1"]        # extra compiler arguments for every file
/// ```
/// Unknown keys are errors, so a typo never silently turns a setting off.
public struct TreeConfiguration: Sendable {
    public var path: String?
    public var exclude: [String] = []
    public var enabledRules: [String]?
    public var disabledRules: [String] = []
    public var lists: [String: [String: [String]]] = [:]
    public var arch: String?
    public var flags: [String] = []
    /// Other sections (read by other commands), kept as parsed YAML.
    public var extra: [String: String] = [:]

    public init() {}

    static let topLevelKeys = ["exclude", "rules", "lists", "arch", "flags", "backports"]

    /// `.kwarden.yaml` at `root`, if present.
    public static func load(treeRoot root: String) throws -> TreeConfiguration {
        let path = root + "/.kwarden.yaml"
        guard FileManager.default.fileExists(atPath: path) else { return TreeConfiguration() }
        return try load(path: path)
    }

    public static func load(path: String) throws -> TreeConfiguration {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigurationError.unreadable(path: path, reason: error.localizedDescription)
        }
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch {
            throw ConfigurationError.invalid(path: path, reason: "not valid YAML: \(error)")
        }
        var configuration = TreeConfiguration()
        configuration.path = path
        guard let node else { return configuration }
        guard let top = node as? [String: Any] else { throw ConfigurationError.invalid(path: path, reason: "expected a mapping at the top") }
        for key in top.keys.sorted() where !topLevelKeys.contains(key) {
            throw ConfigurationError.unknownKey(path: path, key: key, allowed: topLevelKeys)
        }
        configuration.exclude = try strings(top["exclude"], "exclude", path)
        if let rules = top["rules"] {
            guard let map = rules as? [String: Any] else { throw ConfigurationError.invalid(path: path, reason: "rules: expected a mapping") }
            for key in map.keys.sorted() where !["enable", "disable"].contains(key) {
                throw ConfigurationError.unknownKey(path: path, key: "rules.\(key)", allowed: ["rules.enable", "rules.disable"])
            }
            if map["enable"] != nil { configuration.enabledRules = try strings(map["enable"], "rules.enable", path) }
            configuration.disabledRules = try strings(map["disable"], "rules.disable", path)
        }
        if let lists = top["lists"] {
            guard let byRule = lists as? [String: Any] else { throw ConfigurationError.invalid(path: path, reason: "lists: expected a mapping of rule ids") }
            for (rule, value) in byRule {
                guard let named = value as? [String: Any] else { throw ConfigurationError.invalid(path: path, reason: "lists.\(rule): expected a mapping of list names") }
                for (list, names) in named { configuration.lists[rule, default: [:]][list] = try strings(names, "lists.\(rule).\(list)", path) }
            }
        }
        if let arch = top["arch"] {
            guard let name = arch as? String else { throw ConfigurationError.invalid(path: path, reason: "arch: expected a name") }
            configuration.arch = name
        }
        configuration.flags = try strings(top["flags"], "flags", path)
        return configuration
    }

    private static func strings(_ value: Any?, _ key: String, _ path: String) throws -> [String] {
        guard let value else { return [] }
        if let list = value as? [Any] {
            return try list.map { item in
                if let text = item as? String { return text }
                if let number = item as? Int { return String(number) }
                throw ConfigurationError.invalid(path: path, reason: "\(key): expected a list of strings")
            }
        }
        if let single = value as? String { return [single] }
        throw ConfigurationError.invalid(path: path, reason: "\(key): expected a list of strings")
    }

    /// The rule ids to run: command line first, then the file's enable/disable.
    public func ruleSelection(commandLine: [String]) -> [String] {
        if !commandLine.isEmpty { return commandLine }
        let base = enabledRules ?? RuleRegistry.ids
        return base.filter { !disabledRules.contains($0) }
    }

    /// Checks that every rule id the file names exists.
    public func validateRuleIDs() throws {
        let named = (enabledRules ?? []) + disabledRules + Array(lists.keys)
        let unknown = named.filter { !RuleRegistry.ids.contains($0) }
        if !unknown.isEmpty { throw RuleCatalogError.unknownRules(unknown.sorted(), known: RuleRegistry.ids) }
    }
}
