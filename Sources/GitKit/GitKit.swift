import CGit2

/// libgit2 library version, e.g. "1.5.1".
public func libgit2Version() -> String {
    var major: Int32 = 0, minor: Int32 = 0, rev: Int32 = 0
    git_libgit2_version(&major, &minor, &rev)
    return "\(major).\(minor).\(rev)"
}

/// libgit2 keeps global state (allocators, TLS error slots); it must be initialised once per process
/// before any other call. A Swift global `let` is initialised lazily and exactly once, thread-safely.
private let libgit2Initialised: Bool = {
    git_libgit2_init()
    return true
}()

@inline(__always) func ensureLibgit2() { _ = libgit2Initialised }

/// A libgit2 failure, carrying libgit2's own message.
public struct GitError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Equatable {
        case notFound, ambiguous, notARepository, bareRepository, shallowRepository, invalidSpec, other
    }
    public let kind: Kind
    public let code: Int32
    public let message: String

    public init(kind: Kind, code: Int32 = -1, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Builds an error from the return code of a libgit2 call and libgit2's last error message.
    static func fromLibgit2(_ code: Int32, _ context: String) -> GitError {
        var detail = ""
        if let last = git_error_last(), let text = last.pointee.message {
            detail = String(cString: text)
        }
        let kind: Kind
        switch code {
        case GIT_ENOTFOUND.rawValue: kind = .notFound
        case GIT_EAMBIGUOUS.rawValue: kind = .ambiguous
        case GIT_EINVALIDSPEC.rawValue: kind = .invalidSpec
        default: kind = .other
        }
        let message = detail.isEmpty ? context : "\(context): \(detail)"
        return GitError(kind: kind, code: code, message: message)
    }
}

/// Runs a libgit2 call and throws `GitError` when it returns a negative code.
@discardableResult
func check(_ code: Int32, _ context: @autoclosure () -> String) throws -> Int32 {
    if code < 0 { throw GitError.fromLibgit2(code, context()) }
    return code
}

/// Process-wide libgit2 settings for reading a large history many times over.
public enum Libgit2Tuning {
    /// Reading objects without re-hashing each one (libgit2 verifies every object it inflates by default; git does
    /// not), and caching blobs as well as trees and commits: a fix's files are read once for the fix and again for
    /// each vendor commit touching them. Applies to every repository opened in the process.
    public static func forBulkReading(cacheBytes: Int = 512 << 20, largestCachedBlob: Int = 256 << 10) throws {
        ensureLibgit2()
        try check(kwarden_git_set_strict_hash_verification(0), "cannot turn off strict hash verification")
        try check(kwarden_git_set_cache_max_size(cacheBytes), "cannot set the object cache size")
        try check(kwarden_git_set_cache_object_limit(GIT_OBJECT_BLOB, largestCachedBlob), "cannot cache blobs")
        // Large directories (drivers/, include/linux/) are read for every commit compared; libgit2 caches trees
        // only up to 4 KiB by default.
        try check(kwarden_git_set_cache_object_limit(GIT_OBJECT_TREE, 1 << 20), "cannot cache trees")
    }
}
