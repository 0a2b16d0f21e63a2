import Foundation
import GitKit
import Yams

/// Fixes a team decided not to take, each with its reason: reported as `ignored`, never dropped.
public struct IgnoreList: Equatable {
    public struct Entry: Equatable {
        /// The commit id as written (4 to 40 hex digits, lowercased).
        public var id: String
        public var reason: String
        /// Where the entry comes from, `file:line` or `.kwarden.yaml`, for warnings.
        public var source: String
    }

    public var entries: [Entry]

    public init(entries: [Entry] = []) { self.entries = entries }

    /// Parses an ignore file: `<commit id> <reason>` per line, `#` starts a comment, blank lines are skipped.
    public static func parse(_ text: String, source: String = "ignore file") throws -> IgnoreList {
        var entries: [Entry] = []
        for (number, rawLine) in text.lines().enumerated() {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            line = line.trimmingWhitespace()
            guard let word = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" }).first else { continue }
            let location = "\(source):\(number + 1)"
            let reason = line.dropFirst(word.count).trimmingWhitespace()
            entries.append(try entry(String(word), reason: String(reason), source: location))
        }
        return IgnoreList(entries: entries)
    }

    static func entry(_ id: String, reason: String, source: String) throws -> Entry {
        guard id.count >= 4, id.count <= 40, isHexString(Substring(id)) else {
            throw BackportError("\(source): '\(id)' is not a commit id (4 to 40 hex digits)")
        }
        guard !reason.isEmpty else {
            throw BackportError("\(source): ignoring \(id) needs a reason after the id")
        }
        return Entry(id: id.lowercased(), reason: reason, source: source)
    }

    /// The `backports: ignore:` section of `.kwarden.yaml` in `root`, empty when the file or section is absent.
    /// Entries are `{commit: <id>, reason: <text>}` maps or `"<id> <reason>"` strings.
    public static func fromKwardenYAML(atRepositoryRoot root: String) throws -> IgnoreList {
        let path = URL(fileURLWithPath: root).appendingPathComponent(".kwarden.yaml").path
        guard let data = FileManager.default.contents(atPath: path) else { return IgnoreList() }
        let document: Any?
        do {
            document = try Yams.load(yaml: String(decoding: data, as: UTF8.self))
        } catch {
            throw BackportError("\(path) is not valid YAML: \(error)")
        }
        guard let top = document as? [String: Any], let backports = top["backports"] else { return IgnoreList() }
        guard let section = backports as? [String: Any] else {
            throw BackportError("\(path): 'backports' must be a map")
        }
        guard let ignore = section["ignore"] else { return IgnoreList() }
        guard let items = ignore as? [Any] else {
            throw BackportError("\(path): 'backports.ignore' must be a list of {commit, reason} entries")
        }
        var entries: [Entry] = []
        for (number, item) in items.enumerated() {
            let source = "\(path): backports.ignore[\(number)]"
            if let text = item as? String {
                entries += try parse(text, source: source).entries.map { Entry(id: $0.id, reason: $0.reason, source: source) }
            } else if let map = item as? [String: Any], let commit = map["commit"].map({ "\($0)" }) {
                entries.append(try entry(commit, reason: (map["reason"] as? String) ?? "", source: source))
            } else {
                throw BackportError("\(source): expected {commit: <id>, reason: <text>}")
            }
        }
        return IgnoreList(entries: entries)
    }
}
