import Foundation
import GitKit

public struct HistoryOptions {
    public var vendorPath: String
    public var branch: String
    /// nil: upstream history lives in the vendor repository itself.
    public var upstreamPath: String?
    public var upstreamRef: String?
    public var followUps: Bool
    /// Fixes not to report as missing (`--ignore FILE`); `.kwarden.yaml` at the vendor repository's root adds to it.
    public var ignoreList: IgnoreList
    /// The vendor's `.config`: fixes touching only files it does not build are `not-built`.
    public var kernelConfig: KernelConfig?
    /// Cherry-pick every missing fix onto the branch in memory.
    public var applyCheck: Bool

    public init(vendorPath: String, branch: String = "HEAD", upstreamPath: String? = nil, upstreamRef: String? = nil,
                followUps: Bool = false, ignoreList: IgnoreList = IgnoreList(), kernelConfig: KernelConfig? = nil,
                applyCheck: Bool = true) {
        self.vendorPath = vendorPath
        self.branch = branch
        self.upstreamPath = upstreamPath
        self.upstreamRef = upstreamRef
        self.followUps = followUps
        self.ignoreList = ignoreList
        self.kernelConfig = kernelConfig
        self.applyCheck = applyCheck
    }
}

/// Decides, for each upstream fix, whether the vendor branch has it (and how we know), lost it to a revert,
/// never needed it, or is missing it.
public final class HistoryChecker {
    let options: HistoryOptions
    let vendor: Repository
    let upstream: Repository
    let sharesRepository: Bool
    let tip: Oid
    let upstreamTip: Oid?
    var warnings: [String] = []

    /// A vendor commit as read once from the branch.
    struct VendorCommit {
        let id: Oid
        let subject: String
        let normalizedSubject: String
        let treeId: Oid
        let firstParent: Oid?
        let isMerge: Bool
        let backportLines: [(upstream: Oid, line: String)]
    }

    var commits: [VendorCommit] = []
    var indexById: [Oid: Int] = [:]
    /// Upstream commits in the vendor branch's history where the scan stopped (separate repositories only).
    var boundary: [Oid] = []
    var trailerIndex: [Oid: [(commit: Int, line: String)]] = [:]
    var revertIndex: [Oid: [(commit: Int, line: String)]] = [:]
    var subjectIndex: [String: [Int]] = [:]
    var pathIndex: [String: [Int]]?
    var touchedPaths: [Int: Set<String>] = [:]
    /// Each file a vendor commit touches with its blobs and modes before and after, in path order.
    var touchedBlobs: [Int: [Repository.ChangedFile]] = [:]
    /// Per-file stable patch-ids of vendor commits, with 3 lines of context and with none, read file by file as
    /// fixes ask for them.
    var vendorFileIDs: [Int: FileIDs] = [:]
    var vendorLooseFileIDs: [Int: FileIDs] = [:]
    var inversePatchIDs: [Oid: Oid?] = [:]
    var blobSizes: [Oid: Int] = [:]
    var vendorSizeChanges: [Int: [Int]] = [:]
    var reachable: Set<Oid>?
    var upstreamInfo: [Oid: UpstreamCommit] = [:]
    var prefixCache: [String: Oid?] = [:]

    struct UpstreamCommit {
        let id: Oid
        let subject: String
        let normalizedSubject: String
        let fixesTags: [Trailers.Reference]
        let paths: [String]
        /// The files it changes against its first parent, with their blobs.
        let changes: [Repository.ChangedFile]
        let isMerge: Bool
        let time: Int64
    }
    var upstreamFileIDs: [Oid: FileIDs] = [:]
    var upstreamLooseFileIDs: [Oid: FileIDs] = [:]
    var cherrypicker: InMemoryCherrypicker?
    var kbuild: KbuildModel?
    var verdicts: [Oid: Verdict] = [:]

    public init(options: HistoryOptions) throws {
        self.options = options
        try? Libgit2Tuning.forBulkReading()
        vendor = try RepositoryOpening.open(options.vendorPath, role: "vendor repository", allowBare: false)
        if let upstreamPath = options.upstreamPath {
            upstream = try RepositoryOpening.open(upstreamPath, role: "upstream repository", allowBare: true)
            sharesRepository = false
        } else {
            upstream = vendor
            sharesRepository = true
        }
        do {
            tip = try vendor.resolveCommit(options.branch)
        } catch let error as GitError {
            throw BackportError(error.message)
        }
        if let ref = options.upstreamRef ?? (sharesRepository ? nil : "HEAD") {
            do {
                upstreamTip = try upstream.resolveCommit(ref)
            } catch let error as GitError {
                throw BackportError("unknown upstream revision: \(error.message)")
            }
        } else {
            upstreamTip = nil
        }
    }

    // MARK: - Running

