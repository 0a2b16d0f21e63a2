import CGit2
import Foundation

/// One line of a textual diff hunk.
public struct DiffLine {
    public enum Kind: UInt8 {
        case context = 32     // ' '
        case added = 43       // '+'
        case removed = 45     // '-'
    }
    public let kind: Kind
    /// The line's bytes without the trailing newline.
    public let content: [UInt8]
    /// 1-based line number in the old file (removed and context lines), 0 otherwise.
    public let oldLine: Int
    /// 1-based line number in the new file (added and context lines), 0 otherwise.
    public let newLine: Int

    public var text: String { String(decoding: content, as: UTF8.self) }
}

public struct DiffHunk {
    public let oldStart: Int, oldCount: Int, newStart: Int, newCount: Int
    public let lines: [DiffLine]
    /// What follows the line ranges in the hunk header: the enclosing function, as git's default funcname
    /// pattern finds it (a line starting with a letter, `_` or `$`); empty when there is none.
    public var heading: String = ""
}

/// What happened to one file in a diff, with its hunks.
public struct FilePatch {
    public enum Status: String { case added, deleted, modified, renamed, typeChanged = "type-changed", other }
    public let status: Status
    public let oldPath: String, newPath: String
    /// Octal file modes as git prints them (100644, 100755, 120000); 0 when the side does not exist.
    public let oldMode: UInt32, newMode: UInt32
    public let oldId: Oid, newId: Oid
    public let isBinary: Bool
    public let hunks: [DiffHunk]

    /// The path this change is about: the new path unless the file was deleted.
    public var path: String { status == .deleted ? oldPath : newPath }
}

/// A tree-to-tree diff. Owns the libgit2 diff.
public final class Diff {
    let pointer: OpaquePointer
    let repository: Repository

    init(_ pointer: OpaquePointer, repository: Repository) {
        self.pointer = pointer
        self.repository = repository
    }

    deinit { git_diff_free(pointer) }

    public var count: Int { git_diff_num_deltas(pointer) }

    /// Paths touched, without loading any file content (cheap: only trees are compared).
    public var paths: [String] {
        (0..<git_diff_num_deltas(pointer)).compactMap { index -> String? in
            guard let delta = git_diff_get_delta(pointer, index) else { return nil }
            let file = delta.pointee.status == GIT_DELTA_DELETED ? delta.pointee.old_file : delta.pointee.new_file
            return file.path.map { String(cString: $0) }
        }
    }

    /// Every file change with its hunks (loads blob content and runs the line diff).
    public func filePatches() throws -> [FilePatch] {
        try (0..<git_diff_num_deltas(pointer)).map { try filePatch(at: $0) }
    }

    private func filePatch(at index: Int) throws -> FilePatch {
        var patch: OpaquePointer?
        try check(git_patch_from_diff(&patch, pointer, index), "cannot build the patch of a diff")
        defer { git_patch_free(patch) }
        let delta = git_patch_get_delta(patch)!.pointee
        let hunks = try readHunks(patch!)
        let status: FilePatch.Status
        switch delta.status {
        case GIT_DELTA_ADDED: status = .added
        case GIT_DELTA_DELETED: status = .deleted
        case GIT_DELTA_MODIFIED: status = .modified
        case GIT_DELTA_RENAMED: status = .renamed
        case GIT_DELTA_TYPECHANGE: status = .typeChanged
        default: status = .other
        }
        func path(_ file: git_diff_file) -> String { file.path.map { String(cString: $0) } ?? "" }
        return FilePatch(
            status: status, oldPath: path(delta.old_file), newPath: path(delta.new_file),
            oldMode: status == .added ? 0 : UInt32(delta.old_file.mode),
            newMode: status == .deleted ? 0 : UInt32(delta.new_file.mode),
            oldId: Oid(delta.old_file.id), newId: Oid(delta.new_file.id),
            isBinary: delta.flags & GIT_DIFF_FLAG_BINARY.rawValue != 0,
            hunks: hunks)
    }
}

