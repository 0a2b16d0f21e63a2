import Foundation

/// The verdict for one fix. History mode uses present … unknown; source-tree mode uses applied … unknown.
public enum FixStatus: String, Codable, CaseIterable {
    case present, missing, reverted
    case notNeeded = "not-needed"
    case unknown
    case applied
    case notApplied = "not-applied"
    /// History mode: several vendor commits cite the fix, but together they leave some of its files untouched.
    case partial
    /// On the ignore list (`--ignore FILE`, `.kwarden.yaml`); the reason is in `note`.
    case ignored
    /// Every file the fix touches is left out of the build by the vendor's `.config`.
    case notBuilt = "not-built"
}

/// Whether a missing fix cherry-picks onto the audited branch.
public enum ApplyResult: String, Codable {
    case appliesCleanly = "applies-cleanly"
    case conflicts
}

/// How a `present` verdict was reached, strongest first.
public enum Detection: String, Codable {
    case ancestor, trailer
    case patchID = "patch-id"
    /// Same patch-id once computed with zero lines of context: a backport over different surrounding code.
    case patchIDNoContext = "patch-id-nocontext"
    case subject
    /// Missing by every other means, but cherry-picking it onto the branch changes nothing.
    case alreadyApplied = "already-applied"
}

/// One line of proof: a vendor commit and the line of it that decides, or a file and line of a source tree.
public struct Evidence: Codable, Equatable {
    public var commit: String?
    public var line: String
    public var file: String?
    public var lineNumber: Int?

    public init(commit: String?, line: String, file: String? = nil, lineNumber: Int? = nil) {
        self.commit = commit
        self.line = line
        self.file = file
        self.lineNumber = lineNumber
    }

    enum CodingKeys: String, CodingKey {
        case commit, line, file
        case lineNumber = "line_number"
    }

    /// `commit` and `line` are always written (commit is null for a source-tree line), so every evidence object
    /// has the interface's shape; `file` and `line_number` only in tree mode.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(commit, forKey: .commit)
        try container.encode(line, forKey: .line)
        try container.encodeIfPresent(file, forKey: .file)
        try container.encodeIfPresent(lineNumber, forKey: .lineNumber)
    }
}

/// A commit named in a fix's `Fixes:` tag and whether the audited code has it.
public struct FixesTarget: Codable, Equatable {
    public var commit: String
    public var subject: String
    /// Whether the bug-introducing commit is in the audited branch or tree; nil when it cannot be found upstream.
    public var shipped: Bool?
    public var how: String?
}

/// An upstream follow-up whose `Fixes:` names a fix that is present, while the follow-up itself is not.
public struct FollowUp: Codable, Equatable {
    public var commit: String
    public var subject: String
    public var status: FixStatus
}

public struct FixReport: Codable, Equatable {
    /// Full upstream id when found, otherwise the id as given.
    public var commit: String
    public var subject: String
    public var status: FixStatus
    /// Empty unless `status` is `present`.
    public var how: String
    public var evidence: [Evidence]
    public var fixesOfFixes: [FollowUp]
    public var fixes: [FixesTarget]
    /// Catalog rule the fix relates to, when checked from the catalog.
    public var rule: String?
    public var note: String?
    /// Missing fixes: whether the fix cherry-picks cleanly onto the audited branch, and the conflicting paths.
    public var apply: ApplyResult?
    public var conflicts: [String]?
    /// Partial fixes: the fix's files no vendor commit citing it touches.
    public var uncoveredFiles: [String]?
    /// Not-built fixes: the CONFIG_ symbols that would build the files the fix touches.
    public var configSymbols: [String]?

    public init(commit: String, subject: String, status: FixStatus, how: String, evidence: [Evidence],
                fixesOfFixes: [FollowUp], fixes: [FixesTarget], rule: String?, note: String?) {
        self.commit = commit
        self.subject = subject
        self.status = status
        self.how = how
        self.evidence = evidence
        self.fixesOfFixes = fixesOfFixes
        self.fixes = fixes
        self.rule = rule
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case commit, subject, status, how, evidence, fixes, rule, note, apply, conflicts
        case fixesOfFixes = "fixes_of_fixes"
        case uncoveredFiles = "uncovered_files"
        case configSymbols = "config_symbols"
    }
}

public struct Summary: Codable, Equatable {
    public var present = 0, missing = 0, reverted = 0, notNeeded = 0, unknown = 0, ignored = 0, notBuilt = 0
    public var applied: Int?, notApplied: Int?, partial: Int?
    /// Missing fixes that cherry-pick cleanly onto the branch.
    public var appliesCleanly = 0
    public var seconds: Double = 0

    enum CodingKeys: String, CodingKey {
        case present, missing, reverted, unknown, seconds, applied, partial, ignored
        case notNeeded = "not_needed"
        case notApplied = "not_applied"
        case notBuilt = "not_built"
        case appliesCleanly = "applies_cleanly"
    }
}

public struct BackportReport: Codable, Equatable {
    public enum Mode: String, Codable { case history, tree }
    public var mode: Mode
    /// What was audited: "<repo> <branch> (<id>)" or the tree directory.
    public var target: String
    public var upstream: String
    public var fixes: [FixReport]
    public var summary: Summary
    public var warnings: [String]

    public init(mode: Mode, target: String, upstream: String, fixes: [FixReport], warnings: [String], seconds: Double) {
        self.mode = mode
        self.target = target
        self.upstream = upstream
        self.fixes = fixes
        self.warnings = warnings
        var summary = Summary()
        for fix in fixes {
            switch fix.status {
            case .present: summary.present += 1
            case .missing: summary.missing += 1
            case .reverted: summary.reverted += 1
            case .notNeeded: summary.notNeeded += 1
            case .unknown: summary.unknown += 1
            case .applied: summary.applied = (summary.applied ?? 0) + 1
            case .notApplied: summary.notApplied = (summary.notApplied ?? 0) + 1
            case .partial: summary.partial = (summary.partial ?? 0) + 1
            case .ignored: summary.ignored += 1
            case .notBuilt: summary.notBuilt += 1
            }
            if fix.apply == .appliesCleanly { summary.appliesCleanly += 1 }
        }
        if mode == .history { summary.partial = summary.partial ?? 0 }
        if mode == .tree {
            summary.applied = summary.applied ?? 0
            summary.notApplied = summary.notApplied ?? 0
            summary.partial = summary.partial ?? 0
        }
        summary.seconds = (seconds * 1000).rounded() / 1000
        self.summary = summary
    }

    /// True when a fix that is needed is not there: a missing or partly backported (or, in a tree, not or partly
    /// applied) fix, or a missing follow-up of a fix that is present. Ignored and not-built fixes do not count.
    /// This is exit status 1.
    public var hasMissingNeededFix: Bool {
        fixes.contains { fix in
            guard fix.status != .ignored && fix.status != .notBuilt else { return false }
            return [.missing, .notApplied, .partial].contains(fix.status)
                || fix.fixesOfFixes.contains { [.missing, .notApplied, .partial].contains($0.status) }
        }
    }
}
