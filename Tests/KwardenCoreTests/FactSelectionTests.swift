import XCTest
@testable import KwardenCore
import KernelBuild
@testable import KwardenRules
@testable import RuleKit

/// Evidence passes parse a few files per topic, best ranked and nearest first, so one common
/// field name cannot crowd out the file that holds the evidence for another.
final class FactSelectionTests: XCTestCase {
    private let rule = "subtract-loop-zero-divisor"

    func testEachTopicGetsItsOwnBudgetRankedThenNearest() {
        var candidates: [(String, [String: Int])] = []
        // 30 files store 0 into a common field name near one finding...
        for i in 0..<30 { candidates.append(("/t/drivers/media/pci/x/file\(i).c", ["\(rule)|field:sg.length": 0])) }
        // ...one far-away file stores 0 into a rare field, and names its record.
        candidates.append(("/t/net/core/net-sysfs.c", ["\(rule)|field:net_device.real_num_tx_queues": 1]))
        // A nearer file that does not name the record ranks below it.
        candidates.append(("/t/net/core/dev.c", ["\(rule)|field:net_device.real_num_tx_queues": 0]))
        candidates.append(("/t/drivers/net/a.c", ["\(rule)|field:net_device.real_num_tx_queues": 0]))
        let near = ["\(rule)|field:sg.length": ["/t/drivers/media/pci/x"],
                    "\(rule)|field:net_device.real_num_tx_queues": ["/t/drivers/net"]]
        var notes: [String] = []
        let chosen = Scanner.selectFactFiles(candidates, near: near, findingDirectories: [],
                                             perTopic: 2, pass: 2, notes: &notes)
        XCTAssertEqual(chosen.filter { $0.contains("/media/") }.count, 2)
        XCTAssertTrue(chosen.contains("/t/net/core/net-sysfs.c"), "the ranked-up file is kept")
        XCTAssertTrue(chosen.contains("/t/drivers/net/a.c"), "then the nearest to the topic's finding")
        XCTAssertFalse(chosen.contains("/t/net/core/dev.c"))
        XCTAssertEqual(chosen.count, 4)
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes[0].contains("for 2 topics"), notes[0])
    }

    func testFilesComeInRoundRobinPriorityOrderSoACapOnThePassKeepsEachTopicsBest() {
        let rcu = "rcu-publish-without-sync"
        var candidates: [(String, [String: Int])] = []
        for i in 0..<3 { candidates.append(("/t/a/near\(i).c", ["\(rcu)|callee:a": 0])) }
        for i in 0..<3 { candidates.append(("/t/b/near\(i).c", ["\(rcu)|callee:b": 0])) }
        let near = ["\(rcu)|callee:a": ["/t/a"], "\(rcu)|callee:b": ["/t/b"]]
        var notes: [String] = []
        let ordered = Scanner.selectFactFiles(candidates, near: near, findingDirectories: [],
                                              perTopic: 3, pass: 2, notes: &notes)
        XCTAssertEqual(Array(ordered.prefix(2)), ["/t/a/near0.c", "/t/b/near0.c"], "each topic's first choice before any second choice")
        XCTAssertEqual(ordered.count, 6)
    }

    func testTopiclessMatchesAreNeverCappedPerTopic() {
        let candidates: [(String, [String: Int])] = (0..<5).map { ("/t/f\($0).c", ["": 0]) }
            + (0..<5).map { ("/t/g\($0).c", ["\(rule)|": 0]) }
        var notes: [String] = []
        let chosen = Scanner.selectFactFiles(candidates, near: [:], findingDirectories: ["/t"], perTopic: 1, pass: 2, notes: &notes)
        XCTAssertEqual(chosen.count, 10)
        XCTAssertTrue(notes.isEmpty)
    }

    /// The subtract rule reads candidate texts without blanks, line breaks or continuations:
    /// a zero store split over lines still answers, one of another field does not.
    func testSubtractQuestionsReadTheTextWithoutBlanks() throws {
        let text = Array("x\t p->nr_queues\r\n\t= 0;\\\n y".utf8)
        XCTAssertEqual(String(decoding: SubtractLoopText.squeezed(text[2...]), as: UTF8.self), "p->nr_queues=0;y", "a slice not starting at 0")
        XCTAssertEqual(SubtractLoopText.squeezed(text[0..<0]), [])
        let subtract = SubtractLoopZeroDivisor(metadata: try RuleRegistry.load(only: [rule], rulesDirectory: Repository.rules)[0].metadata)
        let question = SubtractLoopZeroDivisor.Question.zeroStores(field: "ring.nr_queues")
        func answers(_ text: String) -> Int? {
            let source = SourceText(text)
            return subtract.mayAnswer([question], source, naming: source.identifiers)[question]
        }
        XCTAssertEqual(answers("void f(struct ring *r)\n{\n\tr->nr_queues\n\t\t= 0;\n}\n"), 1, "names the record too")
        XCTAssertEqual(answers("WRITE_ONCE(p->nr_queues, 0);\n"), 0)
        XCTAssertNil(answers("p->nr_queues = 4;\np->head = 0;\n"))
    }

    func testDirectoryTrieCountsTheComponentsAPathSharesWithItsNearestDirectory() {
        let trie = DirectoryTrie(["/t/drivers/net/ethernet/intel/e1000e", "/t/drivers/net/wireless", "/t/net/core"])
        XCTAssertEqual(trie.deepestSharedPrefix("/t/drivers/net/ethernet/intel/e1000e/netdev.c"), 6)
        XCTAssertEqual(trie.deepestSharedPrefix("/t/drivers/net/ethernet/intel/igb/igb_main.c"), 5)
        XCTAssertEqual(trie.deepestSharedPrefix("/t/drivers/net/wirelessx/a.c"), 3, "whole components only")
        XCTAssertEqual(trie.deepestSharedPrefix("/t/net/core"), 3)
        XCTAssertEqual(trie.deepestSharedPrefix("/u/net/core/dev.c"), 0)
        XCTAssertEqual(DirectoryTrie([String]()).deepestSharedPrefix("/t/a.c"), 0)
    }

    func testIdentifierIndexMatchesWholeIdentifiersAndRemembersWhatItSearched() throws {
        let directory = NSTemporaryDirectory() + "kwarden-index-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = ["a.c": "dev->num_queues = 0;\n", "b.c": "int num_queues_max;\n", "c.c": "x = num_queues + 1;\n"]
        for (name, text) in files { try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8) }
        let index = IdentifierFileIndex(files: files.keys.sorted().map { directory + "/" + $0 })
        XCTAssertEqual(index.files(naming: ["num_queues"], jobs: 2), [directory + "/a.c", directory + "/c.c"],
                       "num_queues_max is another identifier")
        XCTAssertEqual(IdentifierFileIndex(files: files.keys.sorted().map { directory + "/" + $0 }).presence(of: ["num_queues", "dev", "num_queues_max"], jobs: 2),
                       [directory + "/a.c": ["num_queues", "dev"], directory + "/b.c": ["num_queues_max"], directory + "/c.c": ["num_queues"]],
                       "each file with the identifiers it names")
        // Known identifiers are answered from memory; new ones read the files again.
        try "int nothing;\n".write(toFile: directory + "/a.c", atomically: true, encoding: .utf8)
        XCTAssertEqual(index.files(naming: ["num_queues"], jobs: 2), [directory + "/a.c", directory + "/c.c"])
        XCTAssertEqual(index.files(naming: ["num_queues", "nothing"], jobs: 1), [directory + "/a.c", directory + "/c.c"])
        XCTAssertEqual(index.files(naming: ["dev"], jobs: 2), [], "a.c no longer names dev")
        XCTAssertEqual(index.files(naming: [], jobs: 2), [])
    }

    /// Signatures made ahead on a background thread, all or some of them, give the same answers:
    /// the first search takes what is done and makes the rest.
    func testSignaturesMadeAheadGiveTheSameAnswers() throws {
        let directory = NSTemporaryDirectory() + "kwarden-index-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var paths: [String] = []
        for index in 0..<400 {
            let path = directory + "/f\(index).c"
            try (index % 7 == 0 ? "dev->num_queues = \(index);\n" : "int other\(index);\n").write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let expected = Set(paths.enumerated().filter { $0.offset % 7 == 0 }.map(\.element))
        let whole = IdentifierFileIndex(files: paths)
        whole.prepareSignatures()
        XCTAssertEqual(whole.files(naming: ["num_queues"], jobs: 2), expected)
        // Searched while the signatures are being made.
        let racing = IdentifierFileIndex(files: paths)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { racing.prepareSignatures(); done.signal() }
        XCTAssertEqual(racing.files(naming: ["num_queues"], jobs: 2), expected)
        done.wait()
        XCTAssertEqual(racing.files(naming: ["num_queues", "other3"], jobs: 2), expected.union([paths[3]]))
        XCTAssertEqual(IdentifierFileIndex(files: paths).files(naming: ["num_queues"], jobs: 2), expected)
    }

    /// What each file confirmed is kept in the cache per search while the file's stamp holds: a
    /// rescan reads again only the files that changed.
    func testIdentifierConfirmationsAreKeptUntilAFileChanges() throws {
        let directory = NSTemporaryDirectory() + "kwarden-index-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/tree", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = ["a.c": "dev->num_queues = 0;\n", "b.c": "int num_queues_max;\n", "c.c": "x = num_queues + 1;\n"]
        for (name, text) in files { try text.write(toFile: directory + "/tree/" + name, atomically: true, encoding: .utf8) }
        let paths = files.keys.sorted().map { directory + "/tree/" + $0 }
        let cache = try ResultCache(directory: directory + "/cache")
        XCTAssertEqual(IdentifierFileIndex(files: paths, cache: cache).files(naming: ["num_queues"], jobs: 2), [paths[0], paths[2]])
        XCTAssertEqual(cache.textFactCount(family: "identifier-confirmations"), 2, "the two files whose signature may name it")
        XCTAssertEqual(IdentifierFileIndex(files: paths, cache: cache).files(naming: ["num_queues"], jobs: 2), [paths[0], paths[2]])
        try "int nothing;\n".write(toFile: paths[0], atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: paths[0])
        XCTAssertEqual(IdentifierFileIndex(files: paths, cache: cache).files(naming: ["num_queues"], jobs: 2), [paths[2]], "a.c changed")
        XCTAssertEqual(IdentifierFileIndex(files: paths, cache: cache).files(naming: ["dev", "num_queues"], jobs: 1), [paths[2]], "another search")
    }

    func testIdentifierSignatureHasNoFalseNegativesAndSkipsNumbers() {
        let text = "static int ring_wait(struct q *q) { q->num_queues = 0x1f; return -ETIMEDOUT; } /* comment_word */\n"
        let signature = IdentifierSignature(text: Array(text.utf8))
        for word in ["static", "ring_wait", "q", "num_queues", "ETIMEDOUT", "comment_word", "return"] {
            XCTAssertTrue(signature.mayContain(IdentifierSignature.hash(of: word)!), word)
        }
        XCTAssertNil(IdentifierSignature.hash(of: "0x1f"), "numbers are not identifiers")
        XCTAssertNil(IdentifierSignature.hash(of: "a.b"))
        // A small text sets few bits: most other identifiers are a certain no.
        let absent = (0..<200).filter { signature.mayContain(IdentifierSignature.hash(of: "absent_\($0)")!) }
        XCTAssertLessThan(absent.count, 10)
        let restored = IdentifierSignature(data: signature.data)
        XCTAssertEqual(restored.words, signature.words)
    }

    func testStoredSignaturesHoldOnlyWhileSizeAndModificationTimeDo() throws {
        let directory = NSTemporaryDirectory() + "kwarden-signatures-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = try ResultCache(directory: directory + "/cache")
        let file = directory + "/a.c"
        try "int ring_count;\n".write(toFile: file, atomically: true, encoding: .utf8)
        // The first index computes and stores the signature; a second one finds it in the cache.
        XCTAssertEqual(IdentifierFileIndex(files: [file], cache: cache).files(naming: ["ring_count"], jobs: 1), [file])
        let stamp = try XCTUnwrap(FileStamp(path: file))
        XCTAssertNotNil(cache.signatures(for: [file], stamps: [stamp]).first!)
        try "int ring_total_count;\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertNil(cache.signatures(for: [file], stamps: [FileStamp(path: file)]).first!, "the file changed: the signature is stale")
        XCTAssertEqual(IdentifierFileIndex(files: [file], cache: cache).files(naming: ["ring_total_count"], jobs: 1), [file])
    }
}
