import Foundation
import GitKit

public struct TreeOptions {
    public var treePath: String
    public var upstreamPath: String
    public var upstreamRef: String?

    public init(treePath: String, upstreamPath: String, upstreamRef: String? = nil) {
        self.treePath = treePath
        self.upstreamPath = upstreamPath
        self.upstreamRef = upstreamRef
    }
}

/// Source-tree mode: a vendor source drop has no history, so each fix's upstream diff is looked for in the files
/// themselves: added lines there in order near their context and removed lines gone means applied.
public final class TreeChecker {
    let options: TreeOptions
    let upstream: Repository
    var verdictCache: [Oid: (FixStatus, [Evidence])] = [:]

    public init(options: TreeOptions) throws {
        self.options = options
        try? Libgit2Tuning.forBulkReading()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.treePath, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackportError("source tree \(options.treePath) does not exist or is not a directory")
        }
        upstream = try RepositoryOpening.open(options.upstreamPath, role: "upstream repository", allowBare: true)
        if let ref = options.upstreamRef {
            do { _ = try upstream.resolveCommit(ref) } catch let error as GitError {
                throw BackportError("unknown upstream revision: \(error.message)")
            }
        }
    }

    public func run(_ source: FixSource) throws -> BackportReport {
        let start = Date()
        let requests = try FixResolution.resolve(source, in: upstream, label: options.upstreamPath)
        var warnings: [String] = []
        if case .range(let spec) = source, requests.isEmpty {
            warnings.append("no commit in \(spec) carries a Fixes: tag: nothing to check")
        }
        var reports: [FixReport] = []
        var seen = Set<Oid>()
        for (request, found) in requests {
            guard let oid = found else {
                reports.append(FixReport(commit: request.id, subject: request.subject ?? "", status: .unknown, how: "",
                                         evidence: [], fixesOfFixes: [], fixes: [], rule: request.rule,
                                         note: "commit \(request.id) is not in the upstream repository \(options.upstreamPath)"))
                continue
            }
            guard seen.insert(oid).inserted else { continue }
            let commit = try upstream.commit(oid)
            var report = FixReport(commit: oid.hex, subject: commit.summary, status: .unknown, how: "", evidence: [],
                                   fixesOfFixes: [], fixes: [], rule: request.rule, note: nil)
            let (status, evidence) = try verdict(oid)
            report.status = status
            report.evidence = evidence
            if status != .applied {
                var targetsApplied: [Bool?] = []
                for tag in Trailers.fixesTags(in: commit.message) {
                    guard let target = try? upstream.lookupCommit(prefix: tag.hex) else {
                        report.fixes.append(FixesTarget(commit: tag.hex, subject: tag.quotedSubject ?? "", shipped: nil, how: nil))
                        targetsApplied.append(nil)
                        continue
                    }
                    let (targetStatus, _) = try verdict(target)
                    // Only a clearly absent bug makes the fix unnecessary; a rewritten one might still be there.
                    let shipped: Bool? = targetStatus == .notApplied ? false : (targetStatus == .unknown ? nil : true)
                    report.fixes.append(FixesTarget(commit: target.hex, subject: try upstream.commit(target).summary,
                                                    shipped: shipped, how: targetStatus.rawValue))
                    targetsApplied.append(shipped)
                }
                if status == .notApplied, !targetsApplied.isEmpty, targetsApplied.allSatisfy({ $0 == false }) {
                    report.status = .notNeeded
                    report.note = "the code every Fixes: target adds is not in the tree"
                }
            }
            if report.status == .unknown && report.note == nil {
                report.note = "a file it touches is missing or the code around it was rewritten"
            }
            reports.append(report)
        }
        let label = options.upstreamPath + (options.upstreamRef.map { " \($0)" } ?? "")
        return BackportReport(mode: .tree, target: options.treePath, upstream: label, fixes: reports, warnings: warnings,
                              seconds: Date().timeIntervalSince(start))
    }

    func verdict(_ oid: Oid) throws -> (FixStatus, [Evidence]) {
        if let cached = verdictCache[oid] { return cached }
        let commit = try upstream.commit(oid)
        var statuses: [FixStatus] = []
        var evidence: [Evidence] = []
        let parentTree = try commit.parentIds.first.map { try upstream.commit($0).treeId }
        for file in try upstream.filePatches(from: parentTree, to: commit.treeId) {
            let (status, proof) = check(file)
            statuses.append(status)
            evidence += proof
        }
        let result = (Self.combine(statuses), evidence)
        verdictCache[oid] = result
        return result
    }

    /// applied only if all are; not-applied only if all are; partial when some are applied; unknown otherwise.
    static func combine(_ statuses: [FixStatus]) -> FixStatus {
        if statuses.isEmpty { return .unknown }
        if statuses.allSatisfy({ $0 == .applied }) { return .applied }
        if statuses.allSatisfy({ $0 == .notApplied }) { return .notApplied }
        if statuses.contains(.applied) || statuses.contains(.partial) { return .partial }
        if statuses.contains(.unknown) { return .unknown }
        return .notApplied
    }

    func check(_ file: FilePatch) -> (FixStatus, [Evidence]) {
        let path = file.path
        let fullPath = options.treePath + "/" + path
        let data = FileManager.default.contents(atPath: fullPath)
        func note(_ status: FixStatus, _ text: String, _ line: Int? = nil) -> (FixStatus, [Evidence]) {
            (status, [Evidence(commit: nil, line: text, file: path, lineNumber: line)])
        }
        if file.isBinary { return note(.unknown, "binary file: cannot compare") }
        switch file.status {
        case .deleted:
            return data == nil ? note(.applied, "file removed, as the fix removes it") : fileCheck(file, data!)
        case .added:
            return data == nil ? note(.notApplied, "file the fix adds is missing") : fileCheck(file, data!)
        default:
            return data == nil ? note(.unknown, "file missing") : fileCheck(file, data!)
        }
    }

    func fileCheck(_ file: FilePatch, _ data: Data) -> (FixStatus, [Evidence]) {
        let source = SourceLines(data)
        var statuses: [FixStatus] = []
        var evidence: [Evidence] = []
        for hunk in file.hunks {
            let (status, line, text) = HunkMatcher.check(hunk, in: source)
            statuses.append(status)
            evidence.append(Evidence(commit: nil, line: "\(status.rawValue): \(text)", file: file.path, lineNumber: line))
        }
        if file.hunks.isEmpty {
            // Mode-only change or empty file: existence is all there is to compare.
            return (.applied, [Evidence(commit: nil, line: "applied: file present", file: file.path, lineNumber: nil)])
        }
        return (Self.combine(statuses), evidence)
    }
}

