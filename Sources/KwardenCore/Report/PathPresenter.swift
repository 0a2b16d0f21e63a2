import Foundation
import RuleKit

/// Turns a scan's paths, relative to the scanned tree's root, into paths relative to the directory
/// the user works in (the current directory, or `--relative-to`), as gcc and clang-tidy print them,
/// so that an editor or CI opens them from where the tool was run. Fingerprints stay computed
/// from root-relative paths, so they do not depend on where a scan was started.
///
/// No absolute path of the scanning machine reaches a report: every absolute path in a message,
/// note or failure reason is made relative to the display directory as well.
public struct PathPresenter: Sendable {
    public let root: String
    public let displayDirectory: String
    /// How to reach the root from the display directory ("" when they are the same).
    private let rootPrefix: String

    public init(root: String, displayDirectory: String = FileManager.default.currentDirectoryPath) {
        self.root = PathPresenter.standardized(root)
        self.displayDirectory = PathPresenter.standardized(displayDirectory)
        let relative = PathPresenter.relative(self.root, from: self.displayDirectory)
        rootPrefix = relative == "." ? "" : relative + "/"
    }

    /// The root as the report names it ("." when it is the display directory).
    public var displayRoot: String { rootPrefix.isEmpty ? "." : String(rootPrefix.dropLast()) }

    /// A root-relative path (or an absolute one) as the report shows it.
    public func file(_ path: String) -> String {
        if path.hasPrefix("/") { return PathPresenter.relative(PathPresenter.standardized(path), from: displayDirectory) }
        if path.isEmpty { return path }
        return rootPrefix + path
    }

    /// `text` with every absolute path in it shown relative to the display directory.
    public func text(_ text: String) -> String {
        guard text.contains("/") else { return text }
        var out = ""
        var rest = Substring(text)
        while let slash = rest.firstIndex(of: "/") {
            let before = rest[..<slash]
            out += before
            let previous = before.last ?? out.last
            // A path starts a word: after a space, a quote, a bracket or '=' — never inside `a/b` or `a / b`.
            let startsWord = previous == nil || " \t\"'`([{<=,:".contains(previous!)
            let end = rest[slash...].firstIndex { " \t\n\"'`)]}>,;".contains($0) } ?? rest.endIndex
            var candidate = rest[slash..<end]
            // A trailing `:line` or `:line:column` is not part of the path.
            var suffix = Substring("")
            if let colon = candidate.firstIndex(of: ":") {
                suffix = candidate[colon...]
                candidate = candidate[..<colon]
            }
            if startsWord, isMachinePath(candidate) {
                out += file(String(candidate)) + suffix
            } else {
                out += candidate + suffix
            }
            rest = rest[end...]
        }
        return out + rest
    }

    /// `path:line: message` with its path shown like `file`, and any absolute path in the message too.
    public func located(_ text: String) -> String {
        if text.isEmpty || text.hasPrefix("/") { return self.text(text) }
        return rootPrefix + self.text(text)
    }

    /// An absolute path of at least two components whose first directory exists on this machine.
    private func isMachinePath(_ candidate: Substring) -> Bool {
        let parts = candidate.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 2, candidate.first == "/", !candidate.hasPrefix("//") else { return false }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: "/" + parts[0], isDirectory: &isDirectory) && isDirectory.boolValue
    }

    public func finding(_ finding: Finding) -> Finding {
        var f = finding
        f.file = file(f.file)
        f.message = text(f.message)
        f.evidence = f.evidence.map { step in
            var step = step
            step.file = file(step.file)
            step.message = text(step.message)
            return step
        }
        return f
    }

    /// The whole result as the report shows it.
    public func present(_ result: ScanResult) -> ScanResult {
        var shown = result
        shown.root = displayRoot
        shown.findings = result.findings.map(finding)
        shown.suppressed = result.suppressed.map { SuppressedFinding(finding: finding($0.finding), kind: $0.kind, justification: text($0.justification)) }
        shown.failures = result.failures.map { FileFailure(file: file($0.file), reason: text($0.reason)) }
        shown.parseErrors = result.parseErrors.map { ParseErrorReport(file: file($0.file), errors: $0.errors, first: located($0.first)) }
        shown.notes = result.notes.map(text)
        return shown
    }

    static func standardized(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// `path` relative to `directory` (both absolute, standardized): `a/b.c`, `../x/b.c` or `.`.
    static func relative(_ path: String, from directory: String) -> String {
        let target = path.split(separator: "/"), base = directory.split(separator: "/")
        var common = 0
        while common < target.count, common < base.count, target[common] == base[common] { common += 1 }
        let ups = Array(repeating: "..", count: base.count - common)
        let parts = ups + target[common...].map(String.init)
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}
