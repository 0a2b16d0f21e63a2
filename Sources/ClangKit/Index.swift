import CClang
public func clangVersion() -> String {
    let s = clang_getClangVersion()
    defer { clang_disposeString(s) }
    return String(cString: clang_getCString(s))
}
