import Foundation
import XCTest

/// A minimal kernel-shaped directory written by each test: just enough files for Kbuild
/// knowledge to act on (no kernel source is copied).
final class FakeKernelTree {
    let root: String

    init(arches: [String] = ["x86", "arm64"]) throws {
        let base = FileManager.default.temporaryDirectory.path + "/kwarden-kbuild-\(UUID().uuidString)"
        root = PathForTests.normalize(base)
        try write("Makefile", "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 42\nEXTRAVERSION = -rc1\nNAME = Test\n")
        try write("Kconfig", "mainmenu \"Linux/$(ARCH) Kernel Configuration\"\nsource \"arch/$(SRCARCH)/Kconfig\"\n")
        try write("include/linux/kconfig.h", "/* kconfig */\n")
        try write("include/linux/compiler_types.h", "/* compiler types */\n")
        try write("include/linux/compiler-version.h", "/* compiler version */\n")
        for arch in arches {
            try write("arch/\(arch)/Kconfig", "config \(arch.uppercased())\n\tdef_bool y\n")
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func path(_ relative: String) -> String { root + "/" + relative }

    func write(_ relative: String, _ contents: String) throws {
        let full = path(relative)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try contents.write(toFile: full, atomically: true, encoding: .utf8)
    }
}

enum PathForTests {
    /// /tmp may be reached through a symlink on some systems; the tests compare plain paths.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for component in path.split(separator: "/") where component != "." {
            if component == ".." { parts.removeLast() } else { parts.append(component) }
        }
        return "/" + parts.joined(separator: "/")
    }
}
