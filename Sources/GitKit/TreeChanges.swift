import CGit2

/// One file changed between two trees, renames detected as `git diff -M` does.
public struct TreeChange: Hashable {
    public enum Kind: String { case added, deleted, modified, renamed, copied, other }
    public let kind: Kind
    public let oldPath: String?
    public let newPath: String?
    public let oldBlob: Oid?
    public let newBlob: Oid?
}

extension Repository {
    /// Files changed from `oldCommit`'s tree to `newCommit`'s, with renames (50 % similarity) followed.
    public func changes(from oldCommit: Oid, to newCommit: Oid) throws -> [TreeChange] {
        let oldTree = try commit(oldCommit).treeId, newTree = try commit(newCommit).treeId
        let diff = try diff(from: oldTree, to: newTree)
        var options = git_diff_find_options()
        _ = try check(git_diff_find_options_init(&options, UInt32(GIT_DIFF_FIND_OPTIONS_VERSION)), "rename options")
        options.flags = GIT_DIFF_FIND_RENAMES.rawValue
        _ = try check(git_diff_find_similar(diff.pointer, &options), "cannot detect renames")
        return (0..<git_diff_num_deltas(diff.pointer)).compactMap { index in
            guard let delta = git_diff_get_delta(diff.pointer, index)?.pointee else { return nil }
            let kind: TreeChange.Kind
            switch delta.status {
            case GIT_DELTA_ADDED: kind = .added
            case GIT_DELTA_DELETED: kind = .deleted
            case GIT_DELTA_MODIFIED: kind = .modified
            case GIT_DELTA_RENAMED: kind = .renamed
            case GIT_DELTA_COPIED: kind = .copied
            default: kind = .other
            }
            let oldPath = kind == .added ? nil : delta.old_file.path.map { String(cString: $0) }
            let newPath = kind == .deleted ? nil : delta.new_file.path.map { String(cString: $0) }
            return TreeChange(kind: kind, oldPath: oldPath, newPath: newPath,
                              oldBlob: kind == .added ? nil : Oid(delta.old_file.id),
                              newBlob: kind == .deleted ? nil : Oid(delta.new_file.id))
        }
    }

    /// The blob at `path` in a commit's tree, or nil when the path is not a file there.
    public func blob(at path: String, in commitId: Oid) throws -> Oid? {
        try treeEntry(in: pointer, tree: try commit(commitId).treeId, path: path)?.id
    }
}
