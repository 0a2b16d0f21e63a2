import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

final class RcuPublishTests: XCTestCase {
    /// A device whose receive path takes a lock only when `mode` is set (a negated gate that counts
    /// unlocked and leaves when it is not).
    private let gatedDevice = """
    #include <kcorpus-net.h>
    struct mode { int n; };
    struct xdev { struct mode __rcu *mode; spinlock_t lock; unsigned long rx; };
    int check_mode(struct mode *m);

    void xdev_receive(struct xdev *d)
    {
    \tif (!rcu_dereference(d->mode)) {
    \t\td->rx++;
    \t\treturn;
    \t}
    \tspin_lock(&d->lock);
    \td->rx++;
    \tspin_unlock(&d->lock);
    }

    """

    func testWaitOnlyOnSomePathsToSuccessReports() throws {
        let tree = try NetScratchTree()
        try tree.write("mode.c", gatedDevice + """
        int xdev_enable(struct xdev *d, struct mode *m, bool quick)
        {
        \trcu_assign_pointer(d->mode, m);
        \tif (!quick)
        \t\tsynchronize_rcu();
        \treturn 0;
        }
        """)
        let findings = try tree.scan("rcu-publish-without-sync").findings
        XCTAssertEqual(findings.count, 1)
        XCTAssertEqual(findings.first?.function, "xdev_enable")
        XCTAssertTrue(findings.first?.evidence.contains { $0.function == "xdev_receive" } ?? false, "the gate reader is cited")
    }

    func testErrorLabelAfterPublishIsNotSuccess() throws {
        let tree = try NetScratchTree()
        try tree.write("mode.c", gatedDevice + """
        int xdev_enable(struct xdev *d, struct mode *m)
        {
        \tint err;

        \trcu_assign_pointer(d->mode, m);
        \terr = check_mode(m);
        \tif (err)
        \t\tgoto undo;
        \tsynchronize_net();
        \treturn 0;

        undo:
        \tRCU_INIT_POINTER(d->mode, NULL);
        \treturn err;
        }
        """)
        XCTAssertEqual(try tree.scan("rcu-publish-without-sync").findings.count, 0)
    }

    func testGateWithoutSerializationIsNotAGate() throws {
        let tree = try NetScratchTree()
        try tree.write("mode.c", """
        #include <kcorpus-net.h>
        struct mode { int n; };
        struct xdev { struct mode __rcu *mode; unsigned long rx; };

        void xdev_receive(struct xdev *d)
        {
        \tif (rcu_access_pointer(d->mode))
        \t\td->rx++;
        }

        int xdev_enable(struct xdev *d, struct mode *m)
        {
        \trcu_assign_pointer(d->mode, m);
        \treturn 0;
        }
        """)
        XCTAssertEqual(try tree.scan("rcu-publish-without-sync").findings.count, 0)
    }

    func testStaticHelperReportedOncePerUnwaitedCaller() throws {
        let tree = try NetScratchTree()
        try tree.write("mode.c", gatedDevice + """
        static int xdev_publish(struct xdev *d, struct mode *m)
        {
        \trcu_assign_pointer(d->mode, m);
        \treturn 0;
        }

        int xdev_enable_a(struct xdev *d, struct mode *m)
        {
        \treturn xdev_publish(d, m);
        }

        int xdev_enable_b(struct xdev *d, struct mode *m)
        {
        \tint err = xdev_publish(d, m);

        \tif (!err)
        \t\tsynchronize_rcu();
        \treturn err;
        }
        """)
        let findings = try tree.scan("rcu-publish-without-sync").findings
        XCTAssertEqual(findings.map(\.function), ["xdev_enable_a"])
    }
}