    public func run(_ source: FixSource) throws -> BackportReport {
        let start = Date()
        let requests = try resolveRequests(source)
        if case .range(let spec) = source, requests.isEmpty {
            warnings.append("no commit in \(spec) carries a Fixes: tag: nothing to check")
        }
        phase("resolve \(requests.count) fixes")
        try scanVendor()
        phase("read \(commits.count) vendor commits")
        var requested: [Oid] = []
        for case let (_, oid?) in requests { requested.append(oid) }
        let followers = try followerIndex(requested: requested)
        phase("index Fixes: tags")

        var reports: [FixReport] = []
        var seen = Set<Oid>()
        for (request, oid) in requests {
            if let oid {
                guard seen.insert(oid).inserted else { continue }
                do {
                    reports.append(try decide(oid, request: request, followers: followers))
                } catch {
                    // One unreadable commit never costs the rest of the report.
                    let reason = Self.reason(error)
                    warnings.append("\(oid.short()): could not be checked: \(reason)")
                    reports.append(FixReport(
                        commit: oid.hex, subject: (try? upstream.commit(oid).summary) ?? request.subject ?? "",
                        status: .unknown, how: "", evidence: [], fixesOfFixes: [], fixes: [], rule: request.rule,
                        note: "could not be checked: \(reason)"))
                }
            } else {
                reports.append(FixReport(
                    commit: request.id, subject: request.subject ?? "", status: .unknown, how: "", evidence: [],
                    fixesOfFixes: [], fixes: [], rule: request.rule,
                    note: "commit \(request.id) is not in the upstream repository \(upstreamLabel)"))
            }
        }
        phase("decide")
        try applyIgnoreList(to: &reports)
        if let config = options.kernelConfig {
            let model = kbuild ?? KbuildModel(config: config, readFile: { [vendor, tip] path in
                try vendor.fileContent(atPath: path, inTree: try vendor.commit(tip).treeId)
                    .map { String(decoding: $0, as: UTF8.self) }
            }, listDirectory: { [vendor, tip] path in
                try vendor.directoryEntries(atPath: path, inTree: try vendor.commit(tip).treeId)
            })
            kbuild = model
            for index in reports.indices {
                do {
                    try model.judge(&reports[index], paths: try pathsOfReport(reports[index]))
                } catch {
                    warnings.append("\(reports[index].commit.prefix(12)): configuration check failed: \(error)")
                }
            }
            phase("config")
        }
        if options.applyCheck {
            for index in reports.indices where reports[index].status == .missing {
                checkApply(&reports[index])
            }
            phase("apply check")
        }
        return BackportReport(mode: .history, target: targetLabel, upstream: upstreamLabel, fixes: reports,
                              warnings: warnings, seconds: Date().timeIntervalSince(start))
    }

    static func reason(_ error: Error) -> String {
        (error as? GitError)?.message ?? (error as? BackportError)?.message ?? "\(error)"
    }

    /// With KWARDEN_BACKPORTS_TIMING set, prints how long each phase took to stderr (for bench/backports).
    private var lastPhase = Date()
    private let timing = ProcessInfo.processInfo.environment["KWARDEN_BACKPORTS_TIMING"] != nil
    func phase(_ name: String) {
        guard timing else { return }
        let now = Date()
        let line = "  " + name.padding(toLength: 40, withPad: " ", startingAt: 0)
            + String(format: "%7.2f s\n", now.timeIntervalSince(lastPhase))
        FileHandle.standardError.write(Data(line.utf8))
        lastPhase = now
    }

    var targetLabel: String { "\(options.vendorPath) \(options.branch) (\(tip.short()))" }
    var upstreamLabel: String {
        let path = options.upstreamPath ?? options.vendorPath
        if let tip = upstreamTip { return "\(path) \(options.upstreamRef ?? "HEAD") (\(tip.short()))" }
        return path
    }

    func resolveRequests(_ source: FixSource) throws -> [(FixRequest, Oid?)] {
        try FixResolution.resolve(source, in: upstream, label: upstreamLabel)
    }

    // MARK: - Reading the vendor branch once

