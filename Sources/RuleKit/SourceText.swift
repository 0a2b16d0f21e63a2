import Foundation
/// A file's raw bytes for textual preselection; no encoding is assumed.
public struct SourceText: Sendable {
    public let bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }

    /// Whether `needle` occurs anywhere (plain byte search).
    public func contains(_ needle: String) -> Bool { firstIndex(of: Array(needle.utf8), from: 0) != nil }

    /// memchr finds candidates for the first byte (vectorised in libc), memcmp checks the rest:
    /// evidence passes run this over every file of a tree for each name asked about.
    public func firstIndex(of needle: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, needle.count <= bytes.count, start >= 0 else { return nil }
        let last = bytes.count - needle.count
        guard start <= last else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> Int? in
            needle.withUnsafeBufferPointer { pattern -> Int? in
                guard let base = buffer.baseAddress, let patternBase = pattern.baseAddress else { return nil }
                var i = start
                while i <= last {
                    guard let hit = memchr(base + i, Int32(first), last - i + 1) else { return nil }
                    let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if memcmp(base + at, patternBase, needle.count) == 0 { return at }
                    i = at + 1
                }
                return nil
            }
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

    /// Every maximal run of identifier bytes: `containsIdentifier(w)` is `identifiers.contains(w)`.
    public var identifiers: Set<String> {
        var result = Set<String>()
        var start: Int?
        for index in 0...bytes.count {
            let isPart = index < bytes.count && SourceText.isIdentifierByte(bytes[index])
            if isPart, start == nil { start = index }
            if !isPart, let first = start {
                result.insert(String(decoding: bytes[first..<index], as: UTF8.self))
                start = nil
            }
        }
        return result
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
