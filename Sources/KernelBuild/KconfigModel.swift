import Foundation

// What the Kconfig files declare, as the parser records it and the evaluator reads it.

indirect enum KconfigExpr: Hashable {
    case symbol(String)          // a symbol name or a constant (y/m/n, number, string)
    case not(KconfigExpr)
    case and(KconfigExpr, KconfigExpr)
    case or(KconfigExpr, KconfigExpr)
    case compare(String, KconfigExpr, KconfigExpr)   // =, !=, <, <=, >, >=

    static let yes = KconfigExpr.symbol("y")

    func and(_ other: KconfigExpr?) -> KconfigExpr {
        guard let other else { return self }
        if self == .yes { return other }
        if other == .yes { return self }
        return .and(self, other)
    }
}

enum KconfigType: String { case bool, tristate, int, hex, string, unknown }

struct KconfigSymbol {
    var name: String
    var type: KconfigType = .unknown
    /// (value, condition): condition includes the defining entry's dependencies.
    var defaults: [(KconfigExpr, KconfigExpr)] = []
    /// Prompt visibility conditions (one per definition with a prompt).
    var prompts: [KconfigExpr] = []
    /// Dependencies of each definition; the symbol's are their disjunction.
    var dependencies: [KconfigExpr] = []
    /// (selecting symbol, condition) pairs: the reverse dependency.
    var selectedBy: [(String, KconfigExpr)] = []
    /// (implying symbol, condition) pairs: a default that `imply` adds.
    var impliedBy: [(String, KconfigExpr)] = []
    var choice: Int?
}

struct KconfigChoice {
    var members: [String] = []
    var defaults: [(String, KconfigExpr)] = []
    var dependency: KconfigExpr = .yes
}

struct KconfigModel {
    /// The Kconfig files read, for knowing when what was derived from them is stale.
    var files: Set<String> = []
    /// Sourced paths that did not exist, and directories `source` globs listed.
    var missingFiles: Set<String> = []
    var listedDirectories: Set<String> = []
    var symbols: [String: KconfigSymbol] = [:]
    var order: [String] = []
    var choices: [KconfigChoice] = []

    mutating func symbol(_ name: String) -> KconfigSymbol {
        if let existing = symbols[name] { return existing }
        order.append(name)
        let created = KconfigSymbol(name: name)
        symbols[name] = created
        return created
    }
}
