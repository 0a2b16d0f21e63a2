import Foundation
import RuleKit

/// `/* kwarden-ignore(rule-id): reason */` (or `// kwarden-ignore(rule-a, rule-b): reason`) on a
/// finding's line or the line above it silences that rule's finding there. The reason is required:
/// a suppression nobody can explain later is not honoured, and a note says so.
///
/// This reads comments, which the AST does not keep; it never creates or decides a finding.
enum InlineSuppressions {
    static let marker = Array("kwarden-ignore(".utf8)

    struct Note { let file: String; let line: Int; let message: String }

    struct Outcome {
        var kept: [Finding] = []
        var suppressed: [(finding: Finding, justification: String)] = []
        var notes: [Note] = []
    }

    /// A suppression comment on one line: the rules it names and its reason ("" when missing).
    struct Directive: Equatable {
        let rules: [String]
        let reason: String
    }

    static func apply(to findings: [Finding], overlay: SourceOverlay) -> Outcome {
        var outcome = Outcome()
        var lines: [String: [Substring]] = [:]
        var warned = Set<String>()
        for finding in findings {
            if lines[finding.file] == nil {
                if case .success(let source) = overlay.read(finding.file), source.contains("kwarden-ignore") {
                    lines[finding.file] = String(decoding: source.bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                } else {
                    lines[finding.file] = []
                }
            }
            let text = lines[finding.file]!
            var justification: String?
            for number in [finding.line, finding.line - 1] where number >= 1 && number <= text.count {
                guard let directive = parse(text[number - 1]),
                      directive.rules.contains(finding.rule) || directive.rules.contains("all") else { continue }
                if directive.reason.isEmpty {
                    if warned.insert("\(finding.file):\(number)").inserted {
                        outcome.notes.append(Note(file: finding.file, line: number,
                                                  message: "kwarden-ignore without a reason is not honoured: write `kwarden-ignore(\(finding.rule)): why`"))
                    }
                    continue
                }
                justification = directive.reason
                break
            }
            if let justification { outcome.suppressed.append((finding, justification)) } else { outcome.kept.append(finding) }
        }
        return outcome
    }

    /// The directive in a source line, if it has one: `kwarden-ignore(` rules `)` then `:` reason,
    /// the reason ending at the comment's end.
    static func parse(_ line: Substring) -> Directive? {
        let bytes = Array(line.utf8)
        guard let start = firstIndex(of: marker, in: bytes) else { return nil }
        let afterMarker = start + marker.count
        guard let close = bytes[afterMarker...].firstIndex(of: UInt8(ascii: ")")) else { return nil }
        let rules = String(decoding: bytes[afterMarker..<close], as: UTF8.self)
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var rest = String(decoding: bytes[(close + 1)...], as: UTF8.self)
        if let end = rest.range(of: "*/") { rest = String(rest[..<end.lowerBound]) }
        rest = rest.trimmingCharacters(in: .whitespaces)
        let reason = rest.hasPrefix(":") ? rest.dropFirst().trimmingCharacters(in: .whitespaces) : ""
        return Directive(rules: rules, reason: reason)
    }

    private static func firstIndex(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        for index in 0...(bytes.count - needle.count) where bytes[index] == needle[0] {
            if bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
        }
        return nil
    }
}
