import ArgumentParser
import Foundation
import KwardenCore
import KwardenRules
import RuleKit

struct ScanOptionGroup: ParsableArguments {
    @Option(name: .customLong("compile-commands"), help: "compile_commands.json from the kernel's gen_compile_commands.py: use each file's real flags.")
    var compileCommands: String?

    @Option(help: "Kbuild ARCH for files outside arch/ (x86, arm64, riscv, …; default: the host's).")
    var arch: String?

    @Option(name: .customLong("jobs"), help: "Files parsed in parallel (default: all cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("rules"), help: "Comma-separated rule ids to run (default: all).")
    var rules: String?

    @Option(name: .customLong("rules-dir"), help: "Directory holding the rules' metadata (default: $KWARDEN_RULES_DIR, else the rules built into kwarden).")
    var rulesDir: String?

    @Option(name: .customLong("exclude"), help: "Path (relative to the tree root, * allowed) to leave out; repeatable.")
    var excludes: [String] = []

    @Option(name: .customLong("extra-arg"), help: "Extra compiler argument for every file; repeatable.")
    var extraArguments: [String] = []

    @Option(name: .customLong("timeout"), help: "Seconds one file may take before it is reported as failed.")
    var timeout: Double = 300

    @Option(name: .customLong("max-memory"), help: ArgumentHelp("MiB of memory one worker process may use for a file before the file is reported as failed (0: no limit).", valueName: "MiB"))
    var maxMemory = 4096

    @Option(name: .customLong("max-fact-files"), help: "At most this many files parsed per evidence pass, nearest to the findings first.")
    var maxFactFiles = 200

    @Option(name: .customLong("max-fact-files-per-topic"), help: "At most this many files per topic of an evidence pass (one struct field, say), likeliest and nearest first.")
    var maxFactFilesPerTopic = 12

    @Option(name: .customLong("config"), help: "Configuration file (default: .kwarden.yaml at the tree root).")
    var config: String?

    @Flag(name: .customLong("no-cache"), help: "Parse every file; do not read or write the result cache.")
    var noCache = false

    @Option(name: .customLong("cache-dir"), help: "Where the result cache lives (default: $XDG_CACHE_HOME/kwarden or ~/.cache/kwarden).")
    var cacheDir: String?

    @Flag(name: .customLong("no-shared-headers"), help: "Parse every file with all its headers, without the shared precompiled headers.")
    var noSharedHeaders = false

    @Flag(name: .customLong("no-call-graph"), help: "Parse every file a rule's text search keeps, without narrowing chain rules to the candidate chains of the tree's call graph.")
    var noCallGraph = false

    @Flag(name: .customLong("all-arches"), help: "Also scan arch/<name>/ of every other architecture, each with its own flags.")
    var allArches = false

    @Flag(name: .customLong("in-process"), help: "Parse on threads instead of isolated worker processes.")
    var inProcess = false

    var ruleIDs: [String] {
        (rules ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Rules and scan options from the command line merged with the tree's configuration file.
    typealias PreparedScan = (options: ScanOptions, rules: [AnyRule], configuration: TreeConfiguration)

    func prepare(paths: [String], quiet: Bool) throws -> PreparedScan {
        let configuration: TreeConfiguration
        let rules: [AnyRule]
        do {
            if let config {
                configuration = try TreeConfiguration.load(path: config)
            } else {
                let root = paths.lazy.compactMap { KernelTree.root(containing: $0) }.first ?? RelativePath.commonDirectory(paths)
                configuration = try TreeConfiguration.load(treeRoot: root)
            }
            try configuration.validateRuleIDs()
            rules = try RuleRegistry.load(only: configuration.ruleSelection(commandLine: ruleIDs), rulesDirectory: rulesDir,
                                          extraLists: configuration.lists)
        } catch {
            throw ValidationError("\(error)")
        }
        var options = ScanOptions(paths: paths, rules: rules)
        options.jobs = jobs
        options.arch = arch ?? configuration.arch
        options.compileCommands = compileCommands
        options.excludes = excludes + configuration.exclude
        options.extraArguments = configuration.flags + extraArguments
        options.perFileTimeout = timeout
        options.maxMemoryMiB = maxMemory > 0 ? maxMemory : nil
        options.progress = ProgressReporter(enabled: !quiet)
        options.maxFactFiles = maxFactFiles
        options.maxFactFilesPerTopic = maxFactFilesPerTopic
        options.allArches = allArches
        options.sharedHeaders = !noSharedHeaders
        options.callGraph = !noCallGraph
        if !noCache {
            do { options.cache = try ResultCache(directory: cacheDir ?? ResultCache.defaultDirectory) } catch {
                FileHandle.standardError.write(Data("kwarden: result cache unavailable (\(error)); scanning without it\n".utf8))
            }
        }
        var workerArguments: [String] = []
        if let rulesDir { workerArguments += ["--rules-dir", rulesDir] }
        if let path = configuration.path { workerArguments += ["--config", path] }
        options.workerArguments = workerArguments
        if !inProcess, let executable = ScanCommand.executablePath() {
            options.isolation = .processes(executable: executable)
        }
        return (options, rules, configuration)
    }
}

/// How a report is written, for `scan` and `gate` alike.
struct ReportOptionGroup: ParsableArguments {
    @Option(help: "Output format: text, json, sarif or github (workflow annotations).")
    var format: String = "text"

    @Option(name: .shortAndLong, help: "Write the report to this file instead of standard output.")
    var output: String?

    @Option(name: .customLong("relative-to"), help: "Show paths relative to this directory (default: the current directory), e.g. the repository root in CI.")
    var relativeTo: String?

    @Option(name: .customLong("min-confidence"), help: "Report only findings of at least this confidence: low, medium or high.")
    var minConfidence: String = "low"

    @Option(name: .customLong("fail-on"), help: "Exit 1 only for findings of at least this confidence: low, medium, high, or never.")
    var failOn: String = "low"

    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    var outputFormat: OutputFormat { OutputFormat(rawValue: format)! }
    var minimum: Confidence { Confidence(rawValue: minConfidence)! }
    /// nil: never fail on findings.
    var failThreshold: Confidence? { Confidence(rawValue: failOn) }

    func validate() throws {
        guard OutputFormat(rawValue: format) != nil else {
            throw ValidationError("unknown format '\(format)': use text, json, sarif or github")
        }
        guard Confidence(rawValue: minConfidence) != nil else {
            throw ValidationError("unknown --min-confidence '\(minConfidence)': use low, medium or high")
        }
        guard failOn == "never" || Confidence(rawValue: failOn) != nil else {
            throw ValidationError("unknown --fail-on '\(failOn)': use low, medium, high or never")
        }
        if let relativeTo {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: relativeTo, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--relative-to \(relativeTo): no such directory")
            }
        }
        if let output { try checkWritable(output, option: "--output") }
    }

    /// The result as the report shows it: paths from the display directory, findings under
    /// `--min-confidence` left out (and counted).
    func present(_ result: ScanResult) -> ScanResult {
        filtered(PathPresenter(root: result.root, displayDirectory: relativeTo ?? FileManager.default.currentDirectoryPath).present(result))
    }

    /// Findings under `--min-confidence` left out (and counted).
    func filtered(_ result: ScanResult) -> ScanResult {
        var shown = result
        let below = shown.findings.filter { $0.confidence < minimum }.count
        if below > 0 {
            shown.findings.removeAll { $0.confidence < minimum }
            shown.summary.findings = shown.findings.count
            shown.notes.append("\(below) finding\(below == 1 ? "" : "s") below --min-confidence \(minConfidence) not shown")
        }
        return shown
    }

    /// 1 when a shown finding reaches `--fail-on`, else 0.
    func exitCode(for findings: [Finding]) -> Int32 {
        guard let threshold = failThreshold else { return 0 }
        return findings.contains { $0.confidence >= threshold } ? 1 : 0
    }

    /// When the run cannot produce a report: the error on stderr, and for SARIF written to a file,
    /// a valid log carrying the error, so that an upload step shows it instead of failing on a missing file.
    func fail(_ message: String, rules: [RuleMetadata]) -> ExitCode {
        FileHandle.standardError.write(Data("kwarden: \(message)\n".utf8))
        if outputFormat == .sarif, let output {
            try? ScanReport.sarifError(PathPresenter(root: "/", displayDirectory: FileManager.default.currentDirectoryPath).text(message), rules: rules)
                .write(toFile: output, atomically: true, encoding: .utf8)
        }
        return ExitCode(2)
    }
}

/// Fails unless a file can be written at `path` (its directory exists and is writable): checked
/// before a scan, so that a long scan's report is never lost to a typo.
func checkWritable(_ path: String, option: String) throws {
    let fm = FileManager.default
    var isDirectory: ObjCBool = false
    if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard !isDirectory.boolValue else { throw ValidationError("\(option) \(path) is a directory") }
        guard fm.isWritableFile(atPath: path) else { throw ValidationError("\(option) \(path): not writable") }
        return
    }
    let directory = (URL(fileURLWithPath: path).standardizedFileURL.path as NSString).deletingLastPathComponent
    guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw ValidationError("\(option) \(path): directory \(directory) does not exist")
    }
    guard fm.isWritableFile(atPath: directory) else { throw ValidationError("\(option) \(path): directory \(directory) is not writable") }
}

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan a kernel tree (or files and folders inside one) with kwarden's rules.",
        discussion: "Exit status: 0 no findings (at --fail-on's confidence), 1 findings, 2 usage error or nothing could be scanned.")

    @Argument(help: "Kernel tree, or files and folders inside one.")
    var paths: [String]

    @OptionGroup var scan: ScanOptionGroup
    @OptionGroup var report: ReportOptionGroup

    @Option(name: .customLong("baseline"), help: "Report only findings not recorded in this baseline file.")
    var baseline: String?

    @Option(name: .customLong("write-baseline"), help: "Record this scan's findings as a baseline file.")
    var writeBaseline: String?

    @Flag(name: .customLong("dry-run"), help: "List the files the textual preselection would parse, and stop.")
    var dryRun = false

    @Option(name: .customLong("shard"), help: "Scan share K of N of the files (K/N, e.g. 2/4), for parallel CI jobs; join their reports with `kwarden merge`. Evidence still comes from the whole tree.")
    var shard: String?

    func validate() throws {
        if let shard { do { _ = try Shard(parsing: shard) } catch { throw ValidationError("\(error)") } }
        guard scan.jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard scan.timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard scan.maxMemory >= 0 else { throw ValidationError("--max-memory must be 0 (no limit) or a number of MiB") }
        if let writeBaseline { try checkWritable(writeBaseline, option: "--write-baseline") }
    }

    func run() throws {
        HeapTuning.keepFreedMemory()
        let prepared: ScanOptionGroup.PreparedScan
        do { prepared = try scan.prepare(paths: paths, quiet: report.quiet) } catch { throw report.fail("\(error)", rules: []) }
        let metadata = prepared.rules.map(\.metadata)
        // Inputs are checked before anything is parsed.
        var known: Baseline?
        if let baseline {
            do { known = try Baseline.load(baseline) } catch { throw report.fail("\(error)", rules: metadata) }
        }
        var options = prepared.options
        options.dryRun = dryRun
        options.shard = try shard.map { try Shard(parsing: $0) }
        let result: ScanResult
        options.leavesMemoryToExit = true
        do { result = try Scanner(options: options).run() } catch {
            throw report.fail("\(error)", rules: metadata)
        }
        if let writeBaseline {
            do { try Baseline(findings: result.findings).write(to: writeBaseline) } catch {
                throw report.fail("\(error)", rules: metadata)
            }
        }
        var compared = result
        if let known, let baseline { compared = known.filter(result, path: baseline) }
        let shown = report.present(compared)
        let text = ScanReport.render(shown, format: report.outputFormat, rules: metadata, baseline: known != nil)
        try write(text, to: report.output)
        if result.summary.filesParsed == 0 && result.summary.filesFailed > 0 && result.findings.isEmpty {
            FileHandle.standardError.write(Data("kwarden: nothing could be scanned\n".utf8))
            throw ExitCode(2)
        }
        throw ExitCode(report.exitCode(for: shown.findings))
    }

    /// This program's own path, to start worker processes.
    static func executablePath() -> String? {
        let path = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        return FileManager.default.isExecutableFile(atPath: path) ? path : Bundle.main.executablePath
    }
}

