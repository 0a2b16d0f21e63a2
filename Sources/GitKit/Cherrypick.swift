import CGit2
import Foundation

/// What a cherry-pick onto a commit would do, without doing it.
public enum CherrypickOutcome: Equatable {
    case clean
    /// Clean, and the result is the commit picked onto: its change is already there.
    case noChange
    /// Paths left with conflict entries in the merged index, sorted.
    case conflicts([String])
}

/// Cherry-picks commits onto other commits in memory: the merged index never leaves memory, and the blobs the
/// merge writes (auto-merged file contents) go to a scratch object directory removed on deinit, never to the
/// repositories read. The audited repository's objects and the picked commits' repository's objects are read
/// through alternates, so a fix from a separate upstream repository can be picked onto a vendor commit.
public final class InMemoryCherrypicker {
    let pointer: OpaquePointer
    let scratchDirectory: String

    /// `target` is the repository holding the commits picked onto; `source` the one holding the picked commits.
    public init(target: Repository, source: Repository) throws {
        ensureLibgit2()
        scratchDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("kwarden-cherrypick-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratchDirectory + "/objects", withIntermediateDirectories: true)
        // A second handle on the target repository (its config and attributes still apply to the merge) whose
        // object database writes to the scratch directory and reads both repositories.
        var repository: OpaquePointer?
        try check(git_repository_open_ext(&repository, target.gitDirectory, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil),
                  "cannot open \(target.path)")
        pointer = repository!
        var odb: OpaquePointer?
        try check(git_odb_open(&odb, scratchDirectory + "/objects"), "cannot create a scratch object database")
        defer { git_odb_free(odb) }
        for objects in Set([target.gitDirectory, source.gitDirectory].map { URL(fileURLWithPath: $0).appendingPathComponent("objects").path }) {
            try check(git_odb_add_disk_alternate(odb, objects), "cannot read objects of \(objects)")
        }
        try check(git_repository_set_odb(pointer, odb), "cannot attach the scratch object database")
    }

    deinit {
        git_repository_free(pointer)
        try? FileManager.default.removeItem(atPath: scratchDirectory)
    }

    /// The common case without a tree merge: each file the commit changes, merged on its own with the content
    /// the target has (what a cherry-pick does file by file, without building an index of the whole tree).
    /// Clean or already there when every file merges; nil when a file needs the full merge — a conflict (listed
    /// by `pick`), a file added on both sides, deleted on one, missing (perhaps renamed) or changing mode.
    /// `changes`: the files the commit changes against its parent, when the caller already has them.
    public func quickPick(_ commit: Oid, onto: Oid, changes: [Repository.ChangedFile]? = nil) throws -> CherrypickOutcome? {
        func tree(of oid: Oid) throws -> (tree: Oid, parents: [Oid]) {
            var raw = oid.raw
            var object: OpaquePointer?
            try check(git_commit_lookup(&object, pointer, &raw), "no commit \(oid.hex)")
            defer { git_commit_free(object) }
            let parents = (0..<git_commit_parentcount(object)).compactMap { git_commit_parent_id(object, $0).map(Oid.init) }
            return (Oid(git_commit_tree_id(object)!), parents)
        }
        let picked = try tree(of: commit)
        guard picked.parents.count == 1 else { return nil }
        let ours = try tree(of: onto).tree
        var changed = false
        for file in try changes ?? changedFiles(in: pointer, from: try tree(of: picked.parents[0]).tree, to: picked.tree) {
            guard file.oldMode == file.newMode, let before = file.oldBlob, let after = file.newBlob,
                  let mine = try treeEntry(in: pointer, tree: ours, path: file.path), mine.mode == file.newMode else {
                return nil
            }
            if mine.id == after { continue }
            if mine.id == before { changed = true; continue }
            guard let merged = try mergeFile(ancestor: before, ours: mine.id, theirs: after) else { return nil }
            if !merged { changed = true }
        }
        return changed ? .clean : .noChange
    }

    /// Merges three blobs in memory: nil on a conflict, otherwise whether the result is `ours` unchanged.
    private func mergeFile(ancestor: Oid, ours: Oid, theirs: Oid) throws -> Bool? {
        var blobs: [OpaquePointer?] = []
        defer { blobs.forEach { git_blob_free($0) } }
        var inputs: [git_merge_file_input] = []
        for oid in [ancestor, ours, theirs] {
            var raw = oid.raw
            var blob: OpaquePointer?
            try check(git_blob_lookup(&blob, pointer, &raw), "no blob \(oid.hex)")
            blobs.append(blob)
            var input = git_merge_file_input()
            try check(git_merge_file_input_init(&input, UInt32(GIT_MERGE_FILE_INPUT_VERSION)), "merge input")
            input.ptr = git_blob_rawcontent(blob).map { $0.assumingMemoryBound(to: CChar.self) }
            input.size = Int(git_blob_rawsize(blob))
            inputs.append(input)
        }
        var result = git_merge_file_result()
        try check(git_merge_file(&result, &inputs[0], &inputs[1], &inputs[2], nil), "cannot merge blobs")
        defer { git_merge_file_result_free(&result) }
        guard result.automergeable == 1 else { return nil }
        let size = Int(git_blob_rawsize(blobs[1]))
        guard result.len == size else { return false }
        return size == 0 || memcmp(result.ptr, git_blob_rawcontent(blobs[1]), size) == 0
    }

    /// Cherry-picks `commit` onto `onto` (for a merge commit, against its first parent) into an in-memory index.
    public func pick(_ commit: Oid, onto: Oid) throws -> CherrypickOutcome {
        func lookup(_ oid: Oid) throws -> OpaquePointer {
            var raw = oid.raw
            var object: OpaquePointer?
            try check(git_commit_lookup(&object, pointer, &raw), "no commit \(oid.hex)")
            return object!
        }
        let picked = try lookup(commit)
        defer { git_commit_free(picked) }
        let ours = try lookup(onto)
        defer { git_commit_free(ours) }
        var options = git_merge_options()
        try check(git_merge_options_init(&options, UInt32(GIT_MERGE_OPTIONS_VERSION)), "merge options")
        var index: OpaquePointer?
        let mainline: UInt32 = git_commit_parentcount(picked) > 1 ? 1 : 0
        try check(git_cherrypick_commit(&index, pointer, picked, ours, mainline, &options),
                  "cannot cherry-pick \(commit.hex) onto \(onto.hex)")
        defer { git_index_free(index) }
        guard git_index_has_conflicts(index) == 1 else {
            // The merged tree goes to the scratch object database, like the merged blobs.
            var tree = git_oid()
            try check(git_index_write_tree_to(&tree, index, pointer), "cannot write the merged tree")
            return git_oid_equal(&tree, git_commit_tree_id(ours)) == 1 ? .noChange : .clean
        }
        var iterator: OpaquePointer?
        try check(git_index_conflict_iterator_new(&iterator, index), "cannot list conflicts")
        defer { git_index_conflict_iterator_free(iterator) }
        var paths = Set<String>()
        var ancestor: UnsafePointer<git_index_entry>?, our: UnsafePointer<git_index_entry>?, their: UnsafePointer<git_index_entry>?
        while git_index_conflict_next(&ancestor, &our, &their, iterator) == 0 {
            for entry in [ancestor, our, their] {
                if let path = entry?.pointee.path { paths.insert(String(cString: path)) }
            }
        }
        return .conflicts(paths.sorted())
    }
}

extension Repository {
    /// The content of the file at `path` in `tree`; nil when there is no such file.
    public func fileContent(atPath path: String, inTree tree: Oid) throws -> [UInt8]? {
        try treeEntry(in: pointer, tree: tree, path: path).map { try blobData($0.id) }
    }

    /// Names of the entries of the directory at `path` in `tree` ("" is the root); nil when there is none.
    public func directoryEntries(atPath path: String, inTree tree: Oid) throws -> [String]? {
        var raw = tree.raw
        var root: OpaquePointer?
        try check(git_tree_lookup(&root, pointer, &raw), "no tree \(tree.hex)")
        defer { git_tree_free(root) }
        var directory = root
        var subtree: OpaquePointer?
        defer { if let subtree { git_tree_free(subtree) } }
        if !path.isEmpty {
            var entry: OpaquePointer?
            guard git_tree_entry_bypath(&entry, root, path) == 0 else { return nil }
            defer { git_tree_entry_free(entry) }
            guard git_tree_entry_type(entry) == GIT_OBJECT_TREE else { return nil }
            var id = git_tree_entry_id(entry)!.pointee
            try check(git_tree_lookup(&subtree, pointer, &id), "no tree at \(path)")
            directory = subtree
        }
        return (0..<git_tree_entrycount(directory)).compactMap { index in
            git_tree_entry_byindex(directory, index).map { String(cString: git_tree_entry_name($0)) }
        }
    }
}
