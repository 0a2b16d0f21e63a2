import Foundation
import GitKit
import XCTest
@testable import KwardenBackports

/// Every way the input can be unusable gives one clear message (exit status 2 in the command), never a crash.
final class BadInputTests: XCTestCase {
    func assertRefused(_ options: HistoryOptions, _ source: FixSource = .requests([]), mentions expected: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try HistoryChecker(options: options).run(source), file: file, line: line) { error in
            guard let error = error as? BackportError else {
                return XCTFail("unexpected error type \(error)", file: file, line: line)
            }
            XCTAssertTrue(error.message.contains(expected), "'\(error.message)' should mention '\(expected)'",
                          file: file, line: line)
        }
    }

    func smallRepository(at path: String, bare: Bool = false) throws -> (Repository, Oid) {
        let repository = try Repository(initAt: path, bare: bare)
        let commit = try HistoryBuilder(repository).commit(["a.c": "int a;\n"], parents: [], message: "a\n", branch: "main")
        try repository.setHead("refs/heads/main")
        return (repository, commit)
    }

    func testNotARepository() throws {
        let scratch = try ScratchDirectory()
        assertRefused(HistoryOptions(vendorPath: scratch.path), mentions: "\(scratch.path) is not a git repository")
        assertRefused(HistoryOptions(vendorPath: scratch.sub("missing")), mentions: "does not exist")
        let (_, _) = try smallRepository(at: scratch.sub("vendor"))
        assertRefused(HistoryOptions(vendorPath: scratch.sub("vendor"), upstreamPath: scratch.path),
                      mentions: "upstream repository \(scratch.path) is not a git repository")
    }

    func testBareVendorRepository() throws {
        let scratch = try ScratchDirectory()
        _ = try smallRepository(at: scratch.sub("bare.git"), bare: true)
        assertRefused(HistoryOptions(vendorPath: scratch.sub("bare.git")), mentions: "is a bare repository")
    }

    func testShallowRepositories() throws {
        let scratch = try ScratchDirectory()
        let (repository, commit) = try smallRepository(at: scratch.sub("shallow"))
        XCTAssertTrue(FileManager.default.createFile(atPath: repository.gitDirectory + "shallow",
                                                     contents: Data((commit.hex + "\n").utf8)))
        assertRefused(HistoryOptions(vendorPath: scratch.sub("shallow")), mentions: "is a shallow clone")
        _ = try smallRepository(at: scratch.sub("vendor"))
        assertRefused(HistoryOptions(vendorPath: scratch.sub("vendor"), upstreamPath: scratch.sub("shallow")),
                      mentions: "upstream repository \(scratch.sub("shallow")) is a shallow clone")
    }

    func testUnknownRevisions() throws {
        let scratch = try ScratchDirectory()
        _ = try smallRepository(at: scratch.sub("repo"))
        let path = scratch.sub("repo")
        assertRefused(HistoryOptions(vendorPath: path, branch: "no-such-branch"), mentions: "unknown revision 'no-such-branch'")
        assertRefused(HistoryOptions(vendorPath: path, upstreamRef: "origin/master"),
                      mentions: "unknown revision 'origin/master'")
        assertRefused(HistoryOptions(vendorPath: path), .range("v6.1..v6.2"), mentions: "unknown revision range 'v6.1..v6.2'")
        // An empty repository has no HEAD commit to audit.
        _ = try Repository(initAt: scratch.sub("empty"))
        assertRefused(HistoryOptions(vendorPath: scratch.sub("empty")), mentions: "unknown revision 'HEAD'")
    }

    func testAmbiguousFixId() throws {
        let scratch = try ScratchDirectory()
        let repository = try Repository(initAt: scratch.sub("repo"))
        let builder = HistoryBuilder(repository)
        // Commit until two commits share their first four hex digits (about 300 commits on average).
        var byPrefix: [String: Oid] = [:]
        var tip: Oid?
        var collision: String?
        for index in 0..<5000 where collision == nil {
            tip = try builder.commit(["n.txt": "\(index)\n"], parents: tip.map { [$0] } ?? [], message: "commit \(index)\n",
                                     branch: "main")
            let prefix = tip!.short(4)
            if byPrefix[prefix] != nil { collision = prefix }
            byPrefix[prefix] = tip
        }
        try repository.setHead("refs/heads/main")
        let prefix = try XCTUnwrap(collision)
        assertRefused(HistoryOptions(vendorPath: scratch.sub("repo")), .requests([FixRequest(id: prefix)]),
                      mentions: "fix id '\(prefix)' is ambiguous")
        // More digits make it unique again.
        let unique = byPrefix[prefix]!.short(12)
        let report = try HistoryChecker(options: HistoryOptions(vendorPath: scratch.sub("repo")))
            .run(.requests([FixRequest(id: unique)]))
        XCTAssertEqual(report.fixes.first?.commit, byPrefix[prefix]!.hex)
        XCTAssertEqual(report.fixes.first?.status, .present)
        XCTAssertEqual(report.fixes.first?.how, "ancestor")
    }
}
