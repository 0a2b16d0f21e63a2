import Foundation
import GitKit

/// The upstream and vendor histories the history-mode tests audit.
///
/// Upstream: A (bug) is shipped; B (bug) comes after the vendor forked. F1…F11 fix them, F6 fixes F1, F8 lives on
/// a side branch merged upstream. Vendor (forked at A): a topic branch merged with F1's plain cherry-pick (trailer),
/// F2 picked silently with shifted lines and different whitespace (patch-id), F3 backported over changed context
/// (trailer, different patch-id), F4 backported then reverted, F8 picked with an abbreviated id, a commit with F9's
/// subject but another change (subject), F11 picked silently then undone by its inverse patch.
struct Scenario {
    var base: (initial: Oid, a: Oid)!
    var upstream: [String: Oid] = [:]
    var vendor: [String: Oid] = [:]
    var upstreamTip: Oid!
    var vendorTip: Oid!
    /// Files of A, the commit the vendor forked from.
    var baseFiles: [String: String] = [:]

    static let paths = (
        dev: "net/core/dev.c", netpoll: "net/core/netpoll.c",
        i40e: "drivers/net/ethernet/intel/i40e/i40e_main.c", bond: "drivers/net/bonding/bond_alb.c",
        util: "lib/util.c", extra: "lib/extra.c", notes: "vendor/notes.txt")

    static func signedOff(_ body: String) -> String { body + "\nSigned-off-by: Upstream Dev <upstream.dev@example.org>\n" }

    /// The two commits both histories share; deterministic, so both repositories get the same ids.
    mutating func buildBase(_ builder: HistoryBuilder, branch: String) throws {
        let p = Scenario.paths
        var files: [String: SourceFile] = [
            p.dev: SourceFile(name: "dev"), p.netpoll: SourceFile(name: "netpoll"), p.i40e: SourceFile(name: "i40e"),
            p.bond: SourceFile(name: "bond"), p.util: SourceFile(name: "util"), p.extra: SourceFile(name: "extra"),
        ]
        let initial = try builder.commit(files.mapValues(\.text), parents: [], message: "Initial import\n", branch: branch)
        files[p.dev] = files[p.dev]!.replacing(10, with: ["\tqueue = hash % count;"])
        let a = try builder.commit(files.mapValues(\.text), parents: [initial],
                                   message: Scenario.signedOff("net: add queue selection\n"), branch: branch)
        base = (initial, a)
        baseFiles = files.mapValues(\.text)
    }

