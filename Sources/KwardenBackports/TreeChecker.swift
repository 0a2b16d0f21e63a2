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
/// themselves: where a hunk belongs, its added lines there and its removed lines gone means applied.
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
            do {
                var report = try decision(oid, depth: 0)
                report.rule = request.rule
                reports.append(report)
            } catch {
                let reason = (error as? GitError)?.message ?? "\(error)"
                warnings.append("\(oid.short()): could not be checked: \(reason)")
                reports.append(FixReport(commit: oid.hex, subject: request.subject ?? "", status: .unknown, how: "",
                                         evidence: [], fixesOfFixes: [], fixes: [], rule: request.rule,
                                         note: "could not be checked: \(reason)"))
            }
        }
        settleByFollowers(&reports)
        let label = options.upstreamPath + (options.upstreamRef.map { " \($0)" } ?? "")
        return BackportReport(mode: .tree, target: options.treePath, upstream: label, fixes: reports, warnings: warnings,
                              seconds: Date().timeIntervalSince(start))
    }

    var decisions: [Oid: FixReport] = [:]
    /// The commits each checked commit's `Fixes:` tags and `This reverts commit` lines name.
    var namedTargets: [Oid: (fixes: [Oid], reverts: [Oid])] = [:]

    /// A later fix changes the lines of the fix it fixes, so the earlier one no longer shows as itself: when a
    /// checked fix naming it is applied, a partial or unknown fix was applied too — or, when that later commit
    /// reverts it, is not applied. Newest first, so that chains (a fix of a revert of a fix) settle in one pass.
    func settleByFollowers(_ reports: inout [FixReport]) {
        var applied: [Oid: [(follower: Oid, reverts: Bool)]] = [:]
        for report in reports where report.status == .applied {
            guard let oid = Oid(hex: report.commit), let named = namedTargets[oid] else { continue }
            for target in Set(named.fixes + named.reverts) {
                applied[target, default: []].append((oid, named.reverts.contains(target)))
            }
        }
        for index in reports.indices.reversed() where [.partial, .unknown].contains(reports[index].status) {
            guard let oid = Oid(hex: reports[index].commit), let followers = applied[oid], let first = followers.first else {
                continue
            }
            if let revert = followers.first(where: \.reverts) {
                reports[index].status = .notApplied
                reports[index].note = "reverted by \(revert.follower.short()), which is applied"
            } else {
                reports[index].status = .applied
                reports[index].note = "its fix \(first.follower.short()) is applied and changes the same lines"
                if let named = namedTargets[oid] {
                    for target in Set(named.fixes + named.reverts) {
                        applied[target, default: []].append((oid, named.reverts.contains(target)))
                    }
                }
            }
        }
    }

    /// A fix's verdict with its Fixes: targets taken into account: a fix of code the tree never had is not needed.
    /// Targets are decided the same way, so a fix of a fix the tree does not need is not needed either.
    func decision(_ oid: Oid, depth: Int) throws -> FixReport {
        if let cached = decisions[oid] { return cached }
        let commit = try upstream.commit(oid)
        let (status, evidence) = try verdict(oid)
        namedTargets[oid] = (Trailers.fixesTags(in: commit.message).compactMap { try? upstream.lookupCommit(prefix: $0.hex) },
                             Trailers.revertReferences(in: commit.message).compactMap { try? upstream.lookupCommit(prefix: $0.hex) })
        var report = FixReport(commit: oid.hex, subject: commit.summary, status: status, how: "", evidence: evidence,
                               fixesOfFixes: [], fixes: [], rule: nil, note: nil)
        // An applied fix needs no target. (An applied revert of a commit the tree does not have looks the same as
        // a backported revert of a backport: it stays applied, so that the fix of that revert is not hidden.)
        if status != .applied {
            var targetsShipped: [Bool?] = []
            for tag in Trailers.fixesTags(in: commit.message) {
                guard let target = try? upstream.lookupCommit(prefix: tag.hex) else {
                    report.fixes.append(FixesTarget(commit: tag.hex, subject: tag.quotedSubject ?? "", shipped: nil, how: nil))
                    targetsShipped.append(nil)
                    continue
                }
                let targetStatus = depth < 8 ? try decision(target, depth: depth + 1).status : try verdict(target).0
                // Only a clearly absent bug makes the fix unnecessary; a rewritten one might still be there.
                let shipped: Bool? = [.notApplied, .notNeeded].contains(targetStatus) ? false
                    : (targetStatus == .unknown ? nil : true)
                report.fixes.append(FixesTarget(commit: target.hex, subject: try upstream.commit(target).summary,
                                                shipped: shipped, how: targetStatus.rawValue))
                targetsShipped.append(shipped)
            }
            // A fix of code the tree never had finds neither its old nor its new lines: not needed either.
            if !targetsShipped.isEmpty, targetsShipped.allSatisfy({ $0 == false }) {
                report.status = .notNeeded
                report.note = "the code every Fixes: target adds is not in the tree"
            }
        }
        if report.status == .unknown && report.note == nil {
            report.note = "a file it touches is missing or the code around it was rewritten"
        }
        decisions[oid] = report
        return report
    }

    func verdict(_ oid: Oid) throws -> (FixStatus, [Evidence]) {
        if let cached = verdictCache[oid] { return cached }
        let commit = try upstream.commit(oid)
        var statuses: [FixStatus] = []
        var evidence: [Evidence] = []
        let parentTree = try commit.parentIds.first.map { try upstream.commit($0).treeId }
        var codeStatuses: [FixStatus] = []
        for file in try upstream.filePatches(from: parentTree, to: commit.treeId) {
            let (status, proof) = check(file)
            statuses.append(status)
            if !FileRole.isTestOrDocumentation(file.path) { codeStatuses.append(status) }
            evidence += proof
        }
        var status = Self.combine(statuses)
        // Stable branches often take only the code part of a fix: its tests and documentation do not decide.
        if status == .partial, !codeStatuses.isEmpty, codeStatuses.allSatisfy({ $0 == .applied }) {
            status = .applied
            evidence.append(Evidence(commit: nil, line: "applied without its test or documentation changes"))
        }
        let result = (status, evidence)
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

    /// Tree files as read and keyed once, by path: fixes touch the same files again and again.
    var sources: [String: SourceLines?] = [:]

    func source(_ path: String) -> SourceLines? {
        if let cached = sources[path] { return cached }
        let read = FileManager.default.contents(atPath: options.treePath + "/" + path).map(SourceLines.init)
        sources[path] = read
        return read
    }

    func check(_ file: FilePatch) -> (FixStatus, [Evidence]) {
        let path = file.path
        let source = self.source(path)
        func note(_ status: FixStatus, _ text: String, _ line: Int? = nil) -> (FixStatus, [Evidence]) {
            (status, [Evidence(commit: nil, line: text, file: path, lineNumber: line)])
        }
        if file.isBinary { return note(.unknown, "binary file: cannot compare") }
        switch file.status {
        case .deleted:
            return source == nil ? note(.applied, "file removed, as the fix removes it") : fileCheck(file, source!)
        case .added:
            // The file is there: what it says now may have moved on since (the initial import adds every file).
            return source == nil ? note(.notApplied, "file the fix adds is missing") : note(.applied, "file present")
        default:
            return source == nil ? note(.unknown, "file missing") : fileCheck(file, source!)
        }
    }

    func fileCheck(_ file: FilePatch, _ source: SourceLines) -> (FixStatus, [Evidence]) {
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
final class SourceLines {
    /// Whitespace-free text of every non-blank line, and its 1-based line number.
    let keys: [String]
    let numbers: [Int]
    let original: [Substring]
    /// key → indices into `keys`, built on first use.
    private var index: [String: [Int]]?

    init(_ data: Data) {
        original = String(decoding: data, as: UTF8.self).lines()
        var keys: [String] = [], numbers: [Int] = []
        keys.reserveCapacity(original.count)
        for (offset, text) in original.enumerated() {
            let key = SourceLines.key(text.utf8)
            if !key.isEmpty {
                keys.append(key)
                numbers.append(offset + 1)
            }
        }
        self.keys = keys
        self.numbers = numbers
    }

    var count: Int { keys.count }

    /// The line without ASCII whitespace (git patch-id's notion of whitespace), byte by byte.
    static func key<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes.filter { $0 != 32 && !($0 >= 9 && $0 <= 13) }, as: UTF8.self)
    }

    func occurrences(of key: String) -> [Int] {
        if index == nil {
            var built: [String: [Int]] = [:]
            for (position, key) in keys.enumerated() { built[key, default: []].append(position) }
            index = built
        }
        return index![key] ?? []
    }

    /// Every index where `block` occurs contiguously, within `range` when given.
    func find(_ block: [String], in range: Range<Int>? = nil) -> [Int] {
        guard let first = block.first else { return [] }
        let bounds = range ?? 0..<count
        return occurrences(of: first).filter { start in
            start >= bounds.lowerBound && start + block.count <= bounds.upperBound
                && zip(keys[start..<start + block.count], block).allSatisfy { $0 == $1 }
        }
    }

    /// The occurrence of `block` nearest to 1-based line `expected`.
    func nearest(_ block: [String], to expected: Int, in range: Range<Int>? = nil) -> Int? {
        find(block, in: range).min { abs(numbers[$0] - expected) < abs(numbers[$1] - expected) }
    }

    /// Whether `sequence` appears in order (not necessarily adjacent) within `range`, and where it starts.
    func containsInOrder(_ sequence: [String], in range: Range<Int>) -> (found: Bool, first: Int?) {
        var next = 0
        var first: Int?
        for position in range where next < sequence.count && keys[position] == sequence[next] {
            if first == nil { first = position }
            next += 1
        }
        return (next == sequence.count, first)
    }

    func shown(_ position: Int?) -> String {
        guard let position else { return "" }
        return String(original[numbers[position] - 1].trimmingWhitespace())
    }
}

