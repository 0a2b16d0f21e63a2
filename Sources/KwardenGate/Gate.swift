import Foundation
import GitKit
import KwardenCore
import RuleKit

public enum GateError: Error, CustomStringConvertible {
    case repository(String)
    case revision(String)

    public var description: String {
        switch self {
        case .repository(let message), .revision(let message): return message
        }
    }
}

/// What a commit range does to kwarden's findings.
public struct GateResult {
    /// Findings at head that were not at base: what the range introduces.
    public var introduced: [Finding]
    /// Findings at base that are gone at head.
    public var fixed: [Finding]
    /// Findings present at both ends (not reported).
    public var preexisting: Int
    public var changedFiles: [String]
    public var head: ScanResult
    public var base: ScanResult
    public var baseRevision: String
    public var headRevision: String
    /// The commit the range was diffed from: the merge base of base and head (`base...head`).
    public var forkPoint: String

    /// The head scan reduced to what the range introduces, for the usual reports.
    public var introducedResult: ScanResult {
        var result = head
        result.findings = introduced
        result.summary.findings = introduced.count
        result.failures = head.failures
        result.notes = head.notes
        return result
    }

    public var verdict: String { verdict(failing: !introduced.isEmpty) }

    /// `failing`: whether the findings the range introduces fail the gate (`--fail-on` may let
    /// low-confidence ones pass).
    public func verdict(failing: Bool) -> String {
        let range = "\(baseRevision)...\(headRevision)"
        var text = introduced.isEmpty
            ? "kwarden gate: PASS — \(range) introduces no finding"
            : "kwarden gate: \(failing ? "FAIL" : "PASS") — \(range) introduces \(introduced.count) finding\(introduced.count == 1 ? "" : "s")"
        var details: [String] = ["diffed from merge base \(forkPoint)"]
        if !fixed.isEmpty { details.append("fixes \(fixed.count)") }
        if preexisting > 0 { details.append("\(preexisting) pre-existing not reported") }
        details.append("\(changedFiles.count) changed file\(changedFiles.count == 1 ? "" : "s")")
        text += " (" + details.joined(separator: ", ") + ")"
        return text
    }
}

/// Scans the files a commit range changes, at both ends, and keeps what is new at head.
///
/// Files come from git objects, never from the user's index or work tree changes: the work tree
/// supplies only the files the range and the checked-out commit leave identical; every other
/// file a parse could see is given to libclang from the revision being scanned.
public final class Gate {
    let repositoryPath: String
    let baseSpec: String
    let headSpec: String
    let template: ScanOptions

    /// `template` carries rules and scan settings; its paths are ignored.
    public init(repository: String, base: String, head: String = "HEAD", template: ScanOptions) {
        self.repositoryPath = repository
        self.baseSpec = base
        self.headSpec = head
        self.template = template
    }

