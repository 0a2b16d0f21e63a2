// swift-tools-version:5.9
import PackageDescription
import Foundation

// Debian's libclang-dev puts headers and the library under an LLVM prefix
// (/usr/lib/llvm-N). The Swift toolchain ships its own libclang without headers,
// so we point at Debian's explicitly: newest installed prefix wins, 14 is what
// bookworm ships.
let llvmPrefix: String = {
    if let env = ProcessInfo.processInfo.environment["KWARDEN_LLVM_PREFIX"] { return env }
    for version in (11...21).reversed() {
        let prefix = "/usr/lib/llvm-\(version)"
        if FileManager.default.fileExists(atPath: prefix + "/include/clang-c/Index.h") { return prefix }
    }
    return "/usr/lib/llvm-14"
}()

let clangCFlags: [String] = ["-I\(llvmPrefix)/include"]
let clangLinkFlags: [String] = ["-L\(llvmPrefix)/lib", "-Xlinker", "-rpath", "-Xlinker", "\(llvmPrefix)/lib"]

let package = Package(
    name: "kwarden",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "kwarden", targets: ["kwarden"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(name: "CClang", path: "Sources/CClang"),
        .systemLibrary(name: "CLibc", path: "Sources/CLibc"),
        .systemLibrary(name: "CGit2", path: "Sources/CGit2", pkgConfig: "libgit2",
                       providers: [.apt(["libgit2-dev"])]),
        .target(
            name: "ClangKit",
            dependencies: ["CClang"],
            cSettings: [.unsafeFlags(clangCFlags)],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I\(llvmPrefix)/include"])],
            linkerSettings: [.unsafeFlags(clangLinkFlags)]
        ),
        .target(name: "GitKit", dependencies: ["CGit2"]),
        // Kbuild knowledge: flags per file, compile_commands.json, synthesized generated headers.
        .target(name: "KernelBuild"),
        .target(
            name: "KwardenBackports",
            dependencies: ["GitKit", "KernelBuild", .product(name: "Yams", package: "Yams")]
        ),
        // The rule contract (extract per file on the AST, judge across the tree on summaries), the
        // file context rules see, metadata, findings and the C-expression helpers.
        .target(
            name: "RuleKit",
            dependencies: ["ClangKit", "CLibc", .product(name: "Yams", package: "Yams")],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I\(llvmPrefix)/include"])],
            linkerSettings: [.unsafeFlags(clangLinkFlags)]
        ),
        // The rules kwarden ships, one folder each; they see RuleKit and ClangKit, never the scanner.
        .target(
            name: "KwardenRules",
            dependencies: ["RuleKit", "ClangKit"],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I\(llvmPrefix)/include"])],
            linkerSettings: [.unsafeFlags(clangLinkFlags)]
        ),
        .target(
            name: "KwardenCore",
            dependencies: ["ClangKit", "KernelBuild", "RuleKit", "KwardenRules", "CLibc", .product(name: "Yams", package: "Yams"),
                           .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I\(llvmPrefix)/include"])],
            linkerSettings: [.unsafeFlags(clangLinkFlags)]
        ),
        // Pre-merge gate: findings a commit range introduces, read from git without touching the work tree.
        .target(
            name: "KwardenGate",
            dependencies: ["KwardenCore", "RuleKit", "GitKit"],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I\(llvmPrefix)/include"])],
            linkerSettings: [.unsafeFlags(clangLinkFlags)]
        ),
        .executableTarget(
            name: "kwarden",
            dependencies: [
                "KwardenCore",
                "RuleKit",
                "KwardenRules",
                "KwardenBackports",
                "KwardenGate",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I\(llvmPrefix)/include"])],
            linkerSettings: [.unsafeFlags(clangLinkFlags)]
        ),
        .testTarget(
            name: "KwardenCoreTests",
            dependencies: ["KwardenCore", "RuleKit", "KwardenRules"],
            exclude: ["Fixtures"],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I\(llvmPrefix)/include"])],
            linkerSettings: [.unsafeFlags(clangLinkFlags)]
        ),
        .testTarget(name: "KernelBuildTests", dependencies: ["KernelBuild"]),
        .testTarget(
            name: "KwardenGateTests",
            dependencies: ["KwardenGate", "KwardenCore", "KwardenRules", "GitKit"],
            swiftSettings: [.unsafeFlags(["-Xcc", "-I\(llvmPrefix)/include"])],
            linkerSettings: [.unsafeFlags(clangLinkFlags)]
        ),
        .testTarget(name: "KwardenBackportsTests", dependencies: ["KwardenBackports", "GitKit"]),
    ]
)
