import CGit2
import Foundation

/// Who made a commit and when.
public struct Signature {
    public var name: String
    public var email: String
    /// Seconds since the epoch.
    public var time: Int64
    /// Minutes east of UTC.
    public var offsetMinutes: Int32

    public init(name: String, email: String, time: Int64, offsetMinutes: Int32 = 0) {
        self.name = name
        self.email = email
        self.time = time
        self.offsetMinutes = offsetMinutes
    }

    /// Runs `body` with a libgit2 signature that is freed afterwards.
    func withLibgit2<T>(_ body: (UnsafeMutablePointer<git_signature>) throws -> T) throws -> T {
        var signature: UnsafeMutablePointer<git_signature>?
        try check(git_signature_new(&signature, name, email, git_time_t(time), offsetMinutes),
                  "invalid signature \(name) <\(email)>")
        defer { git_signature_free(signature) }
        return try body(signature!)
    }
}

/// Writing objects and refs: how tests and the benchmark generator build histories without a git binary.
extension Repository {
    public func writeBlob(_ bytes: [UInt8]) throws -> Oid {
        var oid = git_oid()
        try bytes.withUnsafeBytes { buffer in
            try check(git_blob_create_from_buffer(&oid, pointer, buffer.baseAddress, buffer.count), "cannot write blob")
        }
        return Oid(oid)
    }

    /// Writes the tree holding exactly `files` (path → content; paths use '/' and create subtrees); paths in
    /// `executable` get mode 100755.
    public func writeTree(files: [String: String], executable: Set<String> = []) throws -> Oid {
        var blobs: [String: Oid] = [:]
        for (path, content) in files { blobs[path] = try writeBlob(Array(content.utf8)) }
        return try writeTree(blobs: blobs, executable: executable)
    }

    /// Writes the tree holding `blobs` (path → blob id) as regular files, or executable ones for `executable`.
    public func writeTree(blobs: [String: Oid], executable: Set<String> = []) throws -> Oid {
        var direct: [String: Oid] = [:]
        var nested: [String: [String: Oid]] = [:]
        for (path, blob) in blobs {
            if let slash = path.firstIndex(of: "/") {
                nested[String(path[..<slash]), default: [:]][String(path[path.index(after: slash)...])] = blob
            } else {
                direct[path] = blob
            }
        }
        var builder: OpaquePointer?
        try check(git_treebuilder_new(&builder, pointer, nil), "cannot build tree")
        defer { git_treebuilder_free(builder) }
        for (name, blob) in direct {
            var raw = blob.raw
            let mode = executable.contains(name) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB
            try check(git_treebuilder_insert(nil, builder, name, &raw, mode), "cannot add \(name) to tree")
        }
        for (name, children) in nested {
            let prefix = name + "/"
            let below = Set(executable.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) })
            var raw = try writeTree(blobs: children, executable: below).raw
            try check(git_treebuilder_insert(nil, builder, name, &raw, GIT_FILEMODE_TREE), "cannot add \(name)/ to tree")
        }
        var oid = git_oid()
        try check(git_treebuilder_write(&oid, builder), "cannot write tree")
        return Oid(oid)
    }

    /// Creates a commit; when `updateRef` is given (e.g. "refs/heads/main") the ref is moved to it.
    @discardableResult
    public func createCommit(tree: Oid, parents: [Oid], message: String, author: Signature,
                             committer: Signature? = nil, updateRef: String? = nil) throws -> Oid {
        var treeRaw = tree.raw
        var treePointer: OpaquePointer?
        try check(git_tree_lookup(&treePointer, pointer, &treeRaw), "no tree \(tree.hex)")
        defer { git_tree_free(treePointer) }
        let parentCommits = try parents.map { try commit($0) }
        var parentPointers: [OpaquePointer?] = parentCommits.map { $0.pointer }
        var oid = git_oid()
        try author.withLibgit2 { authorSignature in
            try (committer ?? author).withLibgit2 { committerSignature in
                try check(git_commit_create(&oid, pointer, nil, authorSignature, committerSignature, "UTF-8",
                                            message, treePointer, parentPointers.count, &parentPointers),
                          "cannot create commit")
            }
        }
        let created = Oid(oid)
        if let updateRef { try setReference(updateRef, to: created) }
        return created
    }

    /// Creates or moves a direct reference.
    public func setReference(_ name: String, to oid: Oid) throws {
        var raw = oid.raw
        var reference: OpaquePointer?
        try check(git_reference_create(&reference, pointer, name, &raw, 1, nil), "cannot set \(name)")
        git_reference_free(reference)
    }

    /// Points HEAD at a branch ref (it may not exist yet).
    public func setHead(_ referenceName: String) throws {
        try check(git_repository_set_head(pointer, referenceName), "cannot set HEAD to \(referenceName)")
    }

    /// Writes every file of `tree` under `directory` (a plain export, not a checkout: no index, no .git).
    public func export(tree: Oid, to directory: String) throws {
        let fileManager = FileManager.default
        for (path, blob) in try files(inTree: tree) {
            let target = directory + "/" + path
            try fileManager.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                            withIntermediateDirectories: true)
            guard fileManager.createFile(atPath: target, contents: Data(try blobData(blob))) else {
                throw GitError(kind: .other, message: "cannot write \(target)")
            }
        }
    }
}
