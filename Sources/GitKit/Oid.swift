import CGit2

/// A git object id (SHA-1), a value type that hashes by its 20 raw bytes.
public struct Oid: Hashable, Comparable, CustomStringConvertible {
    var raw: git_oid

    init(_ raw: git_oid) { self.raw = raw }
    init(_ pointer: UnsafePointer<git_oid>) { self.raw = pointer.pointee }

    /// Parses a full 40-hex id; nil for anything else.
    public init?(hex: String) {
        guard hex.utf8.count == 40, hex.utf8.allSatisfy(isHexDigit) else { return nil }
        var oid = git_oid()
        guard git_oid_fromstr(&oid, hex) == 0 else { return nil }
        self.raw = oid
    }

    /// Oid from 20 raw bytes (used for patch-ids, which are SHA-1 sized but not objects).
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 20)
        var oid = git_oid()
        withUnsafeMutableBytes(of: &oid.id) { $0.copyBytes(from: bytes) }
        self.raw = oid
    }

    public var bytes: [UInt8] { withUnsafeBytes(of: raw.id) { Array($0) } }

    public var hex: String {
        var buffer = [CChar](repeating: 0, count: 41)
        var copy = raw
        git_oid_fmt(&buffer, &copy)
        buffer[40] = 0
        return String(cString: buffer)
    }

    /// The first `length` hex digits, as git prints abbreviated ids.
    public func short(_ length: Int = 12) -> String { String(hex.prefix(length)) }

    public var description: String { hex }

    public var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    public static func == (lhs: Oid, rhs: Oid) -> Bool {
        withUnsafeBytes(of: lhs.raw.id) { l in withUnsafeBytes(of: rhs.raw.id) { r in l.elementsEqual(r) } }
    }

    public static func < (lhs: Oid, rhs: Oid) -> Bool {
        withUnsafeBytes(of: lhs.raw.id) { l in withUnsafeBytes(of: rhs.raw.id) { r in
            l.lexicographicallyPrecedes(r) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes(of: raw.id) { hasher.combine(bytes: $0) }
    }
}

@inline(__always) func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102) || (byte >= 65 && byte <= 70)
}

/// True when `text` is made only of hex digits.
public func isHexString(_ text: Substring) -> Bool { !text.isEmpty && text.utf8.allSatisfy(isHexDigit) }
public func isHexString(_ text: String) -> Bool { isHexString(Substring(text)) }
