import Foundation
import RuleKit

/// A precompiled header's record as saved beside it: a tag line, then its lists as
/// length-prefixed strings. A record holds the build's ~1,500 file paths and tens of thousands
/// of identifiers and macro definitions; planning reads every record, and each worker those of
/// the headers it parses with, and JSON spent seconds of a whole-tree scan scanning that text.
/// Records an earlier kwarden wrote as JSON are still read.
extension PrecompiledHeaders.Record {
    private static let tag = Array("kwarden precompiled header record 1\n".utf8)

    func encoded() -> Data {
        var writer = RecordWriter()
        writer.bytes += Self.tag
        writer.strings(files)
        writer.count(stamps.count)
        for stamp in stamps {
            writer.string(stamp.path)
            writer.word(UInt64(bitPattern: stamp.size))
            writer.word(stamp.modified.bitPattern)
        }
        writer.strings(macros.identifiers.sorted())
        let names = macros.definitions.keys.sorted()
        writer.strings(names)
        writer.strings(names.map { macros.definitions[$0]! })
        writer.optional(macros.expandable.map { $0.sorted() }) { $0.strings($1) }
        writer.optional(failure) { $0.string($1) }
        return Data(writer.bytes)
    }

    /// Nil for bytes that are neither form (a record cut short, another file).
    init?(encoded data: Data) {
        let bytes = [UInt8](data)
        guard bytes.starts(with: Self.tag) else {
            guard let record = try? JSONDecoder().decode(Self.self, from: data) else { return nil }
            self = record
            return
        }
        var reader = RecordReader(bytes: bytes, position: Self.tag.count)
        guard let files = reader.strings(), let stampCount = reader.count() else { return nil }
        var stamps: [ResultCache.Dependency] = []
        for _ in 0..<stampCount {
            guard let path = reader.string(), let size = reader.word(), let modified = reader.word() else { return nil }
            stamps.append(ResultCache.Dependency(path: path, size: Int64(bitPattern: size), modified: Double(bitPattern: modified)))
        }
        guard let identifiers = reader.strings(), let names = reader.strings(), let definitions = reader.strings(),
              names.count == definitions.count, let expandable = reader.optional({ $0.strings() }),
              let failure = reader.optional({ $0.string() }), reader.position == bytes.count else { return nil }
        var macros = HeaderMacroFacts()
        macros.identifiers = Set(identifiers)
        macros.definitions = Dictionary(uniqueKeysWithValues: zip(names, definitions))
        macros.expandable = expandable.map(Set.init)
        self.init(files: [], functions: [], macros: macros, failure: failure)
        self.files = files
        self.stamps = stamps
    }
}

private struct RecordWriter {
    var bytes: [UInt8] = []

    mutating func count(_ value: Int) { Varint.append(UInt64(value), to: &bytes) }

    mutating func word(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func string(_ value: String) {
        count(value.utf8.count)
        bytes += value.utf8
    }

    mutating func strings(_ values: [String]) {
        count(values.count)
        for value in values { string(value) }
    }

    /// A 0 byte for nil, else 1 and the value.
    mutating func optional<T>(_ value: T?, _ write: (inout RecordWriter, T) -> Void) {
        guard let value else { bytes.append(0); return }
        bytes.append(1)
        write(&self, value)
    }
}

private struct RecordReader {
    let bytes: [UInt8]
    var position: Int

    mutating func count() -> Int? {
        guard let value = Varint.read(bytes, at: &position), value <= UInt64(Int.max) else { return nil }
        return Int(value)
    }

    mutating func word() -> UInt64? {
        guard position + 8 <= bytes.count else { return nil }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[position + index]) << UInt64(8 * index) }
        position += 8
        return value
    }

    mutating func string() -> String? {
        guard let length = count(), length <= bytes.count - position else { return nil }
        defer { position += length }
        return String(decoding: bytes[position..<position + length], as: UTF8.self)
    }

    mutating func strings() -> [String]? {
        guard let count = count(), count <= bytes.count - position else { return nil }
        var values: [String] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            guard let value = string() else { return nil }
            values.append(value)
        }
        return values
    }

    /// `.some(nil)` for a recorded nil; nil when the bytes are cut short.
    mutating func optional<T>(_ read: (inout RecordReader) -> T?) -> T?? {
        guard position < bytes.count else { return nil }
        position += 1
        guard bytes[position - 1] == 1 else { return bytes[position - 1] == 0 ? .some(nil) : nil }
        guard let value = read(&self) else { return nil }
        return .some(value)
    }
}
