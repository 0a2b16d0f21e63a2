import Foundation

// Kconfig expressions (`depends on`, `if` conditions, default values): tokens, then a tree.

enum KconfigLexer {
    /// Tokens: identifiers/numbers, quoted strings (kept quoted), operators, parentheses.
    static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        let bytes = Array(text.utf8)
        let count = bytes.count
        // Blanks, parentheses, operators and quotes end a word.
        func endsWord(_ byte: UInt8) -> Bool {
            switch byte {
            case 0x20, 0x09, 0x28, 0x29, 0x21, 0x3d, 0x3c, 0x3e, 0x26, 0x7c, 0x22, 0x27: return true
            default: return false
            }
        }
        func token(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        var index = 0
        while index < count {
            let byte = bytes[index]
            if byte == 0x20 || byte == 0x09 { index += 1; continue }
            if byte == 0x23 { break }                                   // # comment
            if byte == 0x22 || byte == 0x27 {                           // "…" or '…', kept quoted
                var end = index + 1
                while end < count, bytes[end] != byte {
                    if bytes[end] == 0x5c { end += 1 }
                    end += 1
                }
                tokens.append(token(index..<(min(end, count - 1) + 1)))
                index = end + 1
                continue
            }
            if index + 1 < count {                                      // && || != <= >=
                let next = bytes[index + 1]
                if (byte == 0x26 && next == 0x26) || (byte == 0x7c && next == 0x7c) || (next == 0x3d && (byte == 0x21 || byte == 0x3c || byte == 0x3e)) {
                    tokens.append(token(index..<index + 2)); index += 2; continue
                }
            }
            if byte == 0x28 || byte == 0x29 || byte == 0x21 || byte == 0x3d || byte == 0x3c || byte == 0x3e {
                tokens.append(token(index..<index + 1)); index += 1; continue
            }
            var end = index
            while end < count, !endsWord(bytes[end]) { end += 1 }
            if end == index { index += 1; continue }
            tokens.append(token(index..<end))
            index = end
        }
        return tokens
    }
}

struct KconfigExprParser {
    var tokens: [String]
    var position = 0

    init(tokens: [String]) { self.tokens = tokens }

    /// The whole token list as one expression; empty means "always".
    static func parse(_ tokens: [String]) -> KconfigExpr {
        var parser = KconfigExprParser(tokens: tokens)
        return parser.parse()
    }

    mutating func parse() -> KconfigExpr {
        guard !tokens.isEmpty else { return .yes }
        return parseOr()
    }

    private mutating func peek() -> String? { position < tokens.count ? tokens[position] : nil }

    private mutating func parseOr() -> KconfigExpr {
        var left = parseAnd()
        while peek() == "||" { position += 1; left = .or(left, parseAnd()) }
        return left
    }

    private mutating func parseAnd() -> KconfigExpr {
        var left = parseUnary()
        while peek() == "&&" { position += 1; left = .and(left, parseUnary()) }
        return left
    }

    private mutating func parseUnary() -> KconfigExpr {
        if peek() == "!" { position += 1; return .not(parseUnary()) }
        if peek() == "(" {
            position += 1
            let inner = parseOr()
            if peek() == ")" { position += 1 }
            return inner
        }
        let left = parseAtom()
        if let op = peek(), ["=", "!=", "<", "<=", ">", ">="].contains(op) {
            position += 1
            return .compare(op, left, parseAtom())
        }
        return left
    }

    private mutating func parseAtom() -> KconfigExpr {
        guard let token = peek() else { return .symbol("n") }
        position += 1
        return .symbol(token)
    }
}
