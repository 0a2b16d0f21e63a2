import Foundation

/// Renders a report as text, JSON or Markdown, and maps it to the exit status.
public enum BackportOutput {
    public enum Format: String, CaseIterable {
        case text, json, markdown
    }

    /// 0 when no needed fix is missing, 1 when one is. (2, for usage errors, is the command's business.)
    public static func exitStatus(_ report: BackportReport) -> Int32 { report.hasMissingNeededFix ? 1 : 0 }

    public static func render(_ report: BackportReport, as format: Format) throws -> String {
        switch format {
        case .text: return text(report)
        case .json: return try json(report)
        case .markdown: return markdown(report)
        }
    }

    public static func json(_ report: BackportReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
    }

    static func shortId(_ commit: String?) -> String { commit.map { String($0.prefix(12)) } ?? "-" }

    static func evidenceText(_ evidence: Evidence) -> String {
        if let file = evidence.file {
            return "\(file):\(evidence.lineNumber.map(String.init) ?? "?"): \(evidence.line)"
        }
        return "\(shortId(evidence.commit)) \(evidence.line)"
    }

    /// Whether any missing fix went through the apply check (not with --no-apply-check).
    static func applyChecked(_ report: BackportReport) -> Bool {
        report.fixes.contains { $0.status == .missing && $0.apply != nil }
    }

    static func summaryText(_ report: BackportReport) -> String {
        let summary = report.summary, mode = report.mode
        var parts: [String] = []
        if mode == .tree {
            parts += ["\(summary.applied ?? 0) applied", "\(summary.partial ?? 0) partial",
                      "\(summary.notApplied ?? 0) not applied"]
            if summary.notNeeded > 0 { parts.append("\(summary.notNeeded) not needed") }
        } else {
            parts += ["\(summary.present) present", "\(summary.missing) missing", "\(summary.reverted) reverted",
                      "\(summary.notNeeded) not needed"]
            if summary.missing > 0 {
                parts.append(applyChecked(report) ? "\(summary.appliesCleanly) of the missing apply cleanly"
                                                   : "apply not checked")
            }
            if (summary.partial ?? 0) > 0 { parts.append("\(summary.partial!) partial") }
            if summary.ignored > 0 { parts.append("\(summary.ignored) ignored") }
            if summary.notBuilt > 0 { parts.append("\(summary.notBuilt) not built") }
        }
        parts.append("\(summary.unknown) unknown")
        return parts.joined(separator: ", ") + String(format: " (%.2f s)", summary.seconds)
    }

    public static func text(_ report: BackportReport) -> String {
        var out = "kwarden backports: \(report.mode == .tree ? "tree" : "branch") \(report.target)\n"
        out += "upstream: \(report.upstream)\n\n"
        for fix in report.fixes {
            let how = fix.how.isEmpty ? "" : " [\(fix.how)]"
            out += "\(fix.status.rawValue.uppercased().padding(toLength: 11, withPad: " ", startingAt: 0)) "
                + "\(shortId(fix.commit)) \(fix.subject)\(how)\(fix.rule.map { "  (rule \($0))" } ?? "")\n"
            for evidence in fix.evidence { out += "            \(evidenceText(evidence))\n" }
            if let apply = fix.apply { out += "            \(applyText(fix, apply))\n" }
            if let symbols = fix.configSymbols, !symbols.isEmpty {
                out += "            built with: \(symbols.joined(separator: " or "))\n"
            }
            if let note = fix.note { out += "            note: \(note)\n" }
            for followUp in fix.fixesOfFixes {
                // A present fix was fixed again; a missing one brings its own fixes along, in this order.
                out += "            \(fix.status == .present ? "fixed again by" : "then apply") "
                    + "\(shortId(followUp.commit)) \(followUp.subject): \(followUp.status.rawValue)\n"
            }
        }
        for warning in report.warnings { out += "warning: \(warning)\n" }
        out += "\n" + summaryText(report) + "\n"
        return out
    }

