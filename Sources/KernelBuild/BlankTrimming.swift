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

/// Helpers of the `$(…)` expanders (Make's, Kconfig's, the syscall Makefile reader's): their
/// languages differ, the way a reference's end and its arguments are found does not.
extension StringProtocol {
    /// The `closer` that closes the `opener` at `open`, nested pairs skipped; nil when the text
    /// ends first.
    func matchingCloser(of open: Index, opener: Character, closer: Character) -> Index? {
        var level = 0
        var index = open
        while index < endIndex {
            if self[index] == opener { level += 1 } else if self[index] == closer { level -= 1; if level == 0 { return index } }
            index = self.index(after: index)
        }
        return nil
    }

    /// The parts between commas that no bracket of `openers` (closed by those of `closers`) encloses.
    func splitAtTopLevelCommas(openers: String, closers: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var level = 0
        for char in self {
            if openers.contains(char) { level += 1 } else if closers.contains(char) { level -= 1 }
            if char == ",", level == 0 { parts.append(current); current = ""; continue }
            current.append(char)
        }
        parts.append(current)
        return parts
    }
}
