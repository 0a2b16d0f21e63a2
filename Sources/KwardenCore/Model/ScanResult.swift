import Foundation
import RuleKit

/// Why a file could not be scanned.
public struct FileFailure: Codable, Hashable, Sendable {
    public var file: String
    public var reason: String
}

/// A file whose parse reported errors: scanned anyway, with what libclang could recover.
public struct ParseErrorReport: Codable, Hashable, Sendable {
    public var file: String
    public var errors: Int
    public var first: String
}

public struct ScanSummary: Codable, Sendable {
    public var filesConsidered = 0
    public var filesParsed = 0
    public var filesWithErrors = 0
    public var parseErrors = 0
    public var filesFailed = 0
    public var findings = 0
    public var seconds = 0.0
    public var factFilesParsed = 0
    public var filesFromCache = 0
    /// Files parsed with shared precompiled headers, and those that fell back to a plain parse.
    public var filesWithSharedHeaders = 0
    public var sharedHeaderFallbacks = 0
    /// Preselected files left unparsed because no rule keeps them once chains are followed
    /// (`CallGraph`).
    public var filesSkippedByCallGraph = 0

    enum CodingKeys: String, CodingKey {
        case filesConsidered = "files_considered", filesParsed = "files_parsed", filesWithErrors = "files_with_errors"
        case parseErrors = "parse_errors", filesFailed = "files_failed", findings, seconds
        case factFilesParsed = "fact_files_parsed", filesFromCache = "files_from_cache"
        case filesWithSharedHeaders = "files_with_shared_headers", sharedHeaderFallbacks = "shared_header_fallbacks"
        case filesSkippedByCallGraph = "files_skipped_by_call_graph"
    }
    public init() {}

    /// Every count may be missing (reports of earlier versions, hand-made ones): 0.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func count(_ key: CodingKeys) throws -> Int { try container.decodeIfPresent(Int.self, forKey: key) ?? 0 }
        filesConsidered = try count(.filesConsidered)
        filesParsed = try count(.filesParsed)
        filesWithErrors = try count(.filesWithErrors)
        parseErrors = try count(.parseErrors)
        filesFailed = try count(.filesFailed)
        findings = try count(.findings)
        seconds = try container.decodeIfPresent(Double.self, forKey: .seconds) ?? 0
        factFilesParsed = try count(.factFilesParsed)
        filesFromCache = try count(.filesFromCache)
        filesWithSharedHeaders = try count(.filesWithSharedHeaders)
        sharedHeaderFallbacks = try count(.sharedHeaderFallbacks)
        filesSkippedByCallGraph = try count(.filesSkippedByCallGraph)
    }
}

/// A finding that is not reported: silenced in the source with a reason, or known to a baseline.
/// SARIF keeps it (as suppressed, or with `baselineState: unchanged`) so that code scanning does
/// not close it as fixed.
public struct SuppressedFinding: Sendable {
    public enum Kind: String, Sendable {
        /// `/* kwarden-ignore(rule): reason */` on or above the line.
        case inSource
        /// Recorded in the baseline the scan was compared with.
        case baseline
    }
    public var finding: Finding
    public var kind: Kind
    public var justification: String

    public init(finding: Finding, kind: Kind, justification: String) {
        self.finding = finding; self.kind = kind; self.justification = justification
    }
}

public struct ScanResult: Sendable {
    public var root: String
    public var findings: [Finding]
    public var summary: ScanSummary
    public var failures: [FileFailure]
    public var parseErrors: [ParseErrorReport]
    public var notes: [String]
    /// Findings not reported, each with why.
    public var suppressed: [SuppressedFinding] = []
    /// The share of the tree this result covers (nil: all of it).
    public var shard: Shard?

    public init(root: String, findings: [Finding], summary: ScanSummary, failures: [FileFailure],
                parseErrors: [ParseErrorReport], notes: [String]) {
        self.root = root; self.findings = findings; self.summary = summary; self.failures = failures
        self.parseErrors = parseErrors; self.notes = notes
    }
}

/// What parsing one file produced: sent back by a worker process as one JSON line.
public struct FileOutcome: Codable, Sendable {
    public var file: String
    /// Each rule's summaries of the file (as `AnyRule.extract` encoded them), by rule id: no rule
    /// reads another's.
    public var summaries: [String: Data] = [:]
    public var errorCount = 0
    public var firstError = ""
    public var failure: String?
    /// Files the parse read (for the result cache's validity check).
    public var dependencies: [String] = []
    /// Whether this outcome came from the result cache.
    public var cached = false
    /// Parsed with the shared precompiled headers.
    public var usedPrecompiledHeader = false
    /// Why the shared precompiled headers were not used after all.
    public var precompiledHeaderFallback: String?
    /// Why its driver's precompiled headers were set aside for the kernel headers' alone.
    public var driverHeadersSetAside: String?
    /// Code of the file left unanalysed, and why (reported as notes).
    public var notes: [FileNote] = []

    public init(file: String) { self.file = file }
}

extension FileOutcome {
    /// The result cache's form: the small fields as JSON, then each rule's summaries as raw bytes
    /// (JSON would hold them as base64, decoded again on every rescan).
    var cacheData: Data? {
        var envelope = self
        envelope.summaries = [:]
        guard let head = try? JSONEncoder().encode(envelope) else { return nil }
        var data = Data([Self.cacheFormat])
        func append(_ bytes: Data) {
            withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(bytes)
        }
        append(head)
        for rule in summaries.keys.sorted() {
            append(Data(rule.utf8))
            append(summaries[rule]!)
        }
        return data
    }

    init?(cacheData data: Data) {
        guard data.first == Self.cacheFormat else { return nil }
        var offset = data.startIndex + 1
        func take() -> Data? {
            guard data.endIndex - offset >= 4 else { return nil }
            var length: UInt32 = 0
            withUnsafeMutableBytes(of: &length) { $0.copyBytes(from: data[offset..<(offset + 4)]) }
            offset += 4
            let count = Int(UInt32(littleEndian: length))
            guard data.endIndex - offset >= count else { return nil }
            defer { offset += count }
            return data[offset..<(offset + count)]
        }
        guard let head = take(), var outcome = try? JSONDecoder().decode(FileOutcome.self, from: head) else { return nil }
        while offset < data.endIndex {
            guard let rule = take(), let summary = take() else { return nil }
            outcome.summaries[String(decoding: rule, as: UTF8.self)] = Data(summary)
        }
        self = outcome
    }

    /// 2: summaries in the compact binary form (`SummaryCoding.pack`).
    private static let cacheFormat: UInt8 = 2
}

/// Something about a place in a file that the scan's report should mention.
public struct FileNote: Codable, Hashable, Sendable {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file; self.line = line; self.message = message
    }
}
