import Foundation

/// The syscall number and table headers (`asm/unistd_64.h`, `asm/syscalls_64.h`, ...) that an
/// arch's `syscalls/Makefile` generates from its `syscall*.tbl` with scripts/syscallhdr.sh and
/// scripts/syscalltbl.sh. The Makefile's rules are read, not hard-coded, so every arch that uses
/// these two scripts is covered.
struct SyscallHeaders {
    let sourceRoot: String
    let arch: String

    private static let makefileLocations = ["entry/syscalls/Makefile", "kernel/syscalls/Makefile", "tools/Makefile"]

    func generate() -> [String: String] {
        var files: [String: String] = [:]
        for location in Self.makefileLocations {
            let relativeDir = "arch/\(arch)/" + (location as NSString).deletingLastPathComponent
            let path = "\(sourceRoot)/arch/\(arch)/\(location)"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            for (target, contents) in rules(makefile: text, directory: relativeDir) { files[target] = contents }
        }
        return files
    }

    private struct Rule {
        var target: String
        var table: String?
        var tool: String?        // "syshdr" or "systbl"
        var targetVariables: [String: String] = [:]
    }

    private func rules(makefile text: String, directory: String) -> [String: String] {
        var variables: [String: String] = ["src": directory, "obj": directory, "srctree": ".", "SRCARCH": arch, "ARCH": arch]
        var rulesByTarget: [String: Rule] = [:]
        var order: [String] = []
        var emitNumber = false
        let lines = MakeSyntax.logicalLines(text)
        for line in lines {
            let trimmed = line.trimmedBlanks
            if trimmed.hasPrefix("#") || trimmed.isEmpty || line.hasPrefix("\t") { continue }
            if trimmed.hasPrefix("cmd_syshdr"), trimmed.contains("--emit-nr") { emitNumber = true }
            // Target-specific variable: "$(uapi)/unistd_32.h: abis := i386"
            if let colon = Self.ruleColon(in: trimmed) {
                let targetText = String(trimmed[..<colon])
                let rest = trimmed[trimmed.index(after: colon)...].trimmedBlanks
                let target = Self.expand(targetText, variables)
                guard !target.contains("%") else { continue }   // pattern rules need per-arch knowledge
                var rule = rulesByTarget[target] ?? Rule(target: target)
                if rulesByTarget[target] == nil { order.append(target) }
                if let assign = rest.firstByteRange(of: ":=") ?? rest.firstByteRange(of: "=") {
                    let name = rest[..<assign.lowerBound].trimmedBlanks
                    rule.targetVariables[name] = Self.expand(rest[assign.upperBound...].trimmedBlanks, variables)
                } else {
                    for prerequisite in rest.split(separator: " ") {
                        let raw = String(prerequisite)
                        let expanded = Self.expand(raw, variables)
                        if expanded.hasSuffix(".tbl") { rule.table = expanded }
                        if expanded.hasSuffix("syscallhdr.sh") { rule.tool = "syshdr" }
                        if expanded.hasSuffix("syscalltbl.sh") { rule.tool = "systbl" }
                    }
                }
                rulesByTarget[target] = rule
                continue
            }
            if let assign = trimmed.firstByteRange(of: ":=") ?? trimmed.firstByteRange(of: "=") {
                let name = trimmed[..<assign.lowerBound].trimmedBlanks
                guard !name.isEmpty, !name.contains(" "), !name.contains("$") else { continue }
                let value = trimmed[assign.upperBound...].trimmedBlanks
                variables[name] = Self.expand(value, variables)
            }
        }
        var files: [String: String] = [:]
        for target in order {
            guard let rule = rulesByTarget[target], let tool = rule.tool, let table = rule.table,
                  target.hasSuffix(".h"),
                  let tableText = try? String(contentsOfFile: Self.resolve(table, root: sourceRoot), encoding: .utf8)
            else { continue }
            let abis = (rule.targetVariables["abis"] ?? "").split(separator: ",").map(String.init)
            let relativeTarget = target.hasPrefix("./") ? String(target.dropFirst(2)) : target
            let entries = SyscallTable(text: tableText).entries(abis: abis)
            if tool == "syshdr" {
                files[relativeTarget] = Self.numberHeader(
                    entries: entries, name: (relativeTarget as NSString).lastPathComponent,
                    prefix: rule.targetVariables["prefix"] ?? "", offset: rule.targetVariables["offset"] ?? "",
                    emitNumber: emitNumber)
            } else {
                files[relativeTarget] = Self.tableHeader(entries: entries)
            }
        }
        return files
    }

