import Foundation
import XCTest
@testable import KernelBuild

/// The arch-specific generators re-implement scripts from the tree; these pin their output to
/// what the original scripts print for small inputs.
final class ArchToolHeadersTests: XCTestCase {
    func testArm64CpucapsAndSysreg() throws {
        let tree = try FakeKernelTree()
        try tree.write("arch/arm64/tools/cpucaps", "# comment\n\nALWAYS_BOOT\nHAS_GIC_CPUIF_SYSREGS\n")
        try tree.write("arch/arm64/tools/sysreg", """
            # comment
            Sysreg\tID_AA64ISAR0_EL1\t3\t0\t0\t6\t0
            Enum\t63:60\tRNDR
            \t0b0000\tNI
            \t0b0001\tIMP
            EndEnum
            Res0\t59:4
            Field\t3:0\tLOW
            EndSysreg

            """)
        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "arm64")
        let caps = try XCTUnwrap(context.synthesizedFiles.first { $0.path.hasSuffix("/generated/asm/cpucaps.h") }).contents
        // awk: printf("#define ARM64_%-30s\t%d\n", $0, cap_num++)
        XCTAssertTrue(caps.contains("#define ARM64_ALWAYS_BOOT" + String(repeating: " ", count: 19) + "\t0\n"), caps)
        XCTAssertTrue(caps.contains("#define ARM64_HAS_GIC_CPUIF_SYSREGS" + String(repeating: " ", count: 9) + "\t1\n"), caps)
        XCTAssertTrue(caps.contains("#define ARM64_NCAPS\t\t\t\t2\n"), caps)

        let sysreg = try XCTUnwrap(context.synthesizedFiles.first { $0.path.hasSuffix("/generated/asm/sysreg-defs.h") }).contents
        func define(_ name: String, _ value: String) -> String {
            ("#define " + name).padding(toLength: 48, withPad: " ", startingAt: 0) + value + "\n"
        }
        for expected in [
            define("REG_ID_AA64ISAR0_EL1", "S3_0_C0_C6_0"),
            define("SYS_ID_AA64ISAR0_EL1", "sys_reg(3, 0, 0, 6, 0)"),
            define("SYS_ID_AA64ISAR0_EL1_CRm", "6"),
            define("ID_AA64ISAR0_EL1_RNDR_SHIFT", "60"),
            define("ID_AA64ISAR0_EL1_RNDR_WIDTH", "4"),
            define("ID_AA64ISAR0_EL1_RNDR_IMP", "UL(0b0001)"),
            define("ID_AA64ISAR0_EL1_LOW_MASK", "GENMASK(3, 0)"),
            define("ID_AA64ISAR0_EL1_RES0", "(UL(0) | GENMASK_ULL(59, 4))"),
            define("ID_AA64ISAR0_EL1_RES1", "(UL(0))"),
        ] {
            XCTAssertTrue(sysreg.contains(expected), "missing \(expected) in\n\(sysreg)")
        }
    }

    func testS390FacilityWordsFollowConfig() {
        let source = """
            static struct facility_def facility_defs[] = {
            \t{
            \t\t.name = "FACILITIES_ALS",
            \t\t.bits = (int[]){
            \t\t\t0,  /* N3 instructions */
            \t\t\t1,  /* z/Arch mode installed */
            #ifdef CONFIG_HAVE_MARCH_Z196_FEATURES
            \t\t\t45, /* fast-BCR, etc. */
            #endif
            \t\t\t64, /* second word */
            \t\t\t-1 /* END */
            \t\t}
            \t},
            };
            """
        var config = KernelConfig()
        let without = ArchToolHeaders.facilityHeader(source, config: config)
        XCTAssertTrue(without.contains("#define FACILITIES_ALS _AC(0xc000000000000000,UL),_AC(0x8000000000000000,UL)\n"), without)
        config.set("HAVE_MARCH_Z196_FEATURES", "y")
        let with = ArchToolHeaders.facilityHeader(source, config: config)
        XCTAssertTrue(with.contains("#define FACILITIES_ALS _AC(0xc000000000040000,UL),_AC(0x8000000000000000,UL)\n"), with)
    }

    func testArmUnistdHeaders() throws {
        let tree = try FakeKernelTree(arches: ["arm"])
        try tree.write("arch/arm/tools/syscall.tbl", "0\tcommon\trestart_syscall\tsys_restart_syscall\n1\toabi\ttime\tsys_time32\n2\teabi\tpoll\tsys_poll\n")
        let context = try BuildContext(treeRoot: tree.root, compileCommands: nil, arch: "armv7l")
        let eabi = try XCTUnwrap(context.synthesizedFiles.first { $0.path.hasSuffix("/uapi/asm/unistd-eabi.h") }).contents
        XCTAssertTrue(eabi.contains("#define __NR_restart_syscall (__NR_SYSCALL_BASE + 0)\n"), eabi)
        XCTAssertTrue(eabi.contains("#define __NR_poll (__NR_SYSCALL_BASE + 2)\n"), eabi)
        XCTAssertFalse(eabi.contains("__NR_time "), eabi)
        let arguments = context.arguments(for: tree.path("kernel/fork.c"))
        XCTAssertTrue(arguments.contains("--target=arm-linux-gnueabi"), "\(arguments)")
        XCTAssertTrue(arguments.contains("-D__LINUX_ARM_ARCH__=7"), "\(arguments)")
    }
}
