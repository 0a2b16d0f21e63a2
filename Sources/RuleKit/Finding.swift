/// One step of the reasoning behind a finding: a place in the tree and what it shows.
public struct Evidence: Codable, Hashable, Sendable {
    public var file: String
    public var line: Int
    public var column: Int?
    public var function: String?
    public var message: String

    public init(file: String, line: Int, column: Int? = nil, function: String? = nil, message: String) {
        self.file = file; self.line = line; self.column = column; self.function = function; self.message = message
    }
}

public enum Severity: String, Codable, Sendable, Comparable {
    case note, warning, error
    public static func < (a: Severity, b: Severity) -> Bool {
        let order: [Severity] = [.note, .warning, .error]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
    /// SARIF's `level`.
    public var sarifLevel: String { rawValue }
}

public enum Confidence: String, Codable, Sendable, Comparable {
    case low, medium, high
    public static func < (a: Confidence, b: Confidence) -> Bool {
        let order: [Confidence] = [.low, .medium, .high]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
}

/// A problem a rule found. Paths are relative to the scanned tree's root once the scan finishes.
public struct Finding: Codable, Hashable, Sendable {
    public var rule: String
    public var severity: Severity
    public var confidence: Confidence
    public var file: String
    public var line: Int
    public var column: Int
    public var function: String
    public var message: String
    public var evidence: [Evidence]
    /// Survives unrelated line shifts: built from the rule, file, function and the code the finding is about.
    public var fingerprint: String
    /// What the finding is about, in words that survive moves and unrelated edits (the code of the
    /// loop, the field and function involved): the fingerprint's core. nil: the message.
    public var anchor: String?
    /// Which of several findings with the same anchor in one function this is (from 1).
    public var occurrence: Int

    public init(rule: String, severity: Severity, confidence: Confidence, file: String, line: Int, column: Int,
                function: String, message: String, evidence: [Evidence] = [], fingerprint: String = "",
                anchor: String? = nil, occurrence: Int = 1) {
        self.rule = rule; self.severity = severity; self.confidence = confidence; self.file = file
        self.line = line; self.column = column; self.function = function; self.message = message
        self.evidence = evidence; self.fingerprint = fingerprint; self.anchor = anchor; self.occurrence = occurrence
    }
}

extension Finding {
    /// Most confident first, then by place: the order every report lists findings in.
    public static func reportOrder(_ a: Finding, _ b: Finding) -> Bool {
        if a.confidence != b.confidence { return a.confidence > b.confidence }
        return (a.file, a.line, a.column, a.rule) < (b.file, b.line, b.column, b.rule)
    }

    /// The fingerprint this finding has when its file is named `file` (the gate names a base
    /// revision's file by its path at head, so that renames keep fingerprints).
    public func fingerprint(file: String) -> String {
        stableHash([rule, file, function, anchor ?? message, String(occurrence)])
    }
}

/// Stable 64-bit FNV-1a hash as hex, for fingerprints (Swift's Hasher is seeded per process).
public func stableHash(_ parts: [String]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for part in parts {
        for byte in part.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        hash ^= 0x1f
        hash = hash &* 0x100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}
