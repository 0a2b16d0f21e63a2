import Foundation
import XCTest
@testable import KernelBuild

/// The shared readers of Kbuild files and `.config` files: what `MakefileFlags` and the backport
/// checker's not-built judgement both see.
final class MakeSyntaxTests: XCTestCase {
    private func assignments(_ text: String, tabIndentedLinesAreRecipes: Bool = true) -> [MakeAssignment] {
        MakeSyntax.assignments(in: text, tabIndentedLinesAreRecipes: tabIndentedLinesAreRecipes)
    }

    func testContinuationLinesJoinIntoOneAssignment() {
        let read = assignments("foo-y := a.o \\\n\tb.o \\\n        c.o\nobj-m += foo.o\n")
        XCTAssertEqual(read.map(\.variable), ["foo-y", "obj-m"])
        XCTAssertEqual(read[0].values, ["a.o", "b.o", "c.o"])
        XCTAssertEqual(read[0].op, .simple)
        XCTAssertEqual(read[1].op, .append)
    }

    func testCommentsEndTheLineUnlessEscaped() {
        let read = assignments("# a header comment\nobj-y += a.o # b.o is gone\nCFLAGS_x.o := -DHASH=\\#\n")
        XCTAssertEqual(read.map(\.variable), ["obj-y", "CFLAGS_x.o"])
        XCTAssertEqual(read[0].values, ["a.o"])
        XCTAssertEqual(read[1].rawValue, "-DHASH=\\#")
    }

    func testOperatorsAndWhatIsNotAnAssignment() {
        let read = assignments("a = 1\nb := 2\nc += 3\nd ?= 4\nifdef CONFIG_B\n$(obj)/x.o: FOO := 1\nendif\nall: foo\n")
        XCTAssertEqual(read.map(\.variable), ["a", "b", "c", "d"])
        XCTAssertEqual(read.map(\.op), [.recursive, .simple, .append, .conditional])
        XCTAssertEqual(read.map(\.rawValue), ["1", "2", "3", "4"])
    }

    /// A tab-indented line is a recipe to `MakefileFlags`; the backport checker reads it as an assignment.
    func testTabIndentedLines() {
        let text = "ifdef CONFIG_A\n\tobj-y += a.o\nendif\n"
        XCTAssertEqual(assignments(text, tabIndentedLinesAreRecipes: true), [])
        XCTAssertEqual(assignments(text, tabIndentedLinesAreRecipes: false).map(\.values), [["a.o"]])
    }

    func testCRLFMakefile() {
        let read = assignments("obj-$(CONFIG_A) += a.o \\\r\n\tb.o\r\nccflags-y := -DX\r\n")
        XCTAssertEqual(read.map(\.variable), ["obj-$(CONFIG_A)", "ccflags-y"])
        XCTAssertEqual(read.map(\.values), [["a.o", "b.o"], ["-DX"]])
    }

    func testListVariableSuffixes() {
        let directory = assignments("obj-$(CONFIG_NET_VENDOR_X) += x/\n")[0]
        XCTAssertEqual(directory.values, ["x/"])
        let (owner, suffix) = MakeSyntax.splitListVariable(directory.variable)
        XCTAssertEqual(owner, "obj")
        XCTAssertEqual(suffix, "$(CONFIG_NET_VENDOR_X)")
        XCTAssertEqual(MakeSyntax.configSymbol(ofSuffix: suffix), "NET_VENDOR_X")

        XCTAssertEqual(MakeSyntax.splitListVariable("snd-hda-codec-y").owner, "snd-hda-codec")
        XCTAssertEqual(MakeSyntax.splitListVariable("foo-objs").suffix, "objs")
        XCTAssertEqual(MakeSyntax.splitListVariable("targets").suffix, "")
        XCTAssertNil(MakeSyntax.configSymbol(ofSuffix: "y"))
        XCTAssertNil(MakeSyntax.configSymbol(ofSuffix: "$(subst m,y,$(CONFIG_A))"))
        XCTAssertEqual(MakeSyntax.configReferences("xfs-$(CONFIG_XFS_RT)-$(CONFIG_XFS_QUOTA)"), ["XFS_RT", "XFS_QUOTA"])
    }

