import RuleKit
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

    /// A comparison against the divisor text inside a `while (…)` or `for (…)` header near the subtraction.
    private static func hasComparison(_ bytes: [UInt8], around index: Int, divisor: [UInt8]) -> Bool {
        let before = squeezed(bytes[max(0, index - 700)..<index])
        let window = before + squeezed(bytes[index..<min(bytes.count, index + 500)])
        let subtraction = before.count
        // (pattern, offset of the divisor in it): the divisor must stand alone as an identifier run.
        var patterns: [([UInt8], Int)] = []
        for prefix in [">=", ">"] {
            patterns.append((Array(prefix.utf8) + divisor, prefix.utf8.count))
            patterns.append((Array(prefix.utf8) + [UInt8(ascii: "(")] + divisor, prefix.utf8.count + 1))
        }
        for suffix in ["<=", "<"] {
            patterns.append((divisor + Array(suffix.utf8), 0))
            patterns.append((divisor + [UInt8(ascii: ")")] + Array(suffix.utf8), 0))
        }
        let text = SourceText(bytes: window)
        for (pattern, divisorOffset) in patterns {
            var from = 0
            while let at = text.firstIndex(of: pattern, from: from) {
                from = at + 1
                let start = at + divisorOffset, end = start + divisor.count
                if start > 0, SourceText.isIdentifierByte(window[start - 1]), SourceText.isIdentifierByte(divisor[0]) { continue }
                if end < window.count, SourceText.isIdentifierByte(window[end]), SourceText.isIdentifierByte(divisor[divisor.count - 1]) { continue }
                if let header = loopHeader(window, at), encloses(window, header: header, subtraction: subtraction) { return true }
            }
        }
        return false
    }

    /// The loop header around position `at` of squeezed text, as (index of its `(`, index of its `)`):
    /// walking back, `while(` or `for(` comes before any block brace and before a second `;`.
    private static func loopHeader(_ text: [UInt8], _ at: Int) -> (open: Int, close: Int)? {
        var j = at
        var semicolons = 0
        let limit = max(0, at - 240)
        var open: Int?
        while j > limit, open == nil {
            j -= 1
            let b = text[j]
            if b == UInt8(ascii: "{") || b == UInt8(ascii: "}") { return nil }
            if b == UInt8(ascii: ";") {
                semicolons += 1
                if semicolons > 2 { return nil }
            }
            if b == UInt8(ascii: "(") && j >= 5 {
                if text[(j - 5)..<j].elementsEqual("while".utf8) && semicolons == 0 { open = j }
                if text[(j - 3)..<j].elementsEqual("for".utf8) { open = j }
            }
        }
        guard let open else { return nil }
        var depth = 0
        for k in open..<text.count {
            if text[k] == UInt8(ascii: "(") { depth += 1 }
            if text[k] == UInt8(ascii: ")") {
                depth -= 1
                if depth == 0 { return (open, k) }
            }
        }
        return nil
    }

    /// Whether the subtraction at `subtraction` belongs to the loop: inside its header, inside its
    /// body (a braced block still open, or the single statement after the header), or — for
    /// `do { … } while (…)` — in the block that the header closes.
    private static func encloses(_ text: [UInt8], header: (open: Int, close: Int), subtraction: Int) -> Bool {
        if subtraction > header.open && subtraction < header.close { return true }
        if subtraction > header.close {
            var depth = 0
            var k = header.close + 1
            let braced = k < text.count && text[k] == UInt8(ascii: "{")
            while k < subtraction {
                let b = text[k]
                if b == UInt8(ascii: "{") { depth += 1 }
                if b == UInt8(ascii: "}") {
                    depth -= 1
                    if depth <= 0 && braced { return false }
                }
                if b == UInt8(ascii: ";") && !braced && depth == 0 { return false }
                k += 1
            }
            return braced ? depth > 0 : true
        }
        // do { … x -= d; … } while (x >= d): the block before the header holds the subtraction.
        var depth = 0
        var k = header.open - 1
        while k > subtraction {
            if text[k] == UInt8(ascii: "}") { depth += 1 }
            if text[k] == UInt8(ascii: "{") { depth -= 1 }
            k -= 1
        }
        return depth > 0
    }

    /// The text without blanks, line breaks and backslashes (line continuations). Written into
    /// a buffer of the slice's size: evidence passes squeeze thousands of whole files, and a
    /// filter's appends cost more than the reading.
    static func squeezed(_ slice: ArraySlice<UInt8>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: slice.count) { buffer, count in
            var written = 0
            slice.withUnsafeBufferPointer { bytes in
                for byte in bytes where byte != 0x20 && byte != 0x09 && byte != 0x0a && byte != 0x0d && byte != 0x5c {
                    buffer[written] = byte
                    written += 1
                }
            }
            count = written
        }
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        SourceText(bytes: haystack).firstIndex(of: needle, from: 0) != nil
    }
}
