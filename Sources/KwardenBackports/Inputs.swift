import Foundation
import GitKit
import Yams

/// A usage error or an unreadable repository: reported on stderr, exit status 2.
public struct BackportError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One fix to check, as the user or the catalog named it.
public struct FixRequest: Equatable {
    public var id: String
    public var rule: String?
    public var subject: String?

    public init(id: String, rule: String? = nil, subject: String? = nil) {
        self.id = id
        self.rule = rule
        self.subject = subject
    }
}

/// Which fixes to check.
public enum FixSource: Equatable {
    /// Explicit ids (from `--fixes FILE` or the catalog).
    case requests([FixRequest])
    /// Every upstream commit in `A..B` that carries a `Fixes:` tag.
    case range(String)
}

public enum FixList {
    /// Parses a fixes file: one commit id per line, optionally followed by text (e.g. `git log --oneline`
    /// output); `#` starts a comment; blank lines are ignored.
    public static func parse(_ text: String, source: String = "fixes file") throws -> [FixRequest] {
        var requests: [FixRequest] = []
        for (number, rawLine) in text.lines().enumerated() {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            line = line.trimmingWhitespace()
            guard let word = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" }).first else { continue }
            guard word.count >= 4, word.count <= 40, isHexString(word) else {
                throw BackportError("\(source):\(number + 1): '\(word)' is not a commit id (4 to 40 hex digits)")
            }
            let rest = line.dropFirst(word.count).trimmingWhitespace()
            requests.append(FixRequest(id: word.lowercased(), subject: rest.isEmpty ? nil : String(rest)))
        }
        // An empty list is a mistake (a failed `git log > fixes.txt`), not a clean bill of health.
        guard !requests.isEmpty else { throw BackportError("\(source) lists no commit ids") }
        return requests
    }
}

/// The catalog of known upstream fixes under `rules/` (`rules/fixes.yaml`).
public struct Catalog: Decodable, Equatable {
    public struct Entry: Decodable, Equatable {
        public var commit: String
        public var subject: String
        public var date: String?
        public var rule: String
        public var fixes: [String]?
        public var note: String?
        public var source: String?
    }
    public var fixes: [Entry]

    public static func load(path: String) throws -> Catalog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BackportError("cannot read the fixes catalog \(path)")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    /// `source` names where the text came from, in messages.
    public static func parse(_ text: String, source: String) throws -> Catalog {
        do {
            let catalog = try YAMLDecoder().decode(Catalog.self, from: text)
            for entry in catalog.fixes where Oid(hex: entry.commit.lowercased()) == nil {
                throw BackportError("\(source): '\(entry.commit)' is not a full 40-hex commit id")
            }
            return catalog
        } catch let error as BackportError {
            throw error
        } catch {
            throw BackportError("\(source) is not a valid fixes catalog: \(error)")
        }
    }

    public var requests: [FixRequest] {
        fixes.map { FixRequest(id: $0.commit.lowercased(), rule: $0.rule, subject: $0.subject) }
    }
}

enum RepositoryOpening {
    /// Opens a repository the checker reads, turning each way it can be unusable into a clear message.
    static func open(_ path: String, role: String, allowBare: Bool) throws -> Repository {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BackportError("\(role) \(path) does not exist or is not a directory")
        }
        let repository: Repository
        do {
            repository = try Repository(open: path)
        } catch let error as GitError {
            throw BackportError(error.kind == .notARepository
                ? "\(role) \(path) is not a git repository" : "cannot open \(role) \(path): \(error.message)")
        }
        if repository.isBare && !allowBare {
            throw BackportError("\(role) \(path) is a bare repository; the audited branch must come from a "
                + "repository with a working tree (clone it, or pass it as --upstream)")
        }
        if repository.isShallow {
            throw BackportError("\(role) \(path) is a shallow clone: its history is cut off, so older commits "
                + "would wrongly look absent; run `git fetch --unshallow` first")
        }
        return repository
    }
}

enum FixResolution {
    /// Resolves what the user asked for into upstream commits; nil marks an id upstream does not have.
    /// An id that matches several objects is an error: guessing would check the wrong fix.
    static func resolve(_ source: FixSource, in upstream: Repository, label: String) throws -> [(FixRequest, Oid?)] {
        switch source {
        case .requests(let requests):
            return try requests.map { request in
                do {
                    return (request, try upstream.lookupCommit(prefix: request.id))
                } catch let error as GitError where error.kind == .notFound {
                    return (request, nil)
                } catch let error as GitError {
                    throw BackportError(error.kind == .ambiguous
                        ? "fix id '\(request.id)' is ambiguous: it matches more than one object in \(label); give more digits"
                        : error.message)
                }
            }
        case .range(let spec):
            let range: (from: Oid?, to: Oid)
            do {
                range = try upstream.resolveRange(spec)
            } catch let error as GitError {
                throw BackportError("unknown revision range '\(spec)': \(error.message)")
            }
            let walk = try Revwalk(upstream, order: .topological)
            try walk.push(range.to)
            if let from = range.from { try walk.hide(from) }
            var found: [(FixRequest, Oid?)] = []
            for oid in walk {
                let commit = try upstream.commit(oid)
                if !Trailers.fixesTags(in: commit.message).isEmpty {
                    found.append((FixRequest(id: oid.hex, subject: commit.summary), oid))
                }
            }
            if let error = walk.error { throw BackportError(error.message) }
            return found.reversed() // oldest first, the order they were applied upstream
        }
    }
}
