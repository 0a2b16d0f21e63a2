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
        /// The headers under the walked directories (for textual outlines: a driver's own macros
        /// and inline helpers).
        public internal(set) var headers: [String] = []
        public var missing: [String] = []
        /// Named files that are not C sources (a header, a Makefile), as named.
        public var notSources: [String] = []
        /// Files named one by one (not found by walking a directory).
        public var named: Set<String> = []
        public var skippedUserspace = 0
        public var skippedOtherArch = 0
        /// `excludes` patterns that left something out.
        public var matchedExcludes: Set<String> = []
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
                // Headers are checked through the .c files that include them; nothing else is C code.
                guard absolute.hasSuffix(".c") else { result.notSources.append(path); continue }
                if seen.insert(absolute).inserted { result.files.append(absolute) }
                result.named.insert(absolute)
                continue
            }
            walk(absolute, root: root, isKernelTree: isKernelTree, seen: &seen, into: &result)
        }
        result.files.sort()
        result.headers.sort()
        return result
    }

    /// A readdir walk (FileManager's enumerator stats and bridges every entry: seconds on a kernel tree).
    /// Hidden entries and excluded paths are not entered; userspace directories and other
    /// architectures are walked only to count the .c files they hold.
    private func walk(_ directory: String, root: String, isKernelTree: Bool, seen: inout Set<String>, into result: inout Result) {
        guard let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        var subdirectories: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            let full = directory + "/" + name
            var isDirectory = Int32(entry.pointee.d_type) == Int32(DT_DIR)
            var isFile = Int32(entry.pointee.d_type) == Int32(DT_REG)
            if Int32(entry.pointee.d_type) == Int32(DT_UNKNOWN) {
                var info = stat()
                guard lstat(full, &info) == 0 else { continue }
                isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
                isFile = (info.st_mode & S_IFMT) == S_IFREG
            } else if Int32(entry.pointee.d_type) == Int32(DT_LNK) {
                // A link to a source file counts; links to directories are not followed.
                var info = stat()
                isFile = stat(full, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
            }
            let isHeader = isFile && name.hasSuffix(".h")
            guard isDirectory || (isFile && name.hasSuffix(".c")) || isHeader else { continue }
            let relative = RelativePath.make(full, root: root)
            if let pattern = excludingPattern(relative) { result.matchedExcludes.insert(pattern); continue }
            if isKernelTree, SourceDiscovery.kernelUserspaceDirectories.contains(where: { relative == $0 || relative.hasPrefix($0 + "/") }) {
                if isDirectory { result.skippedUserspace += countSources(full, root: root) } else if !isHeader { result.skippedUserspace += 1 }
                continue
            }
            if isKernelTree, let onlyArch, relative.hasPrefix("arch/") {
                let parts = relative.split(separator: "/")
                if parts.count >= 2, parts[1] != onlyArch {
                    if isDirectory { result.skippedOtherArch += countSources(full, root: root) } else if !isHeader { result.skippedOtherArch += 1 }
                    continue
                }
            }
            if isDirectory { subdirectories.append(full) } else if isHeader { result.headers.append(full) } else if seen.insert(full).inserted { result.files.append(full) }
        }
        for subdirectory in subdirectories { walk(subdirectory, root: root, isKernelTree: isKernelTree, seen: &seen, into: &result) }
    }

    /// .c files under a directory that is left out (for the notes' counts).
    private func countSources(_ directory: String, root: String) -> Int {
        var seen = Set<String>()
        var result = Result()
        walk(directory, root: root, isKernelTree: false, seen: &seen, into: &result)
        return result.files.count
    }

    func isExcluded(_ relative: String) -> Bool { excludingPattern(relative) != nil }

    /// The first pattern of `excludes` that leaves `relative` out.
    func excludingPattern(_ relative: String) -> String? {
        excludes.first { pattern in
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