    static func resolve(_ path: String, root: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("./") { return root + "/" + path.dropFirst(2) }
        return root + "/" + path
    }

    /// The colon of a rule line ("target: ..."), ignoring ":=" assignments.
    private static func ruleColon(in line: String) -> String.Index? {
        var depth = 0
        var index = line.startIndex
        while index < line.endIndex {
            let char = line[index]
            if char == "(" { depth += 1 } else if char == ")" { depth -= 1 }
            if char == ":", depth == 0 {
                let next = line.index(after: index)
                if next < line.endIndex, line[next] == "=" { return nil }
                return index
            }
            if char == "=", depth == 0 { return nil }
            index = line.index(after: index)
        }
        return nil
    }

    /// Expands `$(name)` references to simple variables; function calls expand to nothing.
    static func expand(_ text: String, _ variables: [String: String]) -> String {
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == "$", text.index(after: index) < text.endIndex, text[text.index(after: index)] == "(" {
                guard let end = text.matchingCloser(of: text.index(after: index), opener: "(", closer: ")") else {
                    result += text[index...]
                    break
                }
                let name = String(text[text.index(index, offsetBy: 2)..<end])
                if !name.contains(" ") && !name.contains(",") { result += variables[name] ?? "" }
                index = text.index(after: end)
            } else {
                result.append(text[index])
                index = text.index(after: index)
            }
        }
        return result
    }

    /// scripts/syscallhdr.sh output.
    static func numberHeader(entries: [SyscallTable.Entry], name: String, prefix: String, offset: String,
                             emitNumber: Bool) -> String {
        var guardName = "_UAPI_ASM_" + name.uppercased().map { $0.isLetter || $0.isNumber || $0 == "_" ? String($0) : "_" }.joined()
        while guardName.contains("__") { guardName = guardName.replacingOccurrences(of: "__", with: "_") }
        var out = "#ifndef \(guardName)\n#define \(guardName)\n\n"
        var maximum = 0
        for entry in entries {
            maximum = entry.number
            let number = offset.isEmpty ? "\(entry.number)" : "(\(offset) + \(entry.number))"
            out += "#define __NR_\(prefix)\(entry.name) \(number)\n"
        }
        if emitNumber { out += "\n#ifdef __KERNEL__\n#define __NR_\(prefix)syscalls \(maximum + 1)\n#endif\n" }
        out += "\n#endif /* \(guardName) */\n"
        return out
    }

    /// scripts/syscalltbl.sh output.
    static func tableHeader(entries: [SyscallTable.Entry]) -> String {
        var out = ""
        var next = 0
        for entry in entries {
            while next < entry.number { out += "__SYSCALL(\(next), sys_ni_syscall)\n"; next += 1 }
            if let compat = entry.compat, let native = entry.native {
                out += "__SYSCALL_WITH_COMPAT(\(entry.number), \(native), \(compat))\n"
            } else {
                out += "__SYSCALL(\(entry.number), \(entry.native ?? "sys_ni_syscall"))\n"
            }
            next = entry.number + 1
        }
        return out
    }
}

/// A `syscall*.tbl`: `NR ABI NAME [NATIVE] [COMPAT]` lines.
struct SyscallTable {
    struct Entry { var number: Int; var abi: String; var name: String; var native: String?; var compat: String? }
    var all: [Entry] = []

    init(text: String) {
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count >= 3, !fields[0].hasPrefix("#") else { continue }
            let numberText = fields[0]
            let number = numberText.lowercased().hasPrefix("0x") ? Int(numberText.dropFirst(2), radix: 16) : Int(numberText)
            guard let number else { continue }
            all.append(Entry(number: number, abi: fields[1], name: fields[2],
                             native: fields.count > 3 ? fields[3] : nil, compat: fields.count > 4 ? fields[4] : nil))
        }
    }

    func entries(abis: [String]) -> [Entry] {
        abis.isEmpty ? all : all.filter { abis.contains($0.abi) }
    }
}