    static func applyText(_ fix: FixReport, _ apply: ApplyResult) -> String {
        switch apply {
        case .appliesCleanly: return "applies cleanly onto the branch"
        case .conflicts: return "conflicts in \((fix.conflicts ?? []).joined(separator: ", "))"
        }
    }

    /// The order of the Markdown report's sections: work to do first, settled fixes last.
    static let statusOrder: [FixStatus] = [.missing, .notApplied, .partial, .reverted, .ignored, .notBuilt, .notNeeded,
                                           .unknown, .present, .applied]

    /// The fixes of one status; missing fixes that cherry-pick cleanly first (a work list to start on), then the
    /// ones with conflicts, each group in report order.
    static func fixes(_ report: BackportReport, withStatus status: FixStatus) -> [FixReport] {
        let matching = report.fixes.filter { $0.status == status }
        guard status == .missing else { return matching }
        return matching.filter { $0.apply == .appliesCleanly } + matching.filter { $0.apply != .appliesCleanly }
    }

    /// The single most telling line of proof for a fix.
    static func proofLine(_ fix: FixReport) -> String {
        switch fix.status {
        case .missing:
            let apply = fix.apply.map { applyText(fix, $0) } ?? "apply not checked"
            let shipped = fix.evidence.first.map { "; " + evidenceText($0) } ?? ""
            return apply + shipped
        case .partial:
            return "not covered: " + (fix.uncoveredFiles ?? []).joined(separator: ", ")
                + (fix.evidence.first.map { "; cited by " + evidenceText($0) } ?? "")
        case .reverted where fix.evidence.count > 1:
            // The carrier first, the revert that still stands last.
            return evidenceText(fix.evidence[0]) + "; reverted by " + evidenceText(fix.evidence[fix.evidence.count - 1])
        case .ignored, .unknown:
            return fix.note ?? ""
        case .notBuilt:
            return "needs " + (fix.configSymbols ?? []).joined(separator: " or ")
                + (fix.evidence.first.map { "; " + evidenceText($0) } ?? "")
        default:
            let first = fix.evidence.first.map(evidenceText) ?? ""
            let more = fix.evidence.count > 1 ? " (+\(fix.evidence.count - 1) more)" : ""
            return first + more + (fix.note.map { "; " + $0 } ?? "")
        }
    }

    public static func markdown(_ report: BackportReport) -> String {
        func cell(_ text: String) -> String {
            text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        var out = "# Backport report\n\n"
        out += "- \(report.mode == .tree ? "Tree" : "Branch"): `\(report.target)`\n- Upstream: `\(report.upstream)`\n"
        out += "- Summary: \(summaryText(report))\n\n"
        let groups = statusOrder.map { ($0, fixes(report, withStatus: $0)) }.filter { !$0.1.isEmpty }
        out += "| Status | Fixes |\n|---|---|\n"
        for (status, fixes) in groups {
            var count = "\(fixes.count)"
            if status == .missing {
                count += applyChecked(report) ? " (\(fixes.filter { $0.apply == .appliesCleanly }.count) apply cleanly)"
                                              : " (apply not checked)"
            }
            out += "| \(status.rawValue) | \(count) |\n"
        }
        for (status, fixes) in groups {
            out += "\n## \(status.rawValue) (\(fixes.count))\n\n"
            out += "| Commit | Subject | How | Proof |\n|---|---|---|---|\n"
            for fix in fixes {
                var proof = cell(proofLine(fix))
                let followUps = fix.fixesOfFixes.map { "`\(shortId($0.commit))` (\($0.status.rawValue))" }
                if !followUps.isEmpty {
                    proof += (fix.status == .present ? "<br>fixed again by " : "<br>then apply ")
                        + followUps.joined(separator: ", ")
                }
                out += "| `\(shortId(fix.commit))` | \(cell(fix.subject)) | \(fix.how) | \(proof) |\n"
            }
        }
        if !report.warnings.isEmpty {
            out += "\n## Warnings\n\n" + report.warnings.map { "- \(cell($0))\n" }.joined()
        }
        return out
    }
}
