import ArgumentParser
import Foundation
import KwardenCore
import KwardenRules
import RuleKit
import KwardenGate

/// `kwarden gate`: the pre-merge check. Fails only for what the range introduces.
struct GateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Report only the findings a commit range introduces (for pre-merge CI).",
        discussion: "Exit status: 0 the range introduces nothing, 1 it introduces findings, 2 on errors.")

    @Option(help: "The git repository (a kernel tree or any C project).") var repo: String
    @Option(help: "The branch the series goes into (e.g. origin/master): the gate diffs from its merge base with --head, as `git diff base...head` does.") var base: String
    @Option(help: "The revision the series ends at.") var head: String = "HEAD"
    @OptionGroup var scan: ScanOptionGroup
    @OptionGroup var report: ReportOptionGroup

    func run() throws {
        HeapTuning.keepFreedMemory()
        let root = URL(fileURLWithPath: repo).standardizedFileURL.path
        let prepared: ScanOptionGroup.PreparedScan
        do { prepared = try scan.prepare(paths: [root], quiet: report.quiet) } catch { throw report.fail("\(error)", rules: []) }
        let metadata = prepared.rules.map(\.metadata)
        let result: GateResult
        do { result = try Gate(repository: root, base: base, head: head, template: prepared.options).run() } catch {
            throw report.fail("\(error)", rules: metadata)
        }
        var shown = report.present(result.introducedResult)
        let exitCode = report.exitCode(for: shown.findings)
        let verdict = result.verdict(failing: exitCode != 0)
        shown.notes.append(verdict)
        let presenter = PathPresenter(root: result.head.root, displayDirectory: report.relativeTo ?? FileManager.default.currentDirectoryPath)
        for finding in result.fixed.map(presenter.finding) {
            shown.notes.append("fixed by the range: \(finding.file):\(finding.line): \(finding.message) [\(finding.rule)]")
        }
        var text = ScanReport.render(shown, format: report.outputFormat, rules: metadata)
        if report.outputFormat == .text || report.outputFormat == .github { text += verdict + "\n" }
        try write(text, to: report.output)
        if report.output != nil || report.outputFormat != .text { FileHandle.standardError.write(Data((verdict + "\n").utf8)) }
        throw ExitCode(exitCode)
    }
}
