/// Recognises the lines of a commit message that name other commits: backport trailers, revert lines and
/// `Fixes:` tags. Every match keeps the line it came from, because the report shows it as proof.
public enum Trailers {
    /// A commit id named by a message line, lowercased, 4 to 40 hex digits as written.
    public struct Reference: Equatable {
        public let hex: String
        public let line: String
        /// For `Fixes:` tags, the quoted subject (`Fixes: abc ("subject")`).
        public let quotedSubject: String?
    }

    /// Lines saying this commit is a backport of an upstream commit, in the forms stable, distro and vendor
    /// trees use:
    ///   commit <id> upstream.                       (stable kernels)
    ///   [ Upstream commit <id> ]                    (stable kernels)
    ///   (cherry picked from commit <id>)            (git cherry-pick -x; "(backported from commit <id>)" too)
    ///   Upstream commit <id> / Upstream commit: <id> / Mainline commit <id>
    ///   Git-commit: <id>                            (SUSE)
    ///   commit <40-hex id>                          (RHEL: the id alone on its line, full length only)
    /// Each must be the whole line, so an id mentioned in prose does not count, and the id must have at least
    /// `minimumBackportIdLength` hex digits.
    public static func backportReferences(in message: String) -> [Reference] {
        var found: [Reference] = []
        for rawLine in message.lines() {
            let line = rawLine.trimmingWhitespace()
            guard line.count >= 11 else { continue }
            let lower = line.lowercased()
            guard lower.contains("commit") || lower.contains("upstream") || lower.contains("from") else { continue }
            if let hex = backportId(lower) {
                found.append(Reference(hex: hex, line: String(line), quotedSubject: nil))
            }
        }
        return found
    }

    /// Shorter ids are too easily ambiguous (or typos) in a kernel-sized history to prove a backport; the kernel's
    /// own convention for cited ids is 12 digits.
    public static let minimumBackportIdLength = 12

    static func backportId(_ line: String) -> String? {
        if line.hasPrefix("(") && line.hasSuffix(")") {
            // (cherry picked from commit <id>) (backported from commit <id> linux-next) (cherry-picked from <id>)
            let words = line.dropFirst().dropLast().split(separator: " ")
            guard let from = words.firstIndex(of: "from"), from > 0,
                  words[..<from].contains(where: { $0.contains("cherry") || $0.contains("backport") || $0 == "picked" })
            else { return nil }
            var next = words.index(after: from)
            if next < words.endIndex, words[next] == "commit" { next += 1 }
            guard next < words.endIndex else { return nil }
            return hexToken(words[next], minimum: minimumBackportIdLength)
        }
        var body = Substring(line)
        var bracketed = false
        if body.hasPrefix("[") && body.hasSuffix("]") {
            body = body.dropFirst().dropLast()
            bracketed = true
        }
        let words = body.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count >= 2 else { return nil }
        if bracketed {
            // [ Upstream commit <id> ]
            guard words.count == 3, words[0] == "upstream", words[1] == "commit" else { return nil }
            return hexToken(words[2], minimum: minimumBackportIdLength)
        }
        switch words[0] {
        case "commit":
            // commit <id> upstream.   |   commit <40-hex id>
            if words.count == 3, words[2] == "upstream." || words[2] == "upstream" {
                return hexToken(words[1], minimum: minimumBackportIdLength)
            }
            if words.count == 2, let hex = hexToken(words[1], minimum: 40) { return hex }
            return nil
        case "upstream", "mainline", "upstream:":
            // Upstream commit <id> | Upstream commit: <id> | upstream: <id>
            var index = 1
            if words[0] != "upstream:" {
                guard words[index] == "commit" || words[index] == "commit:" else { return nil }
                index += 1
            }
            guard index < words.count, words.count <= index + 1 else { return nil }
            return hexToken(words[index], minimum: minimumBackportIdLength)
        case "git-commit:":
            return words.count == 2 ? hexToken(words[1], minimum: minimumBackportIdLength) : nil
        default:
            return nil
        }
    }

