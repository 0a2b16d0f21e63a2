import Foundation
import RuleKit

/// The rules kwarden ships, by id. A new rule is one line here, a folder beside this file, a
/// `rules/<id>.yaml` and a `corpus/<id>/` folder (`kwarden new-rule ID` writes their skeleton).
public enum RuleRegistry {
    static let builtIn: [(id: String, type: any Rule.Type)] = [
        ("subtract-loop-zero-divisor", SubtractLoopZeroDivisor.self),
        ("wildcard-packet-type", WildcardPacketType.self),
        ("rcu-publish-without-sync", RcuPublishWithoutSync.self),
        ("dma-free-after-failed-disable", DmaFreeAfterFailedDisable.self),
    ]

    public static var ids: [String] { builtIn.map(\.id) }

    /// The rule `id` with `metadata` (nil for an unknown id).
    public static func make(id: String, metadata: RuleMetadata) -> AnyRule? {
        guard let type = builtIn.first(where: { $0.id == id })?.type else { return nil }
        return make(type, metadata)
    }

    private static func make<R: Rule>(_ type: R.Type, _ metadata: RuleMetadata) -> AnyRule {
        AnyRule(R(metadata: metadata))
    }

    /// Loads the chosen rules (all when `only` is empty), with extra API names merged into their
    /// lists; a list name the rule does not have is an error.
    public static func load(only: [String] = [], rulesDirectory: String? = nil,
                            extraLists: [String: [String: [String]]] = [:]) throws -> [AnyRule] {
        let source = try RuleDirectory.locate(explicit: rulesDirectory)
        let unknown = only.filter { !ids.contains($0) }
        if !unknown.isEmpty { throw RuleCatalogError.unknownRules(unknown, known: ids) }
        return try (only.isEmpty ? ids : only).map { id in
            var metadata = try RuleDirectory.load(id: id, from: source)
            for (list, names) in (extraLists[id] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let known = (metadata.lists ?? [:]).keys.sorted()
                guard known.contains(list) else { throw RuleCatalogError.unknownList(rule: id, list: list, known: known) }
                metadata.lists = metadata.lists ?? [:]
                metadata.lists![list, default: []].append(contentsOf: names)
            }
            return make(id: id, metadata: metadata)!
        }
    }
}
