import Foundation
import RuleKit

/// The abstract body of one function, as `dma-free-after-failed-disable` reasons about it: the
/// calls and exits in source order, with the branch and loop structure between them. It is
/// computed per file (the rule's summary) and joined across files by the judge.
public struct DmaFunctionBody: Codable, Hashable, Sendable {
    var name: String
    var file: String
    var line: Int
    var isStatic: Bool
    /// Fact pass the body was gathered in (1: preselected files, 2/3: callers asked for).
    var pass: Int
    var steps: [DmaStep]
    /// Parameter names by position; "" for parameters that are not integers or bools (only those
    /// can select a direction or guard a poll, and only they are tracked along paths).
    var parameters: [String] = []
    /// The parameter whose value chooses between setting and clearing register bits, when the
    /// function has such a branch: its requests stop the hardware for one value and start it for the other.
    var chooser: DmaDirection? = nil
}

/// A parameter that selects the direction of a hardware request: the request disables when the
/// parameter is zero (`disableWhenZero`) or when it is nonzero.
struct DmaDirection: Codable, Hashable, Sendable {
    var parameter: Int
    var disableWhenZero: Bool

    /// The parameter's truth that makes the request a disable.
    var disablingTruth: Bool { !disableWhenZero }
}

/// A call argument, as far as a callee's direction or guard parameters go.
enum DmaArgument: Codable, Hashable, Sendable {
    /// An integer constant (`true`, `false`, `0`, `1`, an enum constant): zero or nonzero.
    case constant(nonzero: Bool)
    /// The caller's own parameter at `index`, possibly negated (`!enable`).
    case parameter(index: Int, negated: Bool)
    /// A value that stops hardware when written: it clears bits (`v & ~EN`, a local cleared so)
    /// or names a disable (`CTRL_TX_DISABLE`).
    case clearing
    /// A value that names a reset (`FCT_TX_CTL_RESET_(n)`, `DMAC_CMD_SWR`).
    case reset
    case other
}

/// The value a register write stores, as far as telling a disable request goes.
enum DmaWriteValue: Codable, Hashable, Sendable {
    /// Zero, cleared bits, or a value named as a disable: the write asks the hardware to stop.
    case clearing
    /// A value named as a reset: a poll after it waits for the reset to complete, whatever
    /// direction it is given (a self-clearing reset bit polled for zero is no disable).
    case reset
    /// The function's own parameter at `index` (a driver's write wrapper).
    case parameter(index: Int)
    case other
}

/// How the device uses memory being released: a device that writes into it (received data, a
/// descriptor ring it writes back) corrupts it after the free; one that only reads it does not.
enum DmaAccess: String, Codable, Hashable, Sendable, Comparable {
    case reads, unknown, writes

    static func < (a: DmaAccess, b: DmaAccess) -> Bool { a.rank < b.rank }
    var rank: Int { self == .writes ? 2 : self == .unknown ? 1 : 0 }
}

/// What a return statement gives back.
enum DmaReturnValue: Codable, Hashable, Sendable {
    case nothing
    /// A variable (or a call's result held in a synthetic variable).
    case variable(String)
    /// A negative error code such as `-ETIMEDOUT`.
    case error
    case other
}

/// The registers a register access names: the register macros and enum constants spelled in its
/// address, the fields of a register block it reaches (`&regs->ctrl`), or a plain offset. Empty
/// when the AST does not tell (the address is a parameter or a local): that access may be any register.
enum DmaRegisters {
    /// Two accesses may touch the same register or register block: one of them is unknown, they
    /// share a name, or two names differ only in their last word (`DMA_CTRL` and `DMA_STATUS`: a
    /// stop written to a control register is awaited in its status register).
    static func related(_ a: [String], _ b: [String]) -> Bool {
        if a.isEmpty || b.isEmpty || !Set(a).isDisjoint(with: b) { return true }
        return !Set(a.compactMap(block)).isDisjoint(with: b.compactMap(block))
    }