    mutating func buildUpstream(_ builder: HistoryBuilder, branch: String) throws {
        let p = Scenario.paths
        let a12 = base.a.short(12)
        var files = baseFiles.mapValues { SourceFile(lines: $0.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)) }
        var tip = base.a
        func commit(_ key: String, _ message: String, parents: [Oid]? = nil) throws {
            tip = try builder.commit(files.mapValues(\.text), parents: parents ?? [tip], message: message, branch: branch)
            upstream[key] = tip
        }
        files[p.bond] = files[p.bond]!.replacing(5, with: ["\tdev_add_pack(&arp_pkt_type); /* .dev = NULL */"])
        try commit("B", Scenario.signedOff("bonding: register ARP handler for all devices\n"))
        let b12 = tip.short(12)
        files[p.dev] = files[p.dev]!.replacing(12, with: ["\tif (!count)", "\t\treturn 0;"])
        try commit("F1", Scenario.signedOff("net: fix zero divisor in queue selection\n\nFixes: \(a12) (\"net: add queue selection\")"))
        let f1 = tip.short(12)
        files[p.netpoll] = files[p.netpoll]!.inserting(["\tsynchronize_rcu();"], after: 20)
        try commit("F2", Scenario.signedOff("netpoll: synchronize_rcu before publishing npinfo\n\nFixes: \(a12) (\"net: add queue selection\")"))
        files[p.i40e] = files[p.i40e]!.replacing(20, with: ["\tif (i40e_ring_disable(ring))", "\t\treturn -ETIMEDOUT;"])
        try commit("F3", Scenario.signedOff("i40e: do not free rings when disable times out\n\nFixes: \(base.a.hex)"))
        files[p.util] = files[p.util]!.replacing(8, with: ["\tif (check_add_overflow(a, b, &sum))", "\t\treturn -EOVERFLOW;"])
        try commit("F4", Scenario.signedOff("lib: fix overflow in helper\n\nFixes: \(a12) (\"net: add queue selection\")"))
        let forkOfSide = tip
        var sideFiles = files
        sideFiles[p.extra] = sideFiles[p.extra]!.replacing(5, with: ["\tvalue = DIV_ROUND_UP(value, step);"])
        let side = try builder.commit(sideFiles.mapValues(\.text), parents: [forkOfSide],
                                      message: Scenario.signedOff("util: fix rounding\n\nFixes: \(a12) (\"net: add queue selection\")"),
                                      branch: "util-fixes")
        upstream["F8"] = side
        files[p.bond] = files[p.bond]!.replacing(6, with: ["\tif (!bond_info->rx_hashtbl)", "\t\treturn;"])
        try commit("F5", Scenario.signedOff("bonding: fix NULL hash table dereference in rlb\n\nFixes: \(b12) (\"bonding: register ARP handler for all devices\")"))
        files[p.extra] = sideFiles[p.extra]!
        try commit("M", "Merge branch 'util-fixes'\n", parents: [tip, side])
        files[p.dev] = files[p.dev]!.replacing(30, with: ["\tif (unlikely(!count))", "\t\treturn 0;"])
        try commit("F6", Scenario.signedOff("net: handle zero divisor in the fast path too\n\nFixes: \(f1) (\"net: fix zero divisor in queue selection\")"))
        files[p.util] = files[p.util]!.replacing(25, with: ["\tspin_unlock(&lock);", "\treturn ret;"])
        try commit("F7", Scenario.signedOff("lib: fix missing unlock\n\nFixes: \(a12) (\"net: add queue selection\")"))
        files[p.extra] = files[p.extra]!.replacing(30, with: ["\treturn -result;"])
        try commit("F9", Scenario.signedOff("lib: fix sign of helper result\n\nFixes: \(a12) (\"net: add queue selection\")"))
        files[p.dev] = files[p.dev]!.replacing(35, with: ["\tWARN_ON_ONCE(queue >= count);"])
        try commit("F10", Scenario.signedOff("net: harden queue selection\n"))
        files[p.dev] = files[p.dev]!.replacing(20, with: ["\tdev_put(dev);", "\treturn queue;"])
        try commit("F11", Scenario.signedOff("net: fix refcount leak in queue selection\n\nFixes: \(a12) (\"net: add queue selection\")"))
        upstreamTip = tip
    }

    mutating func buildVendor(_ builder: HistoryBuilder, branch: String) throws {
        let p = Scenario.paths
        let author = "Vendor Dev"
        var files = baseFiles.mapValues { SourceFile(lines: $0.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)) }
        var notes = "vendor notes\n"
        var tip = base.a
        func snapshot() -> [String: String] {
            var texts = files.mapValues(\.text)
            texts[p.notes] = notes
            return texts
        }
        func commit(_ key: String, _ message: String, parents: [Oid]? = nil, onto: String? = nil) throws {
            tip = try builder.commit(snapshot(), parents: parents ?? [tip], message: message, branch: onto ?? branch, author: author)
            vendor[key] = tip
        }
        let u = upstream
        files[p.i40e] = files[p.i40e]!.replacing(18, with: ["\tstatement_18(i40e_vendor);"])
        try commit("V1", "vendor: tune i40e ring defaults\n")
        files[p.netpoll] = files[p.netpoll]!.inserting(["/* board quirk */", "#include <board.h>", ""], after: 0)
        try commit("V2", "vendor: add board quirk\n")
        let beforeTopic = tip
        let topicFiles = files
        // Topic branch: a plain cherry-pick of F1 with the stable trailer.
        files[p.dev] = files[p.dev]!.replacing(12, with: ["\tif (!count)", "\t\treturn 0;"])
        try commit("T1", "net: fix zero divisor in queue selection\n\ncommit \(u["F1"]!.hex) upstream.\n\nFixes: \(base.a.short(12)) (\"net: add queue selection\")\n",
                   onto: "stable-picks")
        let topicTip = tip
        let pickedDev = files[p.dev]!
        tip = beforeTopic
        files = topicFiles
        notes += "defconfig notes\n"
        try commit("V3", "vendor: update defconfig notes\n")
        files[p.dev] = pickedDev
        try commit("VM", "Merge branch 'stable-picks' into \(branch)\n", parents: [tip, topicTip])
        // F2 picked silently: other subject, no trailer, shifted lines, spaces instead of a tab.
        files[p.netpoll] = files[p.netpoll]!.inserting(["        synchronize_rcu();"], after: 23)
        try commit("V4", "netpoll: publish npinfo after a grace period\n")
        // F3 over changed context (V1 changed line 18): trailer, different patch-id.
        files[p.i40e] = files[p.i40e]!.replacing(20, with: ["\tif (i40e_ring_disable(ring))", "\t\treturn -ETIMEDOUT;"])
        try commit("V5", "i40e: do not free rings when disable times out\n\n[ Upstream commit \(u["F3"]!.short(12)) ]\n")
        files[p.util] = files[p.util]!.replacing(8, with: ["\tif (check_add_overflow(a, b, &sum))", "\t\treturn -EOVERFLOW;"])
        try commit("V6", "lib: fix overflow in helper\n\n(cherry picked from commit \(u["F4"]!.hex))\n")
        files[p.extra] = files[p.extra]!.replacing(5, with: ["\tvalue = DIV_ROUND_UP(value, step);"])
        try commit("V7", "util: fix rounding\n\n(cherry picked from commit \(u["F8"]!.short(12)))\n")
        files[p.extra] = files[p.extra]!.replacing(31, with: ["\treturn -result; /* vendor variant */"])
        try commit("V8", "lib: fix sign of helper result\n")
        let devBeforeRefcount = files[p.dev]!
        files[p.dev] = files[p.dev]!.replacing(20, with: ["\tdev_put(dev);", "\treturn queue;"])
        try commit("V9", "net: queue refcount\n")
        files[p.util] = files[p.util]!.replacing(8, with: ["\tstatement_8(util);"]).replacingTwoLines(at: 8)
        try commit("V10", "Revert \"lib: fix overflow in helper\"\n\nThis reverts commit \(vendor["V6"]!.hex).\n")
        files[p.dev] = devBeforeRefcount
        try commit("V11", "net: simplify queue refcount handling\n")
        vendorTip = tip
    }
}

