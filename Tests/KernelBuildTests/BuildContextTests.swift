import Foundation
import XCTest
@testable import KernelBuild

final class BuildContextTests: XCTestCase {
    private func synthesized(_ context: BuildContext, _ relative: String) -> String? {
        context.synthesizedFiles.first { $0.path == context.treeRoot + "/" + relative }?.contents
    }

    // MARK: autoconf.h from .config

    func testAutoconfHeaderFollowsDotConfig() throws {
        let tree = try FakeKernelTree()
        try tree.write(".config", """
            #
            # Automatically generated file; DO NOT EDIT.
            # Linux/x86 6.1.42 Kernel Configuration
            #
            CONFIG_64BIT=y
            CONFIG_NET=y
            CONFIG_E1000E=m
            # CONFIG_DEBUG_INFO is not set
            CONFIG_NR_CPUS=64
            CONFIG_PHYSICAL_START=0x1000000
            CONFIG_DEFAULT_HOSTNAME="(none)"
            CONFIG_CMDLINE="console=\\"ttyS0\\""
            CONFIG_BROKEN=n

            """)
        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86")
        XCTAssertFalse(context.isPrepared)
        let autoconf = try XCTUnwrap(synthesized(context, "include/generated/autoconf.h"))
        let defines = autoconf.split(separator: "\n").filter { $0.hasPrefix("#define") }
        XCTAssertEqual(defines, [
            "#define CONFIG_64BIT 1",
            "#define CONFIG_NET 1",
            "#define CONFIG_E1000E_MODULE 1",
            "#define CONFIG_NR_CPUS 64",
            "#define CONFIG_PHYSICAL_START 0x1000000",
            "#define CONFIG_DEFAULT_HOSTNAME \"(none)\"",
            "#define CONFIG_CMDLINE \"console=\\\"ttyS0\\\"\"",
        ])
        XCTAssertTrue(autoconf.contains("Linux/x86"))
        let autoConf = try XCTUnwrap(synthesized(context, "include/config/auto.conf"))
        XCTAssertTrue(autoConf.contains("CONFIG_E1000E=m\n"))
        XCTAssertFalse(autoConf.contains("DEBUG_INFO"))
        XCTAssertTrue(context.notes.first?.contains("from .config") ?? false, "\(context.notes)")
    }