    /// Reads every vendor commit since upstream once: messages (trailers, reverts, subjects) now, touched
    /// files later and only if some fix needs patch-ids or subjects.
    func scanVendor() throws {
        var ids: [Oid] = []
        if let upstreamTip, vendor.contains(upstreamTip) {
            // Vendor-only commits: those `git log upstream..branch` lists.
            let walk = try Revwalk(vendor, order: .topological)
            try walk.push(tip)
            try walk.hide(upstreamTip)
            ids = Array(walk)
            if let error = walk.error { throw BackportError(error.message) }
        } else if !sharesRepository {
            // Separate repositories: walk back until history upstream also has, then order the commits found
            // newest first (a commit after all its children), as a topological revision walk would.
            var queue = [tip], visited: Set<Oid> = [tip], head = 0
            var parents: [Oid: [Oid]] = [:]
            var pendingChildren: [Oid: Int] = [:]
            while head < queue.count {
                let oid = queue[head]; head += 1
                if upstream.contains(oid) { boundary.append(oid); continue }
                let parentIds = try vendor.commit(oid).parentIds
                parents[oid] = parentIds
                for parent in parentIds {
                    pendingChildren[parent, default: 0] += 1
                    if visited.insert(parent).inserted { queue.append(parent) }
                }
            }
            var ready = [tip]
            while let oid = ready.popLast() {
                guard let parentIds = parents[oid] else { continue }
                ids.append(oid)
                for parent in parentIds.reversed() {
                    pendingChildren[parent]! -= 1
                    if pendingChildren[parent] == 0 { ready.append(parent) }
                }
            }
            // Upstream-repository commits the vendor merged that are not on the upstream branch (a stable
            // release merged into the vendor tree): they are backports too, with their own trailers. Read them
            // after the vendor's own commits, as the oldest.
            if let upstreamTip, !boundary.isEmpty {
                let walk = try Revwalk(upstream, order: .topological)
                for oid in boundary { try walk.push(oid) }
                try walk.hide(upstreamTip)
                ids += Array(walk)
                if let error = walk.error { throw BackportError(error.message) }
            }
        } else {
            let walk = try Revwalk(vendor, order: .topological)
            try walk.push(tip)
            ids = Array(walk)
            if let error = walk.error { throw BackportError(error.message) }
            warnings.append("no --upstream-ref: all \(ids.count) commits of \(options.branch) were read as possible "
                + "backports; name the upstream branch with --upstream-ref to read only the vendor's own commits")
        }

        commits.reserveCapacity(ids.count)
        for oid in ids {
            let commit: Commit
            do {
                commit = try vendor.commit(oid)
            } catch {
                warnings.append("vendor commit \(oid.short()) could not be read (\(Self.reason(error))); it is left out")
                continue
            }
            let message = commit.message
            let subject = commit.summary
            let index = commits.count
            let reverts = Trailers.revertReferences(in: message)
            var backports: [(Oid, String)] = []
            for reference in Trailers.backportReferences(in: message) {
                if let target = resolveUpstreamPrefix(reference.hex, context: "\(oid.short()): \(reference.line)") {
                    backports.append((target, reference.line))
                }
            }
            for reference in reverts {
                // The branch's own commit, or (a stable revert often names it) the upstream one.
                if let reverted = resolveVendorPrefix(reference.hex)
                    ?? resolveUpstreamPrefix(reference.hex, context: "\(oid.short()): \(reference.line)") {
                    revertIndex[reverted, default: []].append((index, reference.line))
                }
            }
            let entry = VendorCommit(
                id: oid, subject: subject, normalizedSubject: Trailers.normalizedSubject(subject),
                treeId: commit.treeId, firstParent: commit.parentIds.first, isMerge: commit.parentCount > 1,
                backportLines: backports)
            indexById[oid] = index
            commits.append(entry)
            // A revert is a change like any other (stable trees backport upstream reverts): what it carries is
            // indexed here, what it reverts in revertIndex.
            for (target, line) in backports { trailerIndex[target, default: []].append((index, line)) }
            subjectIndex[entry.normalizedSubject, default: []].append(index)
        }
    }

    /// The upstream commit an id names, full or abbreviated; nil when upstream does not have it. A full id is
    /// looked up too: `Fixes:` tags cite commits of other trees (linux-next, net-next, a vendor tree).
    func resolveUpstreamPrefix(_ hex: String, context: String) -> Oid? {
        if let cached = prefixCache[hex] { return cached }
        if let full = Oid(hex: hex) {
            // Existence alone: cheaper than reading the object, and what matters here.
            let resolved = upstream.contains(full) ? full : nil
            prefixCache[hex] = resolved
            return resolved
        }
        var resolved: Oid?
        do {
            resolved = try upstream.lookupCommit(prefix: hex)
        } catch let error as GitError where error.kind == .ambiguous {
            warnings.append("\(context): abbreviated id \(hex) is ambiguous upstream; ignored")
        } catch {
            resolved = nil
        }
        prefixCache[hex] = resolved
        return resolved
    }

    func resolveVendorPrefix(_ hex: String) -> Oid? {
        try? vendor.lookupCommit(prefix: hex)
    }

    /// path → vendor commits touching it, built on first use (one tree diff per vendor commit, no content).
    func pathsIndex() throws -> [String: [Int]] {
        if let pathIndex { return pathIndex }
        var index: [String: [Int]] = [:]
        for (position, commit) in commits.enumerated() where !commit.isMerge {
            let changes: [Repository.ChangedFile]
            do {
                changes = try vendor.changedBlobs(from: try parentTree(of: commit), to: commit.treeId)
            } catch {
                // One unreadable commit (a missing tree in a damaged or partial clone) only costs its own matches.
                warnings.append("vendor commit \(commit.id.short()): its files could not be read (\(Self.reason(error))); "
                    + "it is left out of patch-id and subject matching")
                touchedPaths[position] = []
                continue
            }
            touchedPaths[position] = Set(changes.map(\.path))
            touchedBlobs[position] = changes
            for change in changes { index[change.path, default: []].append(position) }
        }
        pathIndex = index
        phase("index files of \(commits.count) vendor commits")
        return index
    }

    func parentTree(of commit: VendorCommit) throws -> Oid? {
        guard let parent = commit.firstParent else { return nil }
        if let position = indexById[parent] { return commits[position].treeId }
        return try vendor.commit(parent).treeId
    }

    /// The patch-ids read so far of one commit's files, and which files were read (a file may have none).
    struct FileIDs {
        var ids: [String: Oid] = [:]
        var read: Set<String> = []
        /// Lines added and removed per file: the same with any amount of context, so two patches whose counts
        /// differ cannot have the same patch-id without context either.
        var shapes: [String: LineCounts] = [:]
    }

    struct LineCounts: Equatable {
        var added = 0, removed = 0

