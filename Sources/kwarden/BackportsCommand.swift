import ArgumentParser
import Foundation
import RuleKit
import KwardenBackports
import KwardenCore

/// `kwarden backports`: which upstream fixes does a vendor kernel have, lack, or not need? (issue 3)
struct BackportsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backports",
        abstract: "Check whether upstream fix commits are present in a vendor kernel.",
        discussion: """
            Audits a vendor branch (--repo) or a source tree without history (--tree) against upstream fixes chosen \
            with --fixes FILE, --catalog or --range A..B. Each fix is present (by ancestor, trailer, patch-id or \
            subject), partial (a split backport that leaves files out), reverted, not-needed (the commits its \
            Fixes: tags name were never shipped), ignored (--ignore, .kwarden.yaml), not-built (--config), missing \
            (with whether it cherry-picks cleanly onto the branch, checked in memory) or unknown; in a tree it is \
            applied, partial, not-applied or unknown. Exit status: 0 when no needed fix is missing, 1 when one is \
            (ignored and not-built fixes do not count), 2 on usage errors or unreadable repositories.
            """)

    @Option(name: .long, help: ArgumentHelp("The vendor repository.", valueName: "path"))
    var repo: String?

    @Option(name: .long, help: ArgumentHelp("The branch audited (default HEAD).", valueName: "ref"))
    var branch: String = "HEAD"

    @Option(name: .long, help: ArgumentHelp("A repository holding upstream history (default: --repo itself).", valueName: "path"))
    var upstream: String?

    @Option(name: .customLong("upstream-ref"),
            help: ArgumentHelp("Upstream branch; vendor commits it contains are upstream's, not backports.", valueName: "ref"))
    var upstreamRef: String?

    @Option(name: .long, help: ArgumentHelp("File of upstream commit ids, one per line (# comments).", valueName: "file"))
    var fixes: String?

    @Flag(name: .long, help: "Check the fixes listed in the catalog (rules/fixes.yaml, built into kwarden).")
    var catalog = false

    @Option(name: .customLong("catalog-file"), help: ArgumentHelp("Catalog to use with --catalog.", valueName: "file"))
    var catalogFile: String?

    @Option(name: .long, help: ArgumentHelp("Every upstream commit in A..B that carries a Fixes: tag.", valueName: "A..B"))
    var range: String?

    @Flag(name: .customLong("follow-ups"),
          help: "Look for fixes of present fixes in all upstream history since the branch forked, not only among the checked fixes.")
    var followUps = false

    @Option(name: .long, help: ArgumentHelp("Fixes not to take: '<commit id> <reason>' per line (adds to backports.ignore in the repository's .kwarden.yaml).", valueName: "file"))
    var ignore: String?

    @Option(name: .long, help: ArgumentHelp("The vendor's kernel .config: fixes touching only files it does not build are not-built.", valueName: "file"))
    var config: String?

    @Flag(name: .customLong("no-apply-check"), help: "Do not cherry-pick missing fixes onto the branch (in memory) to see whether they apply.")
    var noApplyCheck = false

    @Option(name: .long, help: ArgumentHelp("Check a source tree without history instead of a branch.", valueName: "dir"))
    var tree: String?

    @Option(name: .long, help: ArgumentHelp("text, json or markdown.", valueName: "format"))
    var format: String = "text"

    @Option(name: .long, help: ArgumentHelp("Write the report to this file instead of standard output.", valueName: "file"))
    var output: String?

    func validate() throws {
        let selections = [fixes != nil, catalog, range != nil].filter { $0 }.count
        guard selections == 1 else {
            throw ValidationError("choose the fixes to check with exactly one of --fixes FILE, --catalog, --range A..B")
        }
        guard BackportOutput.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be text, json or markdown, not '\(format)'")
        }
        if tree != nil {
            guard upstream != nil else { throw ValidationError("--tree needs --upstream PATH to take the fixes' diffs from") }
            guard repo == nil else { throw ValidationError("--tree and --repo exclude each other") }
            guard !followUps else { throw ValidationError("--follow-ups needs history: use it with --repo") }
            guard ignore == nil, config == nil else { throw ValidationError("--ignore and --config need history: use them with --repo") }
        } else if repo == nil {
            throw ValidationError("give the vendor repository with --repo PATH (or a source tree with --tree DIR)")
        }
        if catalogFile != nil && !catalog { throw ValidationError("--catalog-file goes with --catalog") }
    }

    func run() throws {
        do {
            let report = try makeReport()
            let rendered = try BackportOutput.render(report, as: BackportOutput.Format(rawValue: format)!)
            if let output {
                do {
                    try rendered.write(toFile: output, atomically: true, encoding: .utf8)
                } catch {
                    throw BackportError("cannot write the report to \(output): \(error.localizedDescription)")
                }
            } else {
                FileHandle.standardOutput.write(Data(rendered.utf8))
            }
            let status = BackportOutput.exitStatus(report)
            if status != 0 { throw ExitCode(status) }
        } catch let error as BackportError {
            FileHandle.standardError.write(Data("kwarden backports: error: \(error.message)\n".utf8))
            throw ExitCode(2)
        }
    }

    func makeReport() throws -> BackportReport {
        let source = try fixSource()
        do {
            if let tree {
                return try TreeChecker(options: TreeOptions(treePath: tree, upstreamPath: upstream!, upstreamRef: upstreamRef))
                    .run(source)
            }
            return try HistoryChecker(options: HistoryOptions(
                vendorPath: repo!, branch: branch, upstreamPath: upstream, upstreamRef: upstreamRef, followUps: followUps,
                ignoreList: try ignoreList(), kernelConfig: try kernelConfig(), applyCheck: !noApplyCheck))
                .run(source)
        } catch let error as BackportError {
            throw error
        } catch {
            // libgit2 failures the engine did not anticipate (corrupt objects, I/O): still a clear message, exit 2.
            throw BackportError("\(error)")
        }
    }

    func readInput(_ path: String, what: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw BackportError("cannot read the \(what) \(path): \(error.localizedDescription)")
        }
    }

    func ignoreList() throws -> IgnoreList {
        guard let ignore else { return IgnoreList() }
        return try IgnoreList.parse(try readInput(ignore, what: "ignore file"), source: ignore)
    }

    func kernelConfig() throws -> KernelConfig? {
        guard let config else { return nil }
        let parsed = KernelConfig.parse(try readInput(config, what: "kernel configuration"))
        guard !parsed.values.isEmpty else { throw BackportError("\(config) has no CONFIG_ lines: not a kernel .config") }
        return parsed
    }

    func fixSource() throws -> FixSource {
        if let range { return .range(range) }
        if let fixes {
            let text: String
            do {
                text = try String(contentsOfFile: fixes, encoding: .utf8)
            } catch {
                throw BackportError("cannot read the fixes file \(fixes): \(error.localizedDescription)")
            }
            return .requests(try FixList.parse(text, source: fixes))
        }
        if let catalogFile { return .requests(try Catalog.load(path: catalogFile).requests) }
        // The catalog sits with the rules, and is found the same way (the copy built into kwarden last).
        let source: RuleSource
        do { source = try RuleDirectory.locate() } catch { throw BackportError("\(error)") }
        switch source {
        case .directory(let directory):
            return .requests(try Catalog.load(path: directory + "/fixes.yaml").requests)
        case .embedded:
            guard let text = try RuleDirectory.text(of: "fixes.yaml", from: .embedded) else {
                throw BackportError("this kwarden was built without a fixes catalog; use --catalog-file")
            }
            return .requests(try Catalog.parse(text, source: "the built-in fixes catalog").requests)
        }
    }
}
