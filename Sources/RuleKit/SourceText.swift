import Foundation
import CLibc
/// A file's raw bytes for textual preselection; no encoding is assumed.
public struct SourceText: Sendable {
    public let bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }

    /// Whether `needle` occurs anywhere (plain byte search).
    public func contains(_ needle: String) -> Bool { firstIndex(of: Array(needle.utf8), from: 0) != nil }

    /// libc's memmem (a two-way search, vectorised): evidence passes run this over every file of
    /// a tree for each name asked about, and a name's first letter is in most lines.
    public func firstIndex(of needle: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, needle.count <= bytes.count, start >= 0 else { return nil }
        guard start <= bytes.count - needle.count else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> Int? in
            needle.withUnsafeBufferPointer { pattern -> Int? in
                guard let base = buffer.baseAddress, let patternBase = pattern.baseAddress,
                      let hit = memmem(base + start, buffer.count - start, patternBase, pattern.count) else { return nil }
                return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            }
        }
    }

    /// Whether `word` occurs as a whole C identifier.
    public func containsIdentifier(_ word: String) -> Bool {
        var found = false
        forEachIdentifier(word) { _ in found = true; return false }
        return found
    }

    /// Calls `body` with the byte range of each occurrence of `word` as a whole C identifier, in
    /// order, until it returns false.
    public func forEachIdentifier(_ word: String, _ body: (Range<Int>) -> Bool) {
        let needle = Array(word.utf8)
        var from = 0
        while let at = firstIndex(of: needle, from: from) {
            let end = at + needle.count
            let before = at > 0 ? bytes[at - 1] : 0x20
            let after = end < bytes.count ? bytes[end] : 0x20
            if !SourceText.isIdentifierByte(before) && !SourceText.isIdentifierByte(after), !body(at..<end) { return }
            from = at + 1
        }
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

    @inlinable public static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x5f
    }

    public var isValidUTF8: Bool {
        // Most kernel sources are plain ASCII: check that cheaply before validating.
        if bytes.withUnsafeBufferPointer({ $0.allSatisfy { $0 < 0x80 } }) { return true }
        return String(validating: bytes, as: UTF8.self) != nil
    }
}

/// A set of names looked for as whole C identifiers, in one pass over a text: each maximal run of
/// identifier bytes is hashed and compared with the names of the same hash.
public struct IdentifierMatcher: Sendable {
    private let names: [String]
    private let needles: [[UInt8]]
    /// An open-addressing table of the needles by hash (linear probing, a power of two at least
    /// four times their number): slot i holds a needle's hash and its index + 1 (0: empty). Most
    /// identifiers of a text are no needle; the first probe of an empty slot says so, without the
    /// hashing and the array copy of a dictionary lookup.
    private let slotHashes: [UInt64]
    private let slotNeedles: [Int32]

    public init<Words: Sequence>(_ words: Words) where Words.Element == String {
        names = Array(Set(words)).sorted()
        needles = names.map { Array($0.utf8) }
        var size = 16
        while size < needles.count * 4 { size <<= 1 }
        var hashes = [UInt64](repeating: 0, count: size)
        var indices = [Int32](repeating: 0, count: size)
        for (index, needle) in needles.enumerated() {
            let hash = needle.reduce(Self.seed, Self.step)
            var slot = Self.slot(hash, mask: size - 1)
            while indices[slot] != 0 { slot = (slot + 1) & (size - 1) }
            hashes[slot] = hash
            indices[slot] = Int32(index + 1)
        }
        slotHashes = hashes
        slotNeedles = indices
    }

    @inline(__always) private static func slot(_ hash: UInt64, mask: Int) -> Int {
        Int(truncatingIfNeeded: hash ^ (hash >> 29)) & mask
    }

    /// The names that occur in `source`.
    public func present(in source: SourceText) -> Set<String> {
        var found = Set<String>()
        scan(source) { found.insert(names[$0]); return true }
        return found
    }

    /// Whether any of the names occurs in `source`, or in its bytes `range` only (a function's
    /// text within its header: read in place, not copied out).
    public func any(in source: SourceText, range: Range<Int>? = nil) -> Bool {
        var hit = false
        scan(source, range: range) { _ in hit = true; return false }
        return hit
    }

    /// Calls `found` with each occurrence's name index until it returns false.
    private func scan(_ source: SourceText, range: Range<Int>? = nil, _ found: (Int) -> Bool) {
        guard !needles.isEmpty else { return }
        let mask = slotNeedles.count - 1
        source.bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            slotHashes.withUnsafeBufferPointer { hashes in
            slotNeedles.withUnsafeBufferPointer { indices in
            Self.identifierBytes.withUnsafeBufferPointer { isIdentifier in
                let bounds = (range ?? 0..<buffer.count).clamped(to: 0..<buffer.count)
                var i = bounds.lowerBound
                let end = bounds.upperBound
                while i < end {
                    guard isIdentifier[Int(buffer[i])] != 0 else { i += 1; continue }
                    let start = i
                    var hash = Self.seed
                    while i < end, isIdentifier[Int(buffer[i])] != 0 {
                        hash = Self.step(hash, buffer[i])
                        i += 1
                    }
                    var slot = Self.slot(hash, mask: mask)
                    while indices[slot] != 0 {
                        if hashes[slot] == hash {
                            let candidate = Int(indices[slot]) - 1
                            if needles[candidate].count == i - start,
                               needles[candidate].withUnsafeBufferPointer({ memcmp($0.baseAddress!, base + start, i - start) == 0 }),
                               !found(candidate) {
                                return
                            }
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
            }
            }
        }
    }

    /// Per byte, 1 when it may be part of a C identifier (`SourceText.isIdentifierByte`).
    private static let identifierBytes: [UInt8] = (0..<256).map { SourceText.isIdentifierByte(UInt8($0)) ? 1 : 0 }

    /// FNV-1a over an identifier's bytes: start from `seed`, one `step` per byte (the evidence
    /// index's signatures hash identifiers the same way).
    public static let seed: UInt64 = 0xcbf2_9ce4_8422_2325
    @inline(__always) public static func step(_ hash: UInt64, _ byte: UInt8) -> UInt64 { (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
}