        static func of(_ patches: [FilePatch]) -> [String: LineCounts] {
            var shapes: [String: LineCounts] = [:]
            for patch in patches {
                var counts = LineCounts()
                for line in patch.hunks.lazy.flatMap(\.lines) {
                    if line.kind == .added { counts.added += 1 } else if line.kind == .removed { counts.removed += 1 }
                }
                shapes[patch.path] = counts
            }
            return shapes
        }
    }

    /// Per-file patch-ids of a vendor commit for `paths` (with zero lines of context when `loose`), reading only
    /// the files not read before.
    func fileIDs(ofVendor position: Int, paths: Set<String>, loose: Bool = false) throws -> [String: Oid] {
        var cached = (loose ? vendorLooseFileIDs[position] : vendorFileIDs[position]) ?? FileIDs()
        let unread = paths.subtracting(cached.read)
        if !unread.isEmpty {
            let patches: [FilePatch]
            if let changes = touchedBlobs[position] {
                patches = try vendor.filePatches(of: changes.filter { unread.contains($0.path) }, contextLines: loose ? 0 : 3)
            } else {
                let commit = commits[position]
                patches = try vendor.filePatches(from: try parentTree(of: commit), to: commit.treeId,
                                                 contextLines: loose ? 0 : 3, only: unread)
            }
            cached.ids.merge(filePatchIDs(patches, withHeadings: loose)) { $1 }
            cached.shapes.merge(LineCounts.of(patches)) { $1 }
            cached.read.formUnion(unread)
            if loose { vendorLooseFileIDs[position] = cached } else { vendorFileIDs[position] = cached }
        }
        return cached.ids
    }

    /// The patch-id of a vendor commit over `paths` only (all its files: the patch-id of the commit).
    func patchID(ofVendor position: Int, over paths: Set<String>, loose: Bool = false) throws -> Oid? {
        let ids = try fileIDs(ofVendor: position, paths: paths, loose: loose)
        return sumOfPatchIDs(paths.compactMap { ids[$0] })
    }

    /// Whole-commit patch-id of a vendor commit (the sum of its files').
    func patchID(ofVendor position: Int) throws -> Oid? {
        _ = try pathsIndex()
        return try patchID(ofVendor: position, over: touchedPaths[position] ?? [])
    }

    /// Per-file patch-ids of an upstream commit (nothing for a merge).
    func fileIDs(ofUpstream oid: Oid, loose: Bool = false) throws -> FileIDs {
        if let cached = loose ? upstreamLooseFileIDs[oid] : upstreamFileIDs[oid] { return cached }
        let commit = try info(oid)
        let patches = commit.isMerge ? [] : try upstream.filePatches(of: commit.changes, contextLines: loose ? 0 : 3)
        let ids = FileIDs(ids: filePatchIDs(patches, withHeadings: loose), read: [], shapes: LineCounts.of(patches))
        if loose { upstreamLooseFileIDs[oid] = ids } else { upstreamFileIDs[oid] = ids }
        return ids
    }

    /// False only when the vendor commit's files in `paths` are known to add or remove other numbers of lines than
    /// `shapes` says: a patch that cannot match, not worth reading again without context.
    func mayMatch(_ position: Int, over paths: Set<String>, shapes: [String: LineCounts]) -> Bool {
        guard let known = vendorFileIDs[position]?.shapes else { return true }
        return paths.allSatisfy { path in known[path].map { $0 == shapes[path] } ?? true }
    }

    func info(_ oid: Oid) throws -> UpstreamCommit {
        if let cached = upstreamInfo[oid] { return cached }
        let commit = try upstream.commit(oid)
        let parentTree = try commit.parentIds.first.map { try upstream.commit($0).treeId }
        let changes = try upstream.changedBlobs(from: parentTree, to: commit.treeId)
        let info = UpstreamCommit(
            id: oid, subject: commit.summary, normalizedSubject: Trailers.normalizedSubject(commit.summary),
            fixesTags: Trailers.fixesTags(in: commit.message), paths: changes.map(\.path), changes: changes,
            isMerge: commit.parentCount > 1, time: commit.time)
        upstreamInfo[oid] = info
        return info
    }

    // MARK: - Presence

    /// Is `oid` in the branch's history? Answered from one walk over the whole branch, made on the first
    /// question about a commit the vendor repository holds: without a commit-graph, libgit2 answers a single
    /// "descendant of" question by walking most of that history anyway.
    func isReachable(_ oid: Oid) throws -> Bool {
        if oid == tip { return true }
        guard vendor.contains(oid) else { return false }
        if let reachable { return reachable.contains(oid) }
        let walk = try Revwalk(vendor, order: .none)
        try walk.push(tip)
        var all = Set<Oid>()
        for commit in walk { all.insert(commit) }
        if let error = walk.error { throw BackportError(error.message) }
        reachable = all
        phase("walk \(all.count) commits of the branch")
        return all.contains(oid)
    }

    struct Presence {
        let how: Detection
        let evidence: [Evidence]
        /// The commits in the vendor branch that carry the change: the fix itself, or its backports.
        let carriers: [Oid]
        /// Set when the carriers' files differ from the fix's: the trailer is not blindly trusted.
        var warning: String? = nil
        /// Files of the fix that none of several citing vendor commits touches (a split backport left unfinished).
        var uncovered: [String] = []
    }