extension Repository {
    /// Diff between two trees (nil is the empty tree), as `git diff-tree -p` computes it: 3 lines of context,
    /// the indent heuristic git enables by default, no rename detection.
    public func diff(from oldTree: Oid?, to newTree: Oid?) throws -> Diff {
        func lookupTree(_ oid: Oid?) throws -> OpaquePointer? {
            guard var raw = oid?.raw else { return nil }
            var tree: OpaquePointer?
            try check(git_tree_lookup(&tree, pointer, &raw), "no tree \(oid!.hex)")
            return tree
        }
        let old = try lookupTree(oldTree)
        defer { git_tree_free(old) }
        let new = try lookupTree(newTree)
        defer { git_tree_free(new) }
        var options = git_diff_options()
        try check(git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION)), "diff options")
        options.flags = GIT_DIFF_INDENT_HEURISTIC.rawValue
        options.context_lines = 3
        var diff: OpaquePointer?
        try check(git_diff_tree_to_tree(&diff, pointer, old, new, &options), "cannot diff trees")
        return Diff(diff!, repository: self)
    }
}

extension Repository {
    /// Paths of the files that differ between two trees (nil is the empty tree), deleted files under their old
    /// path. Compares tree entries by id and descends only into subtrees that differ, without loading any file
    /// or the diff machinery: the cheap question asked of every commit of a long history.
    public func changedPaths(from oldTree: Oid?, to newTree: Oid?) throws -> [String] {
        try changedFiles(from: oldTree, to: newTree).map(\.path)
    }

    /// The files that differ between two trees with their blob on each side (nil where absent), compared as
    /// `changedPaths` compares them.
    public func changedBlobs(from oldTree: Oid?, to newTree: Oid?) throws -> [ChangedFile] {
        try changedFiles(from: oldTree, to: newTree)
    }

    /// The size of an object from its header, without inflating a packed object's content.
    public func objectSize(_ oid: Oid) throws -> Int {
        var size = 0
        var type = GIT_OBJECT_ANY
        var raw = oid.raw
        try check(git_odb_read_header(&size, &type, try objectDatabase(), &raw), "no object \(oid.hex)")
        return size
    }

    /// A file that differs between two trees: its blob and mode on each side (nil and 0 where it is absent).
    public struct ChangedFile {
        public let path: String
        public let oldBlob: Oid?, newBlob: Oid?
        public let oldMode: UInt32, newMode: UInt32
    }

    func changedFiles(from oldTree: Oid?, to newTree: Oid?) throws -> [ChangedFile] {
        try GitKit.changedFiles(in: pointer, from: oldTree, to: newTree)
    }

    /// The same file patches as `diff(from:to:).filePatches()`, built blob by blob from the tree comparison.
    /// Blobs are diffed without their paths, so no attribute file is looked up per file (libgit2 would otherwise
    /// search the working tree for .gitattributes on every diff); binary files are detected from content.
    /// `contextLines: 0` gives the patch a backport over different surrounding code still shares.
    /// `only` restricts the patches to those paths (the others are not read at all).
    public func filePatches(from oldTree: Oid?, to newTree: Oid?, contextLines: UInt32 = 3,
                            only paths: Set<String>? = nil) throws -> [FilePatch] {
        var files = try changedFiles(from: oldTree, to: newTree)
        if let paths { files = files.filter { paths.contains($0.path) } }
        return try filePatches(of: files, contextLines: contextLines)
    }