func write(_ text: String, to output: String?) throws {
    if let output {
        do { try text.write(toFile: output, atomically: true, encoding: .utf8) } catch {
            FileHandle.standardError.write(Data("kwarden: cannot write \(output): \(error.localizedDescription)\n".utf8))
            throw ExitCode(2)
        }
    } else {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// The worker side of process isolation: reads jobs on stdin, answers outcomes on stdout.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", abstract: "Internal: parse files for a scan.", shouldDisplay: false)

    @Option(name: .customLong("rules")) var rules: String
    @Option(name: .customLong("rules-dir")) var rulesDir: String?
    @Option(name: .customLong("kernel-root")) var kernelRoot: String?
    @Option(name: .customLong("arch")) var arch: String?
    @Option(name: .customLong("compile-commands")) var compileCommands: String?
    @Option(name: .customLong("extra-arg")) var extraArguments: [String] = []
    @Option(name: .customLong("config")) var config: String?
    @Option(name: .customLong("overlay")) var overlay: String?
    @Option(name: .customLong("configurations-from")) var configurationsFrom: String?
    @Option(name: .customLong("configurations-dir")) var configurationsDirectory: String?

    func run() throws {
        WorkerLoop.exitWithParent()
        HeapTuning.keepFreedMemory()
        let ids = rules.split(separator: ",").map(String.init)
        let lists = try config.map { try TreeConfiguration.load(path: $0).lists } ?? [:]
        let loaded = try RuleRegistry.load(only: ids, rulesDirectory: rulesDir, extraLists: lists)
        let setups = try CompileSetupProvider(kernelRoot: kernelRoot, compileCommands: compileCommands, arch: arch, extraArguments: extraArguments,
                                              configurations: configurationsFrom.flatMap { KeptConfigurations(directory: $0) }
                                                ?? configurationsDirectory.map { ScratchConfigurations(directory: $0, writable: false) })
        let contents = try overlay.map { try SourceOverlay(contentsOf: $0) } ?? SourceOverlay()
        WorkerLoop.run(analyzer: FileAnalyzer(rules: loaded, setups: setups, overlay: contents))
    }
}
