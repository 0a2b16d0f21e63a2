import Foundation

/// Values of symbols as `conf` computes them: the user's choices where the prompt is visible,
/// else the first applicable default, raised by `select` and `imply`, capped by `depends on`.
/// Tristates are 0 (n), 1 (m), 2 (y); results are cached per symbol.
struct KconfigEvaluator {
    let model: KconfigModel
    let user: [String: String]
    private var tristateCache: [String: Int] = [:]
    private var stringCache: [String: String?] = [:]
    private var inProgress = Set<String>()
    private var choiceCache: [Int: String?] = [:]
    private let modulesEnabled: Bool

    /// Values that win over everything (facts about the toolchain, not choices).
    let forced: [String: String]

    /// Every value of an evaluation that ran to the end: what another evaluation of the same
    /// model and choices can take over for the symbols its own forced values cannot reach.
    struct Settled {
        fileprivate let tristates: [String: Int]
        fileprivate let strings: [String: String?]
        fileprivate let choices: [Int: String?]
    }

    /// Taken from `settled` for every symbol and choice outside these: see `init(settled:…)`.
    private var settled: Settled?
    private var changing: Set<String> = []
    private var changingChoices: Set<Int> = []

    init(model: KconfigModel, user: [String: String], forced: [String: String] = [:]) {
        self.model = model
        self.user = user
        self.forced = forced
        modulesEnabled = user["MODULES"].map { $0 == "y" } ?? true
    }

    /// An evaluation that differs from `settled`'s (same model and choices) only in what it
    /// forces beyond it: symbols outside `changing` (which must hold every symbol whose value
    /// reads, directly or not, one of those forced), and choices none of whose members is in
    /// it, keep their settled values instead of being evaluated again. A gate set near the
    /// leaves of Kconfig then costs its own few symbols, not the dependency chains above them.
    init(settled: Settled, model: KconfigModel, user: [String: String], forced: [String: String], changing: Set<String>) {
        self.init(model: model, user: user, forced: forced)
        self.settled = settled
        self.changing = changing
        for (index, choice) in model.choices.enumerated() where choice.members.contains(where: changing.contains) {
            changingChoices.insert(index)
        }
    }

    /// Evaluates every symbol and choice, and hands the values over (see `Settled`).
    mutating func settle() -> Settled {
        for name in model.order {
            guard let symbol = model.symbols[name] else { continue }
            switch symbol.type {
            case .bool, .tristate: _ = tristate(name)
            case .int, .hex, .string: _ = stringValue(name)
            case .unknown: break
            }
        }
        for index in model.choices.indices { _ = choiceSelection(index) }
        return Settled(tristates: tristateCache, strings: stringCache, choices: choiceCache)
    }

    /// The value conf writes to .config for `name`, or nil when it writes none (or `n`).
    mutating func writtenValue(_ name: String) -> String? {
        guard let symbol = model.symbols[name] else { return nil }
        switch symbol.type {
        case .bool, .tristate:
            switch tristate(name) {
            case 2: return "y"
            case 1: return "m"
            default: return nil
            }
        case .int, .hex, .string:
            guard dependencyValue(symbol) > 0, let value = stringValue(name) else { return nil }
            if symbol.type == .string { return "\"" + value + "\"" }
            // Version probes (`default $(cc-version)`) expand to nothing when nothing is run: 0,
            // as for a tool that is absent.
            if value.isEmpty || (symbol.type == .int && Int(value) == nil) { return "0" }
            if symbol.type == .hex, !value.lowercased().hasPrefix("0x") { return "0x" + value }
            return value
        case .unknown:
            return nil
        }
    }

    /// A bool/tristate whose prompt is visible: conf records its `n` as a choice.
    mutating func isOfferedBoolean(_ name: String) -> Bool {
        guard let symbol = model.symbols[name], symbol.type == .bool || symbol.type == .tristate else { return false }
        return visibility(symbol) > 0
    }

    private static func tristateConstant(_ text: String) -> Int? {
        // Asked of every symbol name: the constants are at most three bytes long.
        guard text.utf8.count <= 3 else { return nil }
        switch text {
        case "y", "\"y\"": return 2
        case "m", "\"m\"": return 1
        case "n", "\"n\"", "": return 0
        default: return nil
        }
    }

    private mutating func dependencyValue(_ symbol: KconfigSymbol) -> Int {
        guard !symbol.dependencies.isEmpty else { return 2 }
        var best = 0
        for dependency in symbol.dependencies { best = max(best, evaluate(dependency)) }
        return best
    }

    private mutating func visibility(_ symbol: KconfigSymbol) -> Int {
        var best = 0
        for prompt in symbol.prompts { best = max(best, evaluate(prompt)) }
        return min(best, dependencyValue(symbol))
    }

