import Foundation
import RuleKit

/// A chain of steps through the call graph, with a place per step: how a property of a function
/// came about (where the disable was requested, how its failure travelled, where DMA memory is freed).
struct DmaChain: Hashable {
    var evidence: [Evidence]
    /// Function names from the function itself down to the API that does the work.
    var path: [String]
    /// For a release: some function on the chain polls the hardware before it frees — a down or
    /// reset path with its own stop, judged on its own (a dispatcher calling it after an unrelated
    /// failure is not).
    var waitsFirst = false
    /// How the device uses the memory the chain's API releases (see `DmaAccess`).
    var access = DmaAccess.unknown

    /// A total order on chains, for choosing one of equals the same way whatever order the paths
    /// were walked in (path states are sets): the first in source order, evidence by evidence from
    /// the function's own step (the last) down the callees.
    func precedes(_ other: DmaChain) -> Bool {
        for (mine, theirs) in zip(evidence.reversed(), other.evidence.reversed()) where mine != theirs {
            return (mine.file, mine.line, mine.message) < (theirs.file, theirs.line, theirs.message)
        }
        if evidence.count != other.evidence.count { return evidence.count < other.evidence.count }
        return path.lexicographicallyPrecedes(other.path)
    }
}

/// A request to stop the hardware: how it was made, and the registers it wrote (empty: unknown).
struct DmaStop: Hashable {
    var evidence: [Evidence]
    var registers: [String] = []
}

/// A summary of how a function may fail to disable the hardware (or drop such a failure): the
/// chain, and what its parameters must be for that to happen.
struct DmaFailure: Hashable {
    var chain: DmaChain
    /// Parameter truths (by position) without which the failure cannot happen, or is the failure of
    /// an enable request: a caller passing a constant that contradicts one is not told anything.
    var requires: [Int: Bool] = [:]
    /// The parameters in `requires` that choose the request's direction (the others guard the poll).
    var direction: Set<Int> = []
    /// A disable was established on the way: a constant argument chose the disable direction of a
    /// helper that serves both.
    var confirmed = false
    /// The AST shows that the failing request is a disable: a direction chosen for it, or a
    /// register write that stops the hardware before the poll (here or in a caller on the way).
    var evidenced = false
    /// The registers the failing poll reads (empty: unknown): a stop request made before the call
    /// is evidence only when it wrote one of them.
    var registers: [String] = []
    /// The function writes a register of its own (a command, an address) before it polls: the poll
    /// waits for that, not for a stop its caller requested earlier.
    var commanded = false

    /// What the fixpoint watches.
    var shape: [String] {
        requires.keys.sorted().map { "\($0)=\(requires[$0]!)\(direction.contains($0) ? "d" : "")" }
            + [confirmed ? "c" : "", evidenced ? "e" : "", commanded ? "w" : ""] + registers
    }

    /// Either of two paths: only what both require, a disable if either established one.
    func merged(with other: DmaFailure) -> DmaFailure {
        // The chain shown is one that shows the disable, when a path has one; of two alike, the
        // first in source order (paths merge in no fixed order).
        var result = evidenced != other.evidenced ? (evidenced ? self : other) : (other.chain.precedes(chain) ? other : self)
        result.requires = requires.filter { other.requires[$0.key] == $0.value }
        result.direction = direction.union(other.direction).intersection(result.requires.keys)
        result.confirmed = confirmed || other.confirmed
        result.evidenced = evidenced || other.evidenced
        result.registers = DmaRegisters.either(registers, other.registers)
        result.commanded = commanded && other.commanded
        return result
    }
}

/// A failure found on a path in the function being evaluated, from where it started.
struct DmaOrigin: Hashable {
    enum Kind: Hashable {
        /// A hand-written register poll in this function: only its error returns count.
        case poll
        /// A call whose result carries the failure (a may-fail function or polling macro).
        case observable
        /// A call into a function that drops the failure itself.
        case hidden
    }
    var kind: Kind
    var callee: String
    var line: Int
    var chain: DmaChain
    /// This function's parameters that chose the failing request's direction.
    var direction: Set<Int> = []
    var confirmed = false
    /// The request is known to be a disable (see `DmaFailure.evidenced`): only then is it reported.
    var evidenced = false
    /// For a hidden failure: 1 when the callee dropped it itself, 2 when the callee wraps the dropper.
    var depth = 0
    /// See `DmaFailure.registers` and `DmaFailure.commanded`.
    var registers: [String] = []
    var commanded = false
}

/// A dropped failure followed by a DMA release on one path of a function.
struct DmaFindingRecord {
    var body: DmaFunctionBody
    var origin: DmaOrigin
    var freeLine: Int
    var freeCallee: String
    var freeChain: DmaChain
    /// The function frees and then returns the failure: its caller learns of it too late.
    var returnsFailure = false
    /// The direction of the failed disable and of the release shown, as far as names tell.
    var disableSide: DmaSide? = nil
    var freeSide: DmaSide? = nil
    /// The other releases after the failure, ranked after the one shown.
    var otherFrees: [(line: Int, callee: String, chain: DmaChain)] = []
    /// Indices into the evaluation's releases, best first.
    var candidates: [Int] = []
}

/// The direction of a queue: receive or transmit.
enum DmaSide: String {
    case rx = "Rx", tx = "Tx"

    /// The side a name's words give (`i40e_pf_rxq_wait`: Rx); nil for none or both.
    static func of(_ name: String, _ vocabulary: DmaVocabulary) -> DmaSide? {
        let words = name.split(whereSeparator: { $0 == "_" || $0 == "." }).map { $0.uppercased() }
        let rx = words.contains(where: vocabulary.rxWords.contains), tx = words.contains(where: vocabulary.txWords.contains)
        return rx == tx ? nil : rx ? .rx : .tx
    }

    /// The disable's side: the innermost name on its chain that tells one (the poll helper first), then its registers.
    static func ofDisable(_ origin: DmaOrigin, _ vocabulary: DmaVocabulary) -> DmaSide? {
        origin.chain.path.reversed().lazy.compactMap { of($0, vocabulary) }.first
            ?? origin.registers.lazy.compactMap { of($0, vocabulary) }.first
    }

    /// A release's side: the first function below the judged one whose name tells one.
    static func ofFree(_ chain: DmaChain, _ vocabulary: DmaVocabulary) -> DmaSide? {
        chain.path.dropFirst().lazy.compactMap { of($0, vocabulary) }.first
    }
}