final class RcuPublishChainTests: XCTestCase {
    func testSeveralCallsInOneOutermostFunctionGiveOneFinding() throws {
        let tree = try NetScratchTree()
        try tree.write("mode.c", """
        #include <kcorpus-net.h>
        struct mode { int n; };
        struct xdev { struct mode __rcu *mode; spinlock_t lock; unsigned long rx; };

        void xdev_receive(struct xdev *d)
        {
        \tif (rcu_access_pointer(d->mode))
        \t\tspin_lock(&d->lock);
        }

        static int xdev_publish(struct xdev *d, struct mode *m)
        {
        \trcu_assign_pointer(d->mode, m);
        \treturn 0;
        }

        int xdev_ioctl(struct xdev *d, struct mode *m, int cmd)
        {
        \tswitch (cmd) {
        \tcase 1:
        \t\treturn xdev_publish(d, m);
        \tcase 2:
        \t\treturn xdev_publish(d, m + 1);
        \t}
        \treturn -EINVAL;
        }
        """)
        let findings = try tree.scan("rcu-publish-without-sync").findings
        XCTAssertEqual(findings.map(\.function), ["xdev_ioctl"])
        XCTAssertEqual(findings.first?.line, 21, "reported at the first call that leads to the publish")
    }
}

final class RcuGateShapeTests: XCTestCase {
    func testCheckLockRecheckIsNotAModeGate() throws {
        let tree = try NetScratchTree()
        try tree.write("mode.c", """
        #include <kcorpus-net.h>
        struct mode { int n; };
        struct xdev { struct mode __rcu *mode; spinlock_t lock; };

        void xdev_touch(struct xdev *d)
        {
        \tstruct mode *m;

        \tif (!rcu_access_pointer(d->mode))
        \t\treturn;
        \tspin_lock_bh(&d->lock);
        \tm = rtnl_dereference(d->mode);
        \tif (m)
        \t\tm->n++;
        \tspin_unlock_bh(&d->lock);
        }

        int xdev_enable(struct xdev *d, struct mode *m)
        {
        \trcu_assign_pointer(d->mode, m);
        \treturn 0;
        }
        """)
        XCTAssertEqual(try tree.scan("rcu-publish-without-sync").findings.count, 0)
    }
}

/// Evidence passes follow an unwaited publish up its callers, file by file. A file is parsed for a
/// callee only while it may add to what is known: once its calls of that callee were followed, it
/// is not parsed for it again; and a file that only binds a function to a function-pointer field
/// (`.setup = fn`) holds no call through the field.
final class RcuEvidencePassTests: XCTestCase {
    private let mode = """
    #include <kcorpus-net.h>
    struct mode { int n; };
    struct xdev { struct mode __rcu *mode; spinlock_t lock; unsigned long rx; };

    void xdev_receive(struct xdev *d)
    {
    \tif (rcu_access_pointer(d->mode))
    \t\tspin_lock(&d->lock);
    }

    int xdev_set_mode(struct xdev *d, struct mode *m)
    {
    \trcu_assign_pointer(d->mode, m);
    \treturn 0;
    }

    """

    func testEachCallerFileIsParsedOnceUpTheChain() throws {
        let tree = try NetScratchTree()
        try tree.write("mode.c", mode)
        // Neither names an RCU primitive (nor the field): found only by the evidence passes, one
        // level each.
        try tree.write("glue.c", """
        #include <kcorpus-net.h>
        struct xdev;
        int xdev_set_mode(struct xdev *d, void *cfg);

        int glue_setup(struct xdev *d, void *cfg)
        {
        \treturn xdev_set_mode(d, cfg);
        }

        """)
        try tree.write("top.c", """
        #include <kcorpus-net.h>
        struct xdev;
        int glue_setup(struct xdev *d, void *cfg);

        int top_start(struct xdev *d, void *cfg)
        {
        \treturn glue_setup(d, cfg);
        }

        """)
        let result = try tree.scan("rcu-publish-without-sync")
        XCTAssertEqual(result.findings.map(\.function), ["top_start"], "the outermost caller without a wait")
        // glue.c is asked about xdev_set_mode and, once it is known to reach it, about
        // glue_setup: it answered both when first parsed.
        XCTAssertEqual(result.summary.factFilesParsed, 2, "glue.c and top.c, each parsed once")
    }