    mutating func tristate(_ name: String) -> Int {
        if let constant = Self.tristateConstant(name) { return constant }
        if let cached = tristateCache[name] { return cached }
        if let settled, !changing.contains(name), let known = settled.tristates[name] { return known }
        guard let symbol = model.symbols[name], symbol.type == .bool || symbol.type == .tristate else { return 0 }
        if let forcedValue = forced[name], let constant = Self.tristateConstant(forcedValue) { return constant }
        guard inProgress.insert(name).inserted else { return 0 }   // Kconfig forbids cycles; be safe anyway
        defer { inProgress.remove(name) }
        var value: Int
        if let choice = symbol.choice {
            value = choiceSelection(choice) == name ? 2 : 0
        } else {
            let visible = visibility(symbol)
            let dependency = dependencyValue(symbol)
            if visible > 0, let userValue = user[name], let wanted = Self.tristateConstant(userValue) {
                value = min(wanted, visible)
            } else {
                value = 0
                for (expression, condition) in symbol.defaults where evaluate(condition) > 0 {
                    value = min(evaluate(expression), min(evaluate(condition), dependency))
                    break
                }
                // `imply` raises the default, within the symbol's own dependencies.
                var implied = 0
                for (implier, condition) in symbol.impliedBy {
                    implied = max(implied, min(tristate(implier), evaluate(condition)))
                }
                if implied > 0 { value = min(max(value, implied), dependency) }
            }
            for (selector, condition) in symbol.selectedBy {
                value = max(value, min(tristate(selector), evaluate(condition)))
            }
        }
        if value == 1 && (symbol.type == .bool || !modulesEnabled) { value = 2 }
        tristateCache[name] = value
        return value
    }

    /// The member of a choice that is `y`: the user's pick, else the first applicable default,
    /// else the first visible member.
    private mutating func choiceSelection(_ index: Int) -> String? {
        if let cached = choiceCache[index] { return cached }
        if let settled, !changingChoices.contains(index), let known = settled.choices[index] { return known }
        choiceCache[index] = .some(nil)   // guards recursion through members' dependencies
        let choice = model.choices[index]
        var selected: String?
        if evaluate(choice.dependency) > 0 {
            let visibleMembers = choice.members.filter { member in
                guard let symbol = model.symbols[member] else { return false }
                return visibility(symbol) > 0
            }
            if let picked = visibleMembers.first(where: { user[$0] == "y" }) {
                selected = picked
            } else if let fallback = choice.defaults.first(where: { evaluate($0.1) > 0 && visibleMembers.contains($0.0) }) {
                selected = fallback.0
            } else {
                selected = visibleMembers.first
            }
        }
        choiceCache[index] = .some(selected)
        return selected
    }

    /// The value of an int/hex/string symbol, or of a constant token.
    mutating func stringValue(_ name: String) -> String? {
        guard let symbol = model.symbols[name] else {
            return KconfigParser.unquote(name)
        }
        switch symbol.type {
        case .bool, .tristate:
            switch tristate(name) { case 2: return "y"; case 1: return "m"; default: return "n" }
        case .unknown:
            return nil
        default:
            break
        }
        if let cached = stringCache[name] { return cached }
        if let settled, !changing.contains(name), let known = settled.strings[name] { return known }
        if let forcedValue = forced[name] { return KconfigParser.unquote(forcedValue) }
        guard inProgress.insert(name).inserted else { return nil }
        defer { inProgress.remove(name) }
        var value: String?
        if visibility(symbol) > 0, let userValue = user[name] {
            value = KconfigParser.unquote(userValue)
        } else {
            for (expression, condition) in symbol.defaults where evaluate(condition) > 0 {
                if case .symbol(let token) = expression { value = stringValue(token) }
                break
            }
            if value == nil, symbol.type == .string, visibility(symbol) > 0 { value = "" }
        }
        stringCache[name] = .some(value)
        return value
    }

    mutating func evaluate(_ expression: KconfigExpr) -> Int {
        switch expression {
        case .symbol(let name):
            if let constant = Self.tristateConstant(name) { return constant == 1 && !modulesEnabled ? 0 : constant }
            return tristate(name)
        case .not(let inner):
            return 2 - evaluate(inner)
        case .and(let left, let right):
            return min(evaluate(left), evaluate(right))
        case .or(let left, let right):
            return max(evaluate(left), evaluate(right))
        case .compare(let op, let left, let right):
            let lhs = operand(left), rhs = operand(right)
            let ordering: Int
            if let l = Self.number(lhs), let r = Self.number(rhs) {
                ordering = l < r ? -1 : (l > r ? 1 : 0)
            } else {
                ordering = lhs < rhs ? -1 : (lhs > rhs ? 1 : 0)
            }
            let result: Bool
            switch op {
            case "=": result = ordering == 0
            case "!=": result = ordering != 0
            case "<": result = ordering < 0
            case "<=": result = ordering <= 0
            case ">": result = ordering > 0
            default: result = ordering >= 0
            }
            return result ? 2 : 0
        }
    }

    private mutating func operand(_ expression: KconfigExpr) -> String {
        guard case .symbol(let token) = expression else { return evaluate(expression) == 2 ? "y" : "n" }
        if model.symbols[token] != nil { return stringValue(token) ?? "" }
        return KconfigParser.unquote(token)
    }

    private static func number(_ text: String) -> Int? {
        if text.lowercased().hasPrefix("0x") { return Int(text.dropFirst(2), radix: 16) }
        return Int(text)
    }
}