    func testAppendAccumulatesAndOperatorsDecideWhenToExpand() {
        let config = KernelConfig(parsing: "CONFIG_A=y\n")
        var variables = MakeVariables(["src": "drivers/x"])
        func assign(_ line: String) {
            let assignment = MakeSyntax.assignment(in: line, tabIndentedLinesAreRecipes: true)!
            let expanded = variables.expand(assignment.rawValue, config: config)
            variables.assign(assignment.variable, assignment.op, rawValue: assignment.rawValue, expandedValue: expanded)
        }
        assign("flags := -I$(src)")
        assign("flags += -DA=$(CONFIG_A)")
        assign("later = $(late)")
        assign("late := set after")
        assign("flags ?= ignored")
        assign("fresh ?= default")
        XCTAssertEqual(variables["flags"], "-Idrivers/x -DA=y")
        XCTAssertEqual(variables["later"], "$(late)")
        XCTAssertEqual(variables.expand("$(later)", config: config), "set after")
        XCTAssertEqual(variables["fresh"], "default")
    }

    func testExpansion() {
        let config = KernelConfig(parsing: "CONFIG_X=m\nCONFIG_NAME=\"x\"\n")
        let variables = MakeVariables(["srcs": "a.c b.c", "dir": "sub"])
        func expand(_ text: String) -> String { variables.expand(text, config: config) }
        XCTAssertEqual(expand("obj-$(CONFIG_X)"), "obj-m")
        XCTAssertEqual(expand("obj-$(CONFIG_UNSET)"), "obj-")
        XCTAssertEqual(expand("$(srcs:.c=.o)"), "a.o b.o")
        XCTAssertEqual(expand("$(patsubst %.c,%.o,$(srcs))"), "a.o b.o")
        XCTAssertEqual(expand("$(addprefix $(dir)/,x.o y.o)"), "sub/x.o sub/y.o")
        XCTAssertEqual(expand("$(addsuffix .o,x y)"), "x.o y.o")
        XCTAssertEqual(expand("$(subst m,y,$(CONFIG_X))"), "y")
        XCTAssertEqual(expand("$(strip  a   b )"), "a b")
        XCTAssertEqual(expand("${dir}/$$x"), "sub/$x")
        XCTAssertEqual(expand("$(call cc-option,-mfoo) -DY"), " -DY")
    }

    /// Object lists through `DirectoryMakefile`, the reader's caller in the flags walk.
    func testDirectoryMakefileReadsListsThroughTheSharedReader() throws {
        let tree = try FakeKernelTree()
        try tree.write("drivers/x/Makefile", """
            obj-$(CONFIG_X) += x.o sub/
            x-y := core.o \\
            \tio.o
            x-$(CONFIG_X_DEBUG) += debug.o
            ccflags-y += -I$(src)/include -DX_LEVEL=2
            \tobj-y += recipe.o

            """)
        let config = KernelConfig(parsing: "CONFIG_X=m\r\n# CONFIG_X_DEBUG is not set\r\n")
        let makefile = try XCTUnwrap(DirectoryMakefile(sourceRoot: tree.root, directory: "drivers/x", arch: "x86", config: config,
                                                       directoryGateLevels: [], inheritedSubdirFlags: []))
        XCTAssertEqual(makefile.listedObjects, ["x", "core", "io", "debug"])
        XCTAssertEqual(makefile.subdirectories.map(\.0), ["sub"])
        XCTAssertEqual(makefile.subdirectories.map(\.1), [["X"]])
        XCTAssertEqual(makefile.composites["x"], ["core", "io", "debug"])
        XCTAssertEqual(makefile.gateLevels(for: "debug"), [["X_DEBUG"], ["X"]])
        XCTAssertTrue(makefile.isModule("io"))
        XCTAssertEqual(makefile.directoryFlags, ["-I\(tree.root)/drivers/x/include", "-DX_LEVEL=2"])
    }