    /// The patches of files whose two sides are already known (from `changedBlobs`): no tree is read again.
    public func filePatches(of files: [ChangedFile], contextLines: UInt32 = 3) throws -> [FilePatch] {
        var options = git_diff_options()
        try check(git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION)), "diff options")
        options.flags = GIT_DIFF_INDENT_HEURISTIC.rawValue
        options.context_lines = contextLines
        func lookupBlob(_ oid: Oid?) throws -> OpaquePointer? {
            guard var raw = oid?.raw else { return nil }
            var blob: OpaquePointer?
            try check(git_blob_lookup(&blob, pointer, &raw), "no blob \(oid!.hex)")
            return blob
        }
        return try files.map { file in
            let old = try lookupBlob(file.oldBlob)
            defer { git_blob_free(old) }
            let new = try lookupBlob(file.newBlob)
            defer { git_blob_free(new) }
            var patch: OpaquePointer?
            // An empty path, not none: given none, libgit2 names the blobs "file" and looks its attributes up
            // (several stat calls per patch); an empty one uses the default driver.
            try check(git_patch_from_blobs(&patch, old, "", new, "", &options), "cannot diff \(file.path)")
            defer { git_patch_free(patch) }
            let flags = git_patch_get_delta(patch)!.pointee.flags
            let zero = Oid(bytes: [UInt8](repeating: 0, count: 20))
            return FilePatch(
                status: file.oldBlob == nil ? .added : file.newBlob == nil ? .deleted : .modified,
                oldPath: file.path, newPath: file.path, oldMode: file.oldMode, newMode: file.newMode,
                oldId: file.oldBlob ?? zero, newId: file.newBlob ?? zero,
                isBinary: flags & GIT_DIFF_FLAG_BINARY.rawValue != 0, hunks: try readHunks(patch!))
        }
    }

}

/// The hunks of a libgit2 patch, as values.
func readHunks(_ patch: OpaquePointer) throws -> [DiffHunk] {
    var hunks: [DiffHunk] = []
    for hunkIndex in 0..<git_patch_num_hunks(patch) {
        var hunkPointer: UnsafePointer<git_diff_hunk>?
        var lineCount = 0
        try check(git_patch_get_hunk(&hunkPointer, &lineCount, patch, hunkIndex), "cannot read a diff hunk")
        let hunk = hunkPointer!.pointee
        var lines: [DiffLine] = []
        lines.reserveCapacity(lineCount)
        for lineIndex in 0..<lineCount {
            var linePointer: UnsafePointer<git_diff_line>?
            try check(git_patch_get_line_in_hunk(&linePointer, patch, hunkIndex, lineIndex), "cannot read a diff line")
            let line = linePointer!.pointee
            // The "\ No newline at end of file" markers have their own origins; git patch-id skips them too.
            guard let kind = DiffLine.Kind(rawValue: UInt8(bitPattern: line.origin)) else { continue }
            var bytes = line.content.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(line.content_len))) } ?? []
            if bytes.last == 10 { bytes.removeLast() }
            lines.append(DiffLine(kind: kind, content: bytes, oldLine: Int(line.old_lineno), newLine: Int(line.new_lineno)))
        }
        // "@@ -a,b +c,d @@ heading\n": the text after the second "@@", trimmed.
        let heading = withUnsafeBytes(of: hunk.header) { raw -> String in
            let bytes = raw.prefix(Int(hunk.header_len))
            var index = 2
            while index + 1 < bytes.count, !(bytes[index] == 64 && bytes[index + 1] == 64) { index += 1 }
            guard index + 1 < bytes.count else { return "" }
            let text = bytes[(index + 2)...].drop { $0 == 32 || $0 == 9 }
            let trimmed = text.prefix { $0 != 10 && $0 != 13 }
            return String(decoding: trimmed, as: UTF8.self)
        }
        hunks.append(DiffHunk(oldStart: Int(hunk.old_start), oldCount: Int(hunk.old_lines),
                              newStart: Int(hunk.new_start), newCount: Int(hunk.new_lines), lines: lines,
                              heading: heading))
    }
    return hunks
}

/// Files that differ between two trees of the repository behind `pointer`, in byte order of their paths (as
/// libgit2's diff lists them).
func changedFiles(in pointer: OpaquePointer, from oldTree: Oid?, to newTree: Oid?) throws -> [Repository.ChangedFile] {
    var files: [Repository.ChangedFile] = []
    try compareTrees(oldTree, newTree, prefix: "", in: pointer, into: &files)
    return files.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
}