    enum Verdict {
        case present(Presence)
        case partial(Presence)
        case reverted(Presence, [Evidence])
        case absent
    }

    /// Is the change of upstream commit `oid` in the branch, by the four means in order of strength?
    func presence(of oid: Oid) throws -> Presence? {
        if try isReachable(oid) {
            return Presence(how: .ancestor,
                            evidence: [Evidence(commit: oid.hex, line: "reachable from \(options.branch)")],
                            carriers: [oid])
        }
        if let cited = trailerIndex[oid], !cited.isEmpty {
            var found = Presence(how: .trailer,
                                 evidence: cited.map { Evidence(commit: commits[$0.commit].id.hex, line: $0.line) },
                                 carriers: cited.map { commits[$0.commit].id })
            try compareFiles(of: oid, withCarriersOf: &found)
            return found
        }
        let fix = try info(oid)
        guard !fix.paths.isEmpty else { return nil }
        let candidates = try candidatePositions(touching: fix.paths)
        guard !candidates.isEmpty else { return nil }
        let fixPaths = Set(fix.paths)
        if !fix.isMerge, let found = try patchIDMatch(fix, fixPaths: fixPaths, candidates: candidates) { return found }
        // Same subject: the backport may have left files out (stable trees often take only the code part), or
        // touch others; a weaker match either way.
        let sameSubject = (subjectIndex[fix.normalizedSubject] ?? []).filter { position in
            !(touchedPaths[position] ?? []).isDisjoint(with: fixPaths)
        }
        if !sameSubject.isEmpty {
            var found = Presence(how: .subject,
                                 evidence: sameSubject.map { Evidence(commit: commits[$0].id.hex,
                                                                      line: "same subject: \(commits[$0].subject)") },
                                 carriers: sameSubject.map { commits[$0].id })
            var covered = Set<String>()
            for position in sameSubject { covered.formUnion(touchedPaths[position] ?? []) }
            let leftOut = fixPaths.subtracting(covered).sorted()
            if !leftOut.isEmpty {
                found.warning = "weaker match (same subject, different patch): the backport of \(oid.short()) leaves out "
                    + leftOut.joined(separator: ", ")
            }
            return found
        }
        return nil
    }

    /// The patch-id means: a vendor commit touching exactly the fix's files with the same patch-id (with context,
    /// then without), else one whose patch over the files both touch is the fix's, provided the files it leaves out
    /// are tests or documentation (a backport of the code part only; the test may also have moved).
    func patchIDMatch(_ fix: UpstreamCommit, fixPaths: Set<String>, candidates: [Int]) throws -> Presence? {
        let sameFiles = candidates.filter { touchedPaths[$0] == fixPaths }
        let codePaths = fixPaths.filter { !FileRole.isTestOrDocumentation($0) }
        // Other candidates worth a look: they touch all the fix's code (or, for a fix of tests only, some of it).
        let overlapping = candidates.filter { position in
            let touched = touchedPaths[position] ?? []
            return touched != fixPaths && (codePaths.isEmpty ? !touched.isDisjoint(with: fixPaths) : touched.isSuperset(of: codePaths))
        }
        guard !sameFiles.isEmpty || !overlapping.isEmpty else { return nil }
        let shapes = try fileIDs(ofUpstream: fix.id).shapes
        for loose in [false, true] {
            let fixIDs = try fileIDs(ofUpstream: fix.id, loose: loose).ids
            guard let whole = sumOfPatchIDs(fixIDs.values) else { return nil }
            let how: Detection = loose ? .patchIDNoContext : .patchID
            let label = loose ? "patch-id without context" : "stable patch-id"
            var matches: [Int] = []
            for position in sameFiles where !loose || mayMatch(position, over: fixPaths, shapes: shapes) {
                guard try patchID(ofVendor: position, over: fixPaths, loose: loose) == whole else { continue }
                matches.append(position)
            }
            if !matches.isEmpty {
                return Presence(how: how, evidence: matches.map { Evidence(commit: commits[$0].id.hex, line: "\(label) \(whole.hex)") },
                                carriers: matches.map { commits[$0].id })
            }
            for position in overlapping {
                let common = fixPaths.intersection(touchedPaths[position] ?? [])
                guard !loose || mayMatch(position, over: common, shapes: shapes), let part = sumOfPatchIDs(common.compactMap { fixIDs[$0] }),
                      try patchID(ofVendor: position, over: common, loose: loose) == part else { continue }
                var found = Presence(how: how, evidence: [Evidence(commit: commits[position].id.hex,
                                                                   line: "\(label) \(part.hex) over \(common.sorted().joined(separator: ", "))")],
                                     carriers: [commits[position].id])
                let leftOut = fixPaths.subtracting(common).sorted()
                if !leftOut.isEmpty {
                    found.warning = "the backport of \(fix.id.short()) leaves out \(leftOut.joined(separator: ", "))"
                }
                return found
            }
        }
        return nil
    }

    /// Vendor commits (not merges; reverts included) touching any of `paths`.
    func candidatePositions(touching paths: [String]) throws -> [Int] {
        let index = try pathsIndex()
        var positions = Set<Int>()
        for path in paths { positions.formUnion(index[path] ?? []) }
        return positions.sorted()
    }

