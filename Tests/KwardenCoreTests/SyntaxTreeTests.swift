import Foundation
import XCTest
import ClangKit

/// A node's descendants are read off its root's depth-first list: the same nodes, in the same
/// order, as a walk of the children, for every node of a tree (nested statements, macros, a
/// node without children).
final class SyntaxTreeTests: XCTestCase {
    func testDescendantsAreTheDepthFirstWalkOfEveryNode() throws {
        let directory = NSTemporaryDirectory() + "kwarden-tree-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/ring.c"
        try """
            #define WRAP(x) ((x) + 1)
            struct ring { int count; int head; };
            int walk(struct ring *r, int n)
            {
            \tint i, sum = 0;
            \tfor (i = 0; i < n; i++) {
            \t\tif (r->count > i)
            \t\t\tsum += WRAP(r->head) * i;
            \t\telse
            \t\t\tbreak;
            \t}
            \twhile (sum >= n)
            \t\tsum -= n;
            \treturn sum ? sum : -1;
            }

            """.write(toFile: file, atomically: true, encoding: .utf8)
        let unit = try ClangIndex().parse(file: file, arguments: ["-std=gnu11"])
        let definition = try XCTUnwrap(unit.topLevel.first { $0.kind == .functionDecl && $0.spelling == "walk" })
        let root = Node.tree(of: definition, in: unit)
        func walk(_ node: Node) -> [Node] { node.children.flatMap { [$0] + walk($0) } }
        var all = [root]
        all += walk(root)
        XCTAssertGreaterThan(all.count, 40)
        for node in all {
            XCTAssertTrue(node.descendants().elementsEqual(walk(node), by: ===), "\(node.kind) at \(node.position.line)")
            let calls = node.descendants { $0.kind == .binaryOperator || $0.kind == .compoundAssignOperator }
            XCTAssertTrue(calls.elementsEqual(walk(node).filter { $0.kind == .binaryOperator || $0.kind == .compoundAssignOperator }, by: ===))
        }
        XCTAssertEqual(root.descendants { $0.kind.isLoop }.map(\.kind), [.forStmt, .whileStmt])
        XCTAssertEqual(root.descendants { $0.kind == .compoundAssignOperator }.map { $0.position.line }, [8, 13])
    }
}
