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
    /// Shared precompiled headers to parse the file with (a fallback to a plain parse is automatic).
    public var precompiledHeader: String?
    /// When `precompiledHeader` is a driver's headers chained to the kernel's: the kernel
    /// headers' own, taken instead if the chain reads otherwise (more errors).
    public var kernelHeader: String?
    /// Instead of analysing `file`: precompile the headers this prefix includes.
    public var precompile: PrecompileRequest?
    /// Rules whose summaries this job need not extract: in an evidence pass, those settled after
    /// pass 1 (their judgement is made from pass 1's files alone).
    public var skippedRules: [String]?
    /// The setups of the files this job parses (the file, or a prefix's representative), as the
    /// scanning process derived them; a worker process takes them instead of deriving them again.
    public var setups: [String: DerivedSetup]?

    public init(file: String, pass: Int, questions: [String: Data] = [:], precompiledHeader: String? = nil) {
        self.file = file
        self.pass = pass
        self.questions = questions
        self.precompiledHeader = precompiledHeader
    }
}

/// Precompile `prefix` (a header including the headers a group of files shares) into `output`,
/// with the group's flags and the generated headers of `representative`'s architecture.
public struct PrecompileRequest: Codable, Sendable {
    public var prefix: String
    public var output: String
    public var arguments: [String]
    public var representative: String
    /// For a driver's headers: the kernel headers' precompiled header they are chained to.
    public var base: String?
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
        for (file, derived) in job.setups ?? [:] { setups.adopt(derived, for: file) }
        if let request = job.precompile { return precompile(request, job: job) }
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
            let plain = { [index, overlayUnsaved] in
                try index.parse(file: job.file, arguments: setup.arguments, unsavedFiles: setup.unsavedFiles + overlayUnsaved)
            }
            var unit: TranslationUnit
            var headerFunctions = SharedHeaderFunctions([])
            var used = job.precompiledHeader
            if let shared = used {
                let withShared = { [sharedHeaderIndex, overlayUnsaved] (header: String) in
                    try sharedHeaderIndex.parse(file: job.file, arguments: ["-include-pch", header] + setup.arguments, unsavedFiles: setup.unsavedFiles + overlayUnsaved)
                }
                unit = try withShared(shared)
                if let failed = Self.sharedHeadersFailed(unit.diagnostics) {
                    outcome.precompiledHeaderFallback = failed
                    unit = try plain()
                    used = nil
                } else {
                    // A driver's chained headers that leave errors the kernel headers alone do not
                    // (a chain that reads otherwise than the file's own text) are set aside.
                    if let kernel = job.kernelHeader, unit.errorCount > 0 {
                        let alone = try withShared(kernel)
                        if Self.sharedHeadersFailed(alone.diagnostics) == nil, alone.errorCount < unit.errorCount {
                            outcome.driverHeadersSetAside = "its driver's precompiled headers left \(unit.errorCount) errors, the kernel's alone \(alone.errorCount)"
                            unit = alone
                            used = kernel
                        }
                    }
                    outcome.usedPrecompiledHeader = true
                    headerFunctions = PrecompiledHeaders.functions(of: used ?? shared)
                }
            } else {
                unit = try plain()
            }
            let errors = unit.diagnostics.filter { $0.severity.rawValue >= Diagnostic.Severity.error.rawValue }
            outcome.errorCount = errors.count
            if let first = errors.first {
                outcome.firstError = "\(first.position.file.isEmpty ? job.file : first.position.file):\(first.position.line): \(first.message)"
            }
            // The headers read from the precompiled header count as read by this file.
            outcome.dependencies = unit.includedFiles + (used.map { PrecompiledHeaders.record(of: $0).files } ?? [])
            let context = FileContext(path: job.file, unit: unit, sharedHeaderFunctions: headerFunctions)
            for rule in rules where !(job.skippedRules?.contains(rule.id) ?? false) {
                outcome.summaries[rule.id] = rule.extract(context, pass: job.pass, questions: job.questions[rule.id])
            }
            outcome.notes = Set(context.tooDeep).map { FileNote(file: $0.at.file, line: $0.at.line, message: $0.message) }
                .sorted { ($0.file, $0.line) < ($1.file, $1.line) }
        } catch {
            outcome.failure = "\(error)"
        }
        return outcome
    }

    /// Why a parse with shared precompiled headers must be redone plainly, if it must: clang
    /// rejected them (a header changed since, other flags: a fatal error about them), or one of
    /// the group's headers the file does not include declares what the file declares otherwise
    /// (a redefinition).
    static func sharedHeadersFailed(_ diagnostics: [Diagnostic]) -> String? {
        if let rejection = diagnostics.first(where: { $0.severity == .fatal && isAboutPrecompiledHeader($0.message) }) {
            return rejection.message
        }
        if let clash = diagnostics.first(where: { $0.severity.rawValue >= Diagnostic.Severity.error.rawValue && isRedefinition($0.message) }) {
            return "a shared header clashes with the file's own declarations (\(clash.message))"
        }
        return nil
    }

    static func isRedefinition(_ message: String) -> Bool {
        message.hasPrefix("redefinition of") || message.hasPrefix("conflicting types for") || message.hasPrefix("typedef redefinition")
    }

    static func isAboutPrecompiledHeader(_ message: String) -> Bool {
        message.contains("precompiled header") || message.contains("PCH") || message.contains("AST file")
    }

    /// Parses with shared precompiled headers, whose declarations the rules do not walk.
    private lazy var sharedHeaderIndex = ClangIndex(excludeDeclarationsFromPCH: true)

    private func precompile(_ request: PrecompileRequest, job: FileJob) -> FileOutcome {
        if let base = request.base { return precompileDriverHeaders(request, on: base, job: job) }
        var outcome = FileOutcome(file: job.file)
        do {
            let unsaved = try setups.setup(for: request.representative).unsavedFiles + overlayUnsaved
            let temporary = request.output + "." + UUID().uuidString
            var built = try index.savePrecompiledHeader(request.prefix, arguments: request.arguments, unsavedFiles: unsaved, to: temporary)
            var lines = ((try? String(contentsOfFile: request.prefix, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            // A prefix line naming a header without an include guard that holds code: the files
            // that include it (why it is in the prefix) would read it twice (a redefinition where
            // a plain parse has none), so it is left out. Such headers read through guarded ones
            // (x-macro lists, a struct only `sched.h` includes) are read once either way.
            func repeatable(_ unit: TranslationUnit, _ includers: [String: String]) -> Set<String> {
                var found = Set<String>()
                for file in unit.includedFiles where file != request.prefix && !unit.isIncludeGuarded(file) {
                    guard includers[file] == file, let bytes = unit.contents(of: file), PreprocessorText.holdsCode(bytes) else { continue }
                    found.formUnion(lines.filter { culpritMatches($0, file) })
                }
                return found
            }
            var includers = built.unit.topLevelIncluders
            var unguarded = repeatable(built.unit, includers)
            // A header that only compiles inside a module (it uses KBUILD_MODNAME, say) or only
            // after others is left out, with whatever else brought the error in. Another header
            // of the prefix may bring the same one in once the first is gone: a few rounds.
            for _ in 0..<PrecompiledHeaders.buildRounds where !built.errors.isEmpty || !unguarded.isEmpty {
                let culprits = Set(built.errors.compactMap { includers[$0.position.file] })
                let kept = lines.filter { line in !unguarded.contains(line) && !culprits.contains { culpritMatches(line, $0) } }
                guard kept.count >= 2, kept.count < lines.count else { break }
                lines = kept
                try (kept.joined(separator: "\n") + "\n").write(toFile: request.prefix, atomically: true, encoding: .utf8)
                built = try index.savePrecompiledHeader(request.prefix, arguments: request.arguments, unsavedFiles: unsaved, to: temporary)
                includers = built.unit.topLevelIncluders
                unguarded = repeatable(built.unit, includers)
            }
            let files = built.unit.includedFiles
            if let failure = Self.errorSummary(built.errors, in: "the shared headers")
                ?? (unguarded.isEmpty ? nil : "headers without an include guard in every prefix tried (\(unguarded.sorted().joined(separator: ", ")))") {
                install(PrecompiledHeaders.Record(files: files, functions: [], failure: failure), built: temporary, as: request.output, into: &outcome)
                return outcome
            }
            install(PrecompiledHeaders.Record(files: files, functions: SharedHeaderFunction.record(built.unit), macros: Self.macroFacts(of: files, in: built.unit)),
                    built: temporary, as: request.output, into: &outcome)
        } catch {
            outcome.failure = "\(error)"
        }
        return outcome
    }

    /// Builds a driver's headers on top of the kernel headers' precompiled header `base` (a
    /// chained precompiled header). Its record holds the kernel headers' files and functions as
    /// well as its own, and `base` itself: rebuilt, it makes this one stale.
    ///
    /// libclang 14 loses a macro of `base` from the chain when the driver's headers use its name
    /// otherwise (a member called `list_entry` makes `list_entry()` undefined for every file
    /// parsed with the chain): each of the kernel headers' macros is pushed and popped after the
    /// driver's headers, which records its definition again in this one. (A file whose parse
    /// with the chain still finds more errors than with `base` alone takes `base`.)
    private func precompileDriverHeaders(_ request: PrecompileRequest, on base: String, job: FileJob) -> FileOutcome {
        var outcome = FileOutcome(file: job.file)
        do {
            let kernel = PrecompiledHeaders.record(of: base)
            let header = ((try? String(contentsOfFile: request.prefix, encoding: .utf8)) ?? "").split(separator: "\n").first.map(String.init) ?? ""
            // The kernel headers' macros, and those of the command line they were built with.
            let commandLine = request.arguments.filter { $0.hasPrefix("-D") }.map { String($0.dropFirst(2).prefix { $0 != "=" }) }
            let reassert = Set(kernel.macros.definitions.keys).union(commandLine).sorted().map { "#pragma push_macro(\"\($0)\")\n#pragma pop_macro(\"\($0)\")\n" }.joined()
            try (header + "\n" + reassert).write(toFile: request.prefix, atomically: true, encoding: .utf8)
            let unsaved = try setups.setup(for: request.representative).unsavedFiles + overlayUnsaved
            let temporary = request.output + "." + UUID().uuidString
            let built = try sharedHeaderIndex.savePrecompiledHeader(request.prefix, arguments: ["-include-pch", base] + request.arguments,
                                                                    unsavedFiles: unsaved, to: temporary)
            let kernelFiles = Set(kernel.files)
            let own = built.unit.includedFiles.filter { !kernelFiles.contains($0) && $0 != request.prefix }
            let driverHeader = header.split(separator: "\"").dropFirst().first.map(String.init) ?? ""
            // A driver header without an include guard would be read again by every file that includes it.
            if let failure = Self.errorSummary(built.errors, in: "the driver's headers")
                ?? (built.unit.isIncludeGuarded(driverHeader) ? nil : "\(driverHeader) has no include guard") {
                install(PrecompiledHeaders.Record(files: [base] + own, functions: [], failure: failure), built: temporary, as: request.output, into: &outcome)
                return outcome
            }
            let functions = PrecompiledHeaders.functions(of: base).all + SharedHeaderFunction.record(built.unit)
            install(PrecompiledHeaders.Record(files: kernel.files + [base] + own, functions: functions, macros: Self.macroFacts(of: own, in: built.unit)),
                    built: temporary, as: request.output, into: &outcome)
        } catch {
            outcome.failure = "\(error)"
        }
        return outcome
    }

    /// Ends a build: saves its record beside `output`, then renames the built file into place
    /// whole (a concurrent reader never sees half a file, nor a file without its record). A
    /// failed build's file is removed, and its record kept with the headers it read: the next
    /// scan does not build it again while they are unchanged.
    private func install(_ record: PrecompiledHeaders.Record, built temporary: String, as output: String, into outcome: inout FileOutcome) {
        PrecompiledHeaders.save(record, of: output)
        if let failure = record.failure {
            try? FileManager.default.removeItem(atPath: temporary)
            outcome.failure = failure
        } else {
            _ = rename(temporary, output)
            outcome.dependencies = record.files
        }
    }

    /// "N errors in `place`, first: …", or nil without errors.
    private static func errorSummary(_ errors: [Diagnostic], in place: String) -> String? {
        errors.first.map { "\(errors.count) error\(errors.count == 1 ? "" : "s") in \(place), first: \($0.message)" }
    }

    /// What the code of `files`, as `unit` read them, does with macros.
    private static func macroFacts(of files: [String], in unit: TranslationUnit) -> HeaderMacroFacts {
        var macros = HeaderMacroFacts()
        for file in files { if let bytes = unit.contents(of: file) { macros.add(bytes) } }
        macros.settle()
        return macros
    }

    /// Whether the prefix line `#include <a/b.h>` names the header at `path` (…/include/a/b.h).
    private func culpritMatches(_ line: String, _ path: String) -> Bool {
        guard let open = line.firstIndex(of: "<"), let close = line.firstIndex(of: ">") else { return false }
        return path.hasSuffix("/" + line[line.index(after: open)..<close])
    }
}
