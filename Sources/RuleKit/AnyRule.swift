import Foundation

/// A rule as the scanner drives it, whatever its summary and question types: summaries and
/// questions cross process boundaries and the result cache as canonical JSON, tagged with the
/// rule's id by the scanner.
public final class AnyRule: @unchecked Sendable {
    public let metadata: RuleMetadata
    public var id: String { metadata.id }
    private let preselectBody: @Sendable (SourceText) -> Bool
    private let extractBody: @Sendable (FileContext, Int, Data?) -> Data
    private let sessionBody: @Sendable () -> RuleSession
    /// See `Rule.callGraphCriteria`.
    public let callGraphCriteria: CallGraphCriteria?

    public init<R: Rule>(_ rule: R) {
        metadata = rule.metadata
        preselectBody = { rule.preselect($0) }
        extractBody = { context, pass, encodedQuestions in
            let questions = encodedQuestions.flatMap { SummaryCoding.decode([R.Question].self, $0) } ?? []
            return SummaryCoding.pack(rule.extract(context, ExtractRequest(pass: pass, questions: questions)))
        }
        let memo = DecodeMemo<R.Summary>()
        sessionBody = { TypedRuleSession(rule: rule, memo: memo) }
        callGraphCriteria = rule.callGraphCriteria
    }

    /// Cheap textual filter: can this file hold a finding's starting point?
    public func preselect(_ source: SourceText) -> Bool { preselectBody(source) }

    /// The rule's summaries of one parsed file, encoded; `questions`: the encoded questions of
    /// this pass (`AskedQuestions.encoded`), nil when the rule asked none.
    public func extract(_ context: FileContext, pass: Int, questions: Data?) -> Data {
        extractBody(context, pass, questions)
    }

    /// A fresh judging state for one scan.
    public func session() -> RuleSession { sessionBody() }
}

/// One scan's summaries of one rule, and its judge.
public protocol RuleSession: AnyObject {
    /// Adds the summaries files contributed (as `AnyRule.extract` encoded them), in their order.
    func add(all encoded: [Data])
    /// Decodes ahead, on all cores, summaries `add(all:)` will be given later (which keeps the
    /// order summaries come in): a scan decodes kept summaries while a changed file is parsed.
    func decodeAhead(_ encoded: [Data])
    func judge(_ stage: JudgeStage) -> ErasedJudgement
}

/// A judgement with its questions in the scanner's terms.
public struct ErasedJudgement: Sendable {
    public var findings: [Finding]
    /// nil: the rule asks nothing more.
    public var questions: AskedQuestions?

    public init(findings: [Finding] = [], questions: AskedQuestions? = nil) {
        self.findings = findings
        self.questions = questions
    }
}

/// A rule's questions for one pass.
public struct AskedQuestions: Sendable {
    /// The questions, sorted and encoded: what workers receive and what result-cache keys hold.
    public let encoded: Data
    /// Identifiers a candidate file must name.
    public let needles: Set<String>
    /// Per topic, the directories nearest to which candidates are taken first.
    public let near: [String: [String]]
    /// Per topic, the files that answered it already (`Judgement.answeredIn`).
    public let answeredIn: [String: Set<String>]
    private let topicsBody: @Sendable (SourceText, Set<String>?) -> [String: Int]

