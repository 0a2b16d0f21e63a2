import ClangKit

/// What a rule asks for in a later pass over other files: facts about these keys, from files
/// whose text contains one of `needles`.
public struct FactRequest: Codable, Hashable, Sendable {
    public var needles: [String]
    public var keys: [String]
    /// For rules that answer `factTopics`: the directories of the findings each topic serves,
    /// so that a topic's nearest candidate files are parsed first.
    public var near: [String: [String]]
    public init(needles: [String], keys: [String], near: [String: [String]] = [:]) {
        self.needles = needles; self.keys = keys; self.near = near
    }
    public var isEmpty: Bool { needles.isEmpty }
}

/// A check over the AST of one file, with an optional cross-file join.
///
/// A rule never decides from text: `preselect` only skips files that cannot match, `check`
/// decides on libclang's cursors, types and tokens.
public protocol Rule: Sendable {
    var metadata: RuleMetadata { get }
    /// Cheap textual filter over the raw bytes of a file.
    func preselect(_ source: SourceText) -> Bool
    /// Findings in the main file of `context`.
    func check(_ context: FileContext) -> [Finding]
    /// Facts this file contributes to cross-file judgement (`requests` from earlier passes).
    func facts(_ context: FileContext, requests: [FactRequest]) -> [Fact]
    /// What to look for in the next pass, given everything gathered so far (nil: nothing more).
    /// A file that names none of the request's `needles` as an identifier must hold no facts for
    /// it: the scanner looks for evidence only in files naming a needle.
    func nextRequest(findings: [Finding], facts: [Fact], pass: Int) -> FactRequest?
    /// Joins cross-file facts into the findings (evidence, confidence).
    func finalize(findings: [Finding], facts: [Fact]) -> [Finding]
    /// Textual preselection for a fact pass: can this file hold facts the request asks for?
    func mayHoldFacts(_ request: FactRequest, _ source: SourceText) -> Bool
    /// Finer preselection for requests made of independent topics (one struct field each, say):
    /// the topics this file may hold facts for, each with a rank (higher: likelier). The scanner
    /// then parses at most a few files per topic, best ranked and nearest first, so that one
    /// common field name cannot crowd out the others. The topic "" is never capped that way.
    /// nil: judge the file with `mayHoldFacts` alone.
    func factTopics(_ request: FactRequest, _ source: SourceText) -> [String: Int]?
}

extension Rule {
    public var id: String { metadata.id }
    public func facts(_ context: FileContext, requests: [FactRequest]) -> [Fact] { [] }
    public func nextRequest(findings: [Finding], facts: [Fact], pass: Int) -> FactRequest? { nil }
    public func finalize(findings: [Finding], facts: [Fact]) -> [Finding] { findings }
    public func mayHoldFacts(_ request: FactRequest, _ source: SourceText) -> Bool {
        request.needles.contains { source.containsIdentifier($0) }
    }
    public func factTopics(_ request: FactRequest, _ source: SourceText) -> [String: Int]? { nil }

    /// The declarative part of preselection: tokens from the rule's metadata.
    public func metadataPreselect(_ source: SourceText) -> Bool {
        guard let spec = metadata.preselect else { return true }
        if let all = spec.all, !all.allSatisfy({ source.contains($0) }) { return false }
        if let any = spec.any, !any.isEmpty, !any.contains(where: { source.contains($0) }) { return false }
        return true
    }
}

/// The rules kwarden ships, by id, constructed from their metadata files.
public enum RuleRegistry {
    public static let ids = ["subtract-loop-zero-divisor", "wildcard-packet-type", "rcu-publish-without-sync", "dma-free-after-failed-disable"]

    public static func make(id: String, metadata: RuleMetadata) -> Rule? {
        switch id {
        case "subtract-loop-zero-divisor": return SubtractLoopZeroDivisor(metadata: metadata)
        case "wildcard-packet-type": return WildcardPacketType(metadata: metadata)
        case "rcu-publish-without-sync": return RcuPublishWithoutSync(metadata: metadata)
        case "dma-free-after-failed-disable": return DmaFreeAfterFailedDisable(metadata: metadata)
        default: return nil
        }
    }

    /// Loads the chosen rules (all when `only` is empty), with extra API names merged into their lists.
    public static func load(only: [String] = [], rulesDirectory: String? = nil,
                            extraLists: [String: [String: [String]]] = [:]) throws -> [Rule] {
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
