import Foundation
import RuleKit

/// Findings recorded at one point in time, by fingerprint, so that later scans report only new ones.
/// Fingerprints come from the rule, file, function and the code itself, never from line numbers.
public struct Baseline: Codable, Sendable {
    public struct Entry: Codable, Hashable, Sendable {
        public var fingerprint: String
        public var rule: String
        public var file: String
        public var function: String
        public var line: Int
    }

    public var tool = "kwarden"
    public var version = Kwarden.version
    public var findings: [Entry]

    public init(findings: [Finding]) {
        self.findings = findings.map { Entry(fingerprint: $0.fingerprint, rule: $0.rule, file: $0.file, function: $0.function, line: $0.line) }
    }

    public var fingerprints: Set<String> { Set(findings.map(\.fingerprint)) }

    public static func load(_ path: String) throws -> Baseline {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ConfigurationError.unreadable(path: path, reason: error.localizedDescription)
        }
        do { return try JSONDecoder().decode(Baseline.self, from: data) } catch {
            throw ConfigurationError.invalid(path: path, reason: "not a kwarden baseline (\(error))")
        }
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { try encoder.encode(self).write(to: URL(fileURLWithPath: path)) } catch {
            throw ConfigurationError.unreadable(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// The result without the findings this baseline already knows.
    public func filter(_ result: ScanResult, path: String = "the baseline") -> ScanResult {
        let known = fingerprints
        var filtered = result
        filtered.findings = result.findings.filter { !known.contains($0.fingerprint) }
        filtered.suppressed += result.findings.filter { known.contains($0.fingerprint) }
            .map { SuppressedFinding(finding: $0, kind: .baseline, justification: "recorded in \(path)") }
        let suppressed = result.findings.count - filtered.findings.count
        filtered.summary.findings = filtered.findings.count
        if suppressed > 0 { filtered.notes.append("\(suppressed) finding\(suppressed == 1 ? "" : "s") already in the baseline not shown") }
        return filtered
    }
}

public enum ConfigurationError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalid(path: String, reason: String)
    case unknownKey(path: String, key: String, allowed: [String])

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .invalid(let path, let reason): return "\(path): \(reason)"
        case .unknownKey(let path, let key, let allowed):
            return "\(path): unknown key '\(key)' (allowed: \(allowed.joined(separator: ", ")))"
        }
    }
}
