import Foundation
import RuleKit

public enum OutputFormat: String, CaseIterable, Sendable {
    case text, json, sarif, github
}

/// Renders a scan in the formats maintainers and CI systems read.
public enum ScanReport {
    /// `baseline`: the scan was compared with a baseline (SARIF then marks each result new or unchanged).
    public static func render(_ result: ScanResult, format: OutputFormat, rules: [RuleMetadata], baseline: Bool = false) -> String {
        switch format {
        case .text: return text(result)
        case .json: return json(result)
        case .sarif: return sarif(result, rules: rules, baseline: baseline)
        case .github: return github(result)
        }
    }

    /// GitHub Actions workflow commands: each finding becomes an annotation on the pull request.
    public static func github(_ result: ScanResult) -> String {
        func escapeData(_ text: String) -> String {
            text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
        }
        func escapeProperty(_ text: String) -> String {
            escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
        }
        var out = ""
        for finding in result.findings {
            let level = finding.severity == .error ? "error" : (finding.severity == .note ? "notice" : "warning")
            var body = finding.message
            for step in finding.evidence { body += "\n\(step.file):\(step.line): \(step.message)" }
            out += "::\(level) file=\(escapeProperty(finding.file)),line=\(finding.line),col=\(finding.column),title=\(escapeProperty("kwarden " + finding.rule))::\(escapeData(body))\n"
        }
        for failure in result.failures {
            out += "::warning file=\(escapeProperty(failure.file)),title=kwarden::\(escapeData("not scanned: " + failure.reason))\n"
        }
        let s = result.summary
        out += "kwarden: \(s.findings) finding\(s.findings == 1 ? "" : "s"); \(s.filesParsed) files parsed, \(s.filesFailed) failed\n"
        return out
    }

    /// `path:line:col: warning: message [rule-id]`, the compiler style editors and CI logs parse.
    public static func text(_ result: ScanResult) -> String {
        var out = ""
        for finding in result.findings {
            out += "\(finding.file):\(finding.line):\(finding.column): \(finding.severity.rawValue): \(finding.message) [\(finding.rule)]\n"
            out += "    note: in function \(finding.function)(); confidence \(finding.confidence.rawValue)\n"
            for step in finding.evidence {
                let place = "\(step.file):\(step.line)" + (step.column.map { ":\($0)" } ?? "")
                out += "    \(place): note: \(step.message)\n"
            }
        }
        for failure in result.failures {
            out += "\(failure.file): error: not scanned: \(failure.reason)\n"
        }
        for note in result.notes { out += "note: \(note)\n" }
        let inSource = result.suppressed.filter { $0.kind == .inSource }.count
        if inSource > 0 { out += "note: \(inSource) finding\(inSource == 1 ? "" : "s") suppressed in the source (kwarden-ignore) not shown\n" }
        let s = result.summary
        out += "kwarden: \(s.findings) finding\(s.findings == 1 ? "" : "s"); \(s.filesConsidered) files considered, \(s.filesParsed) parsed"
        out += " (\(s.filesWithErrors) with parse errors, \(s.parseErrors) errors"
        if s.filesFromCache > 0 { out += ", \(s.filesFromCache) from cache" }
        out += "), \(s.filesFailed) failed; \(String(format: "%.1f", s.seconds)) s\n"
        return out
    }

    struct JSONReport: Encodable {
        var tool = "kwarden"
        var version = Kwarden.version
        var root: String
        var findings: [JSONFinding]
        var summary: ScanSummary
        var failures: [FileFailure]
        var parseErrors: [ParseErrorReport]
        var notes: [String]
        var suppressed: [JSONSuppressed]
        /// "K/N" for one shard of a scan.
        var shard: String?
        enum CodingKeys: String, CodingKey { case tool, version, root, findings, summary, failures, parseErrors = "parse_errors", notes, suppressed, shard }
    }

    struct JSONSuppressed: Codable {
        let finding: JSONFinding, kind: String, justification: String
    }

    struct JSONFinding: Codable {
        let rule: String, severity: String, confidence: String, file: String, line: Int, column: Int
        let function: String, message: String, evidence: [Evidence], fingerprint: String
    }

