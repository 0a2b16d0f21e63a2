/// The stable patch-id of a diff: what `git diff-tree -p <commit> | git patch-id --stable` prints.
///
/// git hashes the text of the patch with all whitespace removed and without hunk headers or index lines (so
/// line numbers and whitespace do not matter), one SHA-1 per file, and adds the per-file hashes as 160-bit
/// numbers so that the order of the files does not matter either. This replays builtin/patch-id.c's state
/// machine over the lines git would print for `files`, quirks included (an empty new file has no ---/+++ lines,
/// so its header is hashed together with the next file's). Binary files hash their full blob ids (git's
/// text-based patch-id would hash the abbreviated ids of the index line, whose length depends on the repository).
/// Returns nil for an empty patch, for which git prints nothing.
public func stablePatchID(_ files: [FilePatch]) -> Oid? {
    var machine = PatchIDMachine()
    for file in files { machine.feed(file) }
    return machine.finish()
}

extension Diff {
    public func stablePatchID() throws -> Oid? { GitKit.stablePatchID(try filePatches()) }
}

/// The stable patch-id of each file of a diff on its own, by path. git's patch-id of a whole diff is the sum of
/// these (see `sumOfPatchIDs`), except where a file without hunks (a new empty file, a mode change) is hashed
/// together with the next one; comparing diffs over only some of their files needs them apart.
///
/// `withHeadings` also hashes each hunk's enclosing function (from the hunk header, which git's patch-id leaves
/// out): with zero lines of context, the same one-line change in two functions of a file is otherwise the same.
public func filePatchIDs(_ files: [FilePatch], withHeadings: Bool = false) -> [String: Oid] {
    var ids: [String: Oid] = [:]
    for file in files {
        var machine = PatchIDMachine()
        machine.hashesHeadings = withHeadings
        machine.feed(file)
        if let id = machine.finish() { ids[file.path] = id }
    }
    return ids
}

/// Adds per-file patch-ids as git adds them (160-bit little-endian-carry sum, so order does not matter); nil for
/// none.
public func sumOfPatchIDs<S: Sequence>(_ ids: S) -> Oid? where S.Element == Oid {
    var sum = [UInt8](repeating: 0, count: 20)
    var any = false
    for id in ids {
        any = true
        addPatchID(id.bytes, into: &sum)
    }
    return any ? Oid(bytes: sum) : nil
}

private func addPatchID(_ digest: [UInt8], into sum: inout [UInt8]) {
    var carry: UInt16 = 0
    for index in 0..<20 {
        carry += UInt16(sum[index]) + UInt16(digest[index])
        sum[index] = UInt8(truncatingIfNeeded: carry)
        carry >>= 8
    }
}

private struct PatchIDMachine {
    var hasher = SHA1()
    var sum = [UInt8](repeating: 0, count: 20)
    var patchLength = 0
    // Remaining old/new lines of the current hunk; -1 while reading a file header (as in git).
    var before = -1, after = -1
    var inBinary = false
    var hashesHeadings = false

    mutating func feed(_ file: FilePatch) {
        let oldName = file.status == .added ? "/dev/null" : "a/" + file.oldPath
        let newName = file.status == .deleted ? "/dev/null" : "b/" + file.newPath
        let oldHeaderPath = file.status == .added ? file.newPath : file.oldPath
        let newHeaderPath = file.status == .deleted ? file.oldPath : file.newPath
        line(header: "diff --git a/\(oldHeaderPath) b/\(newHeaderPath)")
        if file.oldMode == 0 {
            line(header: "new file mode " + octal(file.newMode))
        } else if file.newMode == 0 {
            line(header: "deleted file mode " + octal(file.oldMode))
        } else if file.oldMode != file.newMode {
            line(header: "old mode " + octal(file.oldMode))
            line(header: "new mode " + octal(file.newMode))
        }
        if file.isBinary {
            binary(old: file.oldId.hex, new: file.newId.hex)
            return
        }
        guard !file.hunks.isEmpty else { return }
        line(header: "--- " + oldName)
        line(header: "+++ " + newName)
        for hunk in file.hunks {
            hunkHeader(oldCount: hunk.oldCount, newCount: hunk.newCount)
            if hashesHeadings { hasher.update(hunk.heading.utf8.filter { !isSpace($0) }) }
            for diffLine in hunk.lines { body(kind: diffLine.kind, content: diffLine.content) }
        }
    }

    private func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    private mutating func line(header text: String) {
        process(Array(text.utf8), isDiffHeader: text.hasPrefix("diff "))
    }

    private mutating func body(kind: DiffLine.Kind, content: [UInt8]) {
        process([kind.rawValue] + content, isDiffHeader: false)
    }

    private mutating func binary(old: String, new: String) {
        guard !inBinary, patchLength > 0 else { return }
        if before == -1 {
            inBinary = true
            before = 0
            hasher.update(Array(old.utf8))
            hasher.update(Array(new.utf8))
            flush()
        }
    }

    private mutating func hunkHeader(oldCount: Int, newCount: Int) {
        guard patchLength > 0, !inBinary, before == 0, after == 0 else { return }
        before = oldCount
        after = newCount
    }

    /// One line of patch text (hunk headers and binary markers go through their own entry points).
    private mutating func process(_ bytes: [UInt8], isDiffHeader: Bool) {
        if patchLength == 0 && !isDiffHeader { return }
        if before == -1 {
            if bytes.starts(with: Array("--- ".utf8)) {
                before = 1; after = 1
            } else if !(bytes.first.map(isAlpha) ?? false) {
                return // git stops reading this patch here; our generated headers never get here
            }
        }
        if inBinary {
            if isDiffHeader { inBinary = false; before = -1 }
            return
        }
        if before == 0 && after == 0 {
            guard isDiffHeader else { return }
            flush()
            before = -1; after = -1
        }
        if bytes.first == 45 || bytes.first == 32 { before -= 1 }
        if bytes.first == 43 || bytes.first == 32 { after -= 1 }
        let stripped = bytes.filter { !isSpace($0) }
        patchLength += stripped.count
        hasher.update(stripped)
    }

    private mutating func flush() {
        addPatchID(hasher.finalize(), into: &sum)
    }

    mutating func finish() -> Oid? {
        flush()
        return patchLength == 0 ? nil : Oid(bytes: sum)
    }

    private func isSpace(_ byte: UInt8) -> Bool { byte == 32 || (byte >= 9 && byte <= 13) }
    private func isAlpha(_ byte: UInt8) -> Bool { (byte | 0x20) >= 97 && (byte | 0x20) <= 122 }
}
