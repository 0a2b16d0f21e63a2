import Foundation
import ClangKit
import RuleKit

/// One unit of work: parse a file and let every rule extract its summaries.
public struct FileJob: Codable, Sendable {
    public var file: String
    /// 1 for the scan's own files; later passes gather evidence.
    public var pass: Int
    /// Each rule's questions for this pass (`AskedQuestions.encoded`), by rule id.
    public var questions: [String: Data]

    public init(file: String, pass: Int, questions: [String: Data] = [:]) {
        self.file = file
        self.pass = pass
        self.questions = questions
    }
}

/// Parses files and runs rules on them. One per thread: it owns a libclang index.
public final class FileAnalyzer {
    let rules: [AnyRule]
    let setups: CompileSetupProvider
    let index = ClangIndex()
    let overlay: SourceOverlay
    private let overlayUnsaved: [UnsavedFile]

    public init(rules: [AnyRule], setups: CompileSetupProvider, overlay: SourceOverlay = SourceOverlay()) {
        self.rules = rules
        self.setups = setups
        self.overlay = overlay
        self.overlayUnsaved = overlay.unsavedFiles
    }

    /// Parses and checks one file on a large stack (deeply nested code recurses deeply).
    public func analyze(_ job: FileJob) -> FileOutcome {
        LargeStack.run { analyzeHere(job) }
    }

    private func analyzeHere(_ job: FileJob) -> FileOutcome {
        var outcome = FileOutcome(file: job.file)
        guard overlay.contains(job.file) || FileManager.default.isReadableFile(atPath: job.file) else {
            outcome.failure = FileManager.default.fileExists(atPath: job.file) ? "cannot read file: permission denied" : "file disappeared before it was parsed"
            return outcome
        }
        let setup: CompileSetup
        do { setup = try setups.setup(for: job.file) } catch {
            outcome.failure = "no compile flags: \(error)"
            return outcome
        }
        if let crashFile = ProcessInfo.processInfo.environment["KWARDEN_TEST_CRASH_ON"], job.file.hasSuffix(crashFile) {
            // Test hook: simulate a libclang crash to prove a worker's death costs one file, not the scan.
            abort()
        }
        do {
            let unit = try index.parse(file: job.file, arguments: setup.arguments, unsavedFiles: setup.unsavedFiles + overlayUnsaved)
            let errors = unit.diagnostics.filter { $0.severity.rawValue >= Diagnostic.Severity.error.rawValue }
            outcome.errorCount = errors.count
            if let first = errors.first {
                outcome.firstError = "\(first.position.file.isEmpty ? job.file : first.position.file):\(first.position.line): \(first.message)"
            }
            outcome.dependencies = unit.includedFiles
            let context = FileContext(path: job.file, unit: unit)
            for rule in rules {
                outcome.summaries[rule.id] = rule.extract(context, pass: job.pass, questions: job.questions[rule.id])
            }
            outcome.notes = Set(context.tooDeep).map { FileNote(file: $0.at.file, line: $0.at.line, message: $0.message) }
                .sorted { ($0.file, $0.line) < ($1.file, $1.line) }
        } catch {
            outcome.failure = "\(error)"
        }
        return outcome
    }
}
