import CGit2

/// An open git repository. Owns the libgit2 handle and frees it on deinit.
public final class Repository {
    let pointer: OpaquePointer
    private var odbPointer: OpaquePointer?
    /// The path the repository was opened from, as given.
    public let path: String

    /// Opens the repository at `path` (its working directory or its git directory). Does not search parent
    /// directories: a path that is not itself a repository is an error, not a silent match on an enclosing one.
    public init(open path: String) throws {
        ensureLibgit2()
        var repo: OpaquePointer?
        let code = git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
        if code == GIT_ENOTFOUND.rawValue {
            throw GitError(kind: .notARepository, code: code, message: "\(path) is not a git repository")
        }
        try check(code, "cannot open repository \(path)")
        self.pointer = repo!
        self.path = path
    }

    /// Creates a new repository at `path` (used by tests and the benchmark generator).
    public init(initAt path: String, bare: Bool = false, initialHead: String = "main") throws {
        ensureLibgit2()
        var repo: OpaquePointer?
        var options = git_repository_init_options()
        try check(git_repository_init_options_init(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION)),
                  "init options")
        options.flags = GIT_REPOSITORY_INIT_MKPATH.rawValue | (bare ? GIT_REPOSITORY_INIT_BARE.rawValue : 0)
        try initialHead.withCString { head in
            options.initial_head = head
            try check(git_repository_init_ext(&repo, path, &options), "cannot create repository \(path)")
        }
        self.pointer = repo!
        self.path = path
    }

    deinit {
        if let odbPointer { git_odb_free(odbPointer) }
        git_repository_free(pointer)
    }

    public var isBare: Bool { git_repository_is_bare(pointer) == 1 }
    public var isShallow: Bool { git_repository_is_shallow(pointer) == 1 }
    public var isEmpty: Bool { git_repository_is_empty(pointer) == 1 }

    /// The working directory, nil for a bare repository.
    public var workdir: String? { git_repository_workdir(pointer).map { String(cString: $0) } }
    public var gitDirectory: String { String(cString: git_repository_path(pointer)) }

    func objectDatabase() throws -> OpaquePointer { try odb() }

    private func odb() throws -> OpaquePointer {
        if let odbPointer { return odbPointer }
        var odb: OpaquePointer?
        try check(git_repository_odb(&odb, pointer), "cannot open object database of \(path)")
        odbPointer = odb
        return odb!
    }

    /// True when the object database holds `oid` (whatever refs point at).
    public func contains(_ oid: Oid) -> Bool {
        guard let odb = try? odb() else { return false }
        var raw = oid.raw
        // No refresh: a miss would otherwise rescan the pack directory, and the checker asks about many commits
        // a repository does not have. The repositories do not change while a report is made.
        return git_odb_exists_ext(odb, &raw, GIT_ODB_LOOKUP_NO_REFRESH.rawValue) == 1
    }

    /// Resolves a revision expression (`HEAD`, `main`, `v6.1~3`, a hex id) to the commit it names.
    public func resolveCommit(_ spec: String) throws -> Oid {
        var object: OpaquePointer?
        let code = git_revparse_single(&object, pointer, spec)
        if code < 0 {
            let error = GitError.fromLibgit2(code, "unknown revision '\(spec)' in \(path)")
            throw GitError(kind: error.kind == .ambiguous ? .ambiguous : .notFound, code: code, message: error.message)
        }
        defer { git_object_free(object) }
        var peeled: OpaquePointer?
        try check(git_object_peel(&peeled, object, GIT_OBJECT_COMMIT), "'\(spec)' does not name a commit")
        defer { git_object_free(peeled) }
        return Oid(git_object_id(peeled)!)
    }

    /// Resolves `A..B` to (A, B); a single revision R gives (nil, R).
    public func resolveRange(_ spec: String) throws -> (from: Oid?, to: Oid) {
        guard let dots = spec.range(of: "..") else { return (nil, try resolveCommit(spec)) }
        if spec[dots.upperBound...].hasPrefix(".") {
            throw GitError(kind: .invalidSpec, message: "symmetric ranges (A...B) are not supported: '\(spec)'")
        }
        let from = String(spec[..<dots.lowerBound]), to = String(spec[dots.upperBound...])
        return (try resolveCommit(from.isEmpty ? "HEAD" : from), try resolveCommit(to.isEmpty ? "HEAD" : to))
    }

    /// Looks a commit up by a full or abbreviated hex id (at least 4 digits).
    /// Throws `.ambiguous` when the prefix names more than one object, `.notFound` when none.
    public func lookupCommit(prefix hex: String) throws -> Oid {
        guard hex.utf8.count >= 4, hex.utf8.count <= 40, isHexString(hex) else {
            throw GitError(kind: .invalidSpec, message: "'\(hex)' is not a commit id (4 to 40 hex digits)")
        }
        var oid = git_oid()
        try check(git_oid_fromstrn(&oid, hex, hex.utf8.count), "'\(hex)' is not a commit id")
        var object: OpaquePointer?
        let code = git_object_lookup_prefix(&object, pointer, &oid, hex.utf8.count, GIT_OBJECT_ANY)
        if code == GIT_EAMBIGUOUS.rawValue {
            throw GitError(kind: .ambiguous, code: code,
                           message: "commit id '\(hex)' is ambiguous in \(path): it matches more than one object")
        }
        if code == GIT_ENOTFOUND.rawValue {
            throw GitError(kind: .notFound, code: code, message: "no commit '\(hex)' in \(path)")
        }
        try check(code, "cannot look up '\(hex)'")
        defer { git_object_free(object) }
        guard git_object_type(object) == GIT_OBJECT_COMMIT else {
            throw GitError(kind: .notFound, message: "'\(hex)' in \(path) is not a commit")
        }
        return Oid(git_object_id(object)!)
    }

    public func commit(_ oid: Oid) throws -> Commit {
        var raw = oid.raw
        var commit: OpaquePointer?
        try check(git_commit_lookup(&commit, pointer, &raw), "no commit \(oid.hex) in \(path)")
        return Commit(commit!, repository: self)
    }

    /// True when `ancestor` is reachable from `descendant` (or is it).
    public func isAncestor(_ ancestor: Oid, of descendant: Oid) throws -> Bool {
        if ancestor == descendant { return true }
        var a = ancestor.raw, d = descendant.raw
        let code = git_graph_descendant_of(pointer, &d, &a)
        try check(code, "cannot compare \(ancestor.short()) and \(descendant.short())")
        return code == 1
    }

    public func mergeBase(_ one: Oid, _ two: Oid) throws -> Oid? {
        var out = git_oid(), a = one.raw, b = two.raw
        let code = git_merge_base(&out, pointer, &a, &b)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "cannot compute merge base")
        return Oid(out)
    }

    /// Bytes of a blob.
    public func blobData(_ oid: Oid) throws -> [UInt8] {
        var raw = oid.raw
        var blob: OpaquePointer?
        try check(git_blob_lookup(&blob, pointer, &raw), "no blob \(oid.hex)")
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, let content = git_blob_rawcontent(blob) else { return [] }
        return Array(UnsafeRawBufferPointer(start: content, count: size))
    }

    /// Every file under a tree, as (path, blob id), recursively.
    public func files(inTree tree: Oid) throws -> [(path: String, blob: Oid)] {
        var result: [(String, Oid)] = []
        try collectFiles(tree: tree, prefix: "", into: &result)
        return result
    }

    private func collectFiles(tree: Oid, prefix: String, into result: inout [(String, Oid)]) throws {
        var raw = tree.raw
        var treePointer: OpaquePointer?
        try check(git_tree_lookup(&treePointer, pointer, &raw), "no tree \(tree.hex)")
        defer { git_tree_free(treePointer) }
        for index in 0..<git_tree_entrycount(treePointer) {
            guard let entry = git_tree_entry_byindex(treePointer, index) else { continue }
            let name = String(cString: git_tree_entry_name(entry))
            let id = Oid(git_tree_entry_id(entry)!)
            switch git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE: try collectFiles(tree: id, prefix: prefix + name + "/", into: &result)
            case GIT_OBJECT_BLOB: result.append((prefix + name, id))
            default: continue // submodule links carry no content
            }
        }
    }
}
