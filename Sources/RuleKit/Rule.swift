import Foundation

/// A kwarden rule: **extract** typed summaries from each file's AST, then **judge** them across
/// the tree.
///
/// - `extract` runs on every file the scan parses, in every pass, with the rule's own questions
///   for that pass (none in the first). It sees the AST of one file (`FileContext`) and returns the
///   rule's own `Summary` values; they travel between processes and into the result cache as JSON,
///   tagged with the rule's id, so no rule ever sees another rule's summaries or questions.
/// - `judge` runs in the scanning process after each pass, on every summary the rule extracted so
///   far, and never sees an AST. After a pass it may ask `Question`s that send the scan to other
///   files (a struct field's zero stores, a function's callers); at the end it returns the findings.
/// - `mayAnswer` is the textual preselection of those later passes: which of the questions a
///   file's text could answer. The AST still decides what the file contributes.
///
/// A rule never decides from text: `preselect` and `mayAnswer` only skip files that cannot matter.
public protocol Rule: Sendable {
    associatedtype Summary: Codable & Sendable
    associatedtype Question: RuleQuestion

    var metadata: RuleMetadata { get }
    init(metadata: RuleMetadata)

    /// Cheap textual filter over the raw bytes of a file: can it hold a finding's starting point?
    func preselect(_ source: SourceText) -> Bool
    /// What one parsed file contributes: the rule's summaries, from the AST.
    func extract(_ context: FileContext, _ request: ExtractRequest<Question>) -> [Summary]
    /// Joins every summary gathered so far: questions for the next pass, or the findings.
    func judge(_ summaries: [Summary], _ stage: JudgeStage) -> Judgement<Question>
    /// Of `questions`, those a file with this text may answer, each with a rank (higher: likelier).
    /// `named`: the questions' needles the text names as whole identifiers (found for every file
    /// in one pass over its text).
    func mayAnswer(_ questions: [Question], _ source: SourceText, naming named: Set<String>) -> [Question: Int]
    /// For a rule whose findings start from chains across functions: narrows its preselected
    /// files in a large scan to those on a candidate chain of the tree's textual call graph
    /// (`CallGraph`). nil (the default): every preselected file is parsed.
    var callGraphCriteria: CallGraphCriteria? { get }
}

/// A question a rule asks of other files in a later pass.
public protocol RuleQuestion: Codable, Hashable, Sendable {
    /// Identifiers a file must name (as whole identifiers) to be able to answer: the scan looks
    /// for candidates only among files naming one of them.
    var needles: [String] { get }
    /// Files are budgeted per topic (one struct field, one setter), so that one common name cannot
    /// crowd out the others; nil: every candidate file is parsed.
    var topic: String? { get }
}

/// What `extract` is asked for one file.
public struct ExtractRequest<Question: RuleQuestion>: Sendable {
    /// 1 for the scan's own files, 2 and up for evidence passes.
    public var pass: Int
    /// The rule's questions for this pass (empty in pass 1, and when the rule asked none).
    public var questions: [Question]

    public init(pass: Int, questions: [Question]) {
        self.pass = pass
        self.questions = questions
    }
}

/// When `judge` is called.
public enum JudgeStage: Sendable, Equatable {
    /// After pass N: ask what pass N+1 should look for. Findings returned here are provisional;
    /// those after pass 1 only tell the scan where to look for evidence first.
    case afterPass(Int)
    /// Everything is gathered: the findings.
    case final
}

/// A judge's answer.
public struct Judgement<Question: RuleQuestion>: Sendable {
    public var findings: [Finding]
    /// For the next pass (ignored at `.final`).
    public var questions: [Question]
    /// Per topic, the directories its findings are in: that topic's nearest candidates come first.
    public var near: [String: [String]]
    /// Per topic, the files whose summaries already hold its whole answer (parsed in an earlier
    /// pass with what makes them answer it): they are not parsed again for it.
    public var answeredIn: [String: Set<String>]

    public init(findings: [Finding] = [], questions: [Question] = [], near: [String: [String]] = [:], answeredIn: [String: Set<String>] = [:]) {
        self.findings = findings
        self.questions = questions
        self.near = near
        self.answeredIn = answeredIn
    }
}

extension Rule {
    public var id: String { metadata.id }

    public var callGraphCriteria: CallGraphCriteria? { nil }

    /// A file may answer the questions whose needles it names.
    public func mayAnswer(_ questions: [Question], _ source: SourceText, naming named: Set<String>) -> [Question: Int] {
        var answered: [Question: Int] = [:]
        for question in questions where question.needles.contains(where: named.contains) { answered[question] = 0 }
        return answered
    }

    /// The declarative part of preselection: tokens from the rule's metadata.
    public func metadataPreselect(_ source: SourceText) -> Bool {
        guard let spec = metadata.preselect else { return true }
        if let all = spec.all, !all.allSatisfy({ source.contains($0) }) { return false }
        if let any = spec.any, !any.isEmpty, !any.contains(where: { source.contains($0) }) { return false }
        return true
    }
}

/// The usual summary encoding: sorted keys, so that the same summaries are the same bytes in every
/// process (the result cache compares them).
public enum SummaryCoding {
    public static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)) ?? Data()
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ data: Data) -> T? {
        try? JSONDecoder().decode(type, from: data)
    }

    /// Summaries in the compact binary form: they are only ever read back by kwarden, and a
    /// rescan decodes those of thousands of files (questions and metadata stay canonical JSON,
    /// which keys and identities are made of).
    public static func pack<T: Encodable>(_ value: T) -> Data {
        (try? CompactEncoder().encode(value)) ?? Data()
    }

    public static func unpack<T: Decodable>(_ type: T.Type, _ data: Data) -> T? {
        try? CompactDecoder().decode(type, from: data)
    }
}