    init<Q: RuleQuestion>(_ questions: [Q], near: [String: [String]], answeredIn: [String: Set<String>] = [:],
                          mayAnswer: @escaping @Sendable ([Q], SourceText, Set<String>) -> [Q: Int]) {
        // Canonical order: the same questions are the same bytes in every process.
        let ordered = Dictionary(questions.map { (String(decoding: SummaryCoding.encode($0), as: UTF8.self), $0) }, uniquingKeysWith: { first, _ in first })
            .sorted { $0.key < $1.key }.map(\.value)
        encoded = SummaryCoding.encode(ordered)
        needles = Set(ordered.flatMap(\.needles))
        self.near = near
        self.answeredIn = answeredIn.filter { !$0.value.isEmpty }
        // Built once: an evidence pass asks hundreds of names of thousands of files.
        let matcher = IdentifierMatcher(needles)
        // A file can answer only questions whose needles it names (`RuleQuestion.needles`): the
        // rule weighs those, not every question asked.
        var questionsByNeedle: [String: [Int]] = [:]
        for (index, question) in ordered.enumerated() { for needle in Set(question.needles) { questionsByNeedle[needle, default: []].append(index) } }
        let byNeedle = questionsByNeedle
        let asked = needles
        topicsBody = { source, present in
            var topics: [String: Int] = [:]
            let named = present.map { $0.intersection(asked) } ?? matcher.present(in: source)
            guard !named.isEmpty else { return topics }
            let candidates = Set(named.flatMap { byNeedle[$0] ?? [] }).sorted().map { ordered[$0] }
            for (question, rank) in mayAnswer(candidates, source, named) {
                let topic = question.topic ?? ""
                topics[topic] = max(rank, topics[topic] ?? rank)
            }
            return topics
        }
    }

    /// The topics a file with this text may answer, each with its rank ("" for questions without a
    /// topic: never capped).
    public func topics(_ source: SourceText) -> [String: Int] { topicsBody(source, nil) }

    /// `topics`, given the identifiers the file is known to name (an identifier index found them
    /// in this very text): the text is not searched for the needles again.
    public func topics(_ source: SourceText, naming present: Set<String>) -> [String: Int] { topicsBody(source, present) }

    /// `topics` of the file at `path` without those it answered already.
    public func unanswered(_ topics: [String: Int], of path: String) -> [String: Int] {
        answeredIn.isEmpty ? topics : topics.filter { !(answeredIn[$0.key]?.contains(path) ?? false) }
    }
}

final class TypedRuleSession<R: Rule>: RuleSession {
    let rule: R
    let memo: DecodeMemo<R.Summary>
    private(set) var summaries: [R.Summary] = []

    init(rule: R, memo: DecodeMemo<R.Summary>) {
        self.rule = rule
        self.memo = memo
    }

    func add(all encoded: [Data]) {
        let decoded = decodeAll(encoded)
        // Grown once: a whole tree's summaries doubled into place touch their memory many times.
        summaries.reserveCapacity(summaries.count + decoded.reduce(0) { $0 + $1.count })
        for values in decoded { summaries += values }
    }

    func decodeAhead(_ encoded: [Data]) { _ = decodeAll(encoded) }

    /// Decoding is most of a warm rescan's reading: spread over the cores.
    private func decodeAll(_ encoded: [Data]) -> [[R.Summary]] {
        var decoded = [[R.Summary]](repeating: [], count: encoded.count)
        let memo = self.memo
        decoded.withUnsafeMutableBufferPointer { slots in
            let base = slots
            DispatchQueue.concurrentPerform(iterations: encoded.count) { base[$0] = memo.decode(encoded[$0]) }
        }
        return decoded
    }

    func judge(_ stage: JudgeStage) -> ErasedJudgement {
        let judgement = rule.judge(summaries, stage)
        guard stage != .final, !judgement.questions.isEmpty else { return ErasedJudgement(findings: judgement.findings, questions: nil) }
        let rule = self.rule
        return ErasedJudgement(findings: judgement.findings,
                               questions: AskedQuestions(judgement.questions, near: judgement.near, answeredIn: judgement.answeredIn) { rule.mayAnswer($0, $1, naming: $2) })
    }
}

/// Decoded summaries by their encoded form, kept for a rule's lifetime: the evidence passes, and
/// the two ends of a gate, decode mostly the same files' summaries again.
final class DecodeMemo<Summary: Decodable>: @unchecked Sendable {
    private var decoded: [Data: [Summary]] = [:]
    private let lock = NSLock()

    func decode(_ data: Data) -> [Summary] {
        lock.lock()
        if let known = decoded[data] { lock.unlock(); return known }
        lock.unlock()
        let values = SummaryCoding.unpack([Summary].self, data) ?? []
        lock.lock(); decoded[data] = values; lock.unlock()
        return values
    }
}