/// The three summaries (may fail to disable, swallows the failure, frees DMA memory), computed to a
/// fixpoint over the call graph of every function body gathered across the tree, and the findings.
final class DmaAnalysis {
    let bodies: [DmaFunctionBody]
    let vocabulary: DmaVocabulary
    private let byName: [String: [Int]]
    /// Per name, the definitions a call from another file reaches (`definitions(of:from:)`): not
    /// static, or inline in a header; only the latter for shared infrastructure.
    private let visibleByName: [String: [Int]]
    /// Each body's file, numbered: the fixpoints ask for a caller's own definitions very often.
    private let fileNumbers: [Int]
    /// Per name, the bodies whose steps call it: whose summaries may change when its do.
    private let callersByName: [String: [Int]]
    /// Per body, the names its steps call (each once) and the kinds of step it holds anywhere:
    /// the fixpoints ask "does any step…" of every body in every round, answered without a walk.
    private let calleesOfBody: [[String]]
    private let kindsOfBody: [StepKinds]
    /// Per body, the definitions each of its callees reaches (`definitions(of:from:)`), in
    /// `calleesOfBody` order.
    private var calleeTargets: [[[Int]]] = []

    struct StepKinds: OptionSet {
        let rawValue: UInt8
        static let alloc = StepKinds(rawValue: 1)
        static let poll = StepKinds(rawValue: 2)
        static let write = StepKinds(rawValue: 4)
        static let clearingWrite = StepKinds(rawValue: 8)
        static let free = StepKinds(rawValue: 16)
        static let writableFree = StepKinds(rawValue: 32)
        static let pollMacroCall = StepKinds(rawValue: 64)
    }
    private(set) var mayFail: [Int: DmaFailure] = [:]
    private(set) var swallows: [Int: DmaFailure] = [:]
    /// Functions that call a dropper of the failure and return normally without freeing: their
    /// callers are judged too (one level above the dropper, no further).
    private(set) var hides: [Int: DmaFailure] = [:]
    private(set) var frees: [Int: DmaChain] = [:]
    /// The first release, through callees, of memory the device writes into (Rx buffers, page pools).
    private(set) var writableFrees: [Int: DmaChain] = [:]
    /// Functions that allocate or map DMA memory, directly or through callees.
    private(set) var allocates: Set<Int> = []
    /// Functions that poll the hardware, directly or through callees.
    private(set) var waits: Set<Int> = []
    /// Driver write wrappers: the parameter a function stores into a register.
    private(set) var writers: [Int: Int] = [:]
    /// Functions that stop hardware by a register write (zero, cleared bits, a disable value),
    /// directly or through callees: how, for the evidence.
    private(set) var stops: [Int: DmaStop] = [:]
    /// Functions that write registers, directly or through callees.
    private(set) var writesRegisters: Set<Int> = []
    private(set) var writesDirectly: Set<Int> = []
    /// How many calls above the function that drops a failure its callers are still judged.
    static let maxHiddenDepth = 2
    private(set) var findings: [DmaFindingRecord] = []

    init(bodies: [DmaFunctionBody], vocabulary: DmaVocabulary) {
        // Files numbered in one walk: bodies of one file come together, so most bodies compare
        // their file with the previous body's instead of hashing the path.
        var numbers: [String: Int] = [:]
        var allFileNumbers: [Int] = []
        allFileNumbers.reserveCapacity(bodies.count)
        var previous: (file: String, number: Int)?
        for body in bodies {
            if let previous, previous.file == body.file { allFileNumbers.append(previous.number); continue }
            let number = numbers[body.file] ?? numbers.count
            numbers[body.file] = number
            previous = (body.file, number)
            allFileNumbers.append(number)
        }
        // A header's inline function is seen by every unit that includes it: keep one.
        struct Place: Hashable { let file: Int, line: Int, name: String }
        var seen = Set<Place>(minimumCapacity: bodies.count)
        var unique: [Int] = []
        unique.reserveCapacity(bodies.count)
        for (index, body) in bodies.enumerated() where seen.insert(Place(file: allFileNumbers[index], line: body.line, name: body.name)).inserted {
            unique.append(index)
        }
        self.bodies = unique.count == bodies.count ? bodies : unique.map { bodies[$0] }
        fileNumbers = unique.count == bodies.count ? allFileNumbers : unique.map { allFileNumbers[$0] }
        self.vocabulary = vocabulary
        let kept = self.bodies
        // Each body's callees and kinds of step, found on all cores: every step of every body is walked.
        let scanned = parallelMap(kept.count, jobs: ProcessInfo.processInfo.activeProcessorCount) { index -> (callees: [String], kinds: StepKinds) in
            var callees = Set<String>()
            var kinds: StepKinds = []
            kept[index].steps.forEachNested { step in
                switch step {
                case .alloc: kinds.insert(.alloc)
                case .poll: kinds.insert(.poll)
                case .write(let value, _, _, _):
                    kinds.insert(.write)
                    if case .clearing = value { kinds.insert(.clearingWrite) }
                case .free(_, _, let access):
                    kinds.insert(.free)
                    if access == .writes { kinds.insert(.writableFree) }
                case .call(let callee, _, _, _, _, _, _):
                    callees.insert(callee)
                    if vocabulary.pollMacros.contains(callee) { kinds.insert(.pollMacroCall) }
                default:
                    break
                }
            }
            return (callees.sorted(), kinds)
        }
        var byName: [String: [Int]] = [:], callersByName: [String: [Int]] = [:]
        byName.reserveCapacity(kept.count)
        callersByName.reserveCapacity(kept.count)
        var callerDirectories: [String: Set<Int>] = [:]
        var directoryOfFile: [Int: Int] = [:], directoryNumbers: [String: Int] = [:]
        for (index, body) in kept.enumerated() {
            byName[body.name, default: []].append(index)
            let file = fileNumbers[index]
            let directory = directoryOfFile[file] ?? {
                let path = (body.file as NSString).deletingLastPathComponent
                let number = directoryNumbers[path] ?? directoryNumbers.count
                directoryNumbers[path] = number
                directoryOfFile[file] = number
                return number
            }()
            for callee in scanned[index].callees {
                callersByName[callee, default: []].append(index)
                if callerDirectories[callee, default: []].count <= CallGraph.defaultHubDirectories { callerDirectories[callee, default: []].insert(directory) }
            }
        }
        calleesOfBody = scanned.map { $0.callees }
        kindsOfBody = scanned.map { $0.kinds }
        self.byName = byName
        // Names called from more than `CallGraph.defaultHubDirectories` directories: shared
        // infrastructure (locking, scheduling, the networking core). A driver's chain does not run
        // through their bodies (a lock's slow path frees a task stack), only through header helpers.
        let shared = Set(callerDirectories.filter { $0.value.count > CallGraph.defaultHubDirectories }.keys)
        visibleByName = Dictionary(uniqueKeysWithValues: byName.map { name, all in
            (name, shared.contains(name) ? all.filter { kept[$0].file.hasSuffix(".h") } : all.filter { !kept[$0].isStatic || kept[$0].file.hasSuffix(".h") })
        })
        self.callersByName = callersByName
        // On all cores, each with its own memo of what a name called from a file reaches.
        let calleesOfBody = self.calleesOfBody, fileNumbers = self.fileNumbers, visibleByName = self.visibleByName
        let chunks = ProcessInfo.processInfo.activeProcessorCount
        let chunkSize = (kept.count + chunks - 1) / max(chunks, 1)
        let targets = parallelMap(chunks, jobs: chunks) { chunk -> [[[Int]]] in
            var resolved: [CallSite: [Int]] = [:]
            return (min(kept.count, chunk * chunkSize)..<min(kept.count, (chunk + 1) * chunkSize)).map { index in
                calleesOfBody[index].map { callee in
                    Self.definitions(of: callee, from: fileNumbers[index], byName: byName, visibleByName: visibleByName,
                                     fileNumbers: fileNumbers, resolved: &resolved)
                }
            }
        }
        calleeTargets = targets.flatMap { $0 }
    }