    func testDotConfigOfAnotherArchIsIgnored() throws {
        let tree = try FakeKernelTree()
        try tree.write(".config", "# Linux/x86 6.1.42 Kernel Configuration\nCONFIG_X86_ONLY=y\n")
        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "arm64")
        let autoconf = try XCTUnwrap(synthesized(context, "include/generated/autoconf.h"))
        XCTAssertFalse(autoconf.contains("X86_ONLY"))
        XCTAssertTrue(autoconf.contains("#define CONFIG_ARM64 1"), autoconf)
        XCTAssertTrue(context.notes.contains { $0.contains(".config is for x86") }, "\(context.notes)")
    }

    // MARK: default configuration through Kconfig

    func testDefconfigIsResolvedThroughKconfig() throws {
        let tree = try FakeKernelTree(arches: ["x86"])
        try tree.write("arch/x86/Kconfig", """
            config X86
            \tdef_bool y
            \tselect GENERIC_IRQ
            \tselect HAVE_FOO if NET

            config 64BIT
            \tbool "64-bit kernel" if "$(ARCH)" = "x86"
            \tdefault "$(ARCH)" != "i386"
            \thelp
            \t  Say yes.

            \t  Still help text.

            config GENERIC_IRQ
            \tbool

            config HAVE_FOO
            \tbool

            config NET
            \tbool "Networking"

            config NR_CPUS
            \tint "Maximum CPUs"
            \tdefault 8 if !SMP
            \tdefault 64

            config SMP
            \tbool "SMP"
            \tdepends on 64BIT

            choice
            \tprompt "Timer frequency"
            \tdefault HZ_250

            config HZ_250
            \tbool "250 HZ"

            config HZ_1000
            \tbool "1000 HZ"

            endchoice

            config HZ
            \tint
            \tdefault 250 if HZ_250
            \tdefault 1000 if HZ_1000

            if NET
            config NET_EXTRA
            \tdef_tristate m
            endif

            config PROBED
            \tdef_bool $(success,true)

            config TPM
            \ttristate "TPM"
            \timply SECURITYFS
            \timply TPM_LOG

            config SECURITYFS
            \tbool "securityfs"

            config TPM_LOG
            \tbool "TPM log"

            """)
        try tree.write("arch/x86/configs/x86_64_defconfig", "CONFIG_SMP=y\nCONFIG_NET=y\nCONFIG_HZ_1000=y\nCONFIG_MODULES=y\nCONFIG_TPM=y\n# CONFIG_TPM_LOG is not set\n")
        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86_64")
        XCTAssertEqual(context.arch, "x86")
        let autoconf = try XCTUnwrap(synthesized(context, "include/generated/autoconf.h"))
        for expected in ["CONFIG_X86 1", "CONFIG_64BIT 1", "CONFIG_GENERIC_IRQ 1", "CONFIG_HAVE_FOO 1",
                         "CONFIG_NET 1", "CONFIG_SMP 1", "CONFIG_NR_CPUS 64", "CONFIG_HZ_1000 1", "CONFIG_HZ 1000"] {
            XCTAssertTrue(autoconf.contains("#define \(expected)\n"), "missing \(expected) in\n\(autoconf)")
        }
        XCTAssertFalse(autoconf.contains("CONFIG_HZ_250"), autoconf)
        XCTAssertTrue(autoconf.contains("#define CONFIG_SECURITYFS 1\n"), "imply raises the default: \(autoconf)")
        XCTAssertFalse(autoconf.contains("CONFIG_TPM_LOG"), "but not over the user's n: \(autoconf)")
        XCTAssertFalse(autoconf.contains("CONFIG_PROBED"), "compiler probes must not run: \(autoconf)")
        XCTAssertTrue(autoconf.contains("#define CONFIG_NET_EXTRA_MODULE 1\n"), autoconf)
        XCTAssertTrue(context.notes.first?.contains("x86_64_defconfig") ?? false, "\(context.notes)")
        let timeconst = try XCTUnwrap(synthesized(context, "include/generated/timeconst.h"))
        XCTAssertTrue(timeconst.contains("#if HZ != 1000\n"))
    }

    /// A configuration resolved through Kconfig is kept and taken back while every Kconfig file,
    /// globbed directory and missing sourced path it was read from, and the defconfig, is as it
    /// was; a change to any of them resolves it again.
    func testResolvedConfigurationIsKeptWhileItsKconfigFilesHold() throws {
        final class Store: ConfigurationStore, @unchecked Sendable {
            var kept: [String: Data] = [:]
            var keeps = 0
            func resolvedConfiguration(named name: String) -> Data? { kept[name] }
            func keepResolvedConfiguration(_ data: Data, named name: String) { kept[name] = data; keeps += 1 }
        }
        let tree = try FakeKernelTree(arches: ["x86"])
        try tree.write("Kconfig", "mainmenu \"Linux/$(ARCH) Kernel Configuration\"\nsource \"arch/$(SRCARCH)/Kconfig\"\nosource \"extra/Kconfig\"\nsource \"drivers/*/Kconfig\"\n")
        try tree.write("arch/x86/Kconfig", "config X86\n\tdef_bool y\n\nconfig NET\n\tbool \"Networking\"\n\nconfig HZ\n\tint\n\tdefault 250\n")
        try tree.write("drivers/a/Kconfig", "config DRV_A\n\tbool \"A\"\n\tdefault y\n")
        try tree.write("arch/x86/configs/x86_64_defconfig", "CONFIG_NET=y\n")
        let store = Store()
        func context() throws -> (key: String, autoconf: String) {
            let made = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86_64", configurations: store)
            return (made.configurationKey, try XCTUnwrap(synthesized(made, "include/generated/autoconf.h")))
        }
        let first = try context()
        XCTAssertEqual(store.keeps, 1)
        XCTAssertTrue(first.autoconf.contains("#define CONFIG_DRV_A 1\n"), first.autoconf)
        let second = try context()
        XCTAssertEqual(store.keeps, 1, "taken back, not resolved again")
        XCTAssertEqual(second.key, first.key)
        XCTAssertEqual(second.autoconf, first.autoconf)

        // Each kind of input, changed, resolves the configuration again.
        func touch(_ relative: String, _ contents: String) throws {
            try tree.write(relative, contents)
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(Double(store.keeps) * 5)], ofItemAtPath: tree.path(relative))
        }
        try touch("arch/x86/Kconfig", "config X86\n\tdef_bool y\n\nconfig NET\n\tbool \"Networking\"\n\nconfig HZ\n\tint\n\tdefault 1000\n")
        let third = try context()
        XCTAssertEqual(store.keeps, 2)
        XCTAssertTrue(third.autoconf.contains("#define CONFIG_HZ 1000\n"), third.autoconf)
        try touch("extra/Kconfig", "config EXTRA\n\tdef_bool y\n")
        XCTAssertTrue(try context().autoconf.contains("#define CONFIG_EXTRA 1\n"), "a sourced file that appears")
        XCTAssertEqual(store.keeps, 3)
        try touch("drivers/b/Kconfig", "config DRV_B\n\tdef_bool y\n")
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(60)], ofItemAtPath: tree.path("drivers"))
        XCTAssertTrue(try context().autoconf.contains("#define CONFIG_DRV_B 1\n"), "a file a glob now finds")
        XCTAssertEqual(store.keeps, 4)
        try touch("arch/x86/configs/x86_64_defconfig", "# CONFIG_NET is not set\n")
        XCTAssertFalse(try context().autoconf.contains("CONFIG_NET 1"), "the defconfig")
        XCTAssertEqual(store.keeps, 5)
        _ = try context()
        XCTAssertEqual(store.keeps, 5)
    }

    // MARK: asm-generic wrappers

    func testAsmWrappersAreGenericPlusMandatoryMinusArchProvided() throws {
        let tree = try FakeKernelTree()
        try tree.write("arch/x86/include/asm/Kbuild", """
            # SPDX-License-Identifier: GPL-2.0
            generated-y += syscalls_64.h
            generic-y += early_ioremap.h
            generic-y += mcs_spinlock.h export.h

            """)
        try tree.write("include/asm-generic/Kbuild", """
            mandatory-y += atomic.h
            mandatory-y += bitops.h
            mandatory-y += irq_regs.h
            mandatory-y += syscalls_64.h

            """)
        try tree.write("arch/x86/include/asm/atomic.h", "/* arch atomic */\n")
        try tree.write("arch/x86/include/asm/mcs_spinlock.h", "/* arch provides it */\n")
        try tree.write("arch/x86/include/uapi/asm/Kbuild", "generated-y += unistd_64.h\n")
        try tree.write("include/uapi/asm-generic/Kbuild", "mandatory-y += errno.h\nmandatory-y += types.h\n")
        try tree.write("arch/x86/include/uapi/asm/types.h", "/* arch types */\n")

        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86")
        let prefix = tree.root + "/arch/x86/include/generated/asm/"
        let wrappers = context.synthesizedFiles.filter { $0.path.hasPrefix(prefix) }
        XCTAssertEqual(Set(wrappers.map { String($0.path.dropFirst(prefix.count)) }),
                       ["early_ioremap.h", "export.h", "bitops.h", "irq_regs.h"])
        XCTAssertEqual(wrappers.first { $0.path.hasSuffix("/bitops.h") }?.contents, "#include <asm-generic/bitops.h>\n")
        let uapiPrefix = tree.root + "/arch/x86/include/generated/uapi/asm/"
        let uapi = context.synthesizedFiles.filter { $0.path.hasPrefix(uapiPrefix) }
        XCTAssertEqual(uapi.map { String($0.path.dropFirst(uapiPrefix.count)) }, ["errno.h"])
        XCTAssertEqual(uapi.first?.contents, "#include <asm-generic/errno.h>\n")
    }

    // MARK: computed headers

    func testSyscallHeadersFollowTheArchSyscallMakefile() throws {
        let tree = try FakeKernelTree()
        try tree.write("arch/x86/entry/syscalls/syscall_64.tbl", """
            # comment
            0\tcommon\tread\t\t\tsys_read
            1\tcommon\twrite\t\t\tsys_write
            3\t64\tclose\t\t\tsys_close
            512\tx32\trt_sigaction\t\tcompat_sys_rt_sigaction

            """)
        try tree.write("arch/x86/entry/syscalls/Makefile", """
            out := arch/$(SRCARCH)/include/generated/asm
            uapi := arch/$(SRCARCH)/include/generated/uapi/asm
            syscall64 := $(src)/syscall_64.tbl
            syshdr := $(srctree)/scripts/syscallhdr.sh
            systbl := $(srctree)/scripts/syscalltbl.sh
            quiet_cmd_syshdr = SYSHDR  $@
                  cmd_syshdr = $(CONFIG_SHELL) $(syshdr) --abis $(abis) --emit-nr \\
            \t\t$(if $(offset),--offset $(offset)) $< $@
            $(uapi)/unistd_64.h: abis := common,64
            $(uapi)/unistd_64.h: $(syscall64) $(syshdr) FORCE
            \t$(call if_changed,syshdr)
            $(out)/syscalls_64.h: abis := common,64
            $(out)/syscalls_64.h: $(syscall64) $(systbl) FORCE
            \t$(call if_changed,systbl)

            """)
        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86")
        let unistd = try XCTUnwrap(synthesized(context, "arch/x86/include/generated/uapi/asm/unistd_64.h"))
        XCTAssertEqual(unistd, """
            #ifndef _UAPI_ASM_UNISTD_64_H
            #define _UAPI_ASM_UNISTD_64_H

            #define __NR_read 0
            #define __NR_write 1
            #define __NR_close 3

            #ifdef __KERNEL__
            #define __NR_syscalls 4
            #endif

            #endif /* _UAPI_ASM_UNISTD_64_H */

            """)
        let table = try XCTUnwrap(synthesized(context, "arch/x86/include/generated/asm/syscalls_64.h"))
        XCTAssertEqual(table, "__SYSCALL(0, sys_read)\n__SYSCALL(1, sys_write)\n__SYSCALL(2, sys_ni_syscall)\n__SYSCALL(3, sys_close)\n")
    }

    func testVersionAndTimeConstants() throws {
        let tree = try FakeKernelTree()
        try tree.write(".config", "# Linux/x86 6.1.42 Kernel Configuration\nCONFIG_HZ=1000\nCONFIG_NR_CPUS=64\nCONFIG_ZONE_DMA32=y\nCONFIG_LOCALVERSION=\"-test\"\n")
        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86")
        XCTAssertEqual(synthesized(context, "include/generated/utsrelease.h"), "#define UTS_RELEASE \"6.1.42-rc1-test\"\n")
        let version = try XCTUnwrap(synthesized(context, "include/generated/uapi/linux/version.h"))
        XCTAssertTrue(version.contains("#define LINUX_VERSION_CODE \((6 << 16) + (1 << 8) + 42)\n"), version)
        // Values kernel/time/timeconst.bc prints for HZ=1000.
        let timeconst = try XCTUnwrap(synthesized(context, "include/generated/timeconst.h"))
        for line in ["#define HZ_TO_MSEC_MUL32\tU64_C(0x80000000)", "#define HZ_TO_MSEC_SHR32\t31",
                     "#define HZ_TO_USEC_MUL32\tU64_C(0xFA000000)", "#define USEC_TO_HZ_MUL32\tU64_C(0x83126E98)",
                     "#define USEC_TO_HZ_ADJ32\tU64_C(0x1FF7CED9168)", "#define USEC_TO_HZ_SHR32\t41",
                     "#define HZ_TO_NSEC_NUM\t\t1000000"] {
            XCTAssertTrue(timeconst.contains(line + "\n"), "missing \(line)")
        }
        let bounds = try XCTUnwrap(synthesized(context, "include/generated/bounds.h"))
        XCTAssertTrue(bounds.contains("#define NR_CPUS_BITS 6\n"), bounds)
        XCTAssertTrue(bounds.contains("#define MAX_NR_ZONES 3\n"), bounds)
    }

    // MARK: Kbuild flags

    func testKbuildFlagsForUnpreparedX86() throws {
        let tree = try FakeKernelTree()
        try tree.write(".config", "# Linux/x86 6.1.42 Kernel Configuration\nCONFIG_64BIT=y\nCONFIG_BONDING=m\n")
        try tree.write("drivers/net/bonding/Makefile", """
            obj-$(CONFIG_BONDING) += bonding.o
            bonding-objs := bond_main.o bond_3ad.o \\
            \tbond_alb.o
            ccflags-y += -I$(srctree)/drivers/net/common -DBOND_TEST=1 -Wno-unused
            CFLAGS_bond_alb.o := -I$(src)/alb

            """)
        try tree.write("drivers/net/bonding/bond_alb.c", "int x;\n")
        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86")
        let file = tree.path("drivers/net/bonding/bond_alb.c")
        let args = context.arguments(for: file)
        let root = tree.root
        XCTAssertEqual(args.first, "-nostdinc")
        let isystem = try XCTUnwrap(args.firstIndex(of: "-isystem"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: args[isystem + 1] + "/stddef.h"), args[isystem + 1])
        let includes = args.filter { $0.hasPrefix("-I") }
        XCTAssertEqual(Array(includes.prefix(7)), [
            "-I\(root)/arch/x86/include", "-I\(root)/arch/x86/include/generated", "-I\(root)/include",
            "-I\(root)/arch/x86/include/uapi", "-I\(root)/arch/x86/include/generated/uapi",
            "-I\(root)/include/uapi", "-I\(root)/include/generated/uapi",
        ])
        let forced = args.indices.filter { args[$0] == "-include" }.map { args[$0 + 1] }
        XCTAssertEqual(forced, ["\(root)/include/linux/compiler-version.h", "\(root)/include/linux/kconfig.h",
                                "\(root)/include/linux/compiler_types.h"])
        for flag in ["-D__KERNEL__", "-std=gnu11", "-O2", "--target=x86_64-linux-gnu", "-DKBUILD_BASENAME=\"bond_alb\"",
                     "-DKBUILD_MODNAME=\"bonding\"", "-D__KBUILD_MODNAME=kmod_bonding", "-DMODULE",
                     "-I\(root)/drivers/net/common", "-DBOND_TEST=1", "-I\(root)/drivers/net/bonding/alb",
                     "-I\(root)/drivers/net/bonding", "-w", "-ferror-limit=0"] {
            XCTAssertTrue(args.contains(flag), "missing \(flag) in \(args)")
        }
        XCTAssertFalse(args.contains("-Wno-unused"), "only preprocessor flags come from Makefiles")
        XCTAssertFalse(args.contains(file), "the file itself is not an argument")
        XCTAssertEqual(context.workingDirectory(for: file), root)

        // A file outside any composite keeps its own name; arm64 gets its own triple.
        let arm = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "aarch64")
        let other = arm.arguments(for: tree.path("drivers/net/bonding/other-file.c"))
        XCTAssertTrue(other.contains("--target=aarch64-linux-gnu"), "\(other)")
        XCTAssertTrue(other.contains("-DKBUILD_MODNAME=\"other_file\""), "\(other)")
        XCTAssertTrue(other.contains("-I\(root)/arch/arm64/include"), "\(other)")
    }

    /// Kconfig is read by lines and tokens of bytes: a continued line, quoted prompts, operators
    /// and a CRLF file read as their LF twins do.
    func testKconfigLinesAndTokensAsWrittenWithLFOrCRLF() throws {
        let tree = try FakeKernelTree()
        let text = "config RING\n\tbool \"Ring (fast) \\\"x\\\"\" if X86 && \\\n\t\t!RING_OFF\n\tdefault y if X86||RING_OFF!=y # comment\n\nconfig RING_OFF\n\tbool\n"
        for (name, contents) in [("lf", text), ("crlf", text.replacingOccurrences(of: "\n", with: "\r\n"))] {
            try tree.write("Kconfig.\(name)", contents)
            var parser = KconfigParser(sourceRoot: tree.root, arch: "x86")
            parser.parseFile("Kconfig.\(name)")
            let ring = try XCTUnwrap(parser.model.symbols["RING"], name)
            XCTAssertEqual(ring.type, .bool, name)
            XCTAssertNotNil(parser.model.symbols["RING_OFF"], name)
            XCTAssertEqual(ring.prompts, [KconfigExprParser.parse(["X86", "&&", "!", "RING_OFF"])], name)
            XCTAssertEqual(ring.defaults.map(\.1), [KconfigExprParser.parse(["X86", "||", "RING_OFF", "!=", "y"])], name)
        }
        XCTAssertEqual(KconfigLexer.tokenize("A&&(B||!C) != \"q \\\" r\" <=D>=E & F # x"),
                       ["A", "&&", "(", "B", "||", "!", "C", ")", "!=", "\"q \\\" r\"", "<=", "D", ">=", "E", "F"])
    }

    func testFilesOutsideTheConfigurationGetTheirGateDefined() throws {
        let tree = try FakeKernelTree()
        try tree.write(".config", "# Linux/x86 6.1.42 Kernel Configuration\nCONFIG_64BIT=y\nCONFIG_TRACING=y\nCONFIG_MLX5_CORE=m\n")
        // The walk starts at the top Kbuild, as Kbuild's does.
        try tree.write("Kbuild", "obj-y += kernel/\nobj-y += drivers/\n")
        try tree.write("drivers/Makefile", "obj-y += net/\nobj-$(CONFIG_MLX5_CORE) += mlx5/\n")
        try tree.write("drivers/net/Makefile", "obj-$(CONFIG_TUN) += tun.o\nobj-y += loopback.o\nobj-$(CONFIG_XFS_FS) += xfs/\nobj-$(CONFIG_ISA) += isa.o\n")
        try tree.write("drivers/net/xfs/Makefile", "obj-$(CONFIG_XFS_FS) += xfs.o\nxfs-y := xfs_inode.o scrub/alloc.o\nccflags-y += -I$(src)/libxfs\n")
        try tree.write("kernel/Makefile", "obj-$(CONFIG_FUNCTION_TRACER) += trace/\nobj-$(CONFIG_TRACING) += trace/\n")
        try tree.write("kernel/trace/Makefile", "obj-$(CONFIG_TRACING) += trace.o\n")
        try tree.write("drivers/mlx5/Makefile", """
            obj-$(CONFIG_MLX5_CORE) += mlx5_core.o
            mlx5_core-y := main.o
            mlx5_core-$(CONFIG_MLX5_CORE_EN) += en_main.o

            """)
        try tree.write("arch/x86/Kconfig", """
            config X86
            \tdef_bool y

            config NETDEVICES
            \tbool "Network devices"

            config TUN
            \ttristate "TUN/TAP"
            \tdepends on NETDEVICES

            config TUN_VNET_CROSS_LE
            \tbool "Cross-endian"
            \tdepends on TUN
            \tdefault y

            config TUN_RING
            \tint
            \tdepends on TUN
            \tdefault 256

            config X86_32
            \tdef_bool y
            \tdepends on !64BIT

            config 64BIT
            \tdef_bool y

            config ISA
            \tbool "ISA support"
            \tdepends on X86_32

            """)
        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86")
        func defines(_ file: String) -> [String] {
            context.arguments(for: tree.path(file)).filter { $0.hasPrefix("-DCONFIG_") }
        }
        // The gate, what it depends on, and what it turns on.
        XCTAssertEqual(defines("drivers/net/tun.c"), ["-DCONFIG_TUN=1", "-DCONFIG_NETDEVICES=1",
                                                      "-DCONFIG_TUN_VNET_CROSS_LE=1", "-DCONFIG_TUN_RING=256"])
        XCTAssertEqual(defines("drivers/net/loopback.c"), [])
        XCTAssertEqual(defines("drivers/net/isa.c"), ["-DCONFIG_ISA=1"], "X86_32 is a fact of the config, not a choice")
        XCTAssertEqual(defines("drivers/net/xfs/xfs_inode.c"), ["-DCONFIG_XFS_FS=1"])
        // A file listed by its parent directory's Makefile gets that Makefile's flags and module.
        let scrub = context.arguments(for: tree.path("drivers/net/xfs/scrub/alloc.c"))
        XCTAssertTrue(scrub.contains("-I\(tree.root)/drivers/net/xfs/libxfs"), "\(scrub)")
        XCTAssertTrue(scrub.contains("-DKBUILD_MODNAME=\"xfs\""), "\(scrub)")
        XCTAssertTrue(scrub.contains("-DCONFIG_XFS_FS=1"), "\(scrub)")
        XCTAssertTrue(scrub.contains("-I\(tree.root)/drivers/net/xfs/scrub"), "\(scrub)")
        XCTAssertEqual(defines("kernel/trace/trace.c"), [], "one enabled gate of several opens the directory")
        XCTAssertEqual(defines("drivers/mlx5/main.c"), [])
        XCTAssertEqual(defines("drivers/mlx5/en_main.c"), ["-DCONFIG_MLX5_CORE_EN=1"])
        XCTAssertTrue(context.notes.contains { $0.hasPrefix("5 file(s) not built by this configuration") }, "\(context.notes)")
    }

    /// A forced gate changes more than the symbols that name it: `select A if B` changes A with
    /// B, and a choice's default condition changes which member is picked; what depends on
    /// those changes too.
    func testGateClosureFollowsSelectConditionsAndChoiceDefaults() throws {
        let tree = try FakeKernelTree()
        try tree.write(".config", "# Linux/x86 6.1.42 Kernel Configuration\nCONFIG_64BIT=y\nCONFIG_X86=y\n")
        try tree.write("Kbuild", "obj-y += kernel/\n")
        try tree.write("kernel/Makefile", "obj-$(CONFIG_FTRACE) += ftrace.o\nobj-y += core.o\n")
        try tree.write("arch/x86/Kconfig", """
            config X86
            \tdef_bool y
            \tselect HAVE_GRAPH if DYNAMIC_FTRACE

            config 64BIT
            \tdef_bool y

            config HAVE_GRAPH
            \tbool

            config FTRACE
            \tbool "Function tracer"

            config DYNAMIC_FTRACE
            \tbool "Patch call sites"
            \tdepends on FTRACE
            \tdefault y

            config GRAPH
            \tbool "Graph tracer"
            \tdepends on HAVE_GRAPH && FTRACE
            \tdefault y

            choice
            \tprompt "Clock"
            \tdefault CLOCK_JIFFIES if !FTRACE
            \tdefault CLOCK_TSC

            config CLOCK_JIFFIES
            \tbool "jiffies"

            config CLOCK_TSC
            \tbool "tsc"

            endchoice

            config TSC_STAMPS
            \tbool "Stamp with the tsc"
            \tdepends on CLOCK_TSC && FTRACE
            \tdefault y

            """)
        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86")
        func defines(_ file: String) -> [String] {
            context.arguments(for: tree.path(file)).filter { $0.hasPrefix("-DCONFIG_") }
        }
        XCTAssertEqual(defines("kernel/core.c"), [])
        // GRAPH needs HAVE_GRAPH, which X86 selects only once DYNAMIC_FTRACE is on; TSC_STAMPS
        // needs the clock choice to fall to CLOCK_TSC, which it does only with FTRACE on.
        XCTAssertEqual(defines("kernel/ftrace.c"), ["-DCONFIG_FTRACE=1", "-DCONFIG_DYNAMIC_FTRACE=1", "-DCONFIG_GRAPH=1", "-DCONFIG_TSC_STAMPS=1"])
    }

    func testPreferredArchForFilesOnlyAnotherArchBuilds() throws {
        let tree = try FakeKernelTree(arches: ["x86", "powerpc", "alpha"])
        try tree.write(".config", "# Linux/x86 6.1.42 Kernel Configuration\nCONFIG_X86=y\n")
        try tree.write("Kconfig", "source \"arch/$(SRCARCH)/Kconfig\"\nsource \"drivers/Kconfig\"\n")
        try tree.write("drivers/Kconfig", """
            config MAC_FLOPPY
            \ttristate "Mac floppy"
            \tdepends on PPC_PMAC

            config MAC_HELPER
            \ttristate
            \tselect CRC32

            config ALPHA_THING
            \ttristate "Alpha only"
            \tdepends on ALPHA_SRM

            config TUN
            \ttristate "TUN"

            """)
        try tree.write("arch/powerpc/Kconfig", "config PPC\n\tdef_bool y\n")
        try tree.write("arch/powerpc/platforms/Kconfig", "config PPC_PMAC\n\tbool \"PowerMac\"\n")
        try tree.write("arch/alpha/Kconfig", "config ALPHA_SRM\n\tbool \"SRM\"\n")
        try tree.write("Kbuild", "obj-y += drivers/\n")
        try tree.write("drivers/Makefile", "obj-$(CONFIG_MAC_FLOPPY) += swim3.o\nobj-$(CONFIG_TUN) += tun.o\nobj-$(CONFIG_ALPHA_THING) += srm.o\n")
        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86")
        XCTAssertEqual(context.preferredArch(for: tree.path("drivers/swim3.c")), "powerpc")
        XCTAssertNil(context.preferredArch(for: tree.path("drivers/tun.c")), "x86's Kconfig can build it")
        XCTAssertNil(context.preferredArch(for: tree.path("drivers/srm.c")), "clang cannot target alpha")
        let powerpc = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "powerpc")
        XCTAssertNil(powerpc.preferredArch(for: tree.path("drivers/swim3.c")))
    }

    func testPreparedTreeSynthesizesNothing() throws {
        let tree = try FakeKernelTree()
        try tree.write("include/generated/autoconf.h", "/*\n * Automatically generated file; DO NOT EDIT.\n * Linux/x86 6.1.42 Kernel Configuration\n */\n#define CONFIG_64BIT 1\n")
        try tree.write("include/config/auto.conf", "CONFIG_64BIT=y\n")
        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86")
        XCTAssertTrue(context.isPrepared)
        XCTAssertEqual(context.synthesizedFiles, [])
        XCTAssertTrue(context.arguments(for: tree.path("kernel/fork.c")).contains("--target=x86_64-linux-gnu"))

        // Prepared for x86 is not prepared for arm64: the arm64 headers are synthesized over it.
        let arm = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "arm64")
        XCTAssertFalse(arm.isPrepared)
        XCTAssertFalse(arm.synthesizedFiles.isEmpty)
    }

    func testConfigurationKeyIsStableAndTracksTheConfig() throws {
        let tree = try FakeKernelTree()
        try tree.write(".config", "# Linux/x86 6.1.42 Kernel Configuration\nCONFIG_NET=y\n")
        let first = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86").configurationKey
        let second = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86").configurationKey
        XCTAssertEqual(first, second)
        try tree.write(".config", "# Linux/x86 6.1.42 Kernel Configuration\nCONFIG_NET=m\n")
        let changed = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "x86").configurationKey
        XCTAssertNotEqual(first, changed)
        let arm = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "arm64").configurationKey
        XCTAssertNotEqual(changed, arm)
    }

    // MARK: compile_commands.json

    func testCompileCommandsBothFormsDropGCCOnlyFlags() throws {
        let tree = try FakeKernelTree()
        try tree.write("include/generated/autoconf.h", "/*\n * Linux/x86 6.1.42 Kernel Configuration\n */\n")
        let commandForm = "gcc -Wp,-MMD,net/core/.dev.o.d -nostdinc -I./arch/x86/include -I ./include "
            + "-isystem /usr/lib/gcc/x86_64-linux-gnu/12/include "
            + "-include ./include/linux/kconfig.h -D__KERNEL__ -fconserve-stack -fno-allow-store-data-races "
            + "-mindirect-branch=thunk-extern -mindirect-branch-register -mfunction-return=thunk-extern "
            + "-mpreferred-stack-boundary=3 -mskip-rax-setup -mrecord-mcount -fzero-call-used-regs=used-gpr "
            + "-fno-ipa-sra -falign-jumps=1 -fmin-function-alignment=16 -fsanitize-coverage=trace-pc "
            + "-fplugin=./scripts/gcc-plugins/latent_entropy_plugin.so -fplugin-arg-latent_entropy_plugin-disable "
            + "-Wno-maybe-uninitialized -Werror=designated-init -ftrivial-auto-var-init=zero -O2 -g "
            + "-mno-sse -mcmodel=kernel -fshort-wchar -std=gnu11 "
            + "-DKBUILD_MODNAME='\"dev\"' -DKBUILD_BASENAME=\\\"dev\\\" -c -o net/core/dev.o net/core/dev.c"
        let entries: [[String: Any]] = [
            ["directory": tree.root, "file": "net/core/dev.c", "command": commandForm],
            ["directory": tree.root + "/net", "file": tree.path("net/core/sock.c"),
             "arguments": ["aarch64-linux-gnu-gcc", "-nostdinc", "-I../include", "-MD", "-MF", "core/.sock.o.d",
                           "-DFOO=1", "-U", "BAR", "-mabi=lp64", "-mgeneral-regs-only", "-mharden-sls=all",
                           "-c", "core/sock.c", "-o", "core/sock.o"]],
        ]
        let json = tree.path("compile_commands.json")
        try JSONSerialization.data(withJSONObject: entries).write(to: URL(fileURLWithPath: json))

        let context = try BuildContext(treeRoot: tree.root, compileCommands: json, arch: "x86")
        XCTAssertTrue(context.isPrepared)
        let dev = context.arguments(for: tree.path("net/core/dev.c"))
        let root = tree.root
        for kept in ["-nostdinc", "-I\(root)/arch/x86/include", "-I", "\(root)/include", "-include",
                     "\(root)/include/linux/kconfig.h", "-D__KERNEL__", "-mno-sse", "-mcmodel=kernel", "-fshort-wchar",
                     "-std=gnu11", "-O2", "-DKBUILD_MODNAME=\"dev\"", "-DKBUILD_BASENAME=\"dev\"", "-w", "-ferror-limit=0"] {
            XCTAssertTrue(dev.contains(kept), "missing \(kept) in \(dev)")
        }
        for dropped in ["-fconserve-stack", "-fno-allow-store-data-races", "-mindirect-branch=thunk-extern",
                        "-mindirect-branch-register", "-mfunction-return=thunk-extern", "-mpreferred-stack-boundary=3",
                        "-mskip-rax-setup", "-mrecord-mcount", "-fzero-call-used-regs=used-gpr", "-fno-ipa-sra",
                        "-falign-jumps=1", "-fmin-function-alignment=16", "-fsanitize-coverage=trace-pc",
                        "-fplugin=./scripts/gcc-plugins/latent_entropy_plugin.so",
                        "-fplugin-arg-latent_entropy_plugin-disable", "-Wno-maybe-uninitialized",
                        "-Werror=designated-init", "-ftrivial-auto-var-init=zero", "-g", "-c", "-o",
                        "net/core/dev.o", "net/core/dev.c", "\(root)/net/core/dev.c", "-Wp,-MMD,net/core/.dev.o.d", "gcc"] {
            XCTAssertFalse(dev.contains(dropped), "\(dropped) should be dropped: \(dev)")
        }
        // gcc's own include dir is replaced by clang's.
        let isystem = try XCTUnwrap(dev.firstIndex(of: "-isystem"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dev[isystem + 1] + "/stddef.h"), dev[isystem + 1])
        XCTAssertEqual(context.workingDirectory(for: tree.path("net/core/dev.c")), root)

        let sock = context.arguments(for: tree.path("net/core/sock.c"))
        XCTAssertEqual(sock.first, "--target=aarch64-linux-gnu", "the cross compiler's triple: \(sock)")
        for kept in ["-I\(root)/include", "-DFOO=1", "-U", "BAR", "-mabi=lp64", "-mgeneral-regs-only"] {
            XCTAssertTrue(sock.contains(kept), "missing \(kept) in \(sock)")
        }
        for dropped in ["-MD", "-MF", "core/.sock.o.d", "-mharden-sls=all", "-c", "core/sock.c", "core/sock.o"] {
            XCTAssertFalse(sock.contains(dropped), "\(dropped) should be dropped: \(sock)")
        }
        XCTAssertEqual(context.workingDirectory(for: tree.path("net/core/sock.c")), root + "/net")

        // A file the database does not know falls back to Kbuild flags and is counted.
        XCTAssertFalse(context.hasCompileCommand(for: tree.path("fs/namei.c")))
        let fallback = context.arguments(for: tree.path("fs/namei.c"))
        XCTAssertTrue(fallback.contains("-D__KERNEL__") && fallback.contains("-DKBUILD_MODNAME=\"namei\""), "\(fallback)")
        XCTAssertTrue(fallback.contains("-include"))
        _ = context.arguments(for: tree.path("fs/namei.c"))
    }

    func testRelativeDirectoryIsResolvedAgainstTheDatabaseNotTheCurrentDirectory() throws {
        let tree = try FakeKernelTree()
        try tree.write("include/generated/autoconf.h", "/* prepared */\n")
        // The database sits in an output directory and names the tree relative to itself.
        let entries: [[String: Any]] = [["directory": "..", "file": "net/core/dev.c",
                                         "arguments": ["gcc", "-DFROM_DATABASE=1", "-c", "net/core/dev.c"]]]
        try tree.write("build/compile_commands.json", String(decoding: try JSONSerialization.data(withJSONObject: entries), as: UTF8.self))
        XCTAssertNotEqual(FileManager.default.currentDirectoryPath, tree.path("build"))
        let context = try BuildContext(treeRoot: tree.root, compileCommands: tree.path("build/compile_commands.json"), arch: "x86")
        XCTAssertTrue(context.hasCompileCommand(for: tree.path("net/core/dev.c")))
        XCTAssertTrue(context.arguments(for: tree.path("net/core/dev.c")).contains("-DFROM_DATABASE=1"))
        XCTAssertEqual(context.workingDirectory(for: tree.path("net/core/dev.c")), tree.root)
    }

    func testShellWordSplitting() {
        XCTAssertEqual(ShellWords.split(#"gcc -DA='"x y"' -DB=\"z\" "q r" plain\ space"#),
                       ["gcc", #"-DA="x y""#, #"-DB="z""#, "q r", "plain space"])
        XCTAssertNil(ShellWords.split("gcc 'unterminated"))
    }

    // MARK: tree root and errors

    func testFindTreeRoot() throws {
        let tree = try FakeKernelTree()
        try tree.write("drivers/net/ethernet/intel/e1000e/netdev.c", "int x;\n")
        XCTAssertEqual(BuildContext.findTreeRoot(containing: tree.path("drivers/net/ethernet/intel/e1000e/netdev.c")), tree.root)
        XCTAssertEqual(BuildContext.findTreeRoot(containing: tree.path("drivers/net")), tree.root)
        XCTAssertEqual(BuildContext.findTreeRoot(containing: tree.root), tree.root)
        let outside = FileManager.default.temporaryDirectory.path + "/kwarden-not-a-tree-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: outside + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        XCTAssertNil(BuildContext.findTreeRoot(containing: outside + "/sub"))
    }

    func testErrorsAreClear() throws {
        let tree = try FakeKernelTree()
        let notTree = FileManager.default.temporaryDirectory.path + "/kwarden-plain-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: notTree, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: notTree) }
        try "all:\n".write(toFile: notTree + "/Makefile", atomically: true, encoding: .utf8)

        XCTAssertThrowsError(try BuildContext(treeRoot: notTree, compileCommands: nil, arch: "x86")) { error in
            guard case let KernelBuildError.notAKernelTree(_, missing) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(missing, ["Kconfig", "arch/", "include/linux/"])
            XCTAssertTrue("\(error)".contains("is not a Linux kernel tree"))
        }
        XCTAssertThrowsError(try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "sparc64")) { error in
            XCTAssertEqual(error as? KernelBuildError, .unknownArch(name: "sparc", available: ["arm64", "x86"]))
            XCTAssertTrue("\(error)".contains("available: arm64 x86"), "\(error)")
        }
        try tree.write("arch/alpha/Kconfig", "")
        XCTAssertThrowsError(try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "alpha")) { error in
            XCTAssertEqual(error as? KernelBuildError, .unsupportedArch(name: "alpha", reason: "clang has no target for it"))
            XCTAssertTrue("\(error)".contains("arch 'alpha' exists in the tree but cannot be parsed"), "\(error)")
        }

        try tree.write("bad.json", "[{\"directory\": \"/x\", \"file\": ")
        XCTAssertThrowsError(try BuildContext(treeRoot: tree.root, compileCommands: tree.path("bad.json"), arch: "x86")) { error in
            guard case KernelBuildError.malformedCompileCommands = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("not valid JSON"), "\(error)")
        }
        try tree.write("object.json", "{\"directory\": \"/x\"}")
        XCTAssertThrowsError(try BuildContext(treeRoot: tree.root, compileCommands: tree.path("object.json"), arch: "x86")) { error in
            XCTAssertTrue("\(error)".contains("not an array"), "\(error)")
        }
        try tree.write("nofile.json", "[{\"directory\": \"/x\", \"command\": \"gcc -c a.c\"}]")
        XCTAssertThrowsError(try BuildContext(treeRoot: tree.root, compileCommands: tree.path("nofile.json"), arch: "x86")) { error in
            XCTAssertTrue("\(error)".contains("entry 0 lacks"), "\(error)")
        }
        XCTAssertThrowsError(try BuildContext(treeRoot: tree.root, compileCommands: tree.path("missing.json"), arch: "x86")) { error in
            guard case KernelBuildError.unreadableCompileCommands = error else { return XCTFail("\(error)") }
        }
    }
}
