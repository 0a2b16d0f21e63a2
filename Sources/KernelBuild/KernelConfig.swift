import Foundation

/// A resolved kernel configuration: the symbol values of a `.config` (names without `CONFIG_`),
/// and their rendering as Kconfig's `conf` writes `include/generated/autoconf.h` and
/// `include/config/auto.conf`. The one `.config` reader: the scanner's build flags and the backport
/// checker's not-built judgement both read configurations through it.
public struct KernelConfig: Sendable, Hashable, Codable {
    /// Symbol name (without `CONFIG_`) → value as written in `.config`: `y`, `m`, a number,
    /// a hex number, or a double-quoted, backslash-escaped string. `n` symbols are absent.
    public private(set) var values: [String: String] = [:]
    /// Symbols in the order they were set, so the rendered files are stable.
    private(set) var order: [String] = []
    /// Symbols explicitly `n` (`# CONFIG_X is not set`): a choice, unlike symbols never offered.
    private(set) var notSet = Set<String>()
    /// The arch named in the header comment `conf` writes (`# Linux/x86 6.1.0 Kernel Configuration`).
    var headerArch: String?
    var headerVersion: String?

    var hasValues: Bool { !values.isEmpty }

    init() {}

    /// Parses `.config` / defconfig / `auto.conf` text. Later assignments win, as in Kconfig.
    /// Lines end in LF, CR or CRLF (which Swift takes for one character, neither "\n" nor "\r").
    public init(parsing text: String) {
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            let line = rawLine.trimmedBlanks
            if line.hasPrefix("#") {
                if let (arch, version) = Self.parseHeader(line) {
                    headerArch = arch
                    headerVersion = version
                } else if line.hasPrefix("# CONFIG_"), line.hasSuffix(" is not set") {
                    let name = line.dropFirst("# CONFIG_".count).dropLast(" is not set".count)
                    markNotSet(String(name))
                }
                continue
            }
            guard line.hasPrefix("CONFIG_"), let eq = line.firstIndex(of: "=") else { continue }
            let name = String(line[line.index(line.startIndex, offsetBy: 7)..<eq])
            let value = String(line[line.index(after: eq)...])
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
            if value == "n" { markNotSet(name) } else { set(name, value) }
        }
    }

    /// The same as `init(parsing:)`, spelled as the backport checker's callers do.
    public static func parse(_ text: String) -> KernelConfig { KernelConfig(parsing: text) }

    private static func parseHeader(_ line: String) -> (String, String)? {
        // "# Linux/x86 6.1.192 Kernel Configuration"
        guard line.hasPrefix("# Linux/"), line.hasSuffix("Kernel Configuration") else { return nil }
        let parts = line.dropFirst("# Linux/".count).split(separator: " ")
        guard parts.count >= 2 else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    mutating func markNotSet(_ name: String) {
        set(name, nil)
        notSet.insert(name)
    }

    /// The values as a user's choices: set symbols, and `n` for those explicitly not set.
    var choices: [String: String] {
        var result = values
        for name in notSet { result[name] = "n" }
        return result
    }

    /// Sets or clears (`nil`) a symbol's value.
    mutating func set(_ name: String, _ value: String?) {
        notSet.remove(name)
        if let value {
            if values.updateValue(value, forKey: name) == nil { order.append(name) }
        } else if values.removeValue(forKey: name) != nil {
            order.removeAll { $0 == name }
        }
    }

    public func value(_ name: String) -> String? { values[name] }

    /// True for `y` and `m`.
    public func isEnabled(_ name: String) -> Bool {
        let value = values[name]
        return value == "y" || value == "m"
    }

    func integer(_ name: String) -> Int? {
        guard let raw = values[name] else { return nil }
        if raw.hasPrefix("0x") || raw.hasPrefix("0X") { return Int(raw.dropFirst(2), radix: 16) }
        return Int(raw)
    }

    /// `include/generated/autoconf.h` exactly as `conf --syncconfig` writes it.
    func autoconfHeader(arch: String) -> String {
        var out = "/*\n * Automatically generated file; DO NOT EDIT.\n * Linux/\(arch) \(headerVersion ?? "") Kernel Configuration\n */\n"
        for name in order {
            guard let value = values[name] else { continue }
            switch value {
            case "y": out += "#define CONFIG_\(name) 1\n"
            case "m": out += "#define CONFIG_\(name)_MODULE 1\n"
            default:
                if value.hasPrefix("\"") {
                    out += "#define CONFIG_\(name) \(value)\n"
                } else if Self.looksHex(value), !value.lowercased().hasPrefix("0x") {
                    out += "#define CONFIG_\(name) 0x\(value)\n"
                } else {
                    out += "#define CONFIG_\(name) \(value)\n"
                }
            }
        }
        return out
    }

    /// `include/config/auto.conf`: the set symbols, in `.config` syntax.
    func autoConf(arch: String) -> String {
        var out = "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/\(arch) \(headerVersion ?? "") Kernel Configuration\n#\n"
        for name in order {
            guard let value = values[name] else { continue }
            out += "CONFIG_\(name)=\(value)\n"
        }
        return out
    }

    /// Values that are not decimal but are hex without the prefix (conf adds `0x` for hex symbols).
    private static func looksHex(_ value: String) -> Bool {
        guard !value.isEmpty, Int(value) == nil else { return false }
        let body = value.lowercased().hasPrefix("0x") ? value.dropFirst(2) : Substring(value)
        return !body.isEmpty && body.allSatisfy { $0.isHexDigit }
    }

    /// A stable digest input: every symbol and value, sorted.
    var canonicalText: String {
        (values.keys.sorted().map { "\($0)=\(values[$0]!)" } + notSet.sorted().map { "\($0)=n" }).joined(separator: "\n")
    }
}
