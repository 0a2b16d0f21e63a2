import Foundation

/// Size and modification time of a file (stat(2)): whether what was derived from it still holds
/// (a stored signature, a kept result's dependency, a resolved configuration's input).
public struct FileStamp: Equatable, Codable, Sendable {
    public let size: Int64
    public let modified: Double

    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        size = Int64(info.st_size)
        modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1_000_000_000
    }
}