    public func run() throws -> GateResult {
        let repository: Repository
        do { repository = try Repository(open: repositoryPath) } catch {
            throw GateError.repository("\(repositoryPath) is not a git repository: \(error)")
        }
        func resolve(_ spec: String) throws -> Oid {
            do { return try repository.resolveCommit(spec) } catch {
                var message = "\(error)"
                if repository.isShallow { message += " (the clone is shallow: fetch more history, e.g. git fetch --deepen=100 or --unshallow)" }
                throw GateError.revision(message)
            }
        }
        let baseTip = try resolve(baseSpec), head = try resolve(headSpec)
        // The series is what head adds since it forked from base (git's base...head): commits base
        // gained since then are not the series' doing.
        let base: Oid
        do {
            guard let forkPoint = try repository.mergeBase(baseTip, head) else {
                throw GateError.revision("\(baseSpec) and \(headSpec) have no common history")
            }
            base = forkPoint
        } catch let error as GateError { throw error } catch {
            var message = "cannot find where \(headSpec) forked from \(baseSpec): \(error)"
            if repository.isShallow { message += " (the clone is shallow: fetch more history, e.g. git fetch --deepen=100 or --unshallow)" }
            throw GateError.revision(message)
        }

        // The tree on disk that unchanged files are read from.
        var cleanup: String?
        defer { if let cleanup { try? FileManager.default.removeItem(atPath: cleanup) } }
        let root: String
        let checkedOut: Oid
        if let workdir = repository.workdir, !repository.isBare, let current = try? repository.resolveCommit("HEAD") {
            root = URL(fileURLWithPath: workdir).standardizedFileURL.path
            checkedOut = current
        } else {
            let directory = NSTemporaryDirectory() + "kwarden-gate-" + UUID().uuidString
            try repository.export(tree: try repository.commit(head).treeId, to: directory)
            cleanup = directory
            root = directory
            checkedOut = head
        }

        let changes = try repository.changes(from: base, to: head)
        let changedFiles = changes.compactMap { $0.newPath ?? $0.oldPath }
        var renamedToHead: [String: String] = [:]
        for change in changes where change.kind == .renamed {
            if let old = change.oldPath, let new = change.newPath { renamedToHead[old] = new }
        }

        let headOverlay = try overlay(repository, at: head, root: root, checkedOut: checkedOut, range: changes)
        let baseOverlay = try overlay(repository, at: base, root: root, checkedOut: checkedOut, range: changes)

        // What to parse at each end: changed .c files, and .c files including a changed header.
        var headFiles = Set(changes.compactMap { $0.newPath }.filter { $0.hasSuffix(".c") })
        var baseFiles = Set(changes.compactMap { $0.oldPath }.filter { $0.hasSuffix(".c") })
        let headers = Set(changes.flatMap { [$0.oldPath, $0.newPath].compactMap { $0 } }.filter { $0.hasSuffix(".h") })
        if !headers.isEmpty {
            let includers = try filesIncluding(headers, root: root, overlay: headOverlay)
            headFiles.formUnion(includers)
            for file in includers {
                let atBase = renamedToHead.first(where: { $0.value == file })?.key ?? file
                if FileManager.default.fileExists(atPath: root + "/" + atBase) || baseOverlay.contains(root + "/" + atBase) { baseFiles.insert(atBase) }
            }
        }

        // Both ends read unchanged files from the same disk tree: share setup and evidence search.
        let shared = SharedScanState()
        // Rules that follow chains across functions parse the chains through the changed files,
        // read at both revisions: the same files at both ends.
        let touched = Set(changes.flatMap { [$0.oldPath, $0.newPath].compactMap { $0 } })
        let focus = Set(touched.map { root + "/" + $0 })
        func focusing(_ other: SourceOverlay) -> ChainFocus { ChainFocus(files: focus, otherRevision: SourceOverlay(other.files.filter { focus.contains($0.key) })) }
        let headResult = try scan(headFiles, root: root, overlay: headOverlay, focus: focusing(baseOverlay), shared: shared, phase: "head")
        let baseResult = try scan(baseFiles, root: root, overlay: baseOverlay, focus: focusing(headOverlay), shared: shared, phase: "base")

        // Only findings the range can account for are compared: in a changed file, in a file both
        // ends parsed, or with evidence in a changed file. A finding in a file one end parsed only
        // for evidence (the nearest files to a question, which differ between the ends) says
        // nothing about the change.
        let parsedAtBoth = headFiles.intersection(baseFiles.map { renamedToHead[$0] ?? $0 })
        let headFindings = headResult.findings.filter { Self.isAccountable($0, touched: touched, parsedAtBoth: parsedAtBoth) }
        let baseFindings = baseResult.findings.filter { Self.isAccountable($0, touched: touched, parsedAtBoth: parsedAtBoth, renamed: renamedToHead) }
        // Match across the range by fingerprint, naming base files by their path at head.
        let baseKeys = Set(baseFindings.map { $0.fingerprint(file: renamedToHead[$0.file] ?? $0.file) })
        let headKeys = Set(headFindings.map(\.fingerprint))
        let introduced = headFindings.filter { !baseKeys.contains($0.fingerprint) }
        let fixed = baseFindings.filter { !headKeys.contains($0.fingerprint(file: renamedToHead[$0.file] ?? $0.file)) }
        return GateResult(introduced: introduced, fixed: fixed, preexisting: headFindings.count - introduced.count,
                          changedFiles: changedFiles, head: headResult, base: baseResult,
                          baseRevision: baseSpec, headRevision: headSpec, forkPoint: base.short())
    }

