import Foundation
import GitKit
import XCTest

/// The command's interface: exit statuses, formats and --output, run on the built `kwarden` binary.
final class CommandTests: XCTestCase {
    /// `swift test` builds the executable next to the test bundle.
    func kwarden() throws -> String {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let binary = directory.appendingPathComponent("kwarden").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("kwarden is not built next to the tests (\(binary)); run `swift build` first")
        }
        return binary
    }

    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try kwarden())
        process.arguments = ["backports"] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    func testExitStatusesAndOutputs() throws {
        _ = try kwarden()
        let repos = try ScenarioRepositories.separateRepositories()
        let s = repos.scenario
        let list = repos.scratch.sub("fixes.txt")
        func writeList(_ keys: [String]) throws {
            try (keys.map { "\(s.upstream[$0]!.short(12)) # \($0)" }.joined(separator: "\n") + "\n")
                .write(toFile: list, atomically: true, encoding: .utf8)
        }
        let common = ["--repo", repos.vendorPath, "--upstream", repos.upstreamPath!, "--fixes", list]

        try writeList(["F1", "F2", "F5"])
        let clean = try run(common)
        XCTAssertEqual(clean.status, 0, clean.stderr)
        XCTAssertTrue(clean.stdout.contains("2 present, 0 missing, 0 reverted, 1 not needed"), clean.stdout)

        try writeList(["F1", "F7"])
        let missing = try run(common + ["--format", "json"])
        XCTAssertEqual(missing.status, 1, missing.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(missing.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((json["summary"] as? [String: Any])?["missing"] as? Int, 1)

        let output = repos.scratch.sub("report.md")
        let written = try run(common + ["--format", "markdown", "--output", output])
        XCTAssertEqual(written.status, 1)
        XCTAssertEqual(written.stdout, "")
        XCTAssertTrue(try String(contentsOfFile: output, encoding: .utf8).hasPrefix("# Backport report"))

        let tree = repos.scratch.sub("drop")
        let vendor = try Repository(open: repos.vendorPath)
        try vendor.export(tree: try vendor.commit(s.vendorTip).treeId, to: tree)
        let treeRun = try run(["--tree", tree, "--upstream", repos.upstreamPath!, "--fixes", list])
        XCTAssertEqual(treeRun.status, 1, treeRun.stderr)
        XCTAssertTrue(treeRun.stdout.contains("APPLIED"), treeRun.stdout)
        XCTAssertTrue(treeRun.stdout.contains("NOT-APPLIED"), treeRun.stdout)
    }

    func testUsageAndInputErrorsExitTwo() throws {
        _ = try kwarden()
        let scratch = try ScratchDirectory()
        let cases: [([String], String)] = [
            (["--repo", scratch.path, "--range", "a..b"], "is not a git repository"),
            (["--repo", scratch.path], "exactly one of --fixes FILE, --catalog, --range A..B"),
            (["--range", "a..b"], "--repo PATH"),
            (["--repo", scratch.path, "--range", "a..b", "--format", "xml"], "--format must be text, json or markdown"),
            (["--tree", scratch.path, "--range", "a..b"], "--tree needs --upstream"),
            (["--repo", scratch.path, "--fixes", scratch.sub("none.txt")], "cannot read the fixes file"),
        ]
        for (arguments, message) in cases {
            let result = try run(arguments)
            XCTAssertEqual(result.status, 2, arguments.joined(separator: " "))
            XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", arguments.joined(separator: " "))
        }
        let repository = try Repository(initAt: scratch.sub("repo"))
        try HistoryBuilder(repository).commit(["a.c": "int a;\n"], parents: [], message: "a\n", branch: "main")
        try repository.setHead("refs/heads/main")
        let unknownRevision = try run(["--repo", scratch.sub("repo"), "--branch", "v9.9", "--range", "HEAD~1..HEAD"])
        XCTAssertEqual(unknownRevision.status, 2)
        XCTAssertTrue(unknownRevision.stderr.contains("unknown revision 'v9.9'"), unknownRevision.stderr)
    }

    func testIgnoreConfigAndApplyOptions() throws {
        _ = try kwarden()
        let history = try SmallHistory(files: ["drivers/foo/core.c", "drivers/net/dev.c"])
        try history.vendor("kbuild\n") {
            $0["drivers/Makefile"] = SourceFile(lines: ["obj-$(CONFIG_FOO) += foo/", "obj-y += net/"])
            $0["drivers/foo/Makefile"] = SourceFile(lines: ["obj-y += core.o"])
        }
        let fix = try history.upstream("foo: fix core\n") {
            $0["drivers/foo/core.c"] = $0["drivers/foo/core.c"]!.replacing(4, with: ["\tfixed();"])
        }
        let list = history.scratch.sub("fixes.txt"), ignore = history.scratch.sub("ignore.txt")
        let config = history.scratch.sub("config")
        try "\(fix.hex)\n".write(toFile: list, atomically: true, encoding: .utf8)
        try "\(fix.short(12)) not applicable: no foo hardware\n".write(toFile: ignore, atomically: true, encoding: .utf8)
        try "# CONFIG_FOO is not set\nCONFIG_NET=y\n".write(toFile: config, atomically: true, encoding: .utf8)
        let common = ["--repo", history.path, "--branch", "vendor", "--upstream-ref", "upstream", "--fixes", list, "--format", "json"]
        func fixObject(_ stdout: String) throws -> [String: Any] {
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
            return try XCTUnwrap((json["fixes"] as? [[String: Any]])?.first)
        }

        let missing = try run(common)
        XCTAssertEqual(missing.status, 1, missing.stderr)
        XCTAssertEqual(try fixObject(missing.stdout)["apply"] as? String, "applies-cleanly")
        let unchecked = try run(common + ["--no-apply-check"])
        XCTAssertNil(try fixObject(unchecked.stdout)["apply"])

        let ignored = try run(common + ["--ignore", ignore])
        XCTAssertEqual(ignored.status, 0, ignored.stderr)
        XCTAssertEqual(try fixObject(ignored.stdout)["status"] as? String, "ignored")

        let notBuilt = try run(common + ["--config", config])
        XCTAssertEqual(notBuilt.status, 0, notBuilt.stderr)
        let object = try fixObject(notBuilt.stdout)
        XCTAssertEqual(object["status"] as? String, "not-built")
        XCTAssertEqual(object["config_symbols"] as? [String], ["CONFIG_FOO"])

        // Lists as `git log --format=%h%x09%s > list` on another system writes them: a tab, CRLF line ends.
        try "\(fix.short(12))\tfoo: fix core\r\n".write(toFile: list, atomically: true, encoding: .utf8)
        try "\(fix.short(12))\tnot applicable: no foo hardware\r\n".write(toFile: ignore, atomically: true, encoding: .utf8)
        let crlf = try run(common + ["--ignore", ignore])
        XCTAssertEqual(crlf.status, 0, crlf.stderr)
        XCTAssertEqual(try fixObject(crlf.stdout)["status"] as? String, "ignored")
        try "# nothing yet\r\n".write(toFile: list, atomically: true, encoding: .utf8)
        let empty = try run(common)
        XCTAssertEqual(empty.status, 2)
        XCTAssertTrue(empty.stderr.contains("\(list) lists no commit ids"), empty.stderr)
        try "\(fix.hex)\n".write(toFile: list, atomically: true, encoding: .utf8)

        let badConfig = try run(common + ["--config", list])
        XCTAssertEqual(badConfig.status, 2)
        XCTAssertTrue(badConfig.stderr.contains("has no CONFIG_ lines"), badConfig.stderr)
        let treeIgnore = try run(["--tree", history.path, "--upstream", history.path, "--fixes", list, "--ignore", ignore])
        XCTAssertEqual(treeIgnore.status, 2)
        XCTAssertTrue(treeIgnore.stderr.contains("--ignore and --config need history"), treeIgnore.stderr)
    }
}
