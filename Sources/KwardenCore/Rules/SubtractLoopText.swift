/// Textual preselection for subtract-loop-zero-divisor: cheap, generous, never the final word.
///
/// A file is worth parsing when some subtraction `… -= D` or `X = X - D` has, within a few
/// hundred bytes, a loop keyword and a comparison against the same text D (`>= D`, `> D`,
/// `D <=`, `D <`), whitespace ignored. The AST then decides.
enum SubtractLoopText {
    static func mayContainSubtractLoop(_ source: SourceText) -> Bool {
        let bytes = source.bytes
        let count = bytes.count
        var i = 1
        while i < count - 1 {
            guard bytes[i] == UInt8(ascii: "-") else { i += 1; continue }
            var subtrahendStart: Int?
            if bytes[i + 1] == UInt8(ascii: "=") {
                subtrahendStart = i + 2
            } else if bytes[i + 1] != UInt8(ascii: ">") && bytes[i + 1] != UInt8(ascii: "-") && bytes[i - 1] != UInt8(ascii: "-")
                        && isSelfAssignmentBefore(bytes, minus: i) {
                subtrahendStart = i + 1
            }
            if let start = subtrahendStart, let divisor = subtrahend(bytes, from: start), hasComparison(bytes, around: i, divisor: divisor) {
                return true
            }
            i += 1
        }
        return false
    }

    /// `X = X -`: the text between the `=` and the `-` equals the text before the `=`.
    private static func isSelfAssignmentBefore(_ bytes: [UInt8], minus: Int) -> Bool {
        var j = minus - 1
        let lowest = max(0, minus - 120)
        while j > lowest, bytes[j] != UInt8(ascii: "=") {
            if bytes[j] == UInt8(ascii: ";") || bytes[j] == UInt8(ascii: "{") || bytes[j] == UInt8(ascii: "}") { return false }
            j -= 1
        }
        guard j > lowest, bytes[j] == UInt8(ascii: "="), j > 0 else { return false }
        let before = bytes[j - 1]
        if "=!<>+-*/%&|^".utf8.contains(before) { return false }
        let right = squeezed(bytes[(j + 1)..<minus])
        guard !right.isEmpty else { return false }
        var k = j - 1
        while k > lowest, bytes[k] != UInt8(ascii: ";") && bytes[k] != UInt8(ascii: "{") && bytes[k] != UInt8(ascii: "}")
                && bytes[k] != UInt8(ascii: "\n") && bytes[k] != UInt8(ascii: "(") { k -= 1 }
        let left = squeezed(bytes[(k + 1)..<j])
        return left.count >= right.count && Array(left.suffix(right.count)) == right
    }

    /// The text after a `-=` or `-` up to the end of the expression, without spaces.
    private static func subtrahend(_ bytes: [UInt8], from start: Int) -> [UInt8]? {
        var depth = 0
        var end = start
        while end < bytes.count, end - start < 100 {
            let b = bytes[end]
            if b == UInt8(ascii: "(") || b == UInt8(ascii: "[") { depth += 1 }
            if b == UInt8(ascii: ")") || b == UInt8(ascii: "]") {
                if depth == 0 { break }
                depth -= 1
            }
            if depth == 0 && (b == UInt8(ascii: ";") || b == UInt8(ascii: ",")) { break }
            end += 1
        }
        let text = squeezed(bytes[start..<min(end, bytes.count)])
        guard !text.isEmpty, !text.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return text
    }

    private static func hasComparison(_ bytes: [UInt8], around index: Int, divisor: [UInt8]) -> Bool {
        let window = squeezed(bytes[max(0, index - 700)..<min(bytes.count, index + 500)])
        guard contains(window, Array("while".utf8)) || contains(window, Array("for(".utf8)) else { return false }
        for prefix in [">=", ">"] {
            if contains(window, Array(prefix.utf8) + divisor) || contains(window, Array(prefix.utf8) + [UInt8(ascii: "(")] + divisor) { return true }
        }
        for suffix in ["<=", "<"] {
            if contains(window, divisor + Array(suffix.utf8)) || contains(window, divisor + [UInt8(ascii: ")")] + Array(suffix.utf8)) { return true }
        }
        return false
    }

    private static func squeezed(_ slice: ArraySlice<UInt8>) -> [UInt8] {
        slice.filter { $0 != 0x20 && $0 != 0x09 && $0 != 0x0a && $0 != 0x0d && $0 != 0x5c }
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        SourceText(bytes: haystack).firstIndex(of: needle, from: 0) != nil
    }
}
