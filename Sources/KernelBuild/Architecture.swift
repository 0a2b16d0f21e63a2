import Foundation

/// What kwarden knows about one Kbuild architecture (`SRCARCH`): how clang must be told to
/// target it so that its headers take the same `#if` branches as in a real build.
struct Architecture: Sendable, Hashable {
    /// Kbuild's SRCARCH: the directory name under `arch/`.
    let name: String

    /// Maps `ARCH=`/`uname -m` spellings to SRCARCH, as the top Makefile and scripts/subarch.include do.
    static func canonicalName(_ raw: String) -> String {
        let lowered = raw.lowercased()
        switch lowered {
        case "x86_64", "amd64", "i386", "i486", "i586", "i686", "x86-64": return "x86"
        case "aarch64", "aarch64_be", "arm64": return "arm64"
        case "ppc", "ppc64", "ppc64le", "powerpc64", "powerpc64le": return "powerpc"
        case "riscv64", "riscv32": return "riscv"
        case "s390x": return "s390"
        case "mips64", "mips64el", "mipsel": return "mips"
        case "loongarch64": return "loongarch"
        case "sparc64", "sparc32": return "sparc"
        case "sh64": return "sh"
        case "parisc64": return "parisc"
        case "tilegx", "tilepro": return "tile"
        default:
            if lowered.hasPrefix("arm") { return "arm" }   // armv7l, armv6l, armeb ...
            return lowered
        }
    }

