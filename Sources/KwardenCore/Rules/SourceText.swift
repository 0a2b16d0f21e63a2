/// A file's raw bytes for textual preselection; no encoding is assumed.
public struct SourceText: Sendable {
    public let bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }

    /// Whether `needle` occurs anywhere (plain byte search).
    public func contains(_ needle: String) -> Bool { firstIndex(of: Array(needle.utf8), from: 0) != nil }

    public func firstIndex(of needle: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, needle.count <= bytes.count else { return nil }
        let last = bytes.count - needle.count
        var i = start
        return bytes.withUnsafeBufferPointer { buffer -> Int? in
            while i <= last {
                if buffer[i] == first {
                    var j = 1
                    while j < needle.count && buffer[i + j] == needle[j] { j += 1 }
                    if j == needle.count { return i }
                }
                i += 1
            }
            return nil
        }
    }

    /// Whether `word` occurs as a whole C identifier.
    public func containsIdentifier(_ word: String) -> Bool {
        let needle = Array(word.utf8)
        var from = 0
        while let at = firstIndex(of: needle, from: from) {
            let before = at > 0 ? bytes[at - 1] : 0x20
            let after = at + needle.count < bytes.count ? bytes[at + needle.count] : 0x20
            if !SourceText.isIdentifierByte(before) && !SourceText.isIdentifierByte(after) { return true }
            from = at + 1
        }
        return false
    }

    public static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x5f
    }

    public var isValidUTF8: Bool {
        // Most kernel sources are plain ASCII: check that cheaply before validating.
        if bytes.withUnsafeBufferPointer({ $0.allSatisfy { $0 < 0x80 } }) { return true }
        return String(validating: bytes, as: UTF8.self) != nil
    }
}
