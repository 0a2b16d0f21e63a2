import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// The scanner on bad input: every problem is reported and counted, none stops the scan.
final class ScannerTests: ScratchDirectoryTestCase {
    override func tearDownWithError() throws {
        try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory + "/locked.c")
        try super.tearDownWithError()
    }

    func testUnreadableNonUTF8AndBrokenFilesAreReportedWithoutStoppingTheScan() throws {
        try write("good.c", spinning)
        try write("locked.c", spinning)
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: directory + "/locked.c")
        var latin1 = Array("/* caf".utf8) + [0xE9] + Array(" */\n".utf8)
        latin1 += Array(spinning.utf8)
        try Data(latin1).write(to: URL(fileURLWithPath: directory + "/latin1.c"))
        try write("broken.c", "#include \"missing-header.h\"\n" + spinning + "int broken(void) { return undeclared_thing; }\n")

        let result = try scanCorpus([directory])
        let files = Set(result.findings.map(\.file))
        XCTAssertTrue(files.contains("good.c"))
        XCTAssertTrue(files.contains("latin1.c"), "a non-UTF-8 file is still scanned")
        XCTAssertTrue(files.contains("broken.c"), "a file with parse errors is still checked on what libclang recovered")
        XCTAssertEqual(result.summary.filesConsidered, 4)
        if getuid() != 0 {
            XCTAssertEqual(result.failures.map(\.file), ["locked.c"])
            XCTAssertTrue(result.failures[0].reason.contains("permission denied"))
        }
        XCTAssertEqual(result.summary.filesWithErrors, 1)
        XCTAssertGreaterThanOrEqual(result.summary.parseErrors, 2)
        XCTAssertEqual(result.parseErrors.first?.file, "broken.c")
        XCTAssertTrue(result.notes.contains { $0.contains("not valid UTF-8") && $0.contains("latin1.c") })
    }

    func testMissingPathIsCountedAsFailureAndOthersStillScan() throws {
        try write("good.c", spinning)
        let result = try scanCorpus([directory + "/good.c", directory + "/nope.c"])
        XCTAssertEqual(result.findings.count, 1)
        XCTAssertEqual(result.summary.filesFailed, 1)
        XCTAssertTrue(result.failures[0].reason.contains("no such file"))
    }

    func testNothingToScanIsAnError() throws {
        XCTAssertThrowsError(try scanCorpus([directory + "/does-not-exist"]))
    }

    /// A worker that dies (as libclang does on a crash) costs one file; the scan goes on with a new worker.
    func testWorkerCrashCostsOneFileOnly() throws {
        guard let executable = Repository.executable else { throw XCTSkip("kwarden executable not built beside the tests") }
        for name in ["a.c", "b.c", "crashes.c", "d.c"] { try write(name, spinning) }
        setenv("KWARDEN_TEST_CRASH_ON", "crashes.c", 1)
        defer { unsetenv("KWARDEN_TEST_CRASH_ON") }
        let result = try scanCorpus([directory], isolation: .processes(executable: executable))
        XCTAssertEqual(Set(result.findings.map(\.file)), ["a.c", "b.c", "d.c"])
        XCTAssertEqual(result.failures.map(\.file), ["crashes.c"])
        XCTAssertTrue(result.failures[0].reason.contains("crashed"), result.failures[0].reason)
        XCTAssertEqual(result.summary.filesParsed, 3)
    }

    /// Killing a scan kills its workers, even though a sibling may hold their job pipe open.
    func testWorkerExitsWhenItsScanDies() throws {
        guard let executable = Repository.executable else { throw XCTSkip("kwarden executable not built beside the tests") }
        let pidFile = directory + "/worker.pid"
        // A FIFO held open here for writing: no end of input ever reaches the worker.
        let fifo = directory + "/jobs"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let held = open(fifo, O_RDWR)
        defer { close(held) }
        let parent = Process()
        parent.executableURL = URL(fileURLWithPath: "/bin/sh")
        parent.arguments = ["-c", "\"$0\" worker --rules subtract-loop-zero-divisor --rules-dir \"$1\" < \"$3\" >/dev/null 2>&1 & echo $! > \"$2\"; wait",
                            executable, Repository.rules, pidFile, fifo]
        parent.standardOutput = FileHandle.nullDevice
        try parent.run()
        var pidText = ""
        for _ in 0..<50 where pidText.isEmpty {
            usleep(100_000)
            pidText = (try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        }
        let pid = try XCTUnwrap(Int32(pidText))
        usleep(1_000_000)   // let the worker start (a slow runner) before its parent dies
        kill(parent.processIdentifier, SIGKILL)
        func running() -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            let state = stat.split(separator: ")").last?.split(separator: " ").first
            return state != "Z" && state != "X"
        }
        let deadline = Date().addingTimeInterval(5)
        while running() && Date() < deadline { usleep(100_000) }
        XCTAssertFalse(running(), "worker \(pid) outlived its parent")
        if running() { kill(pid, SIGKILL) }
        parent.waitUntilExit()   // only now: Foundation also waits for the worker, which inherited its exit pipe
    }

    func testWorkerProcessesGiveTheSameFindingsAsThreads() throws {
        guard let executable = Repository.executable else { throw XCTSkip("kwarden executable not built beside the tests") }
        let threads = try scanCorpus([Repository.corpus])
        let processes = try scanCorpus([Repository.corpus], isolation: .processes(executable: executable))
        XCTAssertEqual(threads.findings.map(\.fingerprint), processes.findings.map(\.fingerprint))
        XCTAssertEqual(threads.findings.map(\.evidence), processes.findings.map(\.evidence))
        XCTAssertFalse(threads.findings.isEmpty)
    }

    func testFingerprintsSurviveLineShifts() throws {
        try write("good.c", spinning)
        let before = try scanCorpus([directory]).findings
        try write("good.c", "/* a new comment\n * pushes everything down\n */\n\n" + spinning)
        let after = try scanCorpus([directory]).findings
        XCTAssertEqual(before.count, 1)
        XCTAssertEqual(before.map(\.fingerprint), after.map(\.fingerprint))
        XCTAssertEqual(after[0].line, before[0].line + 4)
    }

    func testUnknownRuleIsAClearError() {
        XCTAssertThrowsError(try RuleRegistry.load(only: ["no-such-rule"], rulesDirectory: Repository.rules)) { error in
            XCTAssertTrue("\(error)".contains("unknown rule no-such-rule"))
        }
    }
}
