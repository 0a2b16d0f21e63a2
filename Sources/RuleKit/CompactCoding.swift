import Foundation

/// A compact binary form of `Codable` values for rules' summaries: a rescan of a whole tree
/// decodes the summaries of thousands of files, and JSON spent most of that time scanning text
/// and matching keys. Each value is a tag byte and its payload; lengths and integers are LEB128
/// varints; keyed containers keep their keys, sorted (as JSON's `sortedKeys`: the same value is
/// the same bytes in every process). Coding paths are not tracked (an array per value was a
/// good part of decoding): an error names the type it expected, not where.
enum CompactCoding {
    enum Tag: UInt8 {
        case null = 0, no, yes, integer, unsigned, double, string, array, keyed
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }
}

// MARK: Encoding

/// A value being encoded: containers are filled after they are handed out, so they are references.
private final class EncodedNode {
    enum Content {
        case scalar([UInt8])
        case array([EncodedNode])
        case keyed([String: EncodedNode])
    }
    var content: Content

    init(_ content: Content) { self.content = content }

    func write(to bytes: inout [UInt8]) {
        switch content {
        case .scalar(let scalar):
            bytes += scalar
        case .array(let elements):
            bytes.append(CompactCoding.Tag.array.rawValue)
            Varint.append(UInt64(elements.count), to: &bytes)
            for element in elements { element.write(to: &bytes) }
        case .keyed(let members):
            bytes.append(CompactCoding.Tag.keyed.rawValue)
            Varint.append(UInt64(members.count), to: &bytes)
            for key in members.keys.sorted() {
                let utf8 = Array(key.utf8)
                Varint.append(UInt64(utf8.count), to: &bytes)
                bytes += utf8
                members[key]!.write(to: &bytes)
            }
        }
    }

    func append(_ element: EncodedNode) {
        if case .array(var elements) = content {
            content = .scalar([])
            elements.append(element)
            content = .array(elements)
        }
    }

    func set(_ member: EncodedNode, forKey key: String) {
        if case .keyed(var members) = content {
            content = .scalar([])
            members[key] = member
            content = .keyed(members)
        }
    }
}

/// LEB128 unsigned integers: seven bits a byte, low bits first, the high bit set on every byte
/// but the last. The compact summaries and the records beside precompiled headers use them.
public enum Varint {
    public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// The varint at `offset`, which moves past it; nil when the bytes end first or it runs
    /// past 64 bits.
    public static func read<Bytes: RandomAccessCollection>(_ bytes: Bytes, at offset: inout Int) -> UInt64?
        where Bytes.Element == UInt8, Bytes.Index == Int {
        var value: UInt64 = 0, shift: UInt64 = 0
        while offset < bytes.endIndex, shift < 64 {
            let next = bytes[offset]
            offset += 1
            value |= UInt64(next & 0x7f) << shift
            if next < 0x80 { return value }
            shift += 7
        }
        return nil
    }
}

private enum Scalar {
    static func null() -> EncodedNode { EncodedNode(.scalar([CompactCoding.Tag.null.rawValue])) }
    static func bool(_ value: Bool) -> EncodedNode { EncodedNode(.scalar([value ? CompactCoding.Tag.yes.rawValue : CompactCoding.Tag.no.rawValue])) }
    static func integer(_ value: Int64) -> EncodedNode {
        var bytes = [CompactCoding.Tag.integer.rawValue]
        // Zigzag: small negative numbers stay short.
        Varint.append(UInt64(bitPattern: (value << 1) ^ (value >> 63)), to: &bytes)
        return EncodedNode(.scalar(bytes))
    }
    static func unsigned(_ value: UInt64) -> EncodedNode {
        var bytes = [CompactCoding.Tag.unsigned.rawValue]
        Varint.append(value, to: &bytes)
        return EncodedNode(.scalar(bytes))
    }
    static func double(_ value: Double) -> EncodedNode {
        var bytes = [CompactCoding.Tag.double.rawValue]
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 }
        return EncodedNode(.scalar(bytes))
    }
    static func string(_ value: String) -> EncodedNode {
        var bytes = [CompactCoding.Tag.string.rawValue]
        let utf8 = Array(value.utf8)
        Varint.append(UInt64(utf8.count), to: &bytes)
        bytes += utf8
        return EncodedNode(.scalar(bytes))
    }
}

