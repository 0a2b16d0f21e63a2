import ArgumentParser
import Foundation
import ClangKit
import KwardenCore
import RuleKit

struct PchTry: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pch-try", shouldDisplay: false)
    @Argument var files: [String]
    @Flag var novalidate = false
    func run() throws {
        let first = URL(fileURLWithPath: files[0]).standardizedFileURL.path
        let root = KernelTree.root(containing: first)!
        let setups = try CompileSetupProvider(kernelRoot: root, compileCommands: nil, arch: nil)
        let setup = try setups.setup(for: first)
        func shared(_ args: [String], _ file: String) -> [String] {
            let dir = (file as NSString).deletingLastPathComponent
            return args.filter { !$0.hasPrefix("-DKBUILD_") && !$0.hasPrefix("-D__KBUILD_MODNAME") && $0 != "-I" + dir }
        }
        let headers = ["linux/kernel.h","linux/module.h","linux/slab.h","linux/delay.h","linux/interrupt.h","linux/pci.h","linux/dma-mapping.h","linux/netdevice.h","linux/etherdevice.h","linux/skbuff.h","linux/ethtool.h","linux/if_vlan.h","linux/io.h","net/ip.h","linux/tcp.h","linux/ipv6.h"]
        let prefix = "/tmp/pchtry-prefix.h"
        try headers.map { "#include <\($0)>" }.joined(separator: "\n").appending("\n").write(toFile: prefix, atomically: true, encoding: .utf8)
        let index = ClangIndex()
        var t = Date()
        let built = try index.savePrecompiledHeader(prefix, arguments: shared(setup.arguments, first), unsavedFiles: setup.unsavedFiles, to: "/tmp/pchtry.pch")
        print("pch built in \(Date().timeIntervalSince(t)) s, \(built.files.count) files, \(built.errors.count) errors \(built.errors.prefix(3).map(\.message))")
        for f in files {
            let file = URL(fileURLWithPath: f).standardizedFileURL.path
            let s = try setups.setup(for: file)
            t = Date()
            let plain = try ClangIndex().parse(file: file, arguments: s.arguments, unsavedFiles: s.unsavedFiles)
            let tp = Date().timeIntervalSince(t)
            let ctxP = FileContext(path: file, unit: plain)
            var args = ["-include-pch", "/tmp/pchtry.pch"] + s.arguments
            if novalidate { args = ["-Xclang", "-fno-validate-pch"] + args }
            t = Date()
            let withPCH = try ClangIndex().parse(file: file, arguments: args, unsavedFiles: s.unsavedFiles)
            let tw = Date().timeIntervalSince(t)
            let ctxW = FileContext(path: file, unit: withPCH)
            let ep = plain.diagnostics.filter { $0.severity.rawValue >= 3 }, ew = withPCH.diagnostics.filter { $0.severity.rawValue >= 3 }
            let fp = ctxP.functions.map(\.name), fw = ctxW.functions.map(\.name)
            let mp = ctxP.macroUses.count, mw = ctxW.macroUses.count
            print("\((file as NSString).lastPathComponent): plain \(String(format: "%.2f", tp)) s pch \(String(format: "%.2f", tw)) s; errors \(ep.count)/\(ew.count); functions same \(fp == fw) (\(fp.count)/\(fw.count)); macro uses \(mp)/\(mw); includes \(plain.includedFiles.count)/\(withPCH.includedFiles.count)")
            let hp = plain.topLevel.filter { $0.kind == .functionDecl && $0.isDefinition && !$0.isInMainFile }.count
            let hw = withPCH.topLevel.filter { $0.kind == .functionDecl && $0.isDefinition && !$0.isInMainFile }.count
            let nd = root + "/include/linux/netdevice.h"
            print("   header fn defs \(hp)/\(hw); netdevice.h macro uses \(ctxP.macroUses(inFile: nd).count)/\(ctxW.macroUses(inFile: nd).count); header rcu fns \(ctxP.headerFunctions(mentioning: ["npinfo", "dev_kfree_skb_any"]).map(\.name).sorted() == ctxW.headerFunctions(mentioning: ["npinfo", "dev_kfree_skb_any"]).map(\.name).sorted())")
            for e in ew.prefix(3) { print("   pch error: \(e.position.file):\(e.position.line) \(e.message)") }
        }
    }
}