    /// Presence, then whether every carrier was reverted by a revert that itself still stands. Cached: many
    /// fixes name the same bug-introducing commit (thousands of kernel fixes name 1da177e4c3f4).
    func verdict(for oid: Oid) throws -> Verdict {
        if let cached = verdicts[oid] { return cached }
        let result = try computeVerdict(for: oid)
        verdicts[oid] = result
        return result
    }

    /// Trailers name the fix, but the vendor commits carrying them may touch other files: with one carrier that
    /// is a warning (files may have moved in the vendor tree); several carriers citing the same fix are a split
    /// backport, complete only when together they touch every file of the fix.
    func compareFiles(of oid: Oid, withCarriersOf found: inout Presence) throws {
        let fix = try info(oid)
        guard !fix.isMerge, !fix.paths.isEmpty else { return }
        var carried = Set<String>()
        let carriers = Array(Set(found.carriers))
        for carrier in carriers { carried.formUnion(try touchedPaths(ofCarrier: carrier)) }
        let fixPaths = Set(fix.paths)
        let uncovered = fixPaths.subtracting(carried).sorted(), extra = carried.subtracting(fixPaths).sorted()
        if carriers.count > 1 && !uncovered.isEmpty {
            found.uncovered = uncovered
            return
        }
        var differences: [String] = []
        if !uncovered.isEmpty { differences.append("does not touch \(uncovered.joined(separator: ", "))") }
        if !extra.isEmpty { differences.append("also touches \(extra.joined(separator: ", "))") }
        if !differences.isEmpty {
            found.warning = "the backport citing \(oid.short()) " + differences.joined(separator: " and ")
                + " (upstream touches \(fix.paths.joined(separator: ", ")))"
        }
    }

    private func computeVerdict(for oid: Oid) throws -> Verdict {
        guard let found = try presence(of: oid) else { return .absent }
        if !found.uncovered.isEmpty { return .partial(found) }
        var revertEvidence: [Evidence] = []
        for carrier in found.carriers {
            var reverts = try standingReverts(of: carrier, depth: 0)
            // A stable revert often names the upstream commit rather than the branch's pick of it.
            if carrier != oid {
                for (position, line) in revertIndex[oid] ?? [] where !reverts.contains(where: { $0.commit == commits[position].id.hex }) {
                    if try standingReverts(of: commits[position].id, depth: 1).isEmpty {
                        reverts.append(Evidence(commit: commits[position].id.hex, line: line))
                    }
                }
            }
            if reverts.isEmpty { return .present(found) }
            revertEvidence += reverts
        }
        return .reverted(found, revertEvidence)
    }

    /// Vendor commits that revert `carrier` (by "This reverts commit" or by carrying its inverse patch) and are
    /// not themselves reverted.
    func standingReverts(of carrier: Oid, depth: Int) throws -> [Evidence] {
        guard depth < 8 else { return [] }
        var reverting: [(Int, String)] = (revertIndex[carrier] ?? []).map { ($0.commit, $0.line) }
        let index = try pathsIndex()
        var positions = Set<Int>()
        let carrierPaths = Set(try touchedPaths(ofCarrier: carrier))
        for path in carrierPaths { positions.formUnion(index[path] ?? []) }
        // Only later commits can revert it (positions count from the tip, newest first), and an inverse patch
        // touches exactly the same files.
        let carrierPosition = indexById[carrier] ?? commits.count
        var later = positions.filter {
            $0 < carrierPosition && touchedPaths[$0] == carrierPaths && !reverting.map(\.0).contains($0)
        }.sorted()
        // An exact undo changes each file's size by the opposite amount: a check on object headers that spares
        // reading the patches of the commits that merely touch the same files.
        if !later.isEmpty {
            let undo = try sizeChanges(ofCarrier: carrier).map { -$0 }
            later = try later.filter { try sizeChanges(ofVendor: $0) == undo }
        }
        if !later.isEmpty, let inverse = try inversePatchID(of: carrier) {
            for position in later {
                if try patchID(ofVendor: position) == inverse {
                    reverting.append((position, "inverse patch of \(carrier.short()) (stable patch-id \(inverse.hex))"))
                }
            }
        }
        var standing: [Evidence] = []
        for (position, line) in reverting {
            let revert = commits[position].id
            if try standingReverts(of: revert, depth: depth + 1).isEmpty {
                standing.append(Evidence(commit: revert.hex, line: line))
            }
        }
        return standing
    }

    func inversePatchID(of carrier: Oid) throws -> Oid? {
        if let cached = inversePatchIDs[carrier] { return cached }
        let commit = try vendor.commit(carrier)
        let parentTree = try commit.parentIds.first.map { try vendor.commit($0).treeId }
        // What a clean revert would introduce: the diff from the commit back to its parent.
        let id = commit.parentCount > 1 ? nil
            : sumOfPatchIDs(filePatchIDs(try vendor.filePatches(from: commit.treeId, to: parentTree)).values)
        inversePatchIDs[carrier] = id
        return id
    }

    /// Bytes each file grows by in a commit, in path order.
    func sizeChanges(of files: [Repository.ChangedFile]) throws -> [Int] {
        func size(_ blob: Oid?) throws -> Int {
            guard let blob else { return 0 }
            if let known = blobSizes[blob] { return known }
            let read = try vendor.objectSize(blob)
            blobSizes[blob] = read
            return read
        }
        return try files.map { try size($0.newBlob) - size($0.oldBlob) }
    }

