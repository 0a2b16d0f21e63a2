import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// Locations in the repository, found from this source file.
enum Repository {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static var corpus: String { root + "/corpus" }
    static var rules: String { root + "/rules" }

    /// The built `kwarden` executable beside the test bundle.
    static var executable: String? {
        let candidates = [Bundle.main.bundleURL, Bundle(for: CorpusMarker.self).bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("kwarden").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

final class CorpusMarker {}

/// A `// expect: rule-id` (finding on this line) or `// evidence: rule-id` (cited as evidence).
struct Expectation: Hashable, CustomStringConvertible {
    let file: String
    let line: Int
    let rule: String
    var description: String { "\(file):\(line) [\(rule)]" }
}

enum CorpusAnnotations {
    static func read(directory: String, marker: String) throws -> [Expectation] {
        var result: [Expectation] = []
        let files = try FileManager.default.subpathsOfDirectory(atPath: directory).filter { $0.hasSuffix(".c") }.sorted()
        for file in files {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                guard let range = line.range(of: "// \(marker): ") else { continue }
                for rule in line[range.upperBound...].split(separator: ",") {
                    result.append(Expectation(file: file, line: offset + 1, rule: rule.trimmingCharacters(in: .whitespaces)))
                }
            }
        }
        return result
    }
}

func scanCorpus(_ paths: [String], rules ids: [String] = [], isolation: ScanOptions.Isolation = .threads) throws -> ScanResult {
    let rules = try RuleRegistry.load(only: ids, rulesDirectory: Repository.rules)
    var options = ScanOptions(paths: paths, rules: rules)
    options.isolation = isolation
    options.jobs = 2
    return try Scanner(options: options).run()
}

/// Multiset difference, so a duplicated finding on one line is an extra, not a match.
func difference(_ a: [Expectation], _ b: [Expectation]) -> [Expectation] {
    var remaining = b
    var result: [Expectation] = []
    for item in a {
        if let index = remaining.firstIndex(of: item) { remaining.remove(at: index) } else { result.append(item) }
    }
    return result
}

/// A test case with a scratch directory of C files that compile with `-std=gnu11`, removed afterwards.
class ScratchDirectoryTestCase: XCTestCase {
    var directory: String!

    /// A corpus-style finding (subtract-loop-zero-divisor) in a function of its own.
    let spinning = """
    struct pool { unsigned int nr; };
    unsigned int spin(struct pool *p, unsigned int v)
    {
    \twhile (v >= p->nr)
    \t\tv -= p->nr;
    \treturn v;
    }

    """

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "kwarden-scan-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "-std=gnu11\n".write(toFile: directory + "/compile_flags.txt", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
    }
}

/// Writes `files` (paths relative to `root`) with their directories.
/// A scan of a fixture kernel tree's `drivers/` with every rule, with or without shared
/// precompiled headers.
func scanDrivers(of tree: String, shared: Bool, cache: ResultCache? = nil) throws -> ScanResult {
    var options = ScanOptions(paths: [tree + "/drivers"], rules: try RuleRegistry.load(rulesDirectory: Repository.rules))
    options.jobs = 2
    options.sharedHeaders = shared
    options.cache = cache
    return try Scanner(options: options).run()
}

/// A finding with its confidence and evidence, as one string to compare.
func findingKey(_ finding: Finding) -> String {
    "\(finding.fingerprint)|\(finding.file):\(finding.line)|\(finding.confidence)|\(finding.message)|" + finding.evidence.map { "\($0.file):\($0.line) \($0.message)" }.joined(separator: ";")
}

func writeTree(_ files: [String: String], under root: String) throws {
    for (path, text) in files {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }
}

/// The few files that make a directory a prepared x86 kernel tree for kwarden (no kernel source).
let preparedKernelSkeleton: [String: String] = [
            "Makefile": "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\nEXTRAVERSION =\nNAME = Test\n",
            "Kconfig": "mainmenu \"Linux/$(ARCH) Kernel Configuration\"\nsource \"arch/$(SRCARCH)/Kconfig\"\n",
            "arch/x86/Kconfig": "config X86\n\tdef_bool y\n",
            "include/linux/kconfig.h": "/* kconfig */\n",
            "include/linux/compiler_types.h": "/* compiler types */\n",
            "include/linux/compiler-version.h": "/* compiler version */\n",
            "include/generated/autoconf.h": "/* prepared */\n",
]
