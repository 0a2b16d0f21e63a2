import Foundation
import RuleKit

/// Joins the reports of a scan split into shards (`kwarden scan --shard K/N`) into one: findings by
/// fingerprint (a cross-file finding may be seen from more than one shard), failures and parse
/// errors by file, notes once each. JSON reports merge into a `ScanResult` that renders in every
/// format; SARIF logs merge into one SARIF log.
public enum ReportMerger {
    public enum Failure: Error, CustomStringConvertible {
        case unreadable(String, String)
        case mixed
        case incomplete(String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): return "\(path): \(reason)"
            case .mixed: return "cannot merge JSON reports with SARIF logs: give reports of one format"
            case .incomplete(let reason): return reason
            }
        }
    }

    public enum Input { case json(ScanResult), sarif([String: Any]) }

    /// Reads one report file: kwarden's JSON or a SARIF log.
    public static func read(_ path: String) throws -> Input {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Failure.unreadable(path, "cannot read: \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure.unreadable(path, "not a JSON object")
        }
        if object["runs"] != nil { return .sarif(object) }
        guard object["findings"] != nil, let report = try? JSONDecoder().decode(ScanReport.JSONReport.self, from: data) else {
            throw Failure.unreadable(path, "neither a kwarden JSON report nor a SARIF log")
        }
        return .json(report.result)
    }

    /// The shards given must be all of one split: the same N, each K once.
    static func checkShards(_ shards: [String?]) throws -> [String] {
        let given = shards.compactMap { $0 }
        guard !given.isEmpty else { return ["merged \(shards.count) reports that are not shards of one scan"] }
        guard given.count == shards.count else { throw Failure.incomplete("some reports are shards of a scan and some are not") }
        let parsed = try given.map { try Shard(parsing: $0) }
        let counts = Set(parsed.map(\.count))
        guard counts.count == 1, let count = counts.first else { throw Failure.incomplete("the shards come from different splits (\(given.joined(separator: ", ")))") }
        let indices = parsed.map(\.index)
        let missing = (1...count).filter { !indices.contains($0) }
        let repeated = Set(indices.filter { index in indices.filter { $0 == index }.count > 1 })
        if !missing.isEmpty || !repeated.isEmpty {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing shard\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(count)" }.joined(separator: ", "))") }
            if !repeated.isEmpty { parts.append("shard\(repeated.count == 1 ? "" : "s") \(repeated.sorted().map { "\($0)/\(count)" }.joined(separator: ", ")) given twice") }
            throw Failure.incomplete("incomplete split: " + parts.joined(separator: "; "))
        }
        return ["merged shards 1–\(count) of \(count)"]
    }

    public static func merge(_ results: [ScanResult]) throws -> ScanResult {
        guard let first = results.first else { throw Failure.incomplete("no reports to merge") }
        let notes = try checkShards(results.map { $0.shard?.description })
        var merged = ScanResult(root: first.root, findings: [], summary: ScanSummary(), failures: [], parseErrors: [], notes: [])
        var fingerprints = Set<String>(), failed = Set<String>(), parseErrorFiles = Set<String>(), seenNotes = Set<String>()
        var suppressed = Set<String>()
        for result in results {
            merged.findings += result.findings.filter { fingerprints.insert($0.fingerprint).inserted }
            merged.suppressed += result.suppressed.filter { suppressed.insert($0.finding.fingerprint).inserted }
            merged.failures += result.failures.filter { failed.insert($0.file).inserted }
            merged.parseErrors += result.parseErrors.filter { parseErrorFiles.insert($0.file).inserted }
            // A shard's own line ("shard K/N: …") says nothing about the whole.
            merged.notes += result.notes.filter { !$0.hasPrefix("shard ") && seenNotes.insert($0).inserted }
            merged.summary.filesConsidered = max(merged.summary.filesConsidered, result.summary.filesConsidered)
            merged.summary.filesParsed += result.summary.filesParsed
            merged.summary.factFilesParsed += result.summary.factFilesParsed
            merged.summary.filesFromCache += result.summary.filesFromCache
            merged.summary.seconds = max(merged.summary.seconds, result.summary.seconds)
        }
        merged.findings.sort(by: Finding.reportOrder)
        merged.failures.sort { $0.file < $1.file }
        merged.parseErrors.sort { $0.file < $1.file }
        merged.summary.findings = merged.findings.count
        merged.summary.filesFailed = merged.failures.count
        merged.summary.filesWithErrors = merged.parseErrors.count
        merged.summary.parseErrors = merged.parseErrors.map(\.errors).reduce(0, +)
        merged.notes = notes + merged.notes
        return merged
    }

    /// SARIF logs of one split merged into one: results by their kwarden fingerprint, notifications
    /// once each, the first log's tool and rules.
    public static func merge(sarif logs: [[String: Any]]) throws -> String {
        let runs = logs.map { (($0["runs"] as? [[String: Any]]) ?? []).first ?? [:] }
        guard var run = runs.first else { throw Failure.incomplete("no logs to merge") }
        _ = try checkShards(runs.map { ($0["properties"] as? [String: Any])?["kwardenShard"] as? String })
        var results: [[String: Any]] = [], seen = Set<String>()
        var notifications: [[String: Any]] = [], seenNotifications = Set<String>()
        var successful = true
        for log in runs {
            for result in (log["results"] as? [[String: Any]]) ?? [] {
                let fingerprint = (result["partialFingerprints"] as? [String: Any])?["kwardenFingerprint/v1"] as? String ?? UUID().uuidString
                if seen.insert(fingerprint).inserted { results.append(result) }
            }
            for invocation in (log["invocations"] as? [[String: Any]]) ?? [] {
                if invocation["executionSuccessful"] as? Bool == false { successful = false }
                for notification in (invocation["toolExecutionNotifications"] as? [[String: Any]]) ?? [] {
                    let key = (try? JSONSerialization.data(withJSONObject: notification, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? ""
                    if seenNotifications.insert(key).inserted { notifications.append(notification) }
                }
            }
        }
        run["results"] = results
        run["invocations"] = [["executionSuccessful": successful, "toolExecutionNotifications": notifications]]
        run.removeValue(forKey: "properties")
        var log = logs[0]
        log["runs"] = [run]
        let data = (try? JSONSerialization.data(withJSONObject: log, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension ScanReport.JSONReport: Decodable {
    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        root = try container.decode(String.self, forKey: .root)
        findings = try container.decode([ScanReport.JSONFinding].self, forKey: .findings)
        summary = try container.decode(ScanSummary.self, forKey: .summary)
        failures = try container.decodeIfPresent([FileFailure].self, forKey: .failures) ?? []
        parseErrors = try container.decodeIfPresent([ParseErrorReport].self, forKey: .parseErrors) ?? []
        notes = try container.decodeIfPresent([String].self, forKey: .notes) ?? []
        suppressed = try container.decodeIfPresent([ScanReport.JSONSuppressed].self, forKey: .suppressed) ?? []
        shard = try container.decodeIfPresent(String.self, forKey: .shard)
    }

    /// The report as a scan result again (findings keep their fingerprints).
    var result: ScanResult {
        func finding(_ entry: ScanReport.JSONFinding) -> Finding {
            Finding(rule: entry.rule, severity: Severity(rawValue: entry.severity) ?? .warning,
                    confidence: Confidence(rawValue: entry.confidence) ?? .medium, file: entry.file, line: entry.line,
                    column: entry.column, function: entry.function, message: entry.message, evidence: entry.evidence,
                    fingerprint: entry.fingerprint)
        }
        var result = ScanResult(root: root, findings: findings.map(finding), summary: summary, failures: failures,
                                parseErrors: parseErrors, notes: notes)
        result.suppressed = suppressed.map {
            SuppressedFinding(finding: finding($0.finding), kind: SuppressedFinding.Kind(rawValue: $0.kind) ?? .inSource, justification: $0.justification)
        }
        result.shard = shard.flatMap { try? Shard(parsing: $0) }
        return result
    }
}
