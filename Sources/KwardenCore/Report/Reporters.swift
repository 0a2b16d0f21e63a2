import Foundation

public enum OutputFormat: String, CaseIterable, Sendable {
    case text, json, sarif, github
}

/// Renders a scan in the formats maintainers and CI systems read.
public enum ScanReport {
    public static func render(_ result: ScanResult, format: OutputFormat, rules: [RuleMetadata]) -> String {
        switch format {
        case .text: return text(result)
        case .json: return json(result)
        case .sarif: return sarif(result, rules: rules)
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
        enum CodingKeys: String, CodingKey { case tool, version, root, findings, summary, failures, parseErrors = "parse_errors", notes }
    }

    struct JSONFinding: Encodable {
        let rule: String, severity: String, confidence: String, file: String, line: Int, column: Int
        let function: String, message: String, evidence: [Evidence], fingerprint: String
    }

    public static func json(_ result: ScanResult) -> String {
        let report = JSONReport(root: result.root, findings: result.findings.map {
            JSONFinding(rule: $0.rule, severity: $0.severity.rawValue, confidence: $0.confidence.rawValue, file: $0.file,
                        line: $0.line, column: $0.column, function: $0.function, message: $0.message,
                        evidence: $0.evidence, fingerprint: $0.fingerprint)
        }, summary: result.summary, failures: result.failures, parseErrors: result.parseErrors, notes: result.notes)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(report)) ?? Data(), as: UTF8.self) + "\n"
    }

    /// SARIF 2.1.0 as GitHub code scanning accepts it: rules with help text, stable
    /// partialFingerprints, evidence as related locations.
    public static func sarif(_ result: ScanResult, rules: [RuleMetadata]) -> String {
        let ruleIndex = Dictionary(uniqueKeysWithValues: rules.enumerated().map { ($1.id, $0) })
        func location(_ file: String, _ line: Int, _ column: Int?, message: String? = nil, id: Int? = nil) -> [String: Any] {
            var region: [String: Any] = ["startLine": max(1, line)]
            if let column { region["startColumn"] = max(1, column) }
            var loc: [String: Any] = ["physicalLocation": ["artifactLocation": ["uri": file, "uriBaseId": "%SRCROOT%"], "region": region]]
            if let message { loc["message"] = ["text": message] }
            if let id { loc["id"] = id }
            return loc
        }
        let results: [[String: Any]] = result.findings.map { finding in
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
                entry["relatedLocations"] = finding.evidence.enumerated().map { offset, step in
                    location(step.file, step.line, step.column, message: step.message, id: offset + 1)
                }
            }
            return entry
        }
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
        let notifications: [[String: Any]] = result.failures.map { failure in
            ["level": "warning", "message": ["text": "not scanned: \(failure.reason)"],
             "locations": [location(failure.file, 1, nil)]]
        }
        let log: [String: Any] = [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [[
                "tool": ["driver": ["name": "kwarden", "version": Kwarden.version, "semanticVersion": Kwarden.version,
                                    "rules": driverRules]],
                "originalUriBaseIds": ["%SRCROOT%": ["uri": URL(fileURLWithPath: result.root, isDirectory: true).absoluteString]],
                "results": results,
                "invocations": [["executionSuccessful": true, "toolExecutionNotifications": notifications]],
            ]],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: log, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