    /// `SIC_DMA_CTRL` → `SIC_DMA`; nil for a one-word name or a plain offset.
    static func block(_ name: String) -> String? {
        // `cq_ctrl.running`: a field of a register block; the block is the struct.
        if let dot = name.firstIndex(of: ".") { return String(name[..<dot]) }
        guard !name.hasPrefix("#"), let last = name.lastIndex(of: "_"), last != name.startIndex else { return nil }
        return String(name[..<last]).uppercased()
    }

    /// The registers of either of two paths: unknown when either is.
    static func either(_ a: [String], _ b: [String]) -> [String] {
        a.isEmpty || b.isEmpty ? [] : Array(Set(a).union(b)).sorted()
    }
}

/// A condition, reduced to the variables it tests: `true` when the condition holds for a nonzero value.
struct DmaCondition: Codable, Hashable, Sendable {
    var polarity: [String: Bool]
}

indirect enum DmaStep: Codable, Hashable, Sendable {
    /// A call to a function (or a polling macro), its result stored in `target` when there is one.
    /// `arguments` are kept (up to the last constant or parameter) so a callee whose request's
    /// direction depends on a parameter can be judged per call; `direction` is, for a polling
    /// macro, the parameter its condition compares with the polled bits.
    /// `registers`, for a polling macro, names the registers it reads (see `DmaRegisters`).
    /// `texts` are the arguments as written (without blanks): a wait handed the very value that was
    /// just written (a self-clearing command bit) waits for that command, not for a stop.
    case call(callee: String, line: Int, target: String?, arguments: [DmaArgument] = [], direction: DmaDirection? = nil,
              registers: [String] = [], texts: [String] = [])
    /// A hand-written bounded poll of a register: a loop that reads a register and waits;
    /// `direction` when the loop compares a parameter with the polled bits.
    case poll(line: Int, direction: DmaDirection? = nil, registers: [String] = [])
    /// A direct release of DMA memory through a kernel API.
    /// `access` tells, from the API and its DMA direction argument, whether the device writes into
    /// the memory (Rx: `DMA_FROM_DEVICE`, page pools) or only reads it (Tx: `DMA_TO_DEVICE`).
    case free(api: String, line: Int, access: DmaAccess = .unknown)
    /// A register write (an MMIO or regmap write API): what it stores decides whether it asks
    /// the hardware to stop — the evidence that a poll after it waits for a disable.
    /// `text` is the value as written (without blanks).
    case write(value: DmaWriteValue, line: Int, registers: [String] = [], text: String = "")
    /// The poll that follows waits for an enable (running, active) bit to clear: the hardware is
    /// being stopped, whoever asked it to.
    case awaitsStop(line: Int)
    /// A call that hands the failure to recovery (reset, recovery work, noreturn).
    case recovery(api: String, line: Int)
    /// A DMA allocation or mapping through a kernel API.
    case alloc(api: String, line: Int)
    /// `v = …` with something that is not a call: an error code or anything else.
    case assign(variable: String, isError: Bool)
    case branch(condition: DmaCondition, then: [DmaStep], otherwise: [DmaStep])
    case loop(body: [DmaStep])
    /// A switch: its body split at case labels; control enters at any of them.
    case cases(segments: [[DmaStep]], hasDefault: Bool)
    case exit(value: DmaReturnValue, line: Int)
    case jump(label: String)
    case label(String)
    case breakLoop
    case continueLoop
}

extension Array where Element == DmaStep {
    /// The first value `match` gives for a step, in source order, looking into the arms of
    /// branches, loop bodies and switch cases (every path's steps, flow-insensitively).
    func firstNested<T>(_ match: (DmaStep) -> T?) -> T? {
        for step in self {
            if let found = match(step) { return found }
            switch step {
            case .branch(_, let then, let otherwise):
                if let found = then.firstNested(match) ?? otherwise.firstNested(match) { return found }
            case .loop(let inner):
                if let found = inner.firstNested(match) { return found }
            case .cases(let segments, _):
                for segment in segments { if let found = segment.firstNested(match) { return found } }
            default:
                break
            }
        }
        return nil
    }

    func containsNested(_ predicate: (DmaStep) -> Bool) -> Bool { firstNested { predicate($0) ? true : nil } != nil }

    func forEachNested(_ body: (DmaStep) -> Void) { _ = firstNested { step -> Bool? in body(step); return nil } }
}