struct CompactEncoder {
    func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = NodeEncoder(codingPath: [])
        try value.encode(to: encoder)
        var bytes: [UInt8] = []
        (encoder.node ?? Scalar.null()).write(to: &bytes)
        return Data(bytes)
    }
}

private final class NodeEncoder: Encoder {
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var node: EncodedNode?

    init(codingPath: [CodingKey]) { self.codingPath = codingPath }

    /// The node a container writes into (the first container asked for decides its kind).
    private func node(_ make: @autoclosure () -> EncodedNode) -> EncodedNode {
        if let node { return node }
        let made = make()
        node = made
        return made
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedNodeEncoder<Key>(node: node(EncodedNode(.keyed([:]))), codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        UnkeyedNodeEncoder(node: node(EncodedNode(.array([]))), codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { SingleNodeEncoder(encoder: self) }

    /// A value's node, through its own `encode(to:)` unless it is a scalar.
    static func encode<T: Encodable>(_ value: T, codingPath: [CodingKey]) throws -> EncodedNode {
        switch value {
        case let value as String: return Scalar.string(value)
        case let value as Int: return Scalar.integer(Int64(value))
        case let value as Bool: return Scalar.bool(value)
        case let value as Data: return Scalar.string(value.base64EncodedString())
        default:
            let encoder = NodeEncoder(codingPath: codingPath)
            try value.encode(to: encoder)
            return encoder.node ?? EncodedNode(.keyed([:]))
        }
    }
}

private struct KeyedNodeEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodedNode
    let codingPath: [CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.set(Scalar.null(), forKey: key.stringValue) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { node.set(Scalar.bool(value), forKey: key.stringValue) }
    mutating func encode(_ value: String, forKey key: Key) throws { node.set(Scalar.string(value), forKey: key.stringValue) }
    mutating func encode(_ value: Double, forKey key: Key) throws { node.set(Scalar.double(value), forKey: key.stringValue) }
    mutating func encode(_ value: Float, forKey key: Key) throws { node.set(Scalar.double(Double(value)), forKey: key.stringValue) }
    mutating func encode(_ value: Int, forKey key: Key) throws { node.set(Scalar.integer(Int64(value)), forKey: key.stringValue) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { node.set(Scalar.integer(Int64(value)), forKey: key.stringValue) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { node.set(Scalar.integer(Int64(value)), forKey: key.stringValue) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { node.set(Scalar.integer(Int64(value)), forKey: key.stringValue) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { node.set(Scalar.integer(value), forKey: key.stringValue) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { node.set(Scalar.unsigned(UInt64(value)), forKey: key.stringValue) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { node.set(Scalar.unsigned(UInt64(value)), forKey: key.stringValue) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { node.set(Scalar.unsigned(UInt64(value)), forKey: key.stringValue) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { node.set(Scalar.unsigned(UInt64(value)), forKey: key.stringValue) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { node.set(Scalar.unsigned(value), forKey: key.stringValue) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        node.set(try NodeEncoder.encode(value, codingPath: codingPath), forKey: key.stringValue)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = EncodedNode(.keyed([:]))
        node.set(nested, forKey: key.stringValue)
        return KeyedEncodingContainer(KeyedNodeEncoder<NestedKey>(node: nested, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        let nested = EncodedNode(.array([]))
        node.set(nested, forKey: key.stringValue)
        return UnkeyedNodeEncoder(node: nested, codingPath: codingPath)
    }

    mutating func superEncoder() -> Encoder { superEncoder(named: "super") }
    mutating func superEncoder(forKey key: Key) -> Encoder { superEncoder(named: key.stringValue) }

    private func superEncoder(named name: String) -> Encoder {
        let encoder = DeferredEncoder(codingPath: codingPath)
        node.set(encoder.placeholder, forKey: name)
        return encoder
    }
}

private struct UnkeyedNodeEncoder: UnkeyedEncodingContainer {
    let node: EncodedNode
    let codingPath: [CodingKey]
    var count: Int {
        if case .array(let elements) = node.content { return elements.count }
        return 0
    }

    mutating func encodeNil() throws { node.append(Scalar.null()) }
    mutating func encode(_ value: Bool) throws { node.append(Scalar.bool(value)) }
    mutating func encode(_ value: String) throws { node.append(Scalar.string(value)) }
    mutating func encode(_ value: Double) throws { node.append(Scalar.double(value)) }
    mutating func encode(_ value: Float) throws { node.append(Scalar.double(Double(value))) }
    mutating func encode(_ value: Int) throws { node.append(Scalar.integer(Int64(value))) }
    mutating func encode(_ value: Int8) throws { node.append(Scalar.integer(Int64(value))) }
    mutating func encode(_ value: Int16) throws { node.append(Scalar.integer(Int64(value))) }
    mutating func encode(_ value: Int32) throws { node.append(Scalar.integer(Int64(value))) }
    mutating func encode(_ value: Int64) throws { node.append(Scalar.integer(value)) }
    mutating func encode(_ value: UInt) throws { node.append(Scalar.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { node.append(Scalar.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt16) throws { node.append(Scalar.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt32) throws { node.append(Scalar.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt64) throws { node.append(Scalar.unsigned(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { node.append(try NodeEncoder.encode(value, codingPath: codingPath)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = EncodedNode(.keyed([:]))
        node.append(nested)
        return KeyedEncodingContainer(KeyedNodeEncoder<NestedKey>(node: nested, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let nested = EncodedNode(.array([]))
        node.append(nested)
        return UnkeyedNodeEncoder(node: nested, codingPath: codingPath)
    }

    mutating func superEncoder() -> Encoder {
        let encoder = DeferredEncoder(codingPath: codingPath)
        node.append(encoder.placeholder)
        return encoder
    }
}

private struct SingleNodeEncoder: SingleValueEncodingContainer {
    let encoder: NodeEncoder
    var codingPath: [CodingKey] { encoder.codingPath }

    private func set(_ node: EncodedNode) { encoder.node = node }

    mutating func encodeNil() throws { set(Scalar.null()) }
    mutating func encode(_ value: Bool) throws { set(Scalar.bool(value)) }
    mutating func encode(_ value: String) throws { set(Scalar.string(value)) }
    mutating func encode(_ value: Double) throws { set(Scalar.double(value)) }
    mutating func encode(_ value: Float) throws { set(Scalar.double(Double(value))) }
    mutating func encode(_ value: Int) throws { set(Scalar.integer(Int64(value))) }
    mutating func encode(_ value: Int8) throws { set(Scalar.integer(Int64(value))) }
    mutating func encode(_ value: Int16) throws { set(Scalar.integer(Int64(value))) }
    mutating func encode(_ value: Int32) throws { set(Scalar.integer(Int64(value))) }
    mutating func encode(_ value: Int64) throws { set(Scalar.integer(value)) }
    mutating func encode(_ value: UInt) throws { set(Scalar.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { set(Scalar.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt16) throws { set(Scalar.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt32) throws { set(Scalar.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt64) throws { set(Scalar.unsigned(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { set(try NodeEncoder.encode(value, codingPath: codingPath)) }
}

/// A super encoder: its node is placed first and filled when the superclass has encoded.
private final class DeferredEncoder: Encoder {
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    let placeholder = EncodedNode(.scalar([CompactCoding.Tag.null.rawValue]))
    private lazy var inner = NodeEncoder(codingPath: codingPath)

    init(codingPath: [CodingKey]) { self.codingPath = codingPath }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        placeholder.content = .keyed([:])
        inner.node = placeholder
        return inner.container(keyedBy: type)
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        placeholder.content = .array([])
        inner.node = placeholder
        return inner.unkeyedContainer()
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        inner.node = placeholder
        return SingleNodeEncoder(encoder: inner)
    }
}

// MARK: Decoding

/// A decoded value: scalars by tag, containers with their elements.
private indirect enum DecodedNode {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    case double(Double)
    case string(String)
    case array([DecodedNode])
    /// Keys sorted, as encoded; a container holds few, searched in order.
    case keyed(keys: [String], values: [DecodedNode])

    static func parse(_ data: Data) throws -> DecodedNode {
        try data.withUnsafeBytes { raw in
            var reader = Reader(bytes: raw.bindMemory(to: UInt8.self))
            let node = try reader.node()
            guard reader.offset == reader.bytes.count else { throw CompactCoding.Failure(description: "trailing bytes") }
            return node
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var offset = 0

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw CompactCoding.Failure(description: "truncated") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func varint() throws -> UInt64 {
            guard let value = Varint.read(bytes, at: &offset) else { throw CompactCoding.Failure(description: "truncated or too long varint") }
            return value
        }

        mutating func count() throws -> Int {
            let value = try varint()
            guard value <= UInt64(bytes.count - offset) + 1 << 20 else { throw CompactCoding.Failure(description: "bad length") }
            return Int(value)
        }

        mutating func string() throws -> String {
            let length = try count()
            guard bytes.count - offset >= length else { throw CompactCoding.Failure(description: "truncated string") }
            defer { offset += length }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[offset..<(offset + length)]), as: UTF8.self)
        }

        mutating func node() throws -> DecodedNode {
            guard let tag = CompactCoding.Tag(rawValue: try byte()) else { throw CompactCoding.Failure(description: "unknown tag") }
            switch tag {
            case .null: return .null
            case .no: return .bool(false)
            case .yes: return .bool(true)
            case .integer:
                let zigzag = try varint()
                return .integer(Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1))
            case .unsigned: return .unsigned(try varint())
            case .double:
                guard bytes.count - offset >= 8 else { throw CompactCoding.Failure(description: "truncated double") }
                var bits: UInt64 = 0
                for index in 0..<8 { bits |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
                offset += 8
                return .double(Double(bitPattern: bits))
            case .string: return .string(try string())
            case .array:
                let count = try count()
                var elements: [DecodedNode] = []
                elements.reserveCapacity(count)
                for _ in 0..<count { elements.append(try node()) }
                return .array(elements)
            case .keyed:
                let count = try count()
                var keys: [String] = [], values: [DecodedNode] = []
                keys.reserveCapacity(count); values.reserveCapacity(count)
                for _ in 0..<count {
                    keys.append(try string())
                    values.append(try node())
                }
                return .keyed(keys: keys, values: values)
            }
        }
    }
}

struct CompactDecoder {
    func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try NodeDecoder.decode(type, from: try DecodedNode.parse(data), codingPath: [])
    }
}

private struct NodeDecoder: Decoder {
    let node: DecodedNode
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func decode<T: Decodable>(_ type: T.Type, from node: DecodedNode, codingPath: [CodingKey]) throws -> T {
        // Metatypes compared, not cast: this runs for every value of every summary.
        if type == String.self { return try scalarString(node, codingPath) as! T }
        if type == Int.self { return try Int(scalarInteger(node, codingPath)) as! T }
        if type == Bool.self { return try scalarBool(node, codingPath) as! T }
        if type == Data.self {
            guard let data = Data(base64Encoded: try scalarString(node, codingPath)) else { throw mismatch(type, codingPath) }
            return data as! T
        }
        return try T(from: NodeDecoder(node: node, codingPath: codingPath))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .keyed(let keys, let values) = node else { throw Self.mismatch([String: Any].self, codingPath) }
        return KeyedDecodingContainer(KeyedNodeDecoder<Key>(keys: keys, values: values, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let elements) = node else { throw Self.mismatch([Any].self, codingPath) }
        return UnkeyedNodeDecoder(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleNodeDecoder(node: node, codingPath: codingPath) }

    static func mismatch(_ type: Any.Type, _ codingPath: [CodingKey]) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "not a \(type) in the compact encoding"))
    }

    static func scalarString(_ node: DecodedNode, _ codingPath: [CodingKey]) throws -> String {
        guard case .string(let value) = node else { throw mismatch(String.self, codingPath) }
        return value
    }

    static func scalarBool(_ node: DecodedNode, _ codingPath: [CodingKey]) throws -> Bool {
        guard case .bool(let value) = node else { throw mismatch(Bool.self, codingPath) }
        return value
    }

    static func scalarInteger(_ node: DecodedNode, _ codingPath: [CodingKey]) throws -> Int64 {
        switch node {
        case .integer(let value): return value
        case .unsigned(let value) where value <= UInt64(Int64.max): return Int64(value)
        default: throw mismatch(Int64.self, codingPath)
        }
    }

    static func scalarUnsigned(_ node: DecodedNode, _ codingPath: [CodingKey]) throws -> UInt64 {
        switch node {
        case .unsigned(let value): return value
        case .integer(let value) where value >= 0: return UInt64(value)
        default: throw mismatch(UInt64.self, codingPath)
        }
    }

    static func scalarDouble(_ node: DecodedNode, _ codingPath: [CodingKey]) throws -> Double {
        switch node {
        case .double(let value): return value
        case .integer(let value): return Double(value)
        case .unsigned(let value): return Double(value)
        default: throw mismatch(Double.self, codingPath)
        }
    }

    static func exactly<I: FixedWidthInteger>(_ type: I.Type, _ node: DecodedNode, _ codingPath: [CodingKey]) throws -> I {
        let value: I?
        if I.isSigned { value = I(exactly: try scalarInteger(node, codingPath)) } else { value = I(exactly: try scalarUnsigned(node, codingPath)) }
        guard let value else { throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "\(I.self) out of range")) }
        return value
    }
}

private struct KeyedNodeDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let keys: [String]
    let values: [DecodedNode]
    let codingPath: [CodingKey]

    var allKeys: [Key] { keys.compactMap(Key.init(stringValue:)) }
    func contains(_ key: Key) -> Bool { keys.contains(key.stringValue) }

    private func value(_ key: Key) throws -> DecodedNode {
        let name = key.stringValue
        // Keys are sorted: a binary search for larger containers, a scan for small ones.
        if keys.count <= 8 {
            for index in keys.indices where keys[index] == name { return values[index] }
        } else {
            var low = 0, high = keys.count
            while low < high {
                let middle = (low + high) / 2
                if keys[middle] < name { low = middle + 1 } else { high = middle }
            }
            if low < keys.count && keys[low] == name { return values[low] }
        }
        throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(name)"))
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try value(key) { return true }
        return false
    }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try NodeDecoder.scalarBool(value(key), codingPath) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try NodeDecoder.scalarString(value(key), codingPath) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try NodeDecoder.scalarDouble(value(key), codingPath) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try NodeDecoder.scalarDouble(value(key), codingPath)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try NodeDecoder.exactly(Int.self, value(key), codingPath) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try NodeDecoder.exactly(Int8.self, value(key), codingPath) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try NodeDecoder.exactly(Int16.self, value(key), codingPath) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try NodeDecoder.exactly(Int32.self, value(key), codingPath) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try NodeDecoder.exactly(Int64.self, value(key), codingPath) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try NodeDecoder.exactly(UInt.self, value(key), codingPath) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try NodeDecoder.exactly(UInt8.self, value(key), codingPath) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try NodeDecoder.exactly(UInt16.self, value(key), codingPath) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try NodeDecoder.exactly(UInt32.self, value(key), codingPath) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try NodeDecoder.exactly(UInt64.self, value(key), codingPath) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try NodeDecoder.decode(type, from: value(key), codingPath: codingPath) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try NodeDecoder(node: value(key), codingPath: codingPath).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try NodeDecoder(node: value(key), codingPath: codingPath).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder {
        guard let index = keys.firstIndex(of: "super") else { return NodeDecoder(node: .null, codingPath: codingPath) }
        return NodeDecoder(node: values[index], codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> Decoder { NodeDecoder(node: try value(key), codingPath: codingPath) }
}

private struct UnkeyedNodeDecoder: UnkeyedDecodingContainer {
    let elements: [DecodedNode]
    let codingPath: [CodingKey]
    var currentIndex = 0

    init(elements: [DecodedNode], codingPath: [CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> DecodedNode {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "no more elements"))
        }
        defer { currentIndex += 1 }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if case .null = elements[currentIndex] { currentIndex += 1; return true }
        return false
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try NodeDecoder.scalarBool(next(), codingPath) }
    mutating func decode(_ type: String.Type) throws -> String { try NodeDecoder.scalarString(next(), codingPath) }
    mutating func decode(_ type: Double.Type) throws -> Double { try NodeDecoder.scalarDouble(next(), codingPath) }
    mutating func decode(_ type: Float.Type) throws -> Float { Float(try NodeDecoder.scalarDouble(next(), codingPath)) }
    mutating func decode(_ type: Int.Type) throws -> Int { try NodeDecoder.exactly(Int.self, next(), codingPath) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try NodeDecoder.exactly(Int8.self, next(), codingPath) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try NodeDecoder.exactly(Int16.self, next(), codingPath) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try NodeDecoder.exactly(Int32.self, next(), codingPath) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try NodeDecoder.exactly(Int64.self, next(), codingPath) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try NodeDecoder.exactly(UInt.self, next(), codingPath) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try NodeDecoder.exactly(UInt8.self, next(), codingPath) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try NodeDecoder.exactly(UInt16.self, next(), codingPath) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try NodeDecoder.exactly(UInt32.self, next(), codingPath) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try NodeDecoder.exactly(UInt64.self, next(), codingPath) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try NodeDecoder.decode(type, from: next(), codingPath: codingPath) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try NodeDecoder(node: next(), codingPath: codingPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        try NodeDecoder(node: next(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superDecoder() throws -> Decoder { NodeDecoder(node: try next(), codingPath: codingPath) }
}

private struct SingleNodeDecoder: SingleValueDecodingContainer {
    let node: DecodedNode
    let codingPath: [CodingKey]

    func decodeNil() -> Bool {
        if case .null = node { return true }
        return false
    }
    func decode(_ type: Bool.Type) throws -> Bool { try NodeDecoder.scalarBool(node, codingPath) }
    func decode(_ type: String.Type) throws -> String { try NodeDecoder.scalarString(node, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try NodeDecoder.scalarDouble(node, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try NodeDecoder.scalarDouble(node, codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try NodeDecoder.exactly(Int.self, node, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try NodeDecoder.exactly(Int8.self, node, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try NodeDecoder.exactly(Int16.self, node, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try NodeDecoder.exactly(Int32.self, node, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try NodeDecoder.exactly(Int64.self, node, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try NodeDecoder.exactly(UInt.self, node, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try NodeDecoder.exactly(UInt8.self, node, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try NodeDecoder.exactly(UInt16.self, node, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try NodeDecoder.exactly(UInt32.self, node, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try NodeDecoder.exactly(UInt64.self, node, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try NodeDecoder.decode(type, from: node, codingPath: codingPath) }
}
