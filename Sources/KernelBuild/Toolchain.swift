import Foundation

/// Where clang's own headers (stddef.h, stdarg.h, ...) live. Kbuild passes `-nostdinc -isystem
/// $(shell $(CC) -print-file-name=include)`; libclang needs the same directory spelled out.
enum Toolchain {
    /// LLVM prefixes to search, newest first: the one Package.swift links libclang from wins.
    static func llvmPrefixes(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        if let prefix = environment["KWARDEN_LLVM_PREFIX"] { return [prefix] }
        return (11...21).reversed().map { "/usr/lib/llvm-\($0)" }
            .filter { FileManager.default.fileExists(atPath: $0 + "/include/clang-c/Index.h") || FileManager.default.fileExists(atPath: $0 + "/lib/clang") }
    }

    /// `<prefix>/lib/clang/<version>/include` holding stddef.h; the highest version wins.
    static func resourceIncludeDirectory() throws -> String {
        let fm = FileManager.default
        var searched: [String] = []
        for prefix in llvmPrefixes() {
            let base = prefix + "/lib/clang"
            searched.append(base)
            guard let versions = try? fm.contentsOfDirectory(atPath: base) else { continue }
            let sorted = versions.sorted { $0.compare($1, options: .numeric) == .orderedDescending }
            for version in sorted where fm.fileExists(atPath: "\(base)/\(version)/include/stddef.h") {
                return "\(base)/\(version)/include"
            }
        }
        throw KernelBuildError.missingClangResourceDirectory(searched: searched)
    }
}
