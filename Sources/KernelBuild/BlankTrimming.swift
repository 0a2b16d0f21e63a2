/// String helpers for Kconfig and Makefile text that stay on the UTF-8 view: Foundation's
/// `trimmingCharacters(in:)` and `range(of:)` go through NSString on Linux and were most of the
/// set-up time of a scan (every worker reads hundreds of Kconfig and Makefile files).
extension StringProtocol {
    /// Without leading and trailing spaces and tabs (the blanks of Kconfig and Make).
    var trimmedBlanks: String {
        let bytes = utf8
        var start = bytes.startIndex
        while start < bytes.endIndex, bytes[start] == 0x20 || bytes[start] == 0x09 { start = bytes.index(after: start) }
        var end = start, index = start
        while index < bytes.endIndex {
            let byte = bytes[index]
            index = bytes.index(after: index)
            if byte != 0x20 && byte != 0x09 { end = index }
        }
        return String(self[start..<end])
    }

    /// The first occurrence of `needle`, compared byte by byte.
    func firstByteRange(of needle: String) -> Range<Index>? {
        let bytes = utf8, pattern = Array(needle.utf8)
        guard let first = pattern.first else { return nil }
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == first {
                var probe = index, matched = 0
                while matched < pattern.count, probe < bytes.endIndex, bytes[probe] == pattern[matched] {
                    probe = bytes.index(after: probe); matched += 1
                }
                if matched == pattern.count { return index..<probe }
            }
            index = bytes.index(after: index)
        }
        return nil
    }
}