/// Decides one hunk by finding where it belongs in the tree file — between its leading and its trailing context
/// (the occurrence nearest to where upstream had it; a hunk without trailing context ends at the end of the file),
/// then comparing what lies there with the lines the fix removes and adds.
enum HunkMatcher {
    struct Keyed {
        let kind: DiffLine.Kind
        let key: String
        let text: String
    }

    /// (status, line number in the tree file, the line shown as proof).
    static func check(_ hunk: DiffHunk, in source: SourceLines) -> (FixStatus, Int?, String) {
        guard let firstChange = hunk.lines.firstIndex(where: { $0.kind != .context }),
              let lastChange = hunk.lines.lastIndex(where: { $0.kind != .context }) else {
            return (.applied, nil, "no change")
        }
        func keyed(_ lines: ArraySlice<DiffLine>) -> [Keyed] {
            lines.compactMap { line in
                let key = SourceLines.key(line.content)
                return key.isEmpty ? nil : Keyed(kind: line.kind, key: key, text: line.text)
            }
        }
        let lead = keyed(hunk.lines[..<firstChange]).map(\.key)
        let trail = keyed(hunk.lines[(lastChange + 1)...]).map(\.key)
        let middle = keyed(hunk.lines[firstChange...lastChange])
        let oldMiddle = middle.filter { $0.kind != .added }, newMiddle = middle.filter { $0.kind != .removed }
        // git shows 3 lines of context where the file has them: fewer means the start or the end of the file.
        let atStart = firstChange < 3, atEnd = hunk.lines.count - 1 - lastChange < 3
        let expected = hunk.oldStart + firstChange

        let newKeys = newMiddle.map(\.key), oldKeys = oldMiddle.map(\.key)

        // 1. The whole hunk, old or new, as one block found once (at the very start or end of the file when the
        // hunk is there); a block of generic lines found in several places proves nothing.
        func occurrence(_ block: [String]) -> Int? {
            let found = source.find(block).filter { (!atStart || $0 == 0) && (!atEnd || $0 + block.count == source.count) }
            return found.count == 1 ? found[0] : nil
        }
        func nearest(_ positions: [Int]) -> Int? {
            positions.min { abs(source.numbers[$0] - expected) < abs(source.numbers[$1] - expected) }
        }
        let postAt = occurrence(lead + newKeys + trail), preAt = occurrence(lead + oldKeys + trail)
        switch (postAt, preAt) {
        case let (post?, nil): return judgeExact(middle, newMiddle, post + lead.count, applied: true, source)
        case let (nil, pre?): return judgeExact(middle, oldMiddle, pre + lead.count, applied: false, source)
        case let (post?, pre?):
            // Both, in different places (duplicated code): the one where upstream had it.
            return abs(source.numbers[post] - expected) <= abs(source.numbers[pre] - expected)
                ? judgeExact(middle, newMiddle, post + lead.count, applied: true, source)
                : judgeExact(middle, oldMiddle, pre + lead.count, applied: false, source)
        default: break
        }

        // 2. Between the leading and the trailing context, when the leading context is found only once (generic
        // lines such as `}` and `else` occur everywhere): what lies between decides.
        var start: Int?
        if lead.isEmpty {
            if atStart { start = 0 }
        } else {
            let found = source.find(lead)
            if found.count == 1 { start = found[0] + lead.count }
        }
        if let start {
            var end: Int?
            if !trail.isEmpty {
                let limit = min(source.count, start + oldKeys.count + newKeys.count + 40)
                end = source.find(trail, in: start..<limit).first
            } else if atEnd {
                end = source.count
            }
            if let end {
                return judge(middle, in: start..<end, bounded: true, source)
            }
        }

        // 3. Around a line found once in the file: one the fix adds or removes, else a context line; else the
        // place upstream had it, when the leading or trailing context is found near there.
        let rare = (middle.filter { $0.kind != .context } + (lead + trail).map { Keyed(kind: .context, key: $0, text: "") })
            .lazy.compactMap { line -> Int? in
                let found = source.occurrences(of: line.key)
                return found.count == 1 ? found[0] : nil
            }.first
        let near = rare ?? start ?? nearest(source.find(lead)).map { $0 + lead.count }
            ?? nearest(source.find(trail))
        guard let anchor = near else {
            return (.unknown, nil, "the code around it was rewritten (no context found)")
        }
        let radius = hunk.lines.count + 20
        return judge(middle, in: max(0, anchor - radius)..<min(source.count, anchor + radius), bounded: false, source)
    }