extension SourceFile {
    init(lines: [String]) { self.lines = lines }

    /// Drops the line after `lineNumber` (undoes a one-line-to-two-lines replacement).
    func replacingTwoLines(at lineNumber: Int) -> SourceFile {
        var copy = self
        copy.lines.remove(at: lineNumber)
        return copy
    }
}

/// Both layouts the tests use: one repository holding both branches, or separate upstream and vendor repositories.
struct ScenarioRepositories {
    let scratch: ScratchDirectory
    var scenario = Scenario()
    let vendorPath: String
    let upstreamPath: String?

    static func sharedRepository() throws -> ScenarioRepositories {
        let scratch = try ScratchDirectory()
        let path = scratch.sub("kernel")
        let repository = try Repository(initAt: path)
        let builder = HistoryBuilder(repository)
        var scenario = Scenario()
        try scenario.buildBase(builder, branch: "upstream")
        try scenario.buildUpstream(builder, branch: "upstream")
        try repository.setReference("refs/heads/vendor", to: scenario.base.a)
        try scenario.buildVendor(builder, branch: "vendor")
        try repository.setHead("refs/heads/vendor")
        return ScenarioRepositories(scratch: scratch, scenario: scenario, vendorPath: path, upstreamPath: nil)
    }

    static func separateRepositories() throws -> ScenarioRepositories {
        let scratch = try ScratchDirectory()
        let upstreamRepository = try Repository(initAt: scratch.sub("linux"), bare: true)
        let vendorRepository = try Repository(initAt: scratch.sub("vendor-kernel"))
        var scenario = Scenario()
        let upstreamBuilder = HistoryBuilder(upstreamRepository)
        try scenario.buildBase(upstreamBuilder, branch: "master")
        let upstreamBase = scenario.base!
        try upstreamRepository.setHead("refs/heads/master")
        try scenario.buildUpstream(upstreamBuilder, branch: "master")
        let vendorBuilder = HistoryBuilder(vendorRepository)
        try scenario.buildBase(vendorBuilder, branch: "vendor")
        precondition(scenario.base.a == upstreamBase.a, "deterministic base commits must have equal ids")
        try scenario.buildVendor(vendorBuilder, branch: "vendor")
        try vendorRepository.setHead("refs/heads/vendor")
        return ScenarioRepositories(scratch: scratch, scenario: scenario, vendorPath: scratch.sub("vendor-kernel"),
                                    upstreamPath: scratch.sub("linux"))
    }
}