    /// Decodes the rule's facts (each distinct one once per `memo`).
    func summary(named name: String) -> (mayFail: Bool, swallows: Bool, frees: Bool) {
        let indices = byName[name] ?? []
        return (indices.contains { mayFail[$0] != nil }, indices.contains { swallows[$0] != nil }, indices.contains { frees[$0] != nil })
    }

    /// The may-fail summary of a function, with its requirements.
    func failure(named name: String) -> DmaFailure? {
        (byName[name] ?? []).lazy.compactMap { self.mayFail[$0] }.first
    }

    func hides(named name: String) -> Bool { (byName[name] ?? []).contains { hides[$0] != nil } }

    /// Definitions a call from `caller` can reach: the caller's own file first (static helpers),
    /// else definitions visible from other files (not static, or inline in a header).
    private func definitions(of callee: String, from caller: Int) -> [Int] {
        Self.definitions(of: callee, from: fileNumbers[caller], byName: byName, visibleByName: visibleByName, fileNumbers: fileNumbers, resolved: &resolved)
    }

    private static func definitions(of callee: String, from file: Int, byName: [String: [Int]], visibleByName: [String: [Int]],
                                    fileNumbers: [Int], resolved: inout [CallSite: [Int]]) -> [Int] {
        let site = CallSite(callee: callee, file: file)
        if let known = resolved[site] { return known }
        var found: [Int] = []
        if let all = byName[callee] {
            found = all.contains(where: { fileNumbers[$0] == file }) ? all.filter { fileNumbers[$0] == file } : visibleByName[callee] ?? []
        }
        resolved[site] = found
        return found
    }

    /// A name called from a file (by number): every fixpoint resolves the same calls again.
    private struct CallSite: Hashable { let callee: String; let file: Int }
    private var resolved: [CallSite: [Int]] = [:]

    private func lookup<T>(_ table: [Int: T], _ callee: String, from caller: Int) -> T? {
        definitions(of: callee, from: caller).lazy.compactMap { table[$0] }.first
    }

    private func evidence(_ body: DmaFunctionBody, _ line: Int, _ message: String) -> Evidence {
        Evidence(file: body.file, line: line, function: body.name, message: message)
    }

    /// Whether a call of one of the body's callees reaches a definition in `found`.
    private func callsInto(_ index: Int, _ found: Set<Int>) -> Bool {
        calleeTargets[index].contains { $0.contains(where: found.contains) }
    }

    /// Whether one of the body's callees has a definition with an entry in `table`.
    private func callsInto<T>(_ index: Int, _ table: [Int: T]) -> Bool {
        calleeTargets[index].contains { $0.contains { table[$0] != nil } }
    }

    func run(maxRounds: Int = 16) {
        computeFrees(maxRounds: maxRounds)
        computeStops(maxRounds: maxRounds)
        // Round by round as a sweep evaluating every failing body would go, but a body is
        // evaluated again only when a summary of a function it calls changed since: its own
        // summaries merge what it finds (idempotently), so on the same inputs it would find the
        // same. Each body keeps the findings of its last evaluation.
        var findingsByBody: [Int: [DmaFindingRecord]] = [:]
        var dirty = [Bool](repeating: true, count: bodies.count)
        var round = 0
        while round < maxRounds {
            round += 1
            let before = [mayFail, swallows, hides].map { $0.mapValues(\.shape) }
            for index in bodies.indices where dirty[index] {
                dirty[index] = false
                guard hasFailingStep(index) else { continue }
                let summaries = (mayFail[index], swallows[index], hides[index])
                findings = []
                evaluate(index)
                findingsByBody[index] = findings
                if (mayFail[index], swallows[index], hides[index]) != summaries {
                    for caller in callersByName[bodies[index].name] ?? [] { dirty[caller] = true }
                }
            }
            if [mayFail, swallows, hides].map({ $0.mapValues(\.shape) }) == before { break }
        }
        findings = findingsByBody.keys.sorted().flatMap { findingsByBody[$0]! }
    }

    // MARK: Frees DMA memory (flow-insensitive)

    private func computeFrees(maxRounds: Int) {
        // A step that allocates, or a call of a function that does.
        allocates = closure { index, found in kindsOfBody[index].contains(.alloc) || callsInto(index, found) }
        waits = closure { index, found in !kindsOfBody[index].isDisjoint(with: [.poll, .pollMacroCall]) || callsInto(index, found) }
        for writable in [false, true] {
            var table: [Int: DmaChain] = [:]
            sweepToFixpoint(maxRounds: maxRounds) { index in
                // Only a release of its own or a call of a function that releases gives one.
                guard kindsOfBody[index].contains(writable ? .writableFree : .free) || callsInto(index, table) else { return false }
                var scan = FreeScan()
                guard let chain = firstFree(bodies[index].steps, caller: index, scan: &scan, table: table, writable: writable) ?? scan.waitingFree else { return false }
                table[index] = chain
                return true
            }
            if writable { writableFrees = table } else { frees = table }
        }
    }

    /// Fills a table to a fixpoint, each body's entry set once (`settle` returns whether it got
    /// one) from the entries of its callees: round by round as a plain sweep over every body
    /// without an entry would go, but a body is looked at again only when a function it calls got
    /// an entry since (nothing else it reads changes): in the same round when it comes later in the
    /// sweep, else in the next. So every entry comes from the very table the plain sweep would have had.
    private func sweepToFixpoint(maxRounds: Int, _ settle: (Int) -> Bool) {
        var settled = [Bool](repeating: false, count: bodies.count)
        var dirty = [Bool](repeating: true, count: bodies.count)
        for _ in 0..<maxRounds {
            var changed = false
            for index in bodies.indices where dirty[index] {
                dirty[index] = false
                guard !settled[index], settle(index) else { continue }
                settled[index] = true
                changed = true
                for caller in callersByName[bodies[index].name] ?? [] where !settled[caller] { dirty[caller] = true }
            }
            if !changed { break }
        }
    }

    /// The functions that `hold` (given the set found so far: through callees), to a fixpoint.
    private func closure(maxRounds: Int = 16, _ holds: (Int, Set<Int>) -> Bool) -> Set<Int> {
        var found = Set<Int>()
        sweepToFixpoint(maxRounds: maxRounds) { index in
            guard holds(index, found) else { return false }
            found.insert(index)
            return true
        }
        return found
    }