    /// `This reverts commit <id>.` lines (what `git revert` writes).
    public static func revertReferences(in message: String) -> [Reference] {
        var found: [Reference] = []
        for rawLine in message.lines() {
            let line = rawLine.trimmingWhitespace()
            let lower = line.lowercased()
            guard lower.hasPrefix("this reverts commit ") else { continue }
            let rest = lower.dropFirst("this reverts commit ".count)
            guard let word = rest.split(separator: " ").first, let hex = hexToken(word, minimum: 7) else { continue }
            found.append(Reference(hex: hex, line: String(line), quotedSubject: nil))
        }
        return found
    }

    /// `Fixes: <id> ("subject")` tags, also in the spellings real tags use: no space before the parenthesis
    /// (`Fixes: 241bad15d99a("…")`) and `Fixes: commit <id> ("…")`.
    public static func fixesTags(in message: String) -> [Reference] {
        var found: [Reference] = []
        for rawLine in message.lines() {
            let line = rawLine.trimmingWhitespace()
            guard line.count > 7, line.prefix(6).lowercased() == "fixes:" else { continue }
            var rest = line.dropFirst(6).trimmingWhitespace()
            if rest.lowercased().hasPrefix("commit ") { rest = rest.dropFirst("commit ".count).trimmingWhitespace() }
            let digits = rest.prefix { $0.isHexDigit }
            // The id ends the word, or runs into the quoted subject; anything else (`deadbeefy`) is not an id.
            let next = rest.dropFirst(digits.count).first
            // A short all-letter id is a word ("Fixes: added locking"), not a commit.
            guard next == nil || !(next!.isLetter || next!.isNumber), digits.count >= 8 || digits.contains(where: \.isNumber),
                  let hex = hexToken(digits, minimum: 4) else { continue }
            var quoted: String?
            if let open = rest.range(of: "(\""), let close = rest.range(of: "\")", options: .backwards),
               open.upperBound <= close.lowerBound {
                quoted = String(rest[open.upperBound..<close.lowerBound])
            }
            found.append(Reference(hex: hex, line: String(line), quotedSubject: quoted))
        }
        return found
    }

    /// A word that is a commit id once trailing punctuation is dropped, lowercased; nil otherwise.
    static func hexToken(_ word: Substring, minimum: Int) -> String? {
        var token = word
        while let last = token.last, ".,;:)]".contains(last) { token = token.dropLast() }
        guard token.utf8.count >= minimum, token.utf8.count <= 40,
              token.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) })
        else { return nil }
        return token.lowercased()
    }

    /// The subject as compared across trees: vendor and stable prefixes dropped, whitespace collapsed.
    public static func normalizedSubject(_ subject: String) -> String {
        var text = Substring(subject).trimmingWhitespace()
        var changed = true
        while changed {
            changed = false
            for prefix in ["UPSTREAM:", "BACKPORT:", "FROMGIT:", "FROMLIST:", "ANDROID:", "CHROMIUM:", "[backport]",
                           "[upstream]", "[stable]"] where text.lowercased().hasPrefix(prefix.lowercased()) {
                text = text.dropFirst(prefix.count).trimmingWhitespace()
                changed = true
            }
            if text.hasPrefix("[PATCH"), let close = text.firstIndex(of: "]") {
                text = text[text.index(after: close)...].trimmingWhitespace()
                changed = true
            }
        }
        return text.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}

extension StringProtocol {
    /// The lines of a text split at "\n" with a trailing "\r" dropped, so CRLF files read like LF ones. (A Swift
    /// String treats "\r\n" as one character, which a split at "\n" never sees.)
    func lines() -> [Substring] {
        let text = Substring(self)
        var result: [Substring] = []
        var start = text.utf8.startIndex
        for index in text.utf8.indices where text.utf8[index] == 10 {
            var end = index
            if end > start, text.utf8[text.utf8.index(before: end)] == 13 { end = text.utf8.index(before: end) }
            result.append(text[start..<end])
            start = text.utf8.index(after: index)
        }
        if start < text.utf8.endIndex { result.append(text[start...]) }
        return result
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var text = self
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return text
    }
}

extension String {
    func trimmingWhitespace() -> Substring { Substring(self).trimmingWhitespace() }
}
