import Foundation

// Kconfig expressions (`depends on`, `if` conditions, default values): tokens, then a tree.

enum KconfigLexer {
    /// Tokens: identifiers/numbers, quoted strings (kept quoted), operators, parentheses.
    static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        let chars = Array(text)
        var index = 0
        while index < chars.count {
            let char = chars[index]
            if char == " " || char == "\t" { index += 1; continue }
            if char == "#" { break }
            if char == "\"" || char == "'" {
                var end = index + 1
                while end < chars.count, chars[end] != char {
                    if chars[end] == "\\" { end += 1 }
                    end += 1
                }
                tokens.append(String(chars[index...min(end, chars.count - 1)]))
                index = end + 1
                continue
            }
            if index + 1 < chars.count {
                let pair = String(chars[index...index + 1])
                if ["&&", "||", "!=", "<=", ">="].contains(pair) { tokens.append(pair); index += 2; continue }
            }
            if "()!=<>".contains(char) { tokens.append(String(char)); index += 1; continue }
            var end = index
            while end < chars.count, !" \t()!=<>&|\"'".contains(chars[end]) { end += 1 }
            if end == index { index += 1; continue }
            tokens.append(String(chars[index..<end]))
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