    /// The syscall Makefile reader joins lines with the shared reader too: a trailing comment is not
    /// part of a target-specific variable, and CRLF endings read like LF.
    func testSyscallMakefileThroughTheSharedReader() throws {
        let tree = try FakeKernelTree()
        try tree.write("arch/x86/entry/syscalls/syscall_64.tbl", "0\tcommon\tread\tsys_read\n3\t64\tclose\tsys_close\n")
        try tree.write("arch/x86/entry/syscalls/Makefile", """
            uapi := arch/$(SRCARCH)/include/generated/uapi/asm
            $(uapi)/unistd_64.h: abis := common,64 # the 64-bit ABI
            $(uapi)/unistd_64.h: $(src)/syscall_64.tbl \\
            \t$(srctree)/scripts/syscallhdr.sh FORCE

            """.replacingOccurrences(of: "\n", with: "\r\n"))
        let headers = SyscallHeaders(sourceRoot: tree.root, arch: "x86").generate()
        let unistd = try XCTUnwrap(headers["arch/x86/include/generated/uapi/asm/unistd_64.h"])
        XCTAssertTrue(unistd.contains("#define __NR_read 0\n#define __NR_close 3\n"), unistd)
    }

    /// Asm Kbuild lists (`generic-y`, `mandatory-y`) through the shared reader: continued lines join,
    /// tab-indented lines count, comments end the line.
    func testAsmKbuildLists() {
        let lists = KbuildList(text: "generic-y += a.h \\\n\tb.h\ngeneric-y += c.h # not d.h\n\tmandatory-y := e.h\n")
        XCTAssertEqual(lists["generic-y"], ["a.h", "b.h", "c.h"])
        XCTAssertEqual(lists["mandatory-y"], ["e.h"])
    }

    /// `KBUILD_DEFCONFIG` of an arch Makefile, read as an assignment: a trailing comment is not part
    /// of the name, and a value built from variables is passed over.
    func testArchDefconfigFromItsMakefile() throws {
        let tree = try FakeKernelTree(arches: ["riscv"])
        try tree.write("arch/riscv/Makefile", "KBUILD_DEFCONFIG_EXTRA := nope\nKBUILD_DEFCONFIG := $(ARCH)_defconfig\n"
                       + "ifdef CONFIG_X\n\tKBUILD_DEFCONFIG := board_defconfig # the board's\nendif\n")
        try tree.write("arch/riscv/configs/board_defconfig", "CONFIG_X=y\n")
        try tree.write("arch/riscv/configs/defconfig", "CONFIG_Y=y\n")
        XCTAssertEqual(Architecture(name: "riscv").defaultDefconfig(sourceRoot: tree.root), tree.path("arch/riscv/configs/board_defconfig"))
    }

    func testDotConfig() {
        let config = KernelConfig(parsing: """
            #
            # Linux/arm64 6.1.42 Kernel Configuration
            #
            CONFIG_A=y
            CONFIG_B=m
            # CONFIG_C is not set
            CONFIG_D=n
            CONFIG_NAME="two words # not a comment"
            CONFIG_BASE=0x1000
            CONFIG_A=m
            """)
        XCTAssertEqual(config.headerArch, "arm64")
        XCTAssertEqual(config.headerVersion, "6.1.42")
        XCTAssertEqual(config.value("A"), "m", "later lines win")
        XCTAssertTrue(config.isEnabled("B"))
        XCTAssertFalse(config.isEnabled("C"))
        XCTAssertNil(config.value("D"))
        XCTAssertEqual(config.choices["C"], "n")
        XCTAssertEqual(config.choices["D"], "n")
        XCTAssertNil(config.choices["NEVER_OFFERED"])
        XCTAssertEqual(config.value("NAME"), "\"two words # not a comment\"")
        XCTAssertEqual(config.integer("BASE"), 4096)
        XCTAssertEqual(config.values.keys.sorted(), ["A", "B", "BASE", "NAME"])
    }

    func testCRLFDotConfigReadsLikeLF() {
        let lf = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m\nCONFIG_S=\"s\"\n"
        let crlf = KernelConfig.parse(lf.replacingOccurrences(of: "\n", with: "\r\n"))
        XCTAssertEqual(crlf, KernelConfig(parsing: lf))
        XCTAssertEqual(crlf.values, ["A": "y", "C": "m", "S": "\"s\""])
        XCTAssertEqual(crlf.choices["B"], "n")
    }
}