    /// The tree has exactly the new (applied) or the old (not applied) lines at `at`.
    static func judgeExact(_ middle: [Keyed], _ side: [Keyed], _ at: Int, applied: Bool,
                           _ source: SourceLines) -> (FixStatus, Int?, String) {
        let changed = side.firstIndex { $0.kind != .context }
        let position = changed.map { at + $0 } ?? (at < source.count ? at : nil)
        let line = position.map { source.numbers[$0] }
        if applied {
            return (.applied, line, changed == nil ? "removed lines are gone" : source.shown(position))
        }
        if changed == nil {
            let firstAdded = middle.first { $0.kind == .added }?.text.trimmingWhitespace() ?? ""
            return (.notApplied, line, "added lines are absent: \(firstAdded)")
        }
        return (.notApplied, line, "still there: \(source.shown(position))")
    }

    /// Neither side is there exactly: what the fix introduces and what it drops, looked for in `region` (between
    /// the contexts when `bounded`, around the one found otherwise).
    static func judge(_ middle: [Keyed], in region: Range<Int>, bounded: Bool,
                      _ source: SourceLines) -> (FixStatus, Int?, String) {
        let oldKeys = Set(middle.filter { $0.kind != .added }.map(\.key))
        let newKeys = Set(middle.filter { $0.kind != .removed }.map(\.key))
        let introduced = middle.filter { $0.kind == .added && !oldKeys.contains($0.key) }.map(\.key)
        let dropped = middle.filter { $0.kind == .removed && !newKeys.contains($0.key) }.map(\.key)
        let present = Set(source.keys[region])
        let addedInOrder = source.containsInOrder(introduced, in: region)
        let anyAdded = introduced.contains { present.contains($0) }
        // Between the contexts any dropped line counts. In a wider window, next to the added lines when they are
        // there (a generic dropped line elsewhere is other code), else the dropped block as a whole.
        var droppedAt: Int?
        if !dropped.isEmpty {
            if bounded {
                droppedAt = region.first { dropped.contains(source.keys[$0]) }
            } else if addedInOrder.found, let first = addedInOrder.first {
                let last = (first..<region.upperBound).last { source.keys[$0] == introduced.last } ?? first
                let nearby = max(region.lowerBound, first - dropped.count)..<min(region.upperBound, last + dropped.count + 1)
                droppedAt = nearby.first { dropped.contains(source.keys[$0]) && !introduced.contains(source.keys[$0]) }
                // Several removed lines still together nearby are the old code, wherever they are.
                if droppedAt == nil, dropped.count >= 2 { droppedAt = source.find(dropped, in: region).first }
            } else {
                droppedAt = source.find(dropped, in: region).first
            }
        }
        func line(_ position: Int?) -> Int? { position.map { source.numbers[$0] } }
        if introduced.isEmpty && dropped.isEmpty {
            return (.unknown, line(region.first), "the change only reorders lines: cannot tell")
        }
        if (introduced.isEmpty || addedInOrder.found) && droppedAt == nil {
            return (.applied, line(addedInOrder.first ?? region.first),
                    introduced.isEmpty ? "removed lines are gone" : source.shown(addedInOrder.first))
        }
        if !anyAdded && (dropped.isEmpty || droppedAt != nil) {
            if let droppedAt { return (.notApplied, line(droppedAt), "still there: \(source.shown(droppedAt))") }
            let firstAdded = middle.first { $0.kind == .added }?.text.trimmingWhitespace() ?? ""
            return (.notApplied, line(region.first), "added lines are absent: \(firstAdded)")
        }
        if !anyAdded && droppedAt == nil {
            return (.unknown, line(region.first), "neither the old nor the new lines are there: the code was rewritten")
        }
        return (.partial, line(addedInOrder.first ?? droppedAt ?? region.first), "only some of the hunk's lines are there")
    }
}
