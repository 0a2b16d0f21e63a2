import Foundation
import GitKit
import XCTest
@testable import KwardenBackports

final class HistoryCheckerTests: XCTestCase {
    func check(_ repos: ScenarioRepositories, _ keys: [String], followUps: Bool = false,
               extraIds: [String] = []) throws -> BackportReport {
        let s = repos.scenario
        let ids = keys.map { key -> String in
            if key == "A" { return s.base.a.hex }
            return s.upstream[key]!.short(12) // abbreviated ids, as people paste them
        } + extraIds
        let checker = try HistoryChecker(options: HistoryOptions(
            vendorPath: repos.vendorPath, branch: "vendor", upstreamPath: repos.upstreamPath,
            upstreamRef: repos.upstreamPath == nil ? "upstream" : nil, followUps: followUps))
        return try checker.run(.requests(ids.map { FixRequest(id: $0) }))
    }

    func fix(_ report: BackportReport, _ oid: Oid) -> FixReport? { report.fixes.first { $0.commit == oid.hex } }

    func assertVerdicts(_ repos: ScenarioRepositories, file: StaticString = #filePath, line: UInt = #line) throws {
        let s = repos.scenario
        let keys = ["A", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11"]
        let report = try check(repos, keys, extraIds: ["0123456789abcdef0123456789abcdef01234567"])
        func verdict(_ key: String) -> (FixStatus, String) {
            let oid = key == "A" ? s.base.a : s.upstream[key]!
            guard let found = fix(report, oid) else { return (.unknown, "not reported") }
            return (found.status, found.how)
        }
        let expected: [String: (FixStatus, String)] = [
            "A": (.present, "ancestor"), "F1": (.present, "trailer"), "F2": (.present, "patch-id"),
            "F3": (.present, "trailer"), "F4": (.reverted, ""), "F5": (.notNeeded, ""), "F6": (.missing, ""),
            "F7": (.missing, ""), "F8": (.present, "trailer"), "F9": (.present, "subject"), "F10": (.missing, ""),
            "F11": (.reverted, ""),
        ]
        for key in keys {
            let (status, how) = verdict(key)
            XCTAssertEqual(status, expected[key]!.0, "status of \(key)", file: file, line: line)
            XCTAssertEqual(how, expected[key]!.1, "how of \(key)", file: file, line: line)
        }
        let unknown = report.fixes.last!
        XCTAssertEqual(unknown.status, .unknown, file: file, line: line)
        XCTAssertTrue(unknown.note?.contains("not in the upstream repository") ?? false, file: file, line: line)

        // Evidence names the vendor commit and the line that decided.
        let f1 = fix(report, s.upstream["F1"]!)!
        XCTAssertEqual(f1.evidence, [Evidence(commit: s.vendor["T1"]!.hex, line: "commit \(s.upstream["F1"]!.hex) upstream.")],
                       file: file, line: line)
        XCTAssertEqual(f1.fixesOfFixes.map(\.commit), [s.upstream["F6"]!.hex], file: file, line: line)
        XCTAssertEqual(f1.fixesOfFixes.first?.status, .missing, file: file, line: line)
        XCTAssertEqual(fix(report, s.upstream["F2"]!)!.evidence.map(\.commit), [s.vendor["V4"]!.hex], file: file, line: line)
        XCTAssertEqual(fix(report, s.upstream["F3"]!)!.evidence.first?.line,
                       "[ Upstream commit \(s.upstream["F3"]!.short(12)) ]", file: file, line: line)
        XCTAssertEqual(fix(report, s.upstream["F8"]!)!.evidence.map(\.commit), [s.vendor["V7"]!.hex], file: file, line: line)
        XCTAssertEqual(fix(report, s.upstream["F9"]!)!.evidence.map(\.commit), [s.vendor["V8"]!.hex], file: file, line: line)
        let f4 = fix(report, s.upstream["F4"]!)!
        XCTAssertEqual(f4.evidence.map(\.commit), [s.vendor["V6"]!.hex, s.vendor["V10"]!.hex], file: file, line: line)
        XCTAssertEqual(f4.evidence.last?.line, "This reverts commit \(s.vendor["V6"]!.hex).", file: file, line: line)
        let f11 = fix(report, s.upstream["F11"]!)!
        XCTAssertEqual(f11.evidence.map(\.commit), [s.vendor["V9"]!.hex, s.vendor["V11"]!.hex], file: file, line: line)
        let f5 = fix(report, s.upstream["F5"]!)!
        XCTAssertEqual(f5.fixes.map(\.commit), [s.upstream["B"]!.hex], file: file, line: line)
        XCTAssertEqual(f5.fixes.first?.shipped, false, file: file, line: line)
        // A missing fix shows where the bug it fixes entered the branch.
        let f7 = fix(report, s.upstream["F7"]!)!
        XCTAssertEqual(f7.evidence.first?.commit, s.base.a.hex, file: file, line: line)
        XCTAssertEqual(f7.fixes.first?.shipped, true, file: file, line: line)
        XCTAssertEqual(report.summary.present, 6, file: file, line: line)
        XCTAssertEqual(report.summary.missing, 3, file: file, line: line)
        XCTAssertEqual(report.summary.reverted, 2, file: file, line: line)
        XCTAssertEqual(report.summary.notNeeded, 1, file: file, line: line)
        XCTAssertEqual(report.summary.unknown, 1, file: file, line: line)
        XCTAssertTrue(report.hasMissingNeededFix, file: file, line: line)
    }

    func testVerdictsWithBothHistoriesInOneRepository() throws {
        try assertVerdicts(try .sharedRepository())
    }

    func testVerdictsWithSeparateUpstreamRepository() throws {
        try assertVerdicts(try .separateRepositories())
    }

    func testSharedRepositoryWithoutUpstreamRefReadsTheWholeBranch() throws {
        let repos = try ScenarioRepositories.sharedRepository()
        let s = repos.scenario
        let keys = ["F1", "F2", "F3", "F4", "F5", "F7", "F11"]
        let report = try HistoryChecker(options: HistoryOptions(vendorPath: repos.vendorPath, branch: "vendor"))
            .run(.requests(keys.map { FixRequest(id: s.upstream[$0]!.hex) }))
        XCTAssertEqual(report.fixes.map(\.status), [.present, .present, .present, .reverted, .notNeeded, .missing, .reverted])
        XCTAssertEqual(report.warnings.count, 1)
        XCTAssertTrue(report.warnings[0].hasPrefix("no --upstream-ref: all 15 commits of vendor were read"), report.warnings[0])
    }

    /// The vendor merged a stable branch of the upstream repository; its commit citing F7 is read even though the
    /// upstream repository has it (it is not on upstream's branch).
    func testStableBranchMergedIntoTheVendorBranch() throws {
        let repos = try ScenarioRepositories.separateRepositories()
        let s = repos.scenario
        let upstream = try Repository(open: repos.upstreamPath!)
        let vendor = try Repository(open: repos.vendorPath)
        let util = Scenario.paths.util
        var stableFiles = s.baseFiles
        let baseUtil = SourceFile(lines: s.baseFiles[util]!.split(separator: "\n").map(String.init))
        stableFiles[util] = baseUtil.replacing(24, with: ["\tspin_unlock(&lock);", "\treturn ret;"]).text
        let message = "lib: fix missing unlock\n\ncommit \(s.upstream["F7"]!.hex) upstream.\n"
        let stableAuthor = Signature(name: "Stable Team", email: "stable@example.org", time: 1_800_000_000)
        var stableIds: [Oid] = []
        for repository in [upstream, vendor] {
            stableIds.append(try repository.createCommit(tree: try repository.writeTree(files: stableFiles), parents: [s.base.a],
                                                         message: message, author: stableAuthor, updateRef: "refs/heads/linux-6.1.y"))
        }
        XCTAssertEqual(stableIds[0], stableIds[1])
        var merged = Dictionary(uniqueKeysWithValues: try vendor.files(inTree: try vendor.commit(s.vendorTip).treeId)
            .map { ($0.path, $0.blob) })
        merged[util] = try vendor.writeBlob(Array(stableFiles[util]!.utf8))
        try vendor.createCommit(tree: try vendor.writeTree(blobs: merged), parents: [s.vendorTip, stableIds[0]],
                                message: "Merge tag 'v6.1.99' into vendor\n", author: stableAuthor,
                                updateRef: "refs/heads/vendor")

        // The stable commit itself (it is in the upstream repository too) is found by ancestry through the merge.
        let report = try check(repos, ["F7", "F1"], extraIds: [stableIds[0].hex])
        XCTAssertEqual(report.fixes.map(\.status), [.present, .present, .present])
        XCTAssertEqual(report.fixes[0].how, "trailer")
        XCTAssertEqual(report.fixes[0].evidence, [Evidence(commit: stableIds[0].hex, line: "commit \(s.upstream["F7"]!.hex) upstream.")])
        XCTAssertEqual(report.fixes[2].how, "ancestor")
    }

    func testContextChangedBackportHasADifferentPatchID() throws {
        let repos = try ScenarioRepositories.separateRepositories()
        let upstream = try Repository(open: repos.upstreamPath!)
        let vendor = try Repository(open: repos.vendorPath)
        let upstreamF3 = try upstream.commit(repos.scenario.upstream["F3"]!).diff().stablePatchID()
        let vendorF3 = try vendor.commit(repos.scenario.vendor["V5"]!).diff().stablePatchID()
        XCTAssertNotNil(upstreamF3)
        XCTAssertNotEqual(upstreamF3, vendorF3)
        // …while the silent pick over shifted lines and other whitespace keeps F2's patch-id.
        XCTAssertEqual(try upstream.commit(repos.scenario.upstream["F2"]!).diff().stablePatchID(),
                       try vendor.commit(repos.scenario.vendor["V4"]!).diff().stablePatchID())
    }

    func testFollowUpsFindFixesOfFixesOutsideTheList() throws {
        let repos = try ScenarioRepositories.separateRepositories()
        let without = try check(repos, ["F1"])
        XCTAssertEqual(without.fixes.first?.fixesOfFixes, [])
        XCTAssertFalse(without.hasMissingNeededFix)
        let with = try check(repos, ["F1"], followUps: true)
        XCTAssertEqual(with.fixes.first?.fixesOfFixes.map(\.commit), [repos.scenario.upstream["F6"]!.hex])
        XCTAssertTrue(with.hasMissingNeededFix)
    }

    func testRangeSelectsEveryCommitWithAFixesTag() throws {
        let repos = try ScenarioRepositories.sharedRepository()
        let s = repos.scenario
        let checker = try HistoryChecker(options: HistoryOptions(vendorPath: repos.vendorPath, branch: "vendor",
                                                                 upstreamRef: "upstream"))
        let report = try checker.run(.range("\(s.base.a.hex)..upstream"))
        let expected = ["F1", "F2", "F3", "F4", "F8", "F5", "F6", "F7", "F9", "F11"].map { s.upstream[$0]!.hex }
        XCTAssertEqual(Set(report.fixes.map(\.commit)), Set(expected))
        XCTAssertEqual(report.fixes.count, expected.count)
        // Oldest first: F1 before F11.
        XCTAssertEqual(report.fixes.first?.commit, s.upstream["F1"]!.hex)
        XCTAssertEqual(report.fixes.last?.commit, s.upstream["F11"]!.hex)
        // F6 is in the range, so it shows up as F1's missing follow-up without --follow-ups.
        XCTAssertEqual(report.fixes.first?.fixesOfFixes.map(\.commit), [s.upstream["F6"]!.hex])
    }

    func testAllPresentExitsClean() throws {
        let repos = try ScenarioRepositories.separateRepositories()
        let report = try check(repos, ["F1", "F2", "F5"])
        XCTAssertEqual(report.fixes.map(\.status), [.present, .present, .notNeeded])
        XCTAssertFalse(report.hasMissingNeededFix)
        XCTAssertEqual(BackportOutput.exitStatus(report), 0)
        XCTAssertEqual(BackportOutput.exitStatus(try check(repos, ["F7"])), 1)
    }
}
