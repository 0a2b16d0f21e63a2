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

// MARK: Compact coding
//
// Bodies travel from every worker and sit in the result cache, and a warm rescan decodes every
// one of them: a step is an array `[tag, fields…]`, small values are numbers, so decoding reads
// no keys (keyed objects took most of a warm rescan's decoding time).

extension DmaStep {
    private enum Tag: Int {
        case call, poll, free, write, awaitsStop, recovery, alloc, assign, branch, loop, cases, exit, jump, label, breakLoop, continueLoop
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        switch self {
        case .call(let callee, let line, let target, let arguments, let direction, let registers, let texts):
            try c.encode(Tag.call.rawValue); try c.encode(callee); try c.encode(line)
            if let target { try c.encode(target) } else { try c.encodeNil() }
            try c.encode(arguments)
            if let direction { try c.encode(direction) } else { try c.encodeNil() }
            try c.encode(registers); try c.encode(texts)
        case .poll(let line, let direction, let registers):
            try c.encode(Tag.poll.rawValue); try c.encode(line)
            if let direction { try c.encode(direction) } else { try c.encodeNil() }
            try c.encode(registers)
        case .free(let api, let line, let access):
            try c.encode(Tag.free.rawValue); try c.encode(api); try c.encode(line); try c.encode(access)
        case .write(let value, let line, let registers, let text):
            try c.encode(Tag.write.rawValue); try c.encode(value); try c.encode(line); try c.encode(registers); try c.encode(text)
        case .awaitsStop(let line):
            try c.encode(Tag.awaitsStop.rawValue); try c.encode(line)
        case .recovery(let api, let line):
            try c.encode(Tag.recovery.rawValue); try c.encode(api); try c.encode(line)
        case .alloc(let api, let line):
            try c.encode(Tag.alloc.rawValue); try c.encode(api); try c.encode(line)
        case .assign(let variable, let isError):
            try c.encode(Tag.assign.rawValue); try c.encode(variable); try c.encode(isError)
        case .branch(let condition, let then, let otherwise):
            try c.encode(Tag.branch.rawValue); try c.encode(condition); try c.encode(then); try c.encode(otherwise)
        case .loop(let body):
            try c.encode(Tag.loop.rawValue); try c.encode(body)
        case .cases(let segments, let hasDefault):
            try c.encode(Tag.cases.rawValue); try c.encode(segments); try c.encode(hasDefault)
        case .exit(let value, let line):
            try c.encode(Tag.exit.rawValue); try c.encode(value); try c.encode(line)
        case .jump(let label):
            try c.encode(Tag.jump.rawValue); try c.encode(label)
        case .label(let name):
            try c.encode(Tag.label.rawValue); try c.encode(name)
        case .breakLoop:
            try c.encode(Tag.breakLoop.rawValue)
        case .continueLoop:
            try c.encode(Tag.continueLoop.rawValue)
        }
    }