    public static func json(_ result: ScanResult) -> String {
        func entry(_ finding: Finding) -> JSONFinding {
            JSONFinding(rule: finding.rule, severity: finding.severity.rawValue, confidence: finding.confidence.rawValue, file: finding.file,
                        line: finding.line, column: finding.column, function: finding.function, message: finding.message,
                        evidence: finding.evidence, fingerprint: finding.fingerprint)
        }
        let report = JSONReport(root: result.root, findings: result.findings.map(entry),
                                summary: result.summary, failures: result.failures, parseErrors: result.parseErrors, notes: result.notes,
                                suppressed: result.suppressed.map { JSONSuppressed(finding: entry($0.finding), kind: $0.kind.rawValue, justification: $0.justification) },
                                shard: result.shard?.description)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(report)) ?? Data(), as: UTF8.self) + "\n"
    }

    /// GitHub code scanning's limits: locations per result, results per run (of which it stores 5,000).
    public static let sarifMaxRelatedLocations = 1_000
    public static let sarifMaxResults = 25_000

    /// SARIF 2.1.0 as GitHub code scanning accepts it: rules with help text, stable
    /// partialFingerprints, evidence as related locations. Suppressed and baselined findings stay
    /// in the log, marked so, so that code scanning does not close them as fixed. `baseline`:
    /// whether the scan was compared with a baseline (then every result has a `baselineState`).
    public static func sarif(_ result: ScanResult, rules: [RuleMetadata], baseline: Bool = false) -> String {
        let ruleIndex = Dictionary(uniqueKeysWithValues: rules.enumerated().map { ($1.id, $0) })
        func location(_ file: String, _ line: Int?, _ column: Int?, message: String? = nil, id: Int? = nil) -> [String: Any] {
            var physical: [String: Any] = ["artifactLocation": ["uri": sarifURI(file), "uriBaseId": "%SRCROOT%"]]
            if let line {
                var region: [String: Any] = ["startLine": max(1, line)]
                if let column { region["startColumn"] = max(1, column) }
                physical["region"] = region
            }
            var loc: [String: Any] = ["physicalLocation": physical]
            if let message { loc["message"] = ["text": message] }
            if let id { loc["id"] = id }
            return loc
        }
        var cutNotes: [String] = []
        func entry(_ finding: Finding, suppression: SuppressedFinding? = nil) -> [String: Any] {
            var entry: [String: Any] = [
                "ruleId": finding.rule,
                "level": finding.severity.sarifLevel,
                "message": ["text": finding.message],
                "locations": [location(finding.file, finding.line, finding.column)],
                "partialFingerprints": ["kwardenFingerprint/v1": finding.fingerprint],
                "properties": ["confidence": finding.confidence.rawValue, "function": finding.function],
            ]
            if let index = ruleIndex[finding.rule] { entry["ruleIndex"] = index }
            if !finding.evidence.isEmpty {
                let steps = finding.evidence.prefix(sarifMaxRelatedLocations)
                entry["relatedLocations"] = steps.enumerated().map { offset, step in
                    location(step.file, step.line, step.column, message: step.message, id: offset + 1)
                }
                if finding.evidence.count > steps.count {
                    cutNotes.append("\(finding.file):\(finding.line): \(finding.evidence.count - steps.count) of \(finding.evidence.count) evidence locations left out (at most \(sarifMaxRelatedLocations) per result)")
                }
            }
            switch suppression?.kind {
            case .baseline?:
                entry["baselineState"] = "unchanged"
            case .inSource?:
                entry["suppressions"] = [["kind": "inSource", "justification": suppression!.justification]]
                if baseline { entry["baselineState"] = "new" }
            case nil:
                if baseline { entry["baselineState"] = "new" }
            }
            return entry
        }
        // Most confident first (the reports' order), then the suppressed: what a cap keeps.
        var ordered = result.findings.map { ($0, SuppressedFinding?.none) }
        ordered += result.suppressed.sorted { Finding.reportOrder($0.finding, $1.finding) }.map { ($0.finding, Optional($0)) }
        if ordered.count > sarifMaxResults {
            cutNotes.append("\(ordered.count - sarifMaxResults) of \(ordered.count) results left out (at most \(sarifMaxResults) per run), the least confident first")
            ordered = Array(ordered.prefix(sarifMaxResults))
        }
        let results = ordered.map { entry($0.0, suppression: $0.1) }
        let driverRules: [[String: Any]] = rules.map { rule in
            var help = rule.finds.trimmingCharacters(in: .whitespacesAndNewlines) + "\n\nWhy it matters: " + rule.why.trimmingCharacters(in: .whitespacesAndNewlines)
            if let incident = rule.incident { help += "\n\nIncident: " + incident.trimmingCharacters(in: .whitespacesAndNewlines) }
            return [
                "id": rule.id,
                "name": rule.id.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(),
                "shortDescription": ["text": rule.title],
                "fullDescription": ["text": rule.finds.trimmingCharacters(in: .whitespacesAndNewlines)],
                "help": ["text": help],
                "defaultConfiguration": ["level": rule.severity.sarifLevel],
                "properties": ["precision": rule.confidence == .high ? "high" : "medium", "tags": ["correctness", "linux-kernel"]],
            ]
        }
        var notifications: [[String: Any]] = result.failures.map { failure in
            // A failure without a file is the whole run's (nothing could be scanned).
            guard !failure.file.isEmpty else { return ["level": "error", "message": ["text": failure.reason]] }
            return ["level": "error", "message": ["text": "not scanned: \(failure.reason)"],
                    "locations": [location(failure.file, nil, nil)]]
        }
        notifications += result.parseErrors.map { report in
            ["level": "warning", "message": ["text": "parsed with \(report.errors) error\(report.errors == 1 ? "" : "s") (findings may be missed); first: \(report.first)"],
             "locations": [location(report.file, nil, nil)]]
        }
        notifications += cutNotes.map { ["level": "note", "message": ["text": $0]] }
        var run: [String: Any] = [
            "tool": ["driver": ["name": "kwarden", "version": Kwarden.version, "semanticVersion": Kwarden.version,
                                "rules": driverRules]],
            "results": results,
            "invocations": [["executionSuccessful": result.failures.isEmpty, "toolExecutionNotifications": notifications]],
        ]
        if let shard = result.shard { run["properties"] = ["kwardenShard": shard.description] }
        let log: [String: Any] = [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [run],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: log, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension ScanReport {
    /// A path as a SARIF URI reference: every byte outside RFC 3986's unreserved set and `/`
    /// percent-encoded (a space, `#` or a non-ASCII name otherwise makes the log invalid).
    public static func sarifURI(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// A SARIF log for a run that could not scan at all: no results, the error as a notification,
    /// so that an upload step still finds a valid file and shows why.
    public static func sarifError(_ message: String, rules: [RuleMetadata]) -> String {
        var result = ScanResult(root: ".", findings: [], summary: ScanSummary(), failures: [], parseErrors: [], notes: [])
        result.failures = [FileFailure(file: "", reason: message)]
        return sarif(result, rules: rules)
    }
}