    func testOnlyFilesUsingAFunctionPointerFieldMayCallThroughIt() {
        let rule = RcuPublishWithoutSync(metadata: try! RuleRegistry.load(only: ["rcu-publish-without-sync"], rulesDirectory: Repository.rules)[0].metadata)
        let question = RcuPublishWithoutSync.Question.pointerField("xdev_ops.setup")
        func answers(_ text: String) -> Bool {
            let source = SourceText(text)
            return rule.mayAnswer([question], source, naming: source.identifiers).keys.contains(question)
        }
        XCTAssertFalse(answers("static const struct xdev_ops ops = {\n\t.setup = my_setup,\n};\n"), "a binding is no call")
        XCTAssertFalse(answers("ops->setup = my_setup;\n"))
        XCTAssertFalse(answers("int setup(void);\n"), "named, but not as a member")
        XCTAssertTrue(answers("err = d->ops->setup(d);\n"))
        XCTAssertTrue(answers("err = (*ops.setup)(d);\n"))
        XCTAssertTrue(answers("err = INDIRECT_CALL_1(ops -> setup, my_setup, d);\n"))
        XCTAssertTrue(answers(".setup = my_setup,\n\tif (ops->setup == NULL)\n"), "a comparison is a use")
        // Callees need only be named.
        XCTAssertTrue(rule.mayAnswer([.callee("setup")], SourceText("int setup(void);"), naming: ["setup"]).keys.contains(.callee("setup")))

        // Several fields at once, one of them asked for two records.
        let several: [RcuPublishWithoutSync.Question] = [.pointerField("xdev_ops.setup"), .pointerField("ydev_ops.setup"), .pointerField("xdev_ops.stop"),
                                                         .pointerField("xdev_ops.reset"), .callee("stop")]
        let text = SourceText("static const struct xdev_ops ops = {\n\t.stop = my_stop,\n\t.reset\t= my_reset,\n};\nerr = d->ops->setup(d);\nstop(d);\n")
        XCTAssertEqual(Set(rule.mayAnswer(several, text, naming: text.identifiers).keys),
                       [.pointerField("xdev_ops.setup"), .pointerField("ydev_ops.setup"), .callee("stop")], "stop and reset are only bound")
    }

    /// The one-pass reading of member uses says what reading each name's occurrences in turn does.
    func testMemberUsesReadInOnePassAsNameByName() {
        func usesMember(_ name: String, in source: SourceText) -> Bool {
            let bytes = source.bytes
            func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d }
            var used = false
            source.forEachIdentifier(name) { occurrence in
                var before = occurrence.lowerBound - 1
                while before >= 0, isSpace(bytes[before]) { before -= 1 }
                guard before >= 0, bytes[before] == UInt8(ascii: ".") || (bytes[before] == UInt8(ascii: ">") && before > 0 && bytes[before - 1] == UInt8(ascii: "-")) else { return true }
                var after = occurrence.upperBound
                while after < bytes.count, isSpace(bytes[after]) { after += 1 }
                used = !(after < bytes.count && bytes[after] == UInt8(ascii: "=") && !(after + 1 < bytes.count && bytes[after + 1] == UInt8(ascii: "=")))
                return !used
            }
            return used
        }
        let pieces = ["ops->setup", ".setup = f", "setup", "->", ".", " ", "\n", "=", "==", "(", ")", "x", "setup_x", "xsetup", "->stop", ".stop\t=", "stop", ";", "- >setup", "->\n\tstop(", "->s"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let text = (0..<Int.random(in: 0...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let source = SourceText(text)
            let names: Set<String> = ["setup", "stop", "s", "x"]
            let expected = Set(names.filter { usesMember($0, in: source) })
            XCTAssertEqual(RcuPublishWithoutSync.membersUsed(among: names, in: source), expected, text)
        }
    }
}
