import Foundation

/// Where configurations resolved through Kconfig are kept between runs (kwarden's result cache).
public protocol ConfigurationStore: Sendable {
    func resolvedConfiguration(named name: String) -> Data?
    func keepResolvedConfiguration(_ data: Data, named name: String)
}

/// A configuration resolved through Kconfig (an unprepared tree's defconfig), kept with what it
/// was resolved from: every Kconfig file read and the defconfig (size and modification time),
/// every directory a `source` glob listed, and every sourced path that did not exist. It holds
/// while all of them are as they were. Reading an architecture's Kconfig tree is about a second;
/// a scan sets up several architectures, and each worker sets up those of its files.
struct ResolvedConfiguration: Codable {
    struct Input: Codable, Equatable {
        let path: String
        /// nil: absent.
        let stamp: FileStamp?

        init(path: String) {
            self.path = path
            stamp = FileStamp(path: path)
        }
    }

    let config: KernelConfig
    let inputs: [Input]

    init(config: KernelConfig, model: KconfigModel, defconfig: String?) {
        self.config = config
        let paths = model.files.union(model.missingFiles).union(model.listedDirectories).union(defconfig.map { [$0] } ?? [])
        inputs = paths.sorted().map(Input.init(path:))
    }

    /// Whether every input is still as it was read.
    var holds: Bool { inputs.allSatisfy { Input(path: $0.path) == $0 } }

    /// The name a configuration is kept under: one per tree, architecture and defconfig.
    static func name(root: String, arch: String, defconfig: String?) -> String {
        "kconfig-resolved|\(root)|\(arch)|\(defconfig ?? "")"
    }
}
