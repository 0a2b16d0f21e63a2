import Foundation

/// Produces, in memory, the headers `make prepare` would generate, so an unbuilt tree parses with
/// its real types. Paths are relative to the object tree (where Kbuild writes them).
struct GeneratedHeaders {
    let sourceRoot: String
    let arch: Architecture
    let config: KernelConfig

    /// Every synthesized header: relative path → contents.
    func all() -> [String: String] {
        var files: [String: String] = [:]
        files["include/generated/autoconf.h"] = config.autoconfHeader(arch: arch.name)
        files["include/config/auto.conf"] = config.autoConf(arch: arch.name)
        for (path, contents) in asmWrappers() { files[path] = contents }
        for (path, contents) in SyscallHeaders(sourceRoot: sourceRoot, arch: arch.name).generate() {
            files[path] = contents
        }
        for (path, contents) in ArchToolHeaders(sourceRoot: sourceRoot, arch: arch.name, config: config).generate() {
            files[path] = contents
        }
        let version = KernelVersion(makefileAt: sourceRoot + "/Makefile")
        let localVersion = config.value("LOCALVERSION").map(Self.unquote) ?? ""
        let release = version.release + localVersion
        files["include/generated/utsrelease.h"] = "#define UTS_RELEASE \"\(release)\"\n"
        files["include/generated/uapi/linux/version.h"] = version.versionHeader
        files["include/generated/utsversion.h"] = "#define UTS_VERSION \"#1 SMP\"\n"
        files["include/generated/compile.h"] = """
            #define UTS_MACHINE\t\t"\(utsMachine)"
            #define LINUX_COMPILE_BY\t"kwarden"
            #define LINUX_COMPILE_HOST\t"kwarden"
            #define LINUX_COMPILER\t\t"clang"

            """
        files["include/generated/package.h"] = "#define LINUX_PACKAGE_ID \"\"\n"
        // With CONFIG_TRIM_UNUSED_KSYMS, export.h includes the list of symbols modules use
        // (`#define __KSYM_foo 1`); unknown without a build, so none: exports compile out.
        files["include/generated/autoksyms.h"] = "/*\n * Automatically generated file; DO NOT EDIT.\n */\n\n"
        files["include/generated/bounds.h"] = boundsHeader()
        files["include/generated/timeconst.h"] = TimeConstants.header(hz: config.integer("HZ") ?? 250)
        // asm-offsets.h holds offsetof() values computed by compiling arch/*/kernel/asm-offsets.c;
        // C code only needs it in assembly-facing macros, so an empty guard keeps includes working.
        files["include/generated/asm-offsets.h"] = """
            #ifndef __ASM_OFFSETS_H__
            #define __ASM_OFFSETS_H__
            /* Synthesized by kwarden: the tree is not built, offsets are unknown. */
            #endif

            """
        return files
    }

    /// `uname -m` of the configured kernel, as UTS_MACHINE in the arch Makefile.
    private var utsMachine: String {
        switch arch.name {
        case "x86": return config.isEnabled("64BIT") || !config.hasValues ? "x86_64" : "i386"
        case "arm64": return "aarch64"
        case "riscv": return config.isEnabled("64BIT") ? "riscv64" : "riscv32"
        case "s390": return "s390x"
        case "powerpc": return config.isEnabled("PPC64") ? "ppc64" : "ppc"
        case "loongarch": return "loongarch64"
        default: return arch.name
        }
    }