/// A file's lines, compared without whitespace (as patch-ids compare), blank lines left out of matching.
struct SourceLines {
    /// (1-based line number, whitespace-free text) of every non-blank line.
    let lines: [(number: Int, key: String)]
    let original: [String]

    init(_ data: Data) {
        original = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
        lines = original.enumerated().compactMap { index, text in
            let key = SourceLines.key(text)
            return key.isEmpty ? nil : (index + 1, key)
        }
    }

    static func key(_ text: String) -> String { String(text.unicodeScalars.filter { !$0.properties.isWhitespace }.map(Character.init)) }

    /// Index (into `lines`) where `block` occurs contiguously, searching from `range`.
    func find(_ block: [String], in range: Range<Int>? = nil) -> Int? {
        guard !block.isEmpty else { return nil }
        let bounds = range ?? 0..<lines.count
        guard bounds.count >= block.count else { return nil }
        var start = bounds.lowerBound
        while start + block.count <= bounds.upperBound {
            if lines[start].key == block[0] {
                var matched = true
                for offset in 1..<block.count where lines[start + offset].key != block[offset] {
                    matched = false
                    break
                }
                if matched { return start }
            }
            start += 1
        }
        return nil
    }

    /// True when `sequence` appears in order (not necessarily adjacent) within `range`.
    func containsInOrder(_ sequence: [String], in range: Range<Int>) -> (found: Bool, first: Int?) {
        var next = 0
        var first: Int?
        for index in range where next < sequence.count && lines[index].key == sequence[next] {
            if first == nil { first = index }
            next += 1
        }
        return (next == sequence.count, first)
    }
}

enum HunkMatcher {
    /// Decides one hunk: (status, line number in the tree file, the line shown as proof).
    static func check(_ hunk: DiffHunk, in source: SourceLines) -> (FixStatus, Int?, String) {
        let keyed = hunk.lines.map { ($0.kind, SourceLines.key($0.text), $0.text) }.filter { !$0.1.isEmpty }
        let post = keyed.filter { $0.0 != .removed }.map(\.1)
        let pre = keyed.filter { $0.0 != .added }.map(\.1)
        let added = keyed.filter { $0.0 == .added }
        let removed = keyed.filter { $0.0 == .removed }
        let context = keyed.filter { $0.0 == .context }.map(\.1)
        func lineNumber(_ index: Int?) -> Int? { index.map { source.lines[$0].number } }
        func shown(_ index: Int?) -> String {
            guard let number = lineNumber(index) else { return "" }
            return source.original[number - 1].trimmingWhitespace().description
        }
        if added.isEmpty && removed.isEmpty { return (.applied, nil, "no change") }

        // Exact: the hunk's result (or its original) is in the file as one block, whitespace aside.
        if let at = source.find(post) {
            let firstAdded = added.isEmpty ? at : at + (post.firstIndex(of: added[0].1) ?? 0)
            return (.applied, lineNumber(firstAdded), added.isEmpty ? "removed lines are gone" : shown(firstAdded))
        }
        if let at = source.find(pre) {
            let firstRemoved = removed.isEmpty ? at : at + (pre.firstIndex(of: removed[0].1) ?? 0)
            return (.notApplied, lineNumber(firstRemoved),
                    removed.isEmpty ? "added lines are absent: \(added[0].2.trimmingWhitespace())" : "still there: \(shown(firstRemoved))")
        }
        // Near the context: the surrounding code moved or changed a little.
        guard let anchor = context.lazy.compactMap({ source.find([$0]) }).first else {
            return (.unknown, nil, "the code around it was rewritten (no context line found)")
        }
        let radius = hunk.lines.count + 20
        let window = max(0, anchor - radius)..<min(source.lines.count, anchor + radius)
        let addedInOrder = source.containsInOrder(added.map(\.1), in: window)
        let removedStill = removed.isEmpty ? nil : source.find(removed.map(\.1), in: window)
        let anyAdded = added.contains { key in source.find([key.1], in: window) != nil }
        if (added.isEmpty || addedInOrder.found) && removedStill == nil {
            return (.applied, lineNumber(addedInOrder.first ?? anchor),
                    added.isEmpty ? "removed lines are gone" : shown(addedInOrder.first))
        }
        if !anyAdded && (removed.isEmpty || removedStill != nil) {
            return (.notApplied, lineNumber(removedStill ?? anchor),
                    removedStill != nil ? "still there: \(shown(removedStill))" : "added lines are absent: \(added[0].2.trimmingWhitespace())")
        }
        return (.partial, lineNumber(addedInOrder.first ?? anchor), "only some of the hunk's lines are there")
    }
}