    /// What a search for the first release has passed so far, in source order.
    private struct FreeScan {
        /// An allocation: the function sets memory up, and what it frees is its own.
        var allocated = false
        /// A poll of the hardware on every way here: the function stops or resets it itself before freeing.
        var waited = false
        /// The first release found after such a wait: used only when no release comes without one.
        var waitingFree: DmaChain?

        /// A release found: the search ends with it unless it came after a wait.
        mutating func found(_ chain: DmaChain) -> DmaChain? {
            guard chain.waitsFirst else { return chain }
            if waitingFree == nil { waitingFree = chain }
            return nil
        }
    }

    /// The first release of DMA memory in `steps` that no wait for the hardware precedes (one that
    /// does is kept in `scan`); nil when there is none, or when an allocation comes first: a function
    /// that sets memory up and releases it (a command's buffer, a ring being built) does not free a
    /// running ring.
    private func firstFree(_ steps: [DmaStep], caller: Int, scan: inout FreeScan, table: [Int: DmaChain], writable: Bool) -> DmaChain? {
        let body = bodies[caller]
        // Code after a label that only a goto reaches (`return 0; err_free: ...`) unwinds an
        // allocation or setup that failed: its frees do not release a running ring.
        var reachable = true
        for step in steps {
            switch step {
            case .exit, .jump:
                reachable = false
                continue
            case .label:
                continue
            default:
                if !reachable { continue }
            }
            if scan.allocated { return nil }
            switch step {
            case .free(let api, let line, let access):
                if writable && access != .writes { continue }
                if let chain = scan.found(DmaChain(evidence: [evidence(body, line, "\(body.name)() frees DMA memory with \(api)()")],
                                                   path: [body.name, api], waitsFirst: scan.waited, access: access)) { return chain }
            case .alloc:
                scan.allocated = true
            case .poll:
                scan.waited = true
            case .call(let callee, let line, _, _, _, _, _):
                if let inner = lookup(table, callee, from: caller),
                   let chain = scan.found(DmaChain(evidence: [evidence(body, line, "\(body.name)() calls \(callee)(), which frees DMA memory")] + inner.evidence,
                                                   path: [body.name] + inner.path, waitsFirst: scan.waited || inner.waitsFirst, access: inner.access)) {
                    return chain
                }
                let reached = definitions(of: callee, from: caller)
                if reached.contains(where: allocates.contains) { scan.allocated = true }
                if vocabulary.pollMacros.contains(callee) || reached.contains(where: waits.contains) { scan.waited = true }
            case .branch(_, let then, let otherwise):
                // A free in an arm that then leaves the function is error unwinding (of an allocation,
                // say), not a release of a running ring.
                // An allocation in either arm counts after the branch; a wait only if every arm that
                // goes on waited (`if (!test_and_set_bit(DOWN, ...)) down();` may skip the down path).
                var waitedOnEvery = true, goesOn = false
                for arm in [then, otherwise] where !leaves(arm) {
                    var armScan = scan
                    if let chain = firstFree(arm, caller: caller, scan: &armScan, table: table, writable: writable) { return chain }
                    goesOn = true
                    scan.allocated = scan.allocated || armScan.allocated
                    scan.waitingFree = scan.waitingFree ?? armScan.waitingFree
                    waitedOnEvery = waitedOnEvery && armScan.waited
                }
                if goesOn && waitedOnEvery { scan.waited = true }
            case .loop(let inner):
                if let chain = firstFree(inner, caller: caller, scan: &scan, table: table, writable: writable) { return chain }
            case .cases(let segments, _):
                for segment in segments { if let chain = firstFree(segment, caller: caller, scan: &scan, table: table, writable: writable) { return chain } }
            default:
                break
            }
        }
        return nil
    }

    // MARK: Stops the hardware (flow-insensitive)

    private func computeStops(maxRounds: Int) {
        // Only a body with a write step can write a parameter or write directly.
        for index in bodies.indices where kindsOfBody[index].contains(.write) {
            if let written = firstWrittenParameter(bodies[index].steps) { writers[index] = written }
            writesDirectly.insert(index)
        }
        // One round more than `maxRounds`: the first one finds the direct writers.
        writesRegisters = closure(maxRounds: maxRounds + 1) { index, found in kindsOfBody[index].contains(.write) || callsInto(index, found) }
        sweepToFixpoint(maxRounds: maxRounds) { index in
            // A stop comes from a clearing write, a write wrapper's call or a call of a function that stops.
            guard kindsOfBody[index].contains(.clearingWrite) || callsInto(index, writers) || callsInto(index, stops),
                  let stop = lastStop(bodies[index].steps, caller: index) else { return false }
            stops[index] = stop
            return true
        }
    }

    /// The argument a call of a write wrapper gives as the value to write; nil for other callees.
    private func writtenArgument(_ callee: String, arguments: [DmaArgument], caller: Int) -> DmaArgument? {
        guard let position = definitions(of: callee, from: caller).lazy.compactMap({ self.writers[$0] }).first,
              position < arguments.count else { return nil }
        return arguments[position]
    }

    private func firstWrittenParameter(_ steps: [DmaStep]) -> Int? {
        steps.firstNested { if case .write(.parameter(let index), _, _, _) = $0 { return index }; return nil }
    }

    /// The evidence that a call stops the hardware: the call of a write wrapper with a stopping
    /// value, or of a function that stops it; nil otherwise.
    private func stopByCall(_ callee: String, arguments: [DmaArgument], line: Int, caller: Int) -> DmaStop? {
        let body = bodies[caller]
        switch writtenArgument(callee, arguments: arguments, caller: caller) {
        case .clearing?, .constant(nonzero: false)?:
            // The register a wrapper writes is its caller's argument: unknown here.
            return DmaStop(evidence: [evidence(body, line, "\(body.name)() asks the hardware to stop: \(callee)() writes a value that clears or disables")])
        default:
            break
        }
        if let inner = lookup(stops, callee, from: caller) {
            return DmaStop(evidence: [evidence(body, line, "\(body.name)() calls \(callee)(), which asks the hardware to stop")] + inner.evidence,
                           registers: inner.registers)
        }
        return nil
    }

    /// The stop a function leaves requested: its last register write (in source order, directly or
    /// through a callee) asks the hardware to stop. A helper that clears a mode bit for its own
    /// command and sets it again before returning (MDIO auto-polling) leaves nothing stopped.
    private func lastStop(_ steps: [DmaStep], caller: Int) -> DmaStop? {
        let body = bodies[caller]
        var last: DmaStop?
        steps.forEachNested { step in
            switch step {
            case .write(.clearing, let line, let registers, _):
                last = writeStop(body, line, registers)
            case .write:
                last = nil
            case .call(let callee, let line, _, let arguments, _, _, _):
                if let stop = stopByCall(callee, arguments: arguments, line: line, caller: caller) {
                    last = stop
                } else if definitions(of: callee, from: caller).contains(where: writesRegisters.contains) {
                    last = nil
                }
            default:
                break
            }
        }
        return last
    }

