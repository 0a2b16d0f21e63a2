import CGit2

/// A commit object. Owns its libgit2 handle; keeps its repository alive while it lives.
public final class Commit {
    let pointer: OpaquePointer
    public let repository: Repository

    init(_ pointer: OpaquePointer, repository: Repository) {
        self.pointer = pointer
        self.repository = repository
    }

    deinit { git_commit_free(pointer) }

    public var id: Oid { Oid(git_commit_id(pointer)!) }
    public var treeId: Oid { Oid(git_commit_tree_id(pointer)!) }

    /// The full message, trailers included.
    public var message: String { git_commit_message(pointer).map { String(cString: $0) } ?? "" }

    /// The first paragraph of the message on one line, as git shows it.
    public var summary: String { git_commit_summary(pointer).map { String(cString: $0) } ?? "" }

    public var parentCount: Int { Int(git_commit_parentcount(pointer)) }

    public var parentIds: [Oid] {
        (0..<git_commit_parentcount(pointer)).compactMap { git_commit_parent_id(pointer, $0).map(Oid.init) }
    }

    /// Committer time, seconds since the epoch.
    public var time: Int64 { Int64(git_commit_time(pointer)) }

    public var authorName: String {
        guard let author = git_commit_author(pointer), let name = author.pointee.name else { return "" }
        return String(cString: name)
    }

    /// Author time, seconds since the epoch.
    public var authorTime: Int64 {
        guard let author = git_commit_author(pointer) else { return 0 }
        return Int64(author.pointee.when.time)
    }

    /// The diff this commit introduces against its first parent (against the empty tree for a root commit).
    public func diff() throws -> Diff {
        try repository.diff(from: parentIds.first.map { try repository.commit($0).treeId }, to: treeId)
    }

    /// The inverse of `diff()`: what a clean revert of this commit would introduce.
    public func inverseDiff() throws -> Diff {
        try repository.diff(from: treeId, to: parentIds.first.map { try repository.commit($0).treeId })
    }
}

/// Walks commits reachable from pushed commits and not from hidden ones.
public final class Revwalk: Sequence, IteratorProtocol {
    let pointer: OpaquePointer
    public private(set) var error: GitError?

    public enum Order { case topological, time, none }

    public init(_ repository: Repository, order: Order = .topological) throws {
        var walk: OpaquePointer?
        try check(git_revwalk_new(&walk, repository.pointer), "cannot start a revision walk")
        self.pointer = walk!
        let mode: UInt32
        switch order {
        case .topological: mode = GIT_SORT_TOPOLOGICAL.rawValue | GIT_SORT_TIME.rawValue
        case .time: mode = GIT_SORT_TIME.rawValue
        case .none: mode = GIT_SORT_NONE.rawValue
        }
        try check(git_revwalk_sorting(pointer, mode), "cannot sort the revision walk")
    }

    deinit { git_revwalk_free(pointer) }

    public func push(_ oid: Oid) throws {
        var raw = oid.raw
        try check(git_revwalk_push(pointer, &raw), "cannot walk from \(oid.short())")
    }

    public func hide(_ oid: Oid) throws {
        var raw = oid.raw
        try check(git_revwalk_hide(pointer, &raw), "cannot hide \(oid.short())")
    }

    /// Follow only first parents (the mainline of a branch).
    public func firstParentOnly() throws {
        try check(git_revwalk_simplify_first_parent(pointer), "cannot simplify the revision walk")
    }

    public func next() -> Oid? {
        var raw = git_oid()
        let code = git_revwalk_next(&raw, pointer)
        if code == 0 { return Oid(raw) }
        if code != GIT_ITEROVER.rawValue { error = GitError.fromLibgit2(code, "revision walk failed") }
        return nil
    }
}