    func sizeChanges(ofVendor position: Int) throws -> [Int] {
        if let known = vendorSizeChanges[position] { return known }
        let changes = try sizeChanges(of: touchedBlobs[position] ?? [])
        vendorSizeChanges[position] = changes
        return changes
    }

    func sizeChanges(ofCarrier carrier: Oid) throws -> [Int] {
        if let position = indexById[carrier], touchedBlobs[position] != nil { return try sizeChanges(ofVendor: position) }
        let commit = try vendor.commit(carrier)
        let changes = try vendor.changedBlobs(from: try commit.parentIds.first.map { try vendor.commit($0).treeId },
                                              to: commit.treeId)
        return try sizeChanges(of: changes)
    }

    func touchedPaths(ofCarrier carrier: Oid) throws -> [String] {
        if let position = indexById[carrier], let paths = touchedPaths[position] { return Array(paths) }
        let commit = try vendor.commit(carrier)
        return try vendor.changedPaths(from: try commit.parentIds.first.map { try vendor.commit($0).treeId },
                                       to: commit.treeId)
    }

    // MARK: - Deciding

    /// Upstream commit → commits whose `Fixes:` names it, from the requested fixes and, with --follow-ups,
    /// from upstream history since the vendor branch forked.
    func followerIndex(requested: [Oid]) throws -> [Oid: [Oid]] {
        var candidates = requested
        if options.followUps {
            let walk = try Revwalk(upstream, order: .topological)
            try walk.push(upstreamTip ?? upstream.resolveCommit("HEAD"))
            if upstream.contains(tip) {
                try walk.hide(tip)
            } else {
                for oid in boundary { try walk.hide(oid) }
            }
            candidates += Array(walk)
            if let error = walk.error { throw BackportError(error.message) }
        }
        var followers: [Oid: [Oid]] = [:]
        var seen = Set<Oid>()
        for candidate in candidates where seen.insert(candidate).inserted {
            guard let message = try? upstream.commit(candidate).message else {
                warnings.append("upstream commit \(candidate.short()) could not be read; its Fixes: tags are left out")
                continue
            }
            for tag in Trailers.fixesTags(in: message) {
                if let target = resolveUpstreamPrefix(tag.hex, context: "\(candidate.short()): \(tag.line)") {
                    followers[target, default: []].append(candidate)
                }
            }
        }
        return followers
    }

    func decide(_ oid: Oid, request: FixRequest, followers: [Oid: [Oid]]) throws -> FixReport {
        let fix = try info(oid)
        var report = FixReport(commit: oid.hex, subject: fix.subject, status: .missing, how: "", evidence: [],
                               fixesOfFixes: [], fixes: [], rule: request.rule, note: nil)
        var targetsShipped: [Bool?] = []
        // Why a target that is not shipped is not: never there, or reverted (by which commit).
        var absence: [String: String] = [:]
        for tag in fix.fixesTags {
            guard let target = resolveUpstreamPrefix(tag.hex, context: "\(oid.short()): \(tag.line)") else {
                report.fixes.append(FixesTarget(commit: tag.hex, subject: tag.quotedSubject ?? "", shipped: nil, how: nil))
                targetsShipped.append(nil)
                continue
            }
            let targetInfo = try info(target)
            var entry = FixesTarget(commit: target.hex, subject: targetInfo.subject, shipped: false, how: nil)
            switch try verdict(for: target) {
            case .present(let shipped), .partial(let shipped):
                entry.shipped = true
                entry.how = shipped.how.rawValue
            case .reverted(_, let reverts):
                absence[target.hex] = "was reverted in \(options.branch) by "
                    + reverts.compactMap { $0.commit.map { String($0.prefix(12)) } }.joined(separator: ", ")
            case .absent:
                absence[target.hex] = "is not in \(options.branch)"
            }
            report.fixes.append(entry)
            targetsShipped.append(entry.shipped)
        }

        switch try verdict(for: oid) {
        case .present(let found):
            report.status = .present
            report.how = found.how.rawValue
            report.evidence = found.evidence
            if found.how == .subject {
                report.note = "weaker match: same subject, different patch"
            }
            if let warning = found.warning {
                report.note = "warning: " + warning
                warnings.append(warning)
            }
            for follower in followers[oid] ?? [] where follower != oid {
                switch try verdict(for: follower) {
                case .present: continue
                case .partial:
                    report.fixesOfFixes.append(FollowUp(commit: follower.hex, subject: try info(follower).subject,
                                                        status: .partial))
                case .reverted:
                    report.fixesOfFixes.append(FollowUp(commit: follower.hex, subject: try info(follower).subject,
                                                        status: .reverted))
                case .absent:
                    report.fixesOfFixes.append(FollowUp(commit: follower.hex, subject: try info(follower).subject,
                                                        status: .missing))
                }
            }
        case .partial(let found):
            report.status = .partial
            report.how = found.how.rawValue
            report.uncoveredFiles = found.uncovered
            report.evidence = found.evidence
                + [Evidence(commit: nil, line: "no commit citing it touches \(found.uncovered.joined(separator: ", "))")]
            report.fixesOfFixes = try missingFollowUps(of: oid, followers: followers)
        case .reverted(let found, let reverts):
            report.status = .reverted
            report.evidence = found.evidence + reverts
        case .absent:
            if !targetsShipped.isEmpty && targetsShipped.allSatisfy({ $0 == false }) {
                report.status = .notNeeded
                report.evidence = report.fixes.map {
                    Evidence(commit: $0.commit, line: "Fixes: \($0.commit.prefix(12)) (\"\($0.subject)\") "
                        + (absence[$0.commit] ?? "is not in \(options.branch)"))
                }
            } else {
                report.status = .missing
                // Proof that it is needed: where the bug it fixes entered the branch.
                for (target, shipped) in zip(report.fixes, targetsShipped) where shipped == true {
                    if let oid = Oid(hex: target.commit), let found = try presence(of: oid) {
                        report.evidence += found.evidence.map {
                            Evidence(commit: $0.commit, line: "bug shipped by \(oid.short()) (\(found.how.rawValue)): \($0.line)")
                        }
                    }
                }
                let foreign = report.fixes.filter { $0.shipped == nil }.map { String($0.commit.prefix(12)) }
                if !foreign.isEmpty {
                    report.note = "Fixes: \(foreign.joined(separator: ", ")) is not in the upstream repository "
                        + "(a commit of another tree?); treated as shipped"
                }
                report.fixesOfFixes = try missingFollowUps(of: oid, followers: followers)
            }
        }
        return report
    }

