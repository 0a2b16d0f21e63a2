import CClang

/// Takes ownership of a CXString and returns it as a Swift string.
@inline(__always)
func consume(_ string: CXString) -> String {
    defer { clang_disposeString(string) }
    guard let cString = clang_getCString(string) else { return "" }
    return String(cString: cString)
}

/// libclang's own version line, e.g. "Debian clang version 14.0.6".
public func clangVersion() -> String { consume(clang_getClangVersion()) }
