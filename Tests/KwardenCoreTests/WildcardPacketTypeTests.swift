import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules
@testable import RuleKit

/// A scratch tree whose files can include the corpus headers (kcorpus.h, kcorpus-net.h).
final class NetScratchTree {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "kwarden-net-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let flags = "-std=gnu11\n-nostdinc\n-I\(Repository.corpus)/include\n-D__KERNEL__\n"
        try flags.write(toFile: directory + "/compile_flags.txt", atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
    }

    func scan(_ rule: String) throws -> ScanResult {
        let result = try scanCorpus([directory], rules: [rule])
        XCTAssertEqual(result.summary.filesWithErrors, 0, "scratch files must parse: \(result.parseErrors)")
        return result
    }
}

final class WildcardPacketTypeTests: XCTestCase {
    private let port = """
    #include <kcorpus-net.h>
    struct port { struct net_device *dev; unsigned long *counters; struct packet_type pt; };

    """

    private let uncheckedHandler = """
    static int port_rcv(struct sk_buff *skb, struct net_device *dev,
    \t\t    struct packet_type *pt, struct net_device *orig_dev)
    {
    \tstruct port *port = container_of(pt, struct port, pt);

    \tport->counters[0]++;
    \treturn NET_RX_SUCCESS;
    }

    """

    func testDeviceAssignedOnlyConditionallyAfterNullStillReports() throws {
        let tree = try NetScratchTree()
        try tree.write("port.c", port + uncheckedHandler + """
        void port_open(struct port *port, bool bind)
        {
        \tport->pt.type = htons(ETH_P_SLOW);
        \tport->pt.dev = NULL;
        \tif (bind)
        \t\tport->pt.dev = port->dev;
        \tport->pt.func = port_rcv;
        \tdev_add_pack(&port->pt);
        }
        """)
        let findings = try tree.scan("wildcard-packet-type").findings
        XCTAssertEqual(findings.map(\.line), [18])
        XCTAssertEqual(findings.first?.evidence.first?.line, 14, "the NULL store is the evidence")
    }

    func testHandlerCheckingSkbDeviceBeforeUseIsSilent() throws {
        let tree = try NetScratchTree()
        try tree.write("port.c", port + """
        static int port_rcv(struct sk_buff *skb, struct net_device *dev,
        \t\t    struct packet_type *pt, struct net_device *orig_dev)
        {
        \tstruct port *port = container_of(pt, struct port, pt);

        \tif (skb->dev != port->dev)
        \t\treturn NET_RX_DROP;
        \tport->counters[0]++;
        \treturn NET_RX_SUCCESS;
        }
        void port_open(struct port *port)
        {
        \tport->pt.type = htons(ETH_P_SLOW);
        \tport->pt.func = port_rcv;
        \tdev_add_pack(&port->pt);
        }
        """)
        XCTAssertEqual(try tree.scan("wildcard-packet-type").findings.count, 0)
    }

    func testTemplateWithoutDeviceCopiedIntoInstanceReports() throws {
        let tree = try NetScratchTree()
        try tree.write("port.c", port + uncheckedHandler + """
        static const struct packet_type port_template = {
        \t.type = htons(ETH_P_SLOW),
        \t.func = port_rcv,
        };
        void port_open(struct port *port)
        {
        \tport->pt = port_template;
        \tdev_add_pack(&port->pt);
        }
        """)
        let findings = try tree.scan("wildcard-packet-type").findings
        XCTAssertEqual(findings.count, 1)
        XCTAssertTrue(findings.first?.message.contains("port_rcv()") ?? false)
    }

    func testFileScopePacketTypeWithInstanceHandlerIsSilent() throws {
        let tree = try NetScratchTree()
        try tree.write("proto.c", port + uncheckedHandler + """
        static struct packet_type proto_pt = { .type = htons(ETH_P_SLOW), .func = port_rcv };
        void proto_init(void)
        {
        \tdev_add_pack(&proto_pt);
        }
        """)
        XCTAssertEqual(try tree.scan("wildcard-packet-type").findings.count, 0)
    }
}