    private func writeStop(_ body: DmaFunctionBody, _ line: Int, _ registers: [String]) -> DmaStop {
        DmaStop(evidence: [evidence(body, line, "\(body.name)() asks the hardware to stop: a register write that clears or disables")],
                registers: registers)
    }

    /// Functions called by bodies gathered in `pass` that may fail or drop a failure, which no
    /// gathered body defines: the next pass looks for their definitions.
    func unresolvedCallees(ofPass pass: Int) -> Set<String> {
        var result = Set<String>()
        for index in bodies.indices where bodies[index].pass == pass && hasFailingStep(index) {
            for callee in calleesOfBody[index] where byName[callee] == nil && !vocabulary.pollMacros.contains(callee) { result.insert(callee) }
        }
        return result
    }

    private func leaves(_ steps: [DmaStep]) -> Bool {
        switch steps.last {
        case .exit?, .jump?: return true
        default: return false
        }
    }

    /// Whether a body holds a step that can fail: a poll, or a call of a poll macro or of a
    /// function with a failure summary (all of which its kinds and callees tell without a walk).
    private func hasFailingStep(_ index: Int) -> Bool {
        !kindsOfBody[index].isDisjoint(with: [.poll, .pollMacroCall])
            || callsInto(index, mayFail) || callsInto(index, swallows) || callsInto(index, hides)
    }

    // MARK: Paths through one function

    private struct PathState: Hashable {
        /// Index into `origins` of the failure this path carries (nil: nothing failed).
        var origin: Int?
        /// Variables holding the failure's error value.
        var variables: Set<String> = []
        /// Index into `frees` of the first DMA release this failing path passed: it becomes a
        /// finding when the path leaves the function without passing the failure on.
        var pendingFree: Int? { pendingFrees.first }
        /// Every DMA release (indices into `passedFrees`) this failing path passed, in order: the
        /// finding points at the one that matches the failed disable.
        var pendingFrees: [Int] = []
        /// The value text of the last register write on this path (direct or through a write
        /// wrapper): a wait handed that very value waits for a self-clearing command.
        var lastValue = ""
        /// Truths of this function's integer parameters the path depends on (by position): the
        /// branches it took on them, and the direction its failing request needs.
        var assumed: [Int: Bool] = [:]
        /// The last register write on this path before it failed.
        var lastWrite = LastWrite.none

        /// Index into `stopRequests` of the last request to stop the hardware on this path.
        var stopRequest: Int? { if case .stop(let request) = lastWrite { return request }; return nil }
        /// The last write was not a stop: a command, an address, a reset.
        var commanded: Bool { lastWrite == .command || lastWrite == .reset }
        /// The last write was a reset command: a poll after it waits for the reset, whatever its direction.
        var resetting: Bool { lastWrite == .reset }
    }

    /// What the last register write on a path asked of the hardware.
    private enum LastWrite: Hashable {
        case none
        /// A stop: index into `stopRequests`.
        case stop(Int)
        /// Anything else: a poll after it waits for that write instead.
        case command
        case reset
    }

    /// Parameters whose truth a path follows, at most: each one can double the paths.
    private static let maxAssumptions = 4
    /// Releases a failing path remembers, at most (the finding picks the one matching the disable).
    private static let maxPendingFrees = 6

    private struct Flow {
        var normal: Set<PathState> = []
        var breaks: Set<PathState> = []
        var continues: Set<PathState> = []
        var jumps: [String: Set<PathState>] = [:]

        mutating func absorbExits(of other: Flow) {
            for (label, states) in other.jumps { jumps[label, default: []].formUnion(states) }
        }
    }

    /// Per evaluation of one function.
    private var current = 0
    private var parameterIndex: [String: Int] = [:]
    private var origins: [DmaOrigin] = []
    private var originIndex: [String: Int] = [:]
    private var found: [Int: DmaFindingRecord] = [:]
    private var passedFrees: [(line: Int, callee: String, chain: DmaChain)] = []
    private var stopRequests: [DmaStop] = []

    private func evaluate(_ index: Int) {
        current = index
        parameterIndex = [:]
        for (position, name) in bodies[index].parameters.enumerated() where !name.isEmpty { parameterIndex[name] = position }
        origins = []
        originIndex = [:]
        found = [:]
        passedFrees = []
        stopRequests = []
        let steps = bodies[index].steps
        var continuations: [String: [DmaStep]?] = [:]

        var flow = run(steps, [PathState()])
        for state in flow.normal.union(flow.breaks).union(flow.continues) { leave(state, value: .nothing, line: bodies[index].line) }
        var visited: [String: Set<PathState>] = [:]
        while let (label, states) = flow.jumps.first {
            flow.jumps[label] = nil
            if continuations[label] == nil { continuations[label] = .some(Self.continuation(after: label, in: steps)) }
            guard let rest = continuations[label]! else { continue }
            let fresh = states.subtracting(visited[label] ?? [])
            guard !fresh.isEmpty else { continue }
            visited[label, default: []].formUnion(fresh)
            let resumed = run(rest, fresh)
            for state in resumed.normal.union(resumed.breaks).union(resumed.continues) { leave(state, value: .nothing, line: bodies[index].line) }
            flow.absorbExits(of: resumed)
        }
        findings += found.keys.sorted().map { found[$0]! }
    }

    private func stopRequest(_ stop: DmaStop) -> Int {
        if let existing = stopRequests.firstIndex(of: stop) { return existing }
        stopRequests.append(stop)
        return stopRequests.count - 1
    }

    /// A failure starting on a path: known to be a disable when its direction was chosen, its
    /// callee's summary says so, or the path asked the hardware to stop before it (then that
    /// request heads the chain) — unless the poll reads other registers than the stop wrote, or the
    /// callee wrote a command of its own before polling.
    private func origin(_ kind: DmaOrigin.Kind, callee: String, line: Int, chain: DmaChain, state: PathState,
                        needs: (assumed: [Int: Bool], direction: Set<Int>, confirmed: Bool), evidenced: Bool = false, depth: Int = 0,
                        registers: [String] = [], commanded: Bool = false, directedCallee: Bool = false) -> Int {
        var chain = chain
        // After a reset command, a direction (here or the callee's) says nothing: the poll waits for the reset.
        let directional = needs.confirmed || !needs.direction.isEmpty || directedCallee
        var known = (evidenced && !(state.resetting && directedCallee)) || (!state.resetting && directional)
        if !known, !commanded, let request = state.stopRequest, DmaRegisters.related(stopRequests[request].registers, registers) {
            chain.evidence = stopRequests[request].evidence + chain.evidence
            known = true
        }
        // A direction voided by a reset does not reach callers either.
        return origin(DmaOrigin(kind: kind, callee: callee, line: line, chain: chain, direction: state.resetting ? [] : needs.direction,
                                confirmed: needs.confirmed && !state.resetting, evidenced: known, depth: depth, registers: registers,
                                commanded: commanded || (state.stopRequest == nil && state.commanded)))
    }

