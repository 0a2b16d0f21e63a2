import Foundation

/// Why a `BuildContext` could not be created.
public enum KernelBuildError: Error, CustomStringConvertible, Equatable {
    /// The directory lacks what every kernel tree has; `missing` lists what was not found.
    case notAKernelTree(path: String, missing: [String])
    /// The arch has no directory under `arch/`; `available` lists the ones the tree has.
    case unknownArch(name: String, available: [String])
    /// The arch exists but its headers cannot be parsed: clang has no backend for it, or
    /// kwarden does not know how to build it yet (`reason` says which).
    case unsupportedArch(name: String, reason: String)
    case unreadableCompileCommands(path: String, reason: String)
    case malformedCompileCommands(path: String, reason: String)
    /// No clang resource directory (stddef.h, stdarg.h) was found for `-isystem`.
    case missingClangResourceDirectory(searched: [String])

    public var description: String {
        switch self {
        case let .notAKernelTree(path, missing):
            return "\(path) is not a Linux kernel tree (missing: \(missing.joined(separator: ", ")))"
        case let .unknownArch(name, available):
            return "unknown arch '\(name)': the tree has no arch/\(name); available: \(available.joined(separator: " "))"
        case let .unsupportedArch(name, reason):
            return "arch '\(name)' exists in the tree but cannot be parsed: \(reason)"
        case let .unreadableCompileCommands(path, reason):
            return "cannot read compile commands \(path): \(reason)"
        case let .malformedCompileCommands(path, reason):
            return "malformed compile commands \(path): \(reason)"
        case let .missingClangResourceDirectory(searched):
            return "no clang resource include directory (with stddef.h) found; searched \(searched.joined(separator: ", ")); set KWARDEN_LLVM_PREFIX"
        }
    }
}
