import ArgumentParser
import Foundation
import KwardenCore

struct ScanOptionGroup: ParsableArguments {
    @Option(name: .customLong("compile-commands"), help: "compile_commands.json from the kernel's gen_compile_commands.py: use each file's real flags.")
    var compileCommands: String?

    @Option(help: "Kbuild ARCH for files outside arch/ (x86, arm64, riscv, …; default: the host's).")
    var arch: String?

    @Option(name: .customLong("jobs"), help: "Files parsed in parallel (default: all cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("rules"), help: "Comma-separated rule ids to run (default: all).")
    var rules: String?

    @Option(name: .customLong("rules-dir"), help: "Directory holding the rules' metadata (default: the rules/ shipped with kwarden).")
    var rulesDir: String?

    @Option(name: .customLong("exclude"), help: "Path (relative to the tree root, * allowed) to leave out; repeatable.")
    var excludes: [String] = []

    @Option(name: .customLong("extra-arg"), help: "Extra compiler argument for every file; repeatable.")
    var extraArguments: [String] = []

    @Option(name: .customLong("timeout"), help: "Seconds one file may take before it is reported as failed.")
    var timeout: Double = 300

    @Option(name: .customLong("max-fact-files"), help: "At most this many files parsed per evidence pass, nearest to the findings first.")
    var maxFactFiles = 400

    @Flag(name: .customLong("all-arches"), help: "Also scan arch/<name>/ of every other architecture, each with its own flags.")
    var allArches = false

    @Flag(name: .customLong("in-process"), help: "Parse on threads instead of isolated worker processes.")
    var inProcess = false

    var ruleIDs: [String] {
        (rules ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Scan a kernel tree (or files and folders inside one) with kwarden's rules.")

    @Argument(help: "Kernel tree, or files and folders inside one.")
    var paths: [String]

    @OptionGroup var scan: ScanOptionGroup

    @Option(help: "Output format: text, json or sarif.")
    var format: String = "text"

    @Option(name: .shortAndLong, help: "Write the report to this file instead of standard output.")
    var output: String?

    @Flag(name: .shortAndLong, help: "No progress on standard error.")
    var quiet = false

    @Flag(name: .customLong("dry-run"), help: "List the files the textual preselection would parse, and stop.")
    var dryRun = false

    func validate() throws {
        guard OutputFormat(rawValue: format) != nil else {
            throw ValidationError("unknown format '\(format)': use text, json or sarif")
        }
        guard scan.jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard scan.timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        let rules: [Rule]
        do { rules = try RuleRegistry.load(only: scan.ruleIDs, rulesDirectory: scan.rulesDir) } catch {
            throw ValidationError("\(error)")
        }
        var options = ScanOptions(paths: paths, rules: rules)
        options.jobs = scan.jobs
        options.arch = scan.arch
        options.compileCommands = scan.compileCommands
        options.excludes = scan.excludes
        options.extraArguments = scan.extraArguments
        options.perFileTimeout = scan.timeout
        options.dryRun = dryRun
        options.maxFactFiles = scan.maxFactFiles
        options.allArches = scan.allArches
        options.progress = ProgressReporter(enabled: !quiet)
        if let rulesDir = scan.rulesDir { options.workerArguments = ["--rules-dir", rulesDir] }
        if !scan.inProcess, let executable = Self.executablePath() {
            options.isolation = .processes(executable: executable)
        }
        let result: ScanResult
        do { result = try Scanner(options: options).run() } catch {
            FileHandle.standardError.write(Data("kwarden: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let report = ScanReport.render(result, format: OutputFormat(rawValue: format)!, rules: rules.map(\.metadata))
        try write(report, to: output)
        if result.summary.filesParsed == 0 && result.summary.filesFailed > 0 && result.findings.isEmpty {
            FileHandle.standardError.write(Data("kwarden: nothing could be scanned\n".utf8))
            throw ExitCode(2)
        }
        throw ExitCode(result.findings.isEmpty ? 0 : 1)
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

    func run() throws {
        let ids = rules.split(separator: ",").map(String.init)
        let loaded = try RuleRegistry.load(only: ids, rulesDirectory: rulesDir)
        let setups = try CompileSetupProvider(kernelRoot: kernelRoot, compileCommands: compileCommands, arch: arch, extraArguments: extraArguments)
        WorkerLoop.run(analyzer: FileAnalyzer(rules: loaded, setups: setups))
    }
}