    /// Upstream fixes of a fix the branch lacks, and their fixes in turn, that the branch lacks too: the work a
    /// backport of the fix brings along, in the order to apply them (upstream commit order, by commit time).
    func missingFollowUps(of oid: Oid, followers: [Oid: [Oid]]) throws -> [FollowUp] {
        var found: [(Oid, FixStatus)] = []
        var queue = [oid], seen: Set<Oid> = [oid]
        while let current = queue.popLast() {
            for follower in followers[current] ?? [] where seen.insert(follower).inserted {
                let status: FixStatus
                switch try verdict(for: follower) {
                case .present: continue
                case .partial: status = .partial
                case .reverted: status = .reverted
                case .absent: status = .missing
                }
                found.append((follower, status))
                queue.append(follower)
            }
        }
        return try found
            .map { (try info($0.0), $0.1) }
            .sorted { ($0.0.time, $0.0.id.hex) < ($1.0.time, $1.0.id.hex) }
            .map { FollowUp(commit: $0.0.id.hex, subject: $0.0.subject, status: $0.1) }
    }

    // MARK: - After the verdicts: ignore list, configuration, apply check

    /// Entries of the ignore list (and of `.kwarden.yaml` at the vendor repository's root) turn missing, partial
    /// and reverted fixes into `ignored`; a present or not-needed fix keeps its verdict, with a note.
    func applyIgnoreList(to reports: inout [FixReport]) throws {
        var list = options.ignoreList
        if let root = vendor.workdir {
            list.entries += try IgnoreList.fromKwardenYAML(atRepositoryRoot: root).entries
        }
        guard !list.entries.isEmpty else { return }
        var reasons: [Oid: String] = [:]
        for entry in list.entries {
            guard let oid = try? upstream.lookupCommit(prefix: entry.id) else {
                warnings.append("\(entry.source): ignore entry \(entry.id) is not a commit of the upstream repository \(upstreamLabel)")
                continue
            }
            reasons[oid] = entry.reason
        }
        for index in reports.indices {
            guard let oid = Oid(hex: reports[index].commit), let reason = reasons[oid] else { continue }
            switch reports[index].status {
            case .missing, .partial, .reverted:
                reports[index].note = "ignored (was \(reports[index].status.rawValue)): \(reason)"
                reports[index].status = .ignored
            default:
                reports[index].note = [reports[index].note, "on the ignore list: \(reason)"].compactMap { $0 }
                    .joined(separator: "; ")
            }
        }
    }

    func pathsOfReport(_ report: FixReport) throws -> [String] {
        guard let oid = Oid(hex: report.commit) else { return [] }
        return try info(oid).paths
    }

    /// Cherry-picks a missing fix onto the branch tip in memory (nothing is written to either repository).
    func checkApply(_ report: inout FixReport) {
        guard let oid = Oid(hex: report.commit) else { return }
        do {
            if cherrypicker == nil { cherrypicker = try InMemoryCherrypicker(target: vendor, source: upstream) }
            // File by file when every file merges on its own; the full tree merge otherwise (conflicts, renames).
            switch try cherrypicker!.quickPick(oid, onto: tip, changes: try info(oid).changes)
                ?? cherrypicker!.pick(oid, onto: tip) {
            case .noChange:
                // Picking it changes nothing: the change came in some way no commit shows (a squashed or
                // reworded backport). Present, not work to do.
                report.status = .present
                report.how = Detection.alreadyApplied.rawValue
                report.evidence = [Evidence(commit: nil, line: "cherry-picking it onto \(options.branch) changes nothing")]
                report.apply = nil
            case .clean:
                report.apply = .appliesCleanly
            case .conflicts(let paths):
                report.apply = .conflicts
                report.conflicts = paths
            }
        } catch {
            warnings.append("\(oid.short()): apply check failed: \((error as? GitError)?.message ?? "\(error)")")
        }
    }
}