    /// What runs after `label`: the rest of the structures it is nested in (an arm, the rest of a
    /// loop's round — then the loop is left —, the following cases), then the steps after them.
    static func continuation(after label: String, in steps: [DmaStep]) -> [DmaStep]? {
        for (position, step) in steps.enumerated() {
            let after = Array(steps[(position + 1)...])
            switch step {
            case .label(let name) where name == label:
                return after
            case .branch(_, let then, let otherwise):
                if let inner = continuation(after: label, in: then) ?? continuation(after: label, in: otherwise) { return inner + after }
            case .loop(let body):
                if let inner = continuation(after: label, in: body) { return inner + after }
            case .cases(let segments, _):
                for (index, segment) in segments.enumerated() {
                    if let inner = continuation(after: label, in: segment) { return inner + segments[(index + 1)...].flatMap { $0 } + after }
                }
            default:
                break
            }
        }
        return nil
    }

    private func origin(_ origin: DmaOrigin) -> Int {
        let key = "\(origin.callee):\(origin.line):\(origin.evidenced):\(origin.commanded)"
        if let existing = originIndex[key] { return existing }
        origins.append(origin)
        originIndex[key] = origins.count - 1
        return origins.count - 1
    }

    /// What a path must assume for a call of a function summarised by `failure` to fail to disable:
    /// nil when the arguments rule it out (a constant that asks for the enable direction, or that
    /// turns the poll off) or the path already took the other way.
    private func requirements(of failure: DmaFailure, arguments: [DmaArgument], on state: PathState)
        -> (assumed: [Int: Bool], direction: Set<Int>, confirmed: Bool)? {
        var assumed = state.assumed, direction = Set<Int>(), confirmed = failure.confirmed
        for (index, truth) in failure.requires {
            switch index < arguments.count ? arguments[index] : .other {
            case .constant(let nonzero):
                guard nonzero == truth else { return nil }
                if failure.direction.contains(index) { confirmed = true }
            case .parameter(let own, let negated):
                let needed = truth != negated
                if let held = assumed[own], held != needed { return nil }
                assumed[own] = needed
                if failure.direction.contains(index) { direction.insert(own) }
            case .clearing:
                // A value named or shaped as a stop chooses the disable direction.
                if failure.direction.contains(index) { confirmed = true }
            case .reset, .other:
                break
            }
        }
        if failure.direction.isEmpty, !confirmed, let chosen = chooserRequirement(&assumed) {
            guard chosen else { return nil }
            // A branch that sets or clears bits chooses a hardware direction only where the
            // function writes registers (`num_vfs ? 1 : 0` into a firmware command does not).
            if writesDirectly.contains(current) { direction.insert(bodies[current].chooser!.parameter) }
        }
        return (assumed, direction, confirmed)
    }

    /// A request of unknown direction in a function that sets or clears register bits by a
    /// parameter is a disable only for the clearing value: nil without a chooser, false when the
    /// path already took the setting branch.
    private func chooserRequirement(_ assumed: inout [Int: Bool]) -> Bool? {
        guard let chooser = bodies[current].chooser else { return nil }
        if let held = assumed[chooser.parameter] { return held == chooser.disablingTruth }
        assumed[chooser.parameter] = chooser.disablingTruth
        return true
    }

    /// The requirement of a poll in this function whose condition compares a parameter with the polled bits.
    private func pollRequirements(_ direction: DmaDirection?, on state: PathState) -> (assumed: [Int: Bool], direction: Set<Int>, confirmed: Bool)? {
        guard let direction else {
            return requirements(of: DmaFailure(chain: DmaChain(evidence: [], path: [])), arguments: [], on: state)
        }
        let failure = DmaFailure(chain: DmaChain(evidence: [], path: []), requires: [direction.parameter: direction.disablingTruth],
                                 direction: [direction.parameter])
        let identity = bodies[current].parameters.indices.map { DmaArgument.parameter(index: $0, negated: false) }
        return requirements(of: failure, arguments: identity, on: state)
    }