/// The blob id and mode at `path` in `tree`; nil when there is no file there.
func treeEntry(in pointer: OpaquePointer, tree: Oid, path: String) throws -> (id: Oid, mode: UInt32)? {
    var raw = tree.raw
    var treePointer: OpaquePointer?
    try check(git_tree_lookup(&treePointer, pointer, &raw), "no tree \(tree.hex)")
    defer { git_tree_free(treePointer) }
    var entry: OpaquePointer?
    guard git_tree_entry_bypath(&entry, treePointer, path) == 0 else { return nil }
    defer { git_tree_entry_free(entry) }
    guard git_tree_entry_type(entry) == GIT_OBJECT_BLOB else { return nil }
    return (Oid(git_tree_entry_id(entry)!), UInt32(git_tree_entry_filemode(entry).rawValue))
}

private func lookupTree(_ oid: Oid?, in pointer: OpaquePointer) throws -> OpaquePointer? {
    guard var raw = oid?.raw else { return nil }
    var tree: OpaquePointer?
    try check(git_tree_lookup(&tree, pointer, &raw), "no tree \(oid!.hex)")
    return tree
}

/// Walks both trees' entries with libgit2's own lookups, so unchanged entries (nearly all of them) cost no
/// Swift string or allocation.
private func compareTrees(_ old: Oid?, _ new: Oid?, prefix: String, in pointer: OpaquePointer,
                      into files: inout [Repository.ChangedFile]) throws {
    if old == new { return }
    let oldTree = try lookupTree(old, in: pointer)
    defer { git_tree_free(oldTree) }
    let newTree = try lookupTree(new, in: pointer)
    defer { git_tree_free(newTree) }
    func entries(_ tree: OpaquePointer?) -> [OpaquePointer] {
        guard let tree else { return [] }
        return (0..<git_tree_entrycount(tree)).compactMap { git_tree_entry_byindex(tree, $0) }
    }
    // (name, old entry, new entry) for every name whose entry differs, in tree order.
    var differing: [(String, OpaquePointer?, OpaquePointer?)] = []
    for entry in entries(newTree) {
        let name = git_tree_entry_name(entry)!
        let before = oldTree.flatMap { git_tree_entry_byname($0, name) }
        if let before, git_oid_equal(git_tree_entry_id(before), git_tree_entry_id(entry)) == 1,
           git_tree_entry_filemode(before) == git_tree_entry_filemode(entry) { continue }
        differing.append((String(cString: name), before, entry))
    }
    for entry in entries(oldTree) {
        let name = git_tree_entry_name(entry)!
        if newTree.flatMap({ git_tree_entry_byname($0, name) }) == nil {
            differing.append((String(cString: name), entry, nil))
        }
    }
    differing.sort { $0.0 < $1.0 }
    for (name, before, after) in differing {
        let path = prefix + name
        let beforeType = before.map { git_tree_entry_type($0) }, afterType = after.map { git_tree_entry_type($0) }
        // A side that is a tree contributes all files below it; a side that is a file contributes its path.
        if beforeType == GIT_OBJECT_TREE || afterType == GIT_OBJECT_TREE {
            try compareTrees(beforeType == GIT_OBJECT_TREE ? Oid(git_tree_entry_id(before)!) : nil,
                             afterType == GIT_OBJECT_TREE ? Oid(git_tree_entry_id(after)!) : nil,
                             prefix: path + "/", in: pointer, into: &files)
        }
        let oldBlob = beforeType == GIT_OBJECT_BLOB ? before : nil, newBlob = afterType == GIT_OBJECT_BLOB ? after : nil
        if oldBlob != nil || newBlob != nil {
            files.append(Repository.ChangedFile(
                path: path, oldBlob: oldBlob.map { Oid(git_tree_entry_id($0)!) }, newBlob: newBlob.map { Oid(git_tree_entry_id($0)!) },
                oldMode: oldBlob.map { UInt32(git_tree_entry_filemode($0).rawValue) } ?? 0,
                newMode: newBlob.map { UInt32(git_tree_entry_filemode($0).rawValue) } ?? 0))
        }
    }
}