    init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        let raw = try c.decode(Int.self)
        guard let tag = Tag(rawValue: raw) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "unknown dma step \(raw)")
        }
        func optional<T: Decodable>(_ type: T.Type) throws -> T? { try c.decodeNil() ? nil : try c.decode(type) }
        switch tag {
        case .call:
            let callee = try c.decode(String.self), line = try c.decode(Int.self), target = try optional(String.self)
            let arguments = try c.decode([DmaArgument].self), direction = try optional(DmaDirection.self)
            self = .call(callee: callee, line: line, target: target, arguments: arguments, direction: direction,
                         registers: try c.decode([String].self), texts: try c.decode([String].self))
        case .poll:
            let line = try c.decode(Int.self), direction = try optional(DmaDirection.self)
            self = .poll(line: line, direction: direction, registers: try c.decode([String].self))
        case .free:
            self = .free(api: try c.decode(String.self), line: try c.decode(Int.self), access: try c.decode(DmaAccess.self))
        case .write:
            self = .write(value: try c.decode(DmaWriteValue.self), line: try c.decode(Int.self), registers: try c.decode([String].self),
                          text: try c.decode(String.self))
        case .awaitsStop: self = .awaitsStop(line: try c.decode(Int.self))
        case .recovery: self = .recovery(api: try c.decode(String.self), line: try c.decode(Int.self))
        case .alloc: self = .alloc(api: try c.decode(String.self), line: try c.decode(Int.self))
        case .assign: self = .assign(variable: try c.decode(String.self), isError: try c.decode(Bool.self))
        case .branch:
            self = .branch(condition: try c.decode(DmaCondition.self), then: try c.decode([DmaStep].self), otherwise: try c.decode([DmaStep].self))
        case .loop: self = .loop(body: try c.decode([DmaStep].self))
        case .cases: self = .cases(segments: try c.decode([[DmaStep]].self), hasDefault: try c.decode(Bool.self))
        case .exit: self = .exit(value: try c.decode(DmaReturnValue.self), line: try c.decode(Int.self))
        case .jump: self = .jump(label: try c.decode(String.self))
        case .label: self = .label(try c.decode(String.self))
        case .breakLoop: self = .breakLoop
        case .continueLoop: self = .continueLoop
        }
    }
}

/// `[parameter, disableWhenZero]`.
extension DmaDirection {
    func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(parameter); try c.encode(disableWhenZero)
    }

    init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        self.init(parameter: try c.decode(Int.self), disableWhenZero: try c.decode(Bool.self))
    }
}

/// One number: 0/1 a zero/nonzero constant, 2 clearing, 3 reset, 4 other, 5 + 2·index (+1 when
/// negated) a parameter.
extension DmaArgument {
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .constant(let nonzero): try c.encode(nonzero ? 1 : 0)
        case .clearing: try c.encode(2)
        case .reset: try c.encode(3)
        case .other: try c.encode(4)
        case .parameter(let index, let negated): try c.encode(5 + 2 * index + (negated ? 1 : 0))
        }
    }

    init(from decoder: Decoder) throws {
        let code = try decoder.singleValueContainer().decode(Int.self)
        switch code {
        case 0, 1: self = .constant(nonzero: code == 1)
        case 2: self = .clearing
        case 3: self = .reset
        case 4: self = .other
        default:
            guard code > 4 else { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad dma argument \(code)")) }
            self = .parameter(index: (code - 5) / 2, negated: (code - 5) % 2 == 1)
        }
    }
}

/// One number: 0 clearing, 1 reset, 2 other, 3 + index a parameter.
extension DmaWriteValue {
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .clearing: try c.encode(0)
        case .reset: try c.encode(1)
        case .other: try c.encode(2)
        case .parameter(let index): try c.encode(3 + index)
        }
    }

    init(from decoder: Decoder) throws {
        let code = try decoder.singleValueContainer().decode(Int.self)
        switch code {
        case 0: self = .clearing
        case 1: self = .reset
        case 2: self = .other
        default:
            guard code > 2 else { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad dma write value \(code)")) }
            self = .parameter(index: code - 3)
        }
    }
}

/// A number (0 nothing, 1 an error code, 2 other) or a variable's name.
extension DmaReturnValue {
    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .nothing: try c.encode(0)
        case .error: try c.encode(1)
        case .other: try c.encode(2)
        case .variable(let name): try c.encode(name)
        }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let name = try? c.decode(String.self) { self = .variable(name); return }
        switch try c.decode(Int.self) {
        case 0: self = .nothing
        case 1: self = .error
        case 2: self = .other
        case let code: throw DecodingError.dataCorruptedError(in: c, debugDescription: "bad dma return value \(code)")
        }
    }
}

/// `[name, truth, name, truth, …]`, by name.
extension DmaCondition {
    func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        for name in polarity.keys.sorted() { try c.encode(name); try c.encode(polarity[name]!) }
    }

    init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        var polarity: [String: Bool] = [:]
        while !c.isAtEnd { polarity[try c.decode(String.self)] = try c.decode(Bool.self) }
        self.init(polarity: polarity)
    }
}