    private func run(_ steps: [DmaStep], _ input: Set<PathState>) -> Flow {
        var flow = Flow()
        var states = input
        let body = bodies[current]
        for step in steps {
            if states.isEmpty, case .label = step {} else if states.isEmpty { continue }
            switch step {
            case .call(let callee, let line, let target, let arguments, let direction, let registers, let texts):
                var next = Set<PathState>()
                // The value a write wrapper stores, as written.
                let writtenText = definitions(of: callee, from: current).lazy.compactMap { self.writers[$0] }.first
                    .flatMap { $0 < texts.count ? texts[$0] : nil }
                // A callee that polls the hardware before it frees (a down or reset path of its
                // own) is judged on its own: an earlier failure here does not guard its frees.
                let freeChain = lookup(frees, callee, from: current).flatMap { $0.waitsFirst ? nil : $0 }
                let reached = definitions(of: callee, from: current)
                let allocating = freeChain == nil && reached.contains(where: allocates.contains)
                // What the call writes, for the paths that go on without a failure (the same for each).
                let written: LastWrite?
                if let stop = stopByCall(callee, arguments: arguments, line: line, caller: current) {
                    written = .stop(stopRequest(stop))
                } else if reached.contains(where: writesRegisters.contains) {
                    // A later write (a command, an address) is what a poll after it waits for.
                    written = writtenArgument(callee, arguments: arguments, caller: current) == .reset ? .reset : .command
                } else {
                    written = nil
                }
                for var state in states {
                    if let target {
                        state.variables.remove(target)
                        if let parameter = parameterIndex[target] { state.assumed[parameter] = nil }
                    }
                    if let failure = state.origin {
                        if let freeChain, origins[failure].kind != .poll, state.pendingFrees.count < Self.maxPendingFrees {
                            // The callee's release of memory the device writes into, when it has one.
                            let shown = lookup(writableFrees, callee, from: current).flatMap { $0.waitsFirst ? nil : $0 } ?? freeChain
                            let passed = passFree(line: line, callee: callee, chain: DmaChain(
                                evidence: [evidence(body, line, "\(body.name)() calls \(callee)(), which frees DMA memory")] + shown.evidence,
                                path: [body.name] + shown.path, access: shown.access))
                            if !state.pendingFrees.contains(passed) { state.pendingFrees.append(passed) }
                        }
                        next.formUnion(allocating ? Self.droppingFailures([state], beforeAnyFree: true) : [state])
                        continue
                    }
                    // Whether this call fails is judged with the stop requests made before it; the
                    // path that goes on sees what the call itself wrote.
                    var continuing = state
                    if let written { continuing.lastWrite = written; continuing.lastValue = writtenText ?? "" }
                    next.insert(continuing)
                    // A wait handed the value just written (the bits a command set, to read back as
                    // 0) waits for that self-clearing command, as after a reset.
                    var state = state
                    if Self.awaitsWritten(state.lastValue, texts: texts, macro: vocabulary.pollMacros.contains(callee)) { state.lastWrite = .reset }
                    let variables = Set(target.map { [$0] } ?? [])
                    if vocabulary.pollMacros.contains(callee) {
                        guard let needs = pollRequirements(direction, on: state) else { continue }
                        let chain = DmaChain(evidence: [evidence(body, line, "\(body.name)() polls the hardware with \(callee)(), which can time out")],
                                             path: [callee])
                        let start = origin(.observable, callee: callee, line: line, chain: chain, state: state, needs: needs, registers: registers)
                        next.insert(PathState(origin: start, variables: variables, assumed: needs.assumed))
                    } else if let failure = lookup(mayFail, callee, from: current) {
                        guard let needs = requirements(of: failure, arguments: arguments, on: state) else { continue }
                        let start = origin(.observable, callee: callee, line: line, chain: failure.chain, state: state, needs: needs,
                                           evidenced: failure.evidenced, registers: failure.registers, commanded: failure.commanded,
                                           directedCallee: !failure.direction.isEmpty)
                        next.insert(PathState(origin: start, variables: variables, assumed: needs.assumed))
                    } else if let (failure, depth) = hiddenFailure(of: callee),
                              let needs = requirements(of: failure, arguments: arguments, on: state) {
                        let start = origin(.hidden, callee: callee, line: line, chain: failure.chain, state: state, needs: needs,
                                           evidenced: failure.evidenced, depth: depth, registers: failure.registers, commanded: failure.commanded,
                                           directedCallee: !failure.direction.isEmpty)
                        next.insert(PathState(origin: start, assumed: needs.assumed))
                    }
                }
                states = next
            case .poll(let line, let direction, let registers):
                let chain = DmaChain(evidence: [evidence(body, line, "\(body.name)() polls a hardware register until it changes, with a bounded number of tries")],
                                     path: [body.name])
                for state in states where state.origin == nil {
                    guard let needs = pollRequirements(direction, on: state) else { continue }
                    let start = origin(.poll, callee: "", line: line, chain: chain, state: state, needs: needs, registers: registers)
                    states.insert(PathState(origin: start, assumed: needs.assumed))
                }
            case .free(let api, let line, let access):
                states = Set(states.map { state in
                    guard let failure = state.origin, origins[failure].kind != .poll, state.pendingFrees.count < Self.maxPendingFrees else { return state }
                    var state = state
                    let passed = passFree(line: line, callee: api, chain: DmaChain(
                        evidence: [evidence(body, line, "\(body.name)() frees DMA memory with \(api)()")], path: [body.name, api], access: access))
                    if !state.pendingFrees.contains(passed) { state.pendingFrees.append(passed) }
                    return state
                })
            case .write(let value, let line, let registers, let text):
                // A stop request, or — any other write — a command that a poll after it waits for instead.
                let written: LastWrite
                switch value {
                case .clearing: written = .stop(stopRequest(writeStop(body, line, registers)))
                case .reset: written = .reset
                default: written = .command
                }
                states = Set(Self.setting(written, on: states).map { state in
                    guard state.origin == nil else { return state }
                    var state = state
                    state.lastValue = text
                    return state
                })
            case .awaitsStop(let line):
                // Whatever register the poll reads: its own condition says it waits for a stop.
                let request = stopRequest(DmaStop(evidence: [evidence(body, line, "\(body.name)() waits for an enable bit to clear: the hardware is being stopped")]))
                states = Self.setting(.stop(request), on: states)
            case .recovery:
                // The failure is handed to a reset or recovery path: handled.
                states = Self.droppingFailures(states)
            case .alloc:
                states = Self.droppingFailures(states, beforeAnyFree: true)
            case .assign(let variable, let isError):
                states = Set(states.map { state in
                    var state = state
                    if isError && state.origin != nil { state.variables.insert(variable) } else { state.variables.remove(variable) }
                    if let parameter = parameterIndex[variable] { state.assumed[parameter] = nil }
                    return state
                })
            case .branch(let condition, let then, let otherwise):
                var thenInput = Set<PathState>(), elseInput = Set<PathState>()
                // A test of one integer parameter: each arm follows from its truth.
                let tested = condition.polarity.count == 1 ? condition.polarity.first.flatMap { entry in
                    parameterIndex[entry.key].map { (name: entry.key, index: $0, whenTrue: entry.value) } } : nil
                for state in states {
                    if state.origin != nil, let decided = condition.polarity.first(where: { state.variables.contains($0.key) })?.value {
                        if decided { thenInput.insert(state) } else { elseInput.insert(state) }
                    } else if let tested, !state.variables.contains(tested.name) {
                        if let held = state.assumed[tested.index] {
                            if held == tested.whenTrue { thenInput.insert(state) } else { elseInput.insert(state) }
                        } else if state.assumed.count < Self.maxAssumptions {
                            var a = state, b = state
                            a.assumed[tested.index] = tested.whenTrue
                            b.assumed[tested.index] = !tested.whenTrue
                            thenInput.insert(a); elseInput.insert(b)
                        } else {
                            thenInput.insert(state); elseInput.insert(state)
                        }
                    } else {
                        thenInput.insert(state); elseInput.insert(state)
                    }
                }
                let a = run(then, thenInput), b = run(otherwise, elseInput)
                for part in [a, b] {
                    flow.breaks.formUnion(part.breaks); flow.continues.formUnion(part.continues); flow.absorbExits(of: part)
                }
                states = a.normal.union(b.normal)
            case .loop(let inner):
                // Zero or one iteration. A failure in one iteration does not meet a free in the next:
                // per-queue or per-VF loops handle a different object each time round, and a
                // failure that leaves the loop (break, or the last round) still meets frees after it.
                let once = run(inner, states)
                flow.absorbExits(of: once)
                states = states.union(once.breaks).union(once.normal).union(once.continues)
            case .cases(let segments, let hasDefault):
                var out = hasDefault ? Set<PathState>() : states
                for start in segments.indices {
                    var flowing = states
                    for segment in segments[start...] {
                        let part = run(segment, flowing)
                        out.formUnion(part.breaks); flow.continues.formUnion(part.continues); flow.absorbExits(of: part)
                        flowing = part.normal
                    }
                    out.formUnion(flowing)
                }
                states = out
            case .exit(let value, let line):
                for state in states { leave(state, value: value, line: line) }
                states = []
            case .jump(let label):
                flow.jumps[label, default: []].formUnion(states)
                states = []
            case .label:
                break
            case .breakLoop:
                flow.breaks.formUnion(states); states = []
            case .continueLoop:
                flow.continues.formUnion(states); states = []
            }
        }
        flow.normal = states
        return flow
    }

