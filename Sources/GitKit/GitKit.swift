import CGit2
/// libgit2 library version, e.g. "1.5.1".
public func libgit2Version() -> String {
    var major: Int32 = 0, minor: Int32 = 0, rev: Int32 = 0
    git_libgit2_version(&major, &minor, &rev)
    return "\(major).\(minor).\(rev)"
}
