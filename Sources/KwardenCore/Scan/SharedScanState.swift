import Foundation

/// What several scans of one tree on disk can share — the gate scans the same work tree at base
/// and at head: the build setup, the file list of the fact scope, and which files name each
/// identifier an evidence pass looks for. Only what comes from disk is shared; files a scan
/// overlays (contents at another revision) are always read from its overlay.
public final class SharedScanState: @unchecked Sendable {
    private let lock = NSLock()
    private var setups: [String: CompileSetupProvider] = [:]
    private var scopes: [String: [String]] = [:]
    private var indexes: [String: IdentifierFileIndex] = [:]

    public init() {}

    func setups(key: String, make: () throws -> CompileSetupProvider) rethrows -> CompileSetupProvider {
        lock.lock(); defer { lock.unlock() }
        if let known = setups[key] { return known }
        let made = try make()
        setups[key] = made
        return made
    }

    func scope(key: String, make: () -> [String]) -> [String] {
        lock.lock(); defer { lock.unlock() }
        if let known = scopes[key] { return known }
        let made = make()
        scopes[key] = made
        return made
    }

    func index(key: String, files: [String]) -> IdentifierFileIndex {
        lock.lock(); defer { lock.unlock() }
        if let known = indexes[key] { return known }
        let made = IdentifierFileIndex(files: files)
        indexes[key] = made
        return made
    }
}

/// Which files on disk name an identifier, searched once per identifier and remembered.
///
/// Evidence passes ask for a few dozen identifiers (struct fields, function names) across a whole
/// tree; the passes of one scan, and the base and head scans of a gate, ask for mostly the same
/// ones. Each new batch of identifiers costs one read of the files; known ones cost nothing.
final class IdentifierFileIndex: @unchecked Sendable {
    let files: [String]
    private var known: [String: [Int32]] = [:]
    private let lock = NSLock()

    init(files: [String]) { self.files = files }

    /// Files on disk naming at least one of `identifiers` as a whole identifier.
    func files(naming identifiers: Set<String>, jobs: Int) -> Set<String> {
        lock.lock(); defer { lock.unlock() }
        let missing = identifiers.filter { known[$0] == nil }.sorted()
        if !missing.isEmpty { search(missing, jobs: jobs) }
        var result = Set<String>()
        for identifier in identifiers { for index in known[identifier]! { result.insert(files[Int(index)]) } }
        return result
    }

    /// One parallel read of every file, testing each missing identifier.
    private func search(_ identifiers: [String], jobs: Int) {
        let files = self.files
        var hits = [[Int]](repeating: [], count: files.count)
        let workers = max(1, jobs)
        hits.withUnsafeMutableBufferPointer { slots in
            let base = slots
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var i = worker
                while i < files.count {
                    if case .success(let source) = TextIndex.read(files[i]) {
                        base[i] = identifiers.indices.filter { source.containsIdentifier(identifiers[$0]) }
                    }
                    i += workers
                }
            }
        }
        var postings = [[Int32]](repeating: [], count: identifiers.count)
        for (file, found) in hits.enumerated() { for k in found { postings[k].append(Int32(file)) } }
        for (k, identifier) in identifiers.enumerated() { known[identifier] = postings[k] }
    }
}