    /// Paths that carry a failure forget it (handled, or — `beforeAnyFree` — a path that allocates
    /// DMA memory after the failed stop and before freeing any: it sets the hardware up, and what
    /// it frees later unwinds that setup).
    private static func droppingFailures(_ states: Set<PathState>, beforeAnyFree: Bool = false) -> Set<PathState> {
        Set(states.map { state in
            guard state.origin != nil, !beforeAnyFree || state.pendingFree == nil else { return state }
            return PathState(assumed: state.assumed)
        })
    }

    /// A wait's arguments (a poll macro's text) carry the value last written: the bits a command set.
    private static func awaitsWritten(_ value: String, texts: [String], macro: Bool) -> Bool {
        // A plain variable says nothing about which bits were written.
        guard !value.isEmpty, value.contains(where: { !$0.isLowercase && $0.isLetter }) else { return false }
        return texts.contains { $0 == value || (macro && $0.contains(value)) }
    }

    /// Paths that have not failed yet now carry `written` as their last register write.
    private static func setting(_ written: LastWrite, on states: Set<PathState>) -> Set<PathState> {
        Set(states.map { state in
            guard state.origin == nil else { return state }
            var state = state
            state.lastWrite = written
            return state
        })
    }

    /// A callee that drops a failure itself (depth 1), or wraps one that does (depth 2).
    private func hiddenFailure(of callee: String) -> (DmaFailure, Int)? {
        if let failure = lookup(swallows, callee, from: current) { return (failure, 1) }
        if Self.maxHiddenDepth >= 2, let failure = lookup(hides, callee, from: current) { return (failure, 2) }
        return nil
    }

    private func passFree(line: Int, callee: String, chain: DmaChain) -> Int {
        if let existing = passedFrees.firstIndex(where: { $0.line == line && $0.callee == callee }) { return existing }
        passedFrees.append((line, callee, chain))
        return passedFrees.count - 1
    }

    /// One finding per dropped failure, at the first free it reaches.
    /// One finding per dropped failure, at the release that matches it best (see `pairing`); the
    /// other releases its paths pass are kept as further evidence, ranked after it.
    private func record(_ failure: Int, frees: [Int], returnsFailure: Bool) {
        let origin = origins[failure]
        let side = DmaSide.ofDisable(origin, vocabulary)
        var candidates = frees
        if let existing = found[failure] { candidates = existing.candidates + candidates.filter { !existing.candidates.contains($0) } }
        // Best first; among equals, the first in source order.
        let ranked = candidates.sorted { a, b in
            let sa = pairing(passedFrees[a].chain, side), sb = pairing(passedFrees[b].chain, side)
            if sa != sb { return sa > sb }
            let fa = passedFrees[a], fb = passedFrees[b]
            return fa.line != fb.line ? fa.line < fb.line : fa.callee != fb.callee ? fa.callee < fb.callee : fa.chain.precedes(fb.chain)
        }
        let best = passedFrees[ranked[0]]
        let others = ranked.dropFirst().map { passedFrees[$0] }.filter { $0.line != best.line || $0.callee != best.callee }
        found[failure] = DmaFindingRecord(body: bodies[current], origin: origin, freeLine: best.line, freeCallee: best.callee,
                                          freeChain: best.chain, returnsFailure: returnsFailure || (found[failure]?.returnsFailure ?? false),
                                          disableSide: side, freeSide: DmaSide.ofFree(best.chain, vocabulary),
                                          otherFrees: others.map { ($0.line, $0.callee, $0.chain) }, candidates: ranked)
    }

    /// How well a release matches the failed disable: the same direction by the names on both
    /// chains (a name may only rank, never decide a finding) weighs most, then what the AST says
    /// of the memory — one the device writes into (an Rx buffer: `DMA_FROM_DEVICE`, a page pool)
    /// is what a still-running engine corrupts; one it only reads (`DMA_TO_DEVICE`) is not.
    private func pairing(_ chain: DmaChain, _ side: DmaSide?) -> Int {
        var score = chain.access.rank
        if let side, let freeSide = DmaSide.ofFree(chain, vocabulary) { score += freeSide == side ? 4 : -4 }
        return score
    }

    private func summarise(_ table: inout [Int: DmaFailure], _ failure: DmaFailure) {
        table[current] = table[current].map { $0.merged(with: failure) } ?? failure
    }

    /// A path leaves the function: does it pass the failure on, or drop it?
    private func leave(_ state: PathState, value: DmaReturnValue, line: Int) {
        guard let failure = state.origin else { return }
        let origin = origins[failure], body = bodies[current]
        var propagated = false
        switch value {
        case .error: propagated = true
        case .variable(let name): propagated = state.variables.contains(name)
        default: break
        }
        // A failure dropped inside a callee cannot be what this function returns.
        if origin.kind == .hidden { propagated = false }
        if let free = state.pendingFree, origin.evidenced {
            if !propagated {
                // Freed while the hardware may still be running, and nobody above is told.
                record(failure, frees: state.pendingFrees, returnsFailure: false)
                return
            }
            // Freed, then the failure of a request known to be a disable is returned: the caller
            // cannot take the memory back (a failure of unknown direction may be an open path unwinding).
            if origin.confirmed { record(failure, frees: state.pendingFrees, returnsFailure: true) }
        }
        let freed = state.pendingFree != nil
        // Registers in the form a merge gives them: merging a summary with itself changes nothing.
        func summary(_ chain: DmaChain) -> DmaFailure {
            DmaFailure(chain: chain, requires: state.assumed, direction: origin.direction.intersection(state.assumed.keys),
                       confirmed: origin.confirmed, evidenced: origin.evidenced, registers: DmaRegisters.either(origin.registers, origin.registers),
                       commanded: origin.commanded)
        }
        switch origin.kind {
        case .poll:
            guard propagated else { return }
            summarise(&mayFail, summary(DmaChain(
                evidence: origin.chain.evidence + [evidence(body, line, "\(body.name)() returns an error when the poll times out")],
                path: origin.chain.path)))
        case .observable where propagated:
            summarise(&mayFail, summary(DmaChain(
                evidence: origin.chain.evidence + [evidence(body, origin.line, "\(body.name)() passes on the failure of \(origin.callee)()")],
                path: [body.name] + origin.chain.path)))
        case .observable:
            guard !freed else { return }
            summarise(&swallows, summary(DmaChain(
                evidence: origin.chain.evidence + [evidence(body, origin.line, "\(body.name)() does not act on the failure of \(origin.callee)() and returns normally")],
                path: [body.name] + origin.chain.path)))
        case .hidden:
            // Only the function that drops the failure, and a wrapper that calls it and returns
            // normally without freeing, hide it from their callers; further up, each level adds
            // distance and reset paths.
            guard !freed, origin.depth < Self.maxHiddenDepth else { return }
            summarise(&hides, summary(DmaChain(
                evidence: origin.chain.evidence + [evidence(body, origin.line, "\(body.name)() calls \(origin.callee)(), which drops the failure, and returns normally")],
                path: [body.name] + origin.chain.path)))
        }
    }
}