    /// `include/generated/bounds.h`: computed by compiling kernel/bounds.c; derived here from the
    /// config where the value depends on it.
    func boundsHeader() -> String {
        var zones = 2   // ZONE_NORMAL and ZONE_MOVABLE always exist
        for zone in ["ZONE_DMA", "ZONE_DMA32", "HIGHMEM", "ZONE_DEVICE"] where config.isEnabled(zone) { zones += 1 }
        let cpus = config.integer("NR_CPUS") ?? 1
        let cpuBits = Self.orderBase2(cpus)
        let debugLocks = config.isEnabled("DEBUG_SPINLOCK") || config.isEnabled("DEBUG_LOCK_ALLOC")
        let lruGen = config.isEnabled("LRU_GEN")
        // NR_PAGEFLAGS is the length of enum pageflags after the preprocessor; 24 is what x86_64
        // and arm64 defconfigs give, and only its size relative to BITS_PER_LONG matters to layout #ifs.
        return """
            #ifndef __LINUX_BOUNDS_H__
            #define __LINUX_BOUNDS_H__
            /* Synthesized by kwarden from the kernel configuration. */
            #define NR_PAGEFLAGS 24
            #define MAX_NR_ZONES \(zones)
            #define NR_CPUS_BITS \(cpuBits)
            #define SPINLOCK_SIZE \(debugLocks ? 64 : 4)
            #define LRU_GEN_WIDTH \(lruGen ? 3 : 0)
            #define __LRU_REFS_WIDTH \(lruGen ? 2 : 0)
            #endif

            """
    }

    static func orderBase2(_ value: Int) -> Int {
        var bits = 0
        while (1 << bits) < value { bits += 1 }
        return bits
    }

    static func unquote(_ value: String) -> String {
        guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else { return value }
        return String(value.dropFirst().dropLast())
    }

    // MARK: asm-generic wrappers

    /// The wrappers `scripts/Makefile.asm-generic` writes: for the arch's `generic-y` plus the
    /// `mandatory-y` headers the arch does not provide itself, minus its `generated-y`, a header
    /// containing `#include <asm-generic/X.h>`. Done for the kernel and the uapi directories.
    func asmWrappers() -> [String: String] {
        var files: [String: String] = [:]
        let pairs = [
            ("arch/\(arch.name)/include/asm", "include/asm-generic", "arch/\(arch.name)/include/generated/asm"),
            ("arch/\(arch.name)/include/uapi/asm", "include/uapi/asm-generic", "arch/\(arch.name)/include/generated/uapi/asm"),
        ]
        for (archDir, genericDir, outDir) in pairs {
            for header in Self.wrapperNames(sourceRoot: sourceRoot, archDir: archDir, genericDir: genericDir) {
                let stem = header.hasSuffix(".h") ? String(header.dropLast(2)) : header
                files["\(outDir)/\(header)"] = "#include <asm-generic/\(stem).h>\n"
            }
        }
        return files
    }

    static func wrapperNames(sourceRoot: String, archDir: String, genericDir: String) -> [String] {
        let archLists = KbuildList(path: "\(sourceRoot)/\(archDir)/Kbuild")
        let genericLists = KbuildList(path: "\(sourceRoot)/\(genericDir)/Kbuild")
        let fm = FileManager.default
        let generated = Set(archLists["generated-y"])
        let providedByArch: (String) -> Bool = { fm.fileExists(atPath: "\(sourceRoot)/\(archDir)/\($0)") }
        var names: [String] = []
        var seen = Set<String>()
        for name in archLists["generic-y"] where !generated.contains(name) && !providedByArch(name) {
            if seen.insert(name).inserted { names.append(name) }
        }
        let mandatory = archLists["mandatory-y"] + genericLists["mandatory-y"]
        for name in mandatory where !generated.contains(name) && !providedByArch(name) {
            if seen.insert(name).inserted { names.append(name) }
        }
        return names
    }
}

/// The `name-y += a.h b.h` lists of a Kbuild file (only unconditional `-y` lists are meaningful
/// in asm Kbuild files).
struct KbuildList {
    private var lists: [String: [String]] = [:]

