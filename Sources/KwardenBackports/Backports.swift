import GitKit
public enum Backports { public static var engineVersion: String { "libgit2 " + libgit2Version() } }
