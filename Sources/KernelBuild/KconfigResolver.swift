import Foundation

/// Resolves a defconfig into a full configuration the way `make defconfig` (scripts/kconfig/conf)
/// does, without running anything from the tree: Kconfig files are parsed, defaults, `depends on`,
/// `select` and choices are evaluated. Shell-based macros (`$(shell,...)`, `$(cc-option,...)`)
/// evaluate to empty, i.e. compiler probes answer "no".
struct KconfigResolver {
    let sourceRoot: String
    let arch: String

    /// The compiler facts Kconfig would probe by running the compiler: kwarden parses with clang,
    /// so the configuration is the one an `LLVM=1` build of that version would get.
    func compilerSymbols() -> [String: String] {
        var version = 0
        if let include = try? Toolchain.resourceIncludeDirectory() {
            let parts = ((include as NSString).deletingLastPathComponent as NSString).lastPathComponent.split(separator: ".").compactMap { Int($0) }
            if parts.count >= 1 { version = parts[0] * 10000 + (parts.count > 1 ? parts[1] * 100 : 0) + (parts.count > 2 ? parts[2] : 0) }
        }
        return ["CC_IS_CLANG": "y", "CC_IS_GCC": "n", "CLANG_VERSION": "\(version)", "GCC_VERSION": "0",
                "CC_VERSION_TEXT": "\"clang version \(version / 10000).\(version / 100 % 100).\(version % 100)\""]
    }

    /// Every Kconfig file of the tree for this arch, parsed.
    func parseModel() -> KconfigModel {
        var parser = KconfigParser(sourceRoot: sourceRoot, arch: arch)
        parser.parseFile("Kconfig")
        var model = parser.model
        model.files = parser.parsedFiles
        model.missingFiles = parser.missingFiles
        model.listedDirectories = parser.listedDirectories
        return model
    }

    func resolve(defconfigPath: String?) throws -> KernelConfig {
        try resolve(defconfigPath: defconfigPath, model: parseModel())
    }

    func resolve(defconfigPath: String?, model: KconfigModel) throws -> KernelConfig {
        var user: [String: String] = [:]
        if let defconfigPath, let text = try? String(contentsOfFile: defconfigPath, encoding: .utf8) {
            let parsed = KernelConfig(parsing: text)
            for (name, value) in parsed.values { user[name] = value }
            // "# CONFIG_X is not set" in a defconfig is a user choice of n.
            for line in text.split(separator: "\n") where line.hasPrefix("# CONFIG_") && line.hasSuffix(" is not set") {
                user[String(line.dropFirst(9).dropLast(11))] = "n"
            }
        }
        var evaluator = KconfigEvaluator(model: model, user: user, forced: compilerSymbols())
        var config = KernelConfig()
        config.headerArch = arch
        config.headerVersion = KernelVersion(makefileAt: sourceRoot + "/Makefile").release
        for name in model.order {
            if let value = evaluator.writtenValue(name) {
                config.set(name, value)
            } else if evaluator.isOfferedBoolean(name) {
                config.markNotSet(name)   // conf writes "# CONFIG_X is not set" for these
            }
        }
        return config
    }
}