    init(path: String) {
        self.init(text: (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
    }

    init(text: String) {
        // Asm Kbuild files have no recipes: a tab-indented line is a list like any other.
        for assignment in MakeSyntax.assignments(in: text, tabIndentedLinesAreRecipes: false)
        where !assignment.variable.contains("$") {
            switch assignment.op {
            case .append: lists[assignment.variable, default: []] += assignment.values
            case .conditional: if lists[assignment.variable] == nil { lists[assignment.variable] = assignment.values }
            case .simple, .recursive: lists[assignment.variable] = assignment.values
            }
        }
    }

    subscript(name: String) -> [String] { lists[name] ?? [] }
}

/// VERSION/PATCHLEVEL/SUBLEVEL/EXTRAVERSION from the top Makefile.
struct KernelVersion {
    var version = 0, patchLevel = 0, subLevel = 0
    var extraVersion = ""

    init(makefileAt path: String) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        for line in text.split(separator: "\n").prefix(40) {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmedBlanks }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "VERSION": version = Int(parts[1]) ?? 0
            case "PATCHLEVEL": patchLevel = Int(parts[1]) ?? 0
            case "SUBLEVEL": subLevel = Int(parts[1]) ?? 0
            case "EXTRAVERSION": extraVersion = parts[1]
            default: break
            }
        }
    }

    var release: String { "\(version).\(patchLevel).\(subLevel)\(extraVersion)" }

    var versionHeader: String {
        let code = (version << 16) + (patchLevel << 8) + min(subLevel, 255)
        return """
            #define LINUX_VERSION_CODE \(code)
            #define KERNEL_VERSION(a,b,c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))
            #define LINUX_VERSION_MAJOR \(version)
            #define LINUX_VERSION_PATCHLEVEL \(patchLevel)
            #define LINUX_VERSION_SUBLEVEL \(subLevel)

            """
    }
}

/// kernel/time/timeconst.bc, computed exactly.
enum TimeConstants {
    static func gcd(_ a: UInt128, _ b: UInt128) -> UInt128 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    static func fmul(_ b: Int, _ n: UInt128, _ d: UInt128) -> UInt128 { ((1 << UInt128(b)) * n + d - 1) / d }

    static func fadj(_ b: Int, _ n: UInt128, _ d: UInt128) -> UInt128 {
        let reduced = d / gcd(n, d)
        return (1 << UInt128(b)) * (reduced - 1) / reduced
    }

    static func fmuls(_ b: Int, _ n: UInt128, _ d: UInt128) -> Int {
        var s = 0
        while fmul(s, n, d) < (1 << UInt128(b - 1)) { s += 1 }
        return s
    }

    static func header(hz rawHz: Int) -> String {
        let hz = UInt128(max(rawHz, 2))
        func hex(_ v: UInt128) -> String { String(v, radix: 16, uppercase: true) }
        var out = "/* Automatically generated by kernel/time/timeconst.bc */\n"
        out += "/* Time conversion constants for HZ == \(hz) */\n\n"
        out += "#ifndef KERNEL_TIMECONST_H\n#define KERNEL_TIMECONST_H\n\n"
        out += "#include <linux/param.h>\n#include <linux/types.h>\n\n"
        out += "#if HZ != \(hz)\n#error \"include/generated/timeconst.h has the wrong HZ value!\"\n#endif\n\n"
        func pair(_ name: String, _ n: UInt128, _ d: UInt128) {
            let s = fmuls(32, n, d)
            out += "#define \(name)_MUL32\tU64_C(0x\(hex(fmul(s, n, d))))\n"
            out += "#define \(name)_ADJ32\tU64_C(0x\(hex(fadj(s, n, d))))\n"
            out += "#define \(name)_SHR32\t\(s)\n"
        }
        func ratio(_ to: String, _ unit: UInt128) {
            let cd = gcd(hz, unit)
            out += "#define HZ_TO_\(to)_NUM\t\t\(unit / cd)\n#define HZ_TO_\(to)_DEN\t\t\(hz / cd)\n"
            out += "#define \(to)_TO_HZ_NUM\t\t\(hz / cd)\n#define \(to)_TO_HZ_DEN\t\t\(unit / cd)\n"
        }
        pair("HZ_TO_MSEC", 1000, hz)
        pair("MSEC_TO_HZ", hz, 1000)
        ratio("MSEC", 1000)
        out += "\n"
        pair("HZ_TO_USEC", 1_000_000, hz)
        pair("USEC_TO_HZ", hz, 1_000_000)
        ratio("USEC", 1_000_000)
        ratio("NSEC", 1_000_000_000)
        out += "\n#endif /* KERNEL_TIMECONST_H */\n"
        return out
    }
}
