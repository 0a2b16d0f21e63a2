import Foundation
import XCTest
import ClangKit

/// A node's descendants are read off its root's depth-first list: the same nodes, in the same
/// order, as a walk of the children, for every node of a tree (nested statements, macros, a
/// node without children).
final class SyntaxTreeTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "kwarden-tree-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    /// `source` parsed as a file of its own, and the definition of `function` in it.
    private func definition(of function: String, in source: String) throws -> (unit: TranslationUnit, cursor: Cursor) {
        let file = directory + "/" + function + ".c"
        try source.write(toFile: file, atomically: true, encoding: .utf8)
        let unit = try ClangIndex().parse(file: file, arguments: ["-std=gnu11"])
        return (unit, try XCTUnwrap(unit.topLevel.first { $0.kind == .functionDecl && $0.spelling == function }))
    }

    func testDescendantsAreTheDepthFirstWalkOfEveryNode() throws {
        let (unit, definition) = try definition(of: "walk", in: """
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

            """)
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

    /// The tree comes from one libclang visit of the whole function; it is the tree libclang
    /// gives when each node is asked for its children, case labels included (whose constants
    /// the visit reports twice).
    func testOneVisitGivesTheTreeOfAskingEachNodeForItsChildren() throws {
        let (unit, definition) = try definition(of: "pick", in: """
            #define MODE_MASK 0x3
            enum mode { MODE_OFF = 4, MODE_ON };
            struct dev { int mode; int (*op)(int); };
            int pick(struct dev *d, int v)
            {
            \tswitch (v & MODE_MASK) {
            \tcase 1:
            \t\treturn d->op(v);
            \tcase -1:
            \tcase MODE_ON:
            \t\td->mode = (int)sizeof(*d);
            \t\tbreak;
            \tcase 2 ... 3:
            \t\treturn v > 2 ? 1 : 0;
            \tdefault:
            \t\tdo { v--; } while (v > 0);
            \t}
            \treturn v;
            }

            """)
        let root = Node.tree(of: definition, in: unit)
        func shape(_ node: Node) -> String { "\(node.kind)(" + node.children.map(shape).joined(separator: " ") + ")" }
        func asked(_ cursor: Cursor) -> String { "\(cursor.kind)(" + cursor.children.map(asked).joined(separator: " ") + ")" }
        XCTAssertEqual(shape(root), asked(definition))
        XCTAssertEqual(root.descendants { $0.kind == .caseStmt }.count, 4)
        for (index, node) in root.descendants().enumerated() {
            XCTAssertTrue(node.parent!.children[node.indexInParent] === node)
            XCTAssertTrue(node.parent === root || root.descendants().firstIndex { $0 === node.parent }! < index)
        }
    }
}