    /// The SRCARCH of the machine running kwarden.
    static var hostName: String {
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: &info.machine) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return canonicalName(machine)
    }

    /// Architectures clang 14 can target. The others (alpha, arc, csky, microblaze, nios2,
    /// openrisc, parisc, sh, xtensa, ia64, ...) have no clang backend, so their headers cannot be
    /// parsed with their own types.
    static let clangSupported: Set<String> = [
        "x86", "arm64", "arm", "riscv", "powerpc", "s390", "mips", "loongarch", "sparc", "hexagon", "m68k",
    ]

    /// Why an arch outside `clangSupported` cannot be parsed.
    static func unsupportedReason(_ name: String) -> String {
        if name == "um" {
            return "User-Mode Linux layers its host arch's generated headers under its own, which kwarden does not synthesize yet"
        }
        return "clang has no target for it"
    }

    /// The `--target=` triple and the arch flags from `arch/$SRCARCH/Makefile` that change what
    /// the preprocessor and the type checker see (macros, long/pointer size, endianness).
    /// `config` decides the variants (32/64 bit, endianness, ISA level).
    func targetFlags(config: KernelConfig) -> [String] {
        let is64 = config.isEnabled("64BIT")
        let bigEndian = config.isEnabled("CPU_BIG_ENDIAN")
        switch name {
        case "x86":
            if is64 || !config.hasValues {
                return ["--target=x86_64-linux-gnu", "-mno-sse", "-mno-mmx", "-mno-sse2", "-mno-3dnow", "-mno-avx",
                        "-mno-red-zone", "-mcmodel=kernel"]
            }
            return ["--target=i686-linux-gnu", "-mno-sse", "-mno-mmx", "-mno-sse2", "-mno-3dnow", "-mno-avx",
                    "-mregparm=3", "-freg-struct-return"]
        case "arm64":
            let triple = bigEndian ? "aarch64_be-linux-gnu" : "aarch64-linux-gnu"
            return ["--target=\(triple)", "-mgeneral-regs-only"]
        case "arm":
            let triple = bigEndian ? "armeb-linux-gnueabi" : "arm-linux-gnueabi"
            // arch/arm/Makefile: arch-$(CONFIG_CPU_32vN) = -D__LINUX_ARM_ARCH__=N -march=...
            let levels: [(String, Int, String)] = [
                ("CPU_32v7M", 7, "armv7-m"), ("CPU_32v7", 7, "armv7-a"), ("CPU_32v6K", 6, "armv6k"),
                ("CPU_32v6", 6, "armv6"), ("CPU_32v5", 5, "armv5te"), ("CPU_32v4T", 4, "armv4t"),
                ("CPU_32v4", 4, "armv4"), ("CPU_32v3", 3, "armv3m"),
            ]
            let level = levels.first { config.isEnabled($0.0) } ?? ("CPU_32v7", 7, "armv7-a")
            return ["--target=\(triple)", "-D__LINUX_ARM_ARCH__=\(level.1)", "-march=\(level.2)",
                    "-mabi=aapcs-linux", "-mfloat-abi=soft"]
        case "riscv":
            if is64 || !config.hasValues {
                return ["--target=riscv64-linux-gnu", "-mabi=lp64", "-march=rv64imac", "-mno-relax"]
            }
            return ["--target=riscv32-linux-gnu", "-mabi=ilp32", "-march=rv32imac", "-mno-relax"]
        case "powerpc":
            if config.isEnabled("PPC64") || !config.hasValues {
                let triple = config.isEnabled("CPU_LITTLE_ENDIAN") ? "powerpc64le-linux-gnu" : "powerpc64-linux-gnu"
                return ["--target=\(triple)", "-msoft-float"]
            }
            return ["--target=powerpc-linux-gnu", "-msoft-float"]
        case "s390":
            return ["--target=s390x-linux-gnu", "-msoft-float"]
        case "mips":
            let base = is64 ? "mips64" : "mips"
            let triple = base + (config.isEnabled("CPU_LITTLE_ENDIAN") ? "el" : "") + "-linux-gnu"
            return ["--target=\(triple)", "-msoft-float", "-mno-abicalls", "-fno-pic"]
        case "loongarch":
            // clang 14 has no LoongArch backend: parse as another 64-bit little-endian target and
            // define the compiler macros the arch headers test. Types keep their LP64 sizes.
            return ["--target=aarch64-linux-gnu", "-U__aarch64__", "-U__ARM_ARCH", "-D__loongarch__",
                    "-D__loongarch64", "-D__loongarch_grlen=64", "-D__loongarch_frlen=0", "-D_LOONGARCH_SZLONG=64",
                    "-D__loongarch_soft_float"]
        case "sparc":
            return [is64 || !config.hasValues ? "--target=sparc64-linux-gnu" : "--target=sparc-linux-gnu"]
        case "hexagon":
            return ["--target=hexagon-unknown-linux-musl"]
        case "m68k":
            return ["--target=m68k-linux-gnu"]
        default:
            return []
        }
    }

    /// What parsing this arch with clang 14 cannot get right, for the notes.
    var limitation: String? {
        switch name {
        case "loongarch":
            return "clang 14 has no LoongArch target: parsing as aarch64 with LoongArch's macros; its inline asm constraints (ZB, ZC) are reported as errors"
        default:
            return nil
        }
    }

    /// Extra include directories some arches add in their Makefile for every file.
    func extraIncludeDirectories(sourceRoot: String) -> [String] {
        switch name {
        case "mips":
            // arch/mips/Kbuild.platforms picks one mach-* dir; mach-generic is the fallback for all.
            return [sourceRoot + "/arch/mips/include/asm/mach-generic"]
        default:
            return []
        }
    }

    /// The defconfig `make defconfig` uses for this arch (`KBUILD_DEFCONFIG` in its Makefile).
    func defaultDefconfig(sourceRoot: String) -> String? {
        let configs = "\(sourceRoot)/arch/\(name)/configs"
        let fm = FileManager.default
        var candidates: [String] = []
        switch name {
        case "x86": candidates = ["x86_64_defconfig", "i386_defconfig"]
        case "powerpc": candidates = ["ppc64_defconfig", "ppc64le_defconfig"]
        case "sparc": candidates = ["sparc64_defconfig", "sparc32_defconfig"]
        // KBUILD_DEFCONFIG 32r2el_defconfig is generic_defconfig merged with fragments.
        case "mips": candidates = ["generic_defconfig"]
        default:
            if let makefile = try? String(contentsOfFile: "\(sourceRoot)/arch/\(name)/Makefile", encoding: .utf8) {
                // Set inside `ifdef` blocks too, indented or not: every setting is a candidate.
                for assignment in MakeSyntax.assignments(in: makefile, tabIndentedLinesAreRecipes: false)
                where assignment.variable == "KBUILD_DEFCONFIG" && !assignment.rawValue.contains("$") {
                    candidates.append(assignment.rawValue)
                }
            }
            candidates.append("defconfig")
        }
        for candidate in candidates where fm.fileExists(atPath: "\(configs)/\(candidate)") {
            return "\(configs)/\(candidate)"
        }
        // Some arches keep only board configs; any defconfig beats none.
        if let entries = try? fm.contentsOfDirectory(atPath: configs).sorted(),
           let first = entries.first(where: { $0.hasSuffix("_defconfig") }) {
            return "\(configs)/\(first)"
        }
        return nil
    }
}
