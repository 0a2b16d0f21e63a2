import Foundation

/// Finds the `.c` files under the paths a user names.
public struct SourceDiscovery {
    /// Directories of a kernel tree that hold userspace programs or build scripts, not kernel code.
    public static let kernelUserspaceDirectories = ["tools", "scripts", "usr", "Documentation", "samples/bpf"]

    public var excludes: [String] = []
    /// In a kernel tree, leave out arch/<other>/ for every other architecture than this one.
    public var onlyArch: String?

    public init(excludes: [String] = [], onlyArch: String? = nil) {
        self.excludes = excludes
        self.onlyArch = onlyArch
    }

    public struct Result {
        public internal(set) var files: [String] = []
        public var missing: [String] = []
        public var skippedUserspace = 0
        public var skippedOtherArch = 0
    }

    /// `root` is the tree the paths are reported against (for excludes, which are relative to it).
    public func discover(paths: [String], root: String, isKernelTree: Bool) -> Result {
        var result = Result()
        let fm = FileManager.default
        var seen = Set<String>()
        for path in paths {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: absolute, isDirectory: &isDirectory) else { result.missing.append(path); continue }
            if !isDirectory.boolValue {
                if seen.insert(absolute).inserted { result.files.append(absolute) }
                continue
            }
            guard let enumerator = fm.enumerator(atPath: absolute) else { result.missing.append(path); continue }
            while let entry = enumerator.nextObject() as? String {
                let full = absolute + "/" + entry
                let name = (entry as NSString).lastPathComponent
                if name.hasPrefix(".") { enumerator.skipDescendants(); continue }
                let relative = RelativePath.make(full, root: root)
                if isExcluded(relative) { enumerator.skipDescendants(); continue }
                if isKernelTree, SourceDiscovery.kernelUserspaceDirectories.contains(where: { relative == $0 || relative.hasPrefix($0 + "/") }) {
                    if entry.hasSuffix(".c") { result.skippedUserspace += 1 }
                    if !entry.hasSuffix(".c") && !entry.contains(".") {
                        // Directory: count what is skipped without parsing it.
                    }
                    continue
                }
                if isKernelTree, let onlyArch, relative.hasPrefix("arch/") {
                    let parts = relative.split(separator: "/")
                    if parts.count >= 2, parts[1] != onlyArch {
                        if entry.hasSuffix(".c") { result.skippedOtherArch += 1 }
                        continue
                    }
                }
                if entry.hasSuffix(".c"), seen.insert(full).inserted { result.files.append(full) }
            }
        }
        result.files.sort()
        return result
    }

    func isExcluded(_ relative: String) -> Bool {
        excludes.contains { pattern in
            let trimmed = pattern.hasSuffix("/") ? String(pattern.dropLast()) : pattern
            if trimmed.contains("*") { return fnmatch(trimmed, relative, 0) == 0 }
            return relative == trimmed || relative.hasPrefix(trimmed + "/")
        }
    }
}

public enum RelativePath {
    public static func make(_ path: String, root: String) -> String {
        guard !root.isEmpty else { return path }
        let prefix = root.hasSuffix("/") ? root : root + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    /// The deepest directory containing every path.
    public static func commonDirectory(_ paths: [String]) -> String {
        let fm = FileManager.default
        let dirs: [[String]] = paths.map { path in
            var isDirectory: ObjCBool = false
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            let dir = fm.fileExists(atPath: absolute, isDirectory: &isDirectory) && isDirectory.boolValue
                ? absolute : (absolute as NSString).deletingLastPathComponent
            return dir.split(separator: "/").map(String.init)
        }
        guard var common = dirs.first else { return fm.currentDirectoryPath }
        for dir in dirs.dropFirst() {
            var n = 0
            while n < common.count && n < dir.count && common[n] == dir[n] { n += 1 }
            common = Array(common.prefix(n))
        }
        return "/" + common.joined(separator: "/")
    }
}