    /// Whether a range can account for `finding`: it lies in a changed file (`touched`, paths at
    /// either end) or in a file both ends parsed (`parsedAtBoth`, paths at head; `renamed` maps a
    /// base path to head), or its evidence runs through a changed file.
    static func isAccountable(_ finding: Finding, touched: Set<String>, parsedAtBoth: Set<String>, renamed: [String: String] = [:]) -> Bool {
        touched.contains(finding.file) || parsedAtBoth.contains(renamed[finding.file] ?? finding.file)
            || finding.evidence.contains { touched.contains($0.file) }
    }

    /// Contents at `revision` of every file that differs there from the tree on disk.
    private func overlay(_ repository: Repository, at revision: Oid, root: String, checkedOut: Oid, range: [TreeChange]) throws -> SourceOverlay {
        var paths = Set(range.flatMap { [$0.oldPath, $0.newPath].compactMap { $0 } })
        if checkedOut != revision {
            for change in try repository.changes(from: checkedOut, to: revision) {
                if let path = change.oldPath { paths.insert(path) }
                if let path = change.newPath { paths.insert(path) }
            }
        }
        var files: [String: [UInt8]] = [:]
        for path in paths {
            guard let blob = try repository.blob(at: path, in: revision) else { continue }
            files[root + "/" + path] = try repository.blobData(blob)
        }
        return SourceOverlay(files)
    }

    /// `.c` files whose `#include` lines name one of `headers` (matched by path suffix).
    private func filesIncluding(_ headers: Set<String>, root: String, overlay: SourceOverlay) throws -> Set<String> {
        let names = Set(headers.map { ($0 as NSString).lastPathComponent })
        var result = Set<String>()
        let discovery = SourceDiscovery(excludes: template.excludes).discover(paths: [root], root: root, isKernelTree: KernelTree.root(containing: root) != nil)
        for file in discovery.files {
            let relative = RelativePath.make(file, root: root)
            let bytes: [UInt8]
            if let data = overlay.files[file] { bytes = data } else if let data = FileManager.default.contents(atPath: file) { bytes = [UInt8](data) } else { continue }
            let source = SourceText(bytes: bytes)
            guard names.contains(where: { source.contains($0) }) else { continue }
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.contains("#") && line.contains("include") {
                let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
                guard trimmed.hasPrefix("#") else { continue }
                guard let open = trimmed.firstIndex(where: { $0 == "\"" || $0 == "<" }) else { continue }
                let rest = trimmed[trimmed.index(after: open)...]
                guard let close = rest.firstIndex(where: { $0 == "\"" || $0 == ">" }) else { continue }
                let included = String(rest[..<close])
                let directory = (relative as NSString).deletingLastPathComponent
                if headers.contains(where: { $0 == included || $0.hasSuffix("/" + included) || $0 == (directory.isEmpty ? included : directory + "/" + included) }) {
                    result.insert(relative)
                    break
                }
            }
        }
        return result
    }

    private func scan(_ files: Set<String>, root: String, overlay: SourceOverlay, focus: ChainFocus, shared: SharedScanState, phase: String) throws -> ScanResult {
        guard !files.isEmpty else {
            return ScanResult(root: root, findings: [], summary: ScanSummary(), failures: [], parseErrors: [], notes: [])
        }
        var options = template
        options.paths = files.sorted().map { root + "/" + $0 }
        options.overlay = overlay
        options.root = root
        options.factScope = [root]
        options.chainFocus = focus
        options.shared = shared
        options.progress.message("gate: scanning \(files.count) file\(files.count == 1 ? "" : "s") at \(phase)")
        return try Scanner(options: options).run()
    }
}
