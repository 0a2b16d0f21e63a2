import XCTest
@testable import KwardenBackports

final class TrailerTests: XCTestCase {
    let id = "066b86787fa3d97b7aefb5ac0a99a22dad2d15f8"

    func testBackportForms() {
        let forms = [
            "commit \(id) upstream.",
            "[ Upstream commit \(id) ]",
            "[Upstream commit \(id)]",
            "(cherry picked from commit \(id))",
            "(cherry picked from commit \(id) linux-next)",
            "(backported from commit \(id))",
            "Upstream commit \(id)",
            "upstream commit: \(id)",
            "Git-commit: \(id)",
            "commit \(id)",
            "    commit \(id) upstream.",
        ]
        for form in forms {
            let found = Trailers.backportReferences(in: "subject\n\n\(form)\nSigned-off-by: A <a@b>\n")
            XCTAssertEqual(found.map(\.hex), [id], form)
            XCTAssertEqual(found.first?.line, form.trimmingCharacters(in: .whitespaces), form)
        }
        XCTAssertEqual(Trailers.backportReferences(in: "s\n\ncommit 066b86787fa3 upstream.\n").map(\.hex), ["066b86787fa3"])
        XCTAssertEqual(Trailers.backportReferences(in: "s\n\n(cherry picked from commit 066B86787FA3)\n").map(\.hex), ["066b86787fa3"])
    }

    func testProseAndShortIdsAreNotTrailers() {
        let messages = [
            "s\n\nThis is like upstream commit \(id) but simpler.\n",
            "s\n\nSee commit \(id) upstream for details on why.\n",
            "s\n\ncommit 066b86 upstream.\n",                  // too short to resolve safely
            "s\n\ncommit 066b86787fa3\n",                      // bare id lines count only at full length
            "s\n\nFixes: \(id) (\"net: something\")\n",
        ]
        for message in messages {
            XCTAssertEqual(Trailers.backportReferences(in: message), [], message)
        }
    }

    func testRevertAndFixesTags() {
        let message = """
            Revert "net: something"

            This reverts commit \(id).

            Fixes: 066b86787fa3 ("net: core: limit the loop (really)")
            fixes: abcdef1234567
            Signed-off-by: A <a@b>
            """
        XCTAssertEqual(Trailers.revertReferences(in: message).map(\.hex), [id])
        let tags = Trailers.fixesTags(in: message)
        XCTAssertEqual(tags.map(\.hex), ["066b86787fa3", "abcdef1234567"])
        XCTAssertEqual(tags.first?.quotedSubject, "net: core: limit the loop (really)")
        XCTAssertNil(tags.last?.quotedSubject)
    }

    func testNormalizedSubject() {
        XCTAssertEqual(Trailers.normalizedSubject("UPSTREAM: net:  fix   it"), "net: fix it")
        XCTAssertEqual(Trailers.normalizedSubject("[PATCH v2 3/7] BACKPORT: net: fix it"), "net: fix it")
        XCTAssertEqual(Trailers.normalizedSubject("net: fix it"), "net: fix it")
    }

    func testFixListParsing() throws {
        let text = """
            # fixes we care about
            066b86787fa3 net: the subject as git log --oneline prints it

            \(id)   # trailing comment
            """
        let requests = try FixList.parse(text)
        XCTAssertEqual(requests.map(\.id), ["066b86787fa3", id])
        XCTAssertEqual(requests.first?.subject, "net: the subject as git log --oneline prints it")
        XCTAssertThrowsError(try FixList.parse("066b86787fa3\nnot-an-id\n", source: "list.txt")) { error in
            XCTAssertEqual((error as? BackportError)?.message, "list.txt:2: 'not-an-id' is not a commit id (4 to 40 hex digits)")
        }
    }
}
