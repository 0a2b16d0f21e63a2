import ArgumentParser
import Foundation
import KwardenCore
import KwardenRules
import RuleKit

/// `kwarden merge`: one report from the reports of a scan split with `--shard K/N`.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the JSON or SARIF reports of `kwarden scan --shard K/N` runs into one report.",
        discussion: "Findings seen by more than one shard are reported once. Every shard of the split must be given. Exit status: 0 no findings, 1 findings, 2 errors.")

    @Argument(help: "The shards' reports: all kwarden JSON, or all SARIF.") var reports: [String]
    @OptionGroup var report: ReportOptionGroup
    @Option(name: .customLong("rules-dir"), help: "Directory holding the rules' metadata (for SARIF rule descriptions).") var rulesDir: String?

    func run() throws {
        let inputs: [ReportMerger.Input]
        do { inputs = try reports.map(ReportMerger.read) } catch { throw report.fail("\(error)", rules: []) }
        let jsonResults = inputs.compactMap { input -> ScanResult? in if case .json(let result) = input { return result } else { return nil } }
        let sarifLogs = inputs.compactMap { input -> [String: Any]? in if case .sarif(let log) = input { return log } else { return nil } }
        if !sarifLogs.isEmpty {
            guard jsonResults.isEmpty else { throw report.fail("\(ReportMerger.Failure.mixed)", rules: []) }
            guard report.outputFormat == .sarif else { throw report.fail("SARIF logs merge into SARIF: add --format sarif", rules: []) }
            let merged: String
            do { merged = try ReportMerger.merge(sarif: sarifLogs) } catch { throw report.fail("\(error)", rules: []) }
            try write(merged, to: report.output)
            let count = (try? JSONSerialization.jsonObject(with: Data(merged.utf8)) as? [String: Any])
                .flatMap { ($0["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]] }?
                .filter { $0["suppressions"] == nil && ($0["baselineState"] as? String) != "unchanged" }.count ?? 0
            throw ExitCode(count == 0 ? 0 : 1)
        }
        let merged: ScanResult
        do { merged = try ReportMerger.merge(jsonResults) } catch { throw report.fail("\(error)", rules: []) }
        let rules = (try? RuleRegistry.load(rulesDirectory: rulesDir)) ?? []
        // The shards' paths are already as their reports showed them.
        let shown = report.filtered(merged)
        try write(ScanReport.render(shown, format: report.outputFormat, rules: rules.map(\.metadata)), to: report.output)
        throw ExitCode(report.exitCode(for: shown.findings))
    }
}
