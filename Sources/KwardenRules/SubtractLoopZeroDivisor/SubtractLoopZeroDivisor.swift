import Foundation
import RuleKit

/// subtract-loop-zero-divisor
///
/// Finds loops that reduce a value by repeated subtraction (`while (x >= d) x -= d;` and its
/// `for`, `do … while`, `x = x - d`, `d <= x`, `likely()/unlikely()` forms) where `d` may be
/// zero on some path into the loop: then the loop never ends and the CPU soft-locks.
/// Guards that leave the path (`if (!d) return;`, `BUG_ON(!d)`, `d = max(d, 1)`, an enclosing
/// `if (d)`) clear it; `WARN_ON(!d)` alone does not. When `d` is (or was read from) a struct
/// field, the places across the scanned tree that store 0 in that field are attached as evidence.
/// Confidence: high with such evidence, medium without.
public struct SubtractLoopZeroDivisor: Rule {
    public let metadata: RuleMetadata
    let noreturnFunctions: Set<String>
    /// Macro name → index of its lower-bound argument (nil: any argument).
    let lowerBoundMacros: [String: Int?]
    /// Macros whose body stores their second argument into their first (WRITE_ONCE and friends).
    let storeMacros: Set<String>

    public init(metadata: RuleMetadata) {
        self.metadata = metadata
        noreturnFunctions = metadata.names("noreturn_functions")
        lowerBoundMacros = metadata.positions("lower_bound_macros")
        storeMacros = metadata.names("store_macros")
        divisionFunctions = metadata.positions("division_functions").compactMapValues { $0 }
    }

    /// Function or macro name → index of its divisor argument.
    let divisionFunctions: [String: Int]

    // MARK: Preselection

    public func preselect(_ source: SourceText) -> Bool {
        metadataPreselect(source) && SubtractLoopText.mayContainSubtractLoop(source)
    }

    // MARK: Summaries and questions

    /// What one file says: a subtract loop (the finding as the file alone shows it), a store of 0
    /// or of a parameter into a struct field, a call passing 0 to a setter's parameter, or what a
    /// call passes for a divisor parameter (`value`: "zero", "nonzero" or "unknown").
    public struct Summary: Codable, Hashable, Sendable {
        public enum Kind: String, Codable, Sendable {
            case loop, zeroStore = "zero-store", parameterStore = "param-store", zeroArgument = "zero-arg", callArgument = "call-arg"
        }
        var kind: Kind
        /// "record.field" for stores, "function#index" for calls, "" for loops.
        var key: String
        var file: String
        var line: Int
        var function: String
        /// For a parameter store the setter's "function#index"; for a call argument its value.
        var value: String = ""
        var loop: Loop?
    }

    /// A subtract loop whose divisor may be 0, with where the divisor comes from.
    struct Loop: Codable, Hashable, Sendable {
        var finding: Finding
        /// Struct fields ("record.field") the divisor is or was read from.
        var fields: [String]
        /// The function parameter ("function#index") the divisor is.
        var parameter: String?
    }

    /// Where is a field set to 0; what do callers pass for a divisor parameter; who calls a setter with 0.
    public enum Question: RuleQuestion {
        case zeroStores(field: String)
        case callArguments(parameter: String)
        case zeroCalls(setter: String)

        var name: String {
            switch self {
            case .zeroStores(let field): return field.split(separator: ".").last.map(String.init) ?? field
            case .callArguments(let parameter), .zeroCalls(let parameter): return parameter.split(separator: "#").first.map(String.init) ?? parameter
            }
        }
        public var needles: [String] { [name] }
        /// One topic per field and per setter; callers of a divisor parameter are never capped,
        /// since every caller must be seen before the parameter is judged nonzero.
        public var topic: String? {
            switch self {
            case .zeroStores(let field): return "field:" + field
            case .callArguments: return nil
            case .zeroCalls: return "call:" + name
            }
        }
    }
}
