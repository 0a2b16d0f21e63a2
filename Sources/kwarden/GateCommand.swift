import ArgumentParser
import Foundation
import KwardenCore
import KwardenGate

/// `kwarden gate`: the pre-merge check. Fails only for what the range introduces.
struct GateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Report only the findings a commit range introduces (for pre-merge CI).",
        discussion: "Exit status: 0 the range introduces nothing, 1 it introduces findings, 2 on errors.")

    @Option(help: "The git repository (a kernel tree or any C project).") var repo: String
    @Option(help: "The revision the range starts from (e.g. origin/master or the merge base).") var base: String
    @Option(help: "The revision the range ends at.") var head: String = "HEAD"
    @OptionGroup var scan: ScanOptionGroup
    @Option(help: "Output format: text, json, sarif or github.") var format: String = "text"
    @Option(name: .shortAndLong, help: "Write the report to this file instead of standard output.") var output: String?
    @Flag(name: .shortAndLong, help: "No progress on standard error.") var quiet = false

    func validate() throws {
        guard OutputFormat(rawValue: format) != nil else { throw ValidationError("unknown format '\(format)': use text, json, sarif or github") }
    }

    func run() throws {
        let root = URL(fileURLWithPath: repo).standardizedFileURL.path
        let prepared = try scan.prepare(paths: [root], quiet: quiet)
        let result: GateResult
        do { result = try Gate(repository: root, base: base, head: head, template: prepared.options).run() } catch {
            FileHandle.standardError.write(Data("kwarden: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var shown = result.introducedResult
        shown.notes.append(result.verdict)
        for finding in result.fixed {
            shown.notes.append("fixed by the range: \(finding.file):\(finding.line): \(finding.message) [\(finding.rule)]")
        }
        var report = ScanReport.render(shown, format: OutputFormat(rawValue: format)!, rules: prepared.rules.map(\.metadata))
        if format == "text" || format == "github" { report += result.verdict + "\n" }
        try write(report, to: output)
        if output != nil || format != "text" { FileHandle.standardError.write(Data((result.verdict + "\n").utf8)) }
        throw ExitCode(result.introduced.isEmpty ? 0 : 1)
    }
}
