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

    static func summaryText(_ summary: Summary, mode: BackportReport.Mode) -> String {
        var parts: [String] = []
        if mode == .tree {
            parts += ["\(summary.applied ?? 0) applied", "\(summary.partial ?? 0) partial",
                      "\(summary.notApplied ?? 0) not applied"]
            if summary.notNeeded > 0 { parts.append("\(summary.notNeeded) not needed") }
        } else {
            parts += ["\(summary.present) present", "\(summary.missing) missing", "\(summary.reverted) reverted",
                      "\(summary.notNeeded) not needed"]
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
            if let note = fix.note { out += "            note: \(note)\n" }
            for followUp in fix.fixesOfFixes {
                out += "            fixed again by \(shortId(followUp.commit)) \(followUp.subject): \(followUp.status.rawValue)\n"
            }
        }
        for warning in report.warnings { out += "warning: \(warning)\n" }
        out += "\n" + summaryText(report.summary, mode: report.mode) + "\n"
        return out
    }

    public static func markdown(_ report: BackportReport) -> String {
        func cell(_ text: String) -> String {
            text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        var out = "# Backport report\n\n"
        out += "- \(report.mode == .tree ? "Tree" : "Branch"): `\(report.target)`\n- Upstream: `\(report.upstream)`\n"
        out += "- Summary: \(summaryText(report.summary, mode: report.mode))\n\n"
        out += "| Status | Commit | Subject | How | Evidence |\n|---|---|---|---|---|\n"
        for fix in report.fixes {
            var proof = fix.evidence.map { "`\(cell(evidenceText($0)))`" }
            if let note = fix.note { proof.append(cell(note)) }
            proof += fix.fixesOfFixes.map { "fixed again by `\(shortId($0.commit))` (\($0.status.rawValue))" }
            out += "| \(fix.status.rawValue) | `\(shortId(fix.commit))` | \(cell(fix.subject)) | \(fix.how) | "
                + "\(proof.joined(separator: "<br>")) |\n"
        }
        if !report.warnings.isEmpty {
            out += "\n## Warnings\n\n" + report.warnings.map { "- \(cell($0))\n" }.joined()
        }
        return out
    }
}
