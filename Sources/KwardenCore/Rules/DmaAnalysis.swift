import Foundation

/// A chain of steps through the call graph, with a place per step: how a property of a function
/// came about (where the disable was requested, how its failure travelled, where DMA memory is freed).
struct DmaChain: Hashable {
    var evidence: [Evidence]
    /// Function names from the function itself down to the API that does the work.
    var path: [String]
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
}

/// A dropped failure followed by a DMA release on one path of a function.
struct DmaFindingRecord {
    var body: DmaFunctionBody
    var origin: DmaOrigin
    var freeLine: Int
    var freeCallee: String
    var freeChain: DmaChain
}

/// The three summaries (may fail to disable, swallows the failure, frees DMA memory), computed to a
/// fixpoint over the call graph of every function body gathered across the tree, and the findings.
final class DmaAnalysis {
    let bodies: [DmaFunctionBody]
    let vocabulary: DmaVocabulary
    private let byName: [String: [Int]]
    private(set) var mayFail: [Int: DmaChain] = [:]
    private(set) var swallows: [Int: DmaChain] = [:]
    private(set) var frees: [Int: DmaChain] = [:]
    private(set) var findings: [DmaFindingRecord] = []

    init(bodies: [DmaFunctionBody], vocabulary: DmaVocabulary) {
        // A header's inline function is seen by every unit that includes it: keep one.
        var seen = Set<String>()
        self.bodies = bodies.filter { seen.insert("\($0.name)@\($0.file):\($0.line)").inserted }
        self.vocabulary = vocabulary
        var byName: [String: [Int]] = [:]
        for (index, body) in self.bodies.enumerated() { byName[body.name, default: []].append(index) }
        self.byName = byName
    }

    /// Decodes the rule's facts.
    static func bodies(from facts: [Fact]) -> [DmaFunctionBody] {
        let decoder = JSONDecoder()
        return facts.filter { $0.kind == DmaFreeAfterFailedDisable.factKind }.compactMap {
            try? decoder.decode(DmaFunctionBody.self, from: Data($0.detail.utf8))
        }
    }

    func summary(named name: String) -> (mayFail: Bool, swallows: Bool, frees: Bool) {
        let indices = byName[name] ?? []
        return (indices.contains { mayFail[$0] != nil }, indices.contains { swallows[$0] != nil }, indices.contains { frees[$0] != nil })
    }

    /// Definitions a call from `caller` can reach: the caller's own file first (static helpers),
    /// else definitions visible from other files (not static, or inline in a header).
    private func definitions(of callee: String, from caller: Int) -> [Int] {
        guard let all = byName[callee] else { return [] }
        let file = bodies[caller].file
        let local = all.filter { bodies[$0].file == file }
        if !local.isEmpty { return local }
        return all.filter { !bodies[$0].isStatic || bodies[$0].file.hasSuffix(".h") }
    }

    private func lookup(_ table: [Int: DmaChain], _ callee: String, from caller: Int) -> DmaChain? {
        definitions(of: callee, from: caller).lazy.compactMap { table[$0] }.first
    }

    private func evidence(_ body: DmaFunctionBody, _ line: Int, _ message: String) -> Evidence {
        Evidence(file: body.file, line: line, function: body.name, message: message)
    }

    func run(maxRounds: Int = 16) {
        computeFrees(maxRounds: maxRounds)
        var round = 0
        while round < maxRounds {
            round += 1
            let before = (mayFail.count, swallows.count)
            findings = []
            for index in bodies.indices where hasFailingStep(bodies[index].steps, caller: index) {
                evaluate(index)
            }
            if (mayFail.count, swallows.count) == before { break }
        }
    }

    // MARK: Frees DMA memory (flow-insensitive)

    private func computeFrees(maxRounds: Int) {
        for _ in 0..<maxRounds {
            var changed = false
            for index in bodies.indices where frees[index] == nil {
                if let chain = firstFree(bodies[index].steps, caller: index) { frees[index] = chain; changed = true }
            }
            if !changed { break }
        }
    }

    private func firstFree(_ steps: [DmaStep], caller: Int) -> DmaChain? {
        let body = bodies[caller]
        for step in steps {
            switch step {
            case .free(let api, let line):
                return DmaChain(evidence: [evidence(body, line, "\(body.name)() frees DMA memory with \(api)()")], path: [body.name, api])
            case .call(let callee, let line, _):
                if let inner = lookup(frees, callee, from: caller) {
                    return DmaChain(evidence: [evidence(body, line, "\(body.name)() calls \(callee)(), which frees DMA memory")] + inner.evidence,
                                    path: [body.name] + inner.path)
                }
            case .branch(_, let then, let otherwise):
                // A free in an arm that then leaves the function is error unwinding (of an allocation,
                // say), not a release of a running ring.
                for arm in [then, otherwise] where !leaves(arm) {
                    if let chain = firstFree(arm, caller: caller) { return chain }
                }
            case .loop(let inner):
                if let chain = firstFree(inner, caller: caller) { return chain }
            case .cases(let segments, _):
                for segment in segments { if let chain = firstFree(segment, caller: caller) { return chain } }
            default:
                break
            }
        }
        return nil
    }

    /// Functions called by bodies gathered in `pass` that may fail or drop a failure, which no
    /// gathered body defines: the next pass looks for their definitions.
    func unresolvedCallees(ofPass pass: Int) -> Set<String> {
        var result = Set<String>()
        func collect(_ steps: [DmaStep]) {
            for step in steps {
                switch step {
                case .call(let callee, _, _) where byName[callee] == nil && !vocabulary.pollMacros.contains(callee): result.insert(callee)
                case .branch(_, let then, let otherwise): collect(then); collect(otherwise)
                case .loop(let inner): collect(inner)
                case .cases(let segments, _): segments.forEach(collect)
                default: break
                }
            }
        }
        for index in bodies.indices where bodies[index].pass == pass && hasFailingStep(bodies[index].steps, caller: index) {
            collect(bodies[index].steps)
        }
        return result
    }

    private func leaves(_ steps: [DmaStep]) -> Bool {
        switch steps.last {
        case .exit?, .jump?: return true
        default: return false
        }
    }

    private func hasFailingStep(_ steps: [DmaStep], caller: Int) -> Bool {
        steps.contains { step in
            switch step {
            case .poll: return true
            case .call(let callee, _, _):
                return vocabulary.pollMacros.contains(callee) || lookup(mayFail, callee, from: caller) != nil
                    || lookup(swallows, callee, from: caller) != nil
            case .branch(_, let then, let otherwise): return hasFailingStep(then, caller: caller) || hasFailingStep(otherwise, caller: caller)
            case .loop(let inner): return hasFailingStep(inner, caller: caller)
            case .cases(let segments, _): return segments.contains { hasFailingStep($0, caller: caller) }
            default: return false
            }
        }
    }

    // MARK: Paths through one function

    private struct PathState: Hashable {
        /// Index into `origins` of the failure this path carries (nil: nothing failed).
        var origin: Int?
        /// Variables holding the failure's error value.
        var variables: Set<String> = []
        /// Index into `frees` of the first DMA release this failing path passed: it becomes a
        /// finding when the path leaves the function without passing the failure on.
        var pendingFree: Int?
    }

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
    private var origins: [DmaOrigin] = []
    private var originIndex: [String: Int] = [:]
    private var found: [Int: DmaFindingRecord] = [:]
    private var passedFrees: [(line: Int, callee: String, chain: DmaChain)] = []

    private func evaluate(_ index: Int) {
        current = index
        origins = []
        originIndex = [:]
        found = [:]
        passedFrees = []
        let steps = bodies[index].steps
        var labels: [String: Int] = [:]
        for (position, step) in steps.enumerated() { if case .label(let name) = step { labels[name] = position } }

        var flow = run(steps, [PathState()])
        for state in flow.normal.union(flow.breaks).union(flow.continues) { leave(state, value: .nothing, line: bodies[index].line) }
        var visited: [String: Set<PathState>] = [:]
        while let (label, states) = flow.jumps.first {
            flow.jumps[label] = nil
            guard let position = labels[label] else { continue }
            let fresh = states.subtracting(visited[label] ?? [])
            guard !fresh.isEmpty else { continue }
            visited[label, default: []].formUnion(fresh)
            let resumed = run(Array(steps[(position + 1)...]), fresh)
            for state in resumed.normal.union(resumed.breaks).union(resumed.continues) { leave(state, value: .nothing, line: bodies[index].line) }
            flow.absorbExits(of: resumed)
        }
        findings += found.keys.sorted().map { found[$0]! }
    }

    private func origin(_ kind: DmaOrigin.Kind, callee: String, line: Int, chain: DmaChain) -> Int {
        let key = "\(callee):\(line)"
        if let existing = originIndex[key] { return existing }
        origins.append(DmaOrigin(kind: kind, callee: callee, line: line, chain: chain))
        originIndex[key] = origins.count - 1
        return origins.count - 1
    }

    private func run(_ steps: [DmaStep], _ input: Set<PathState>) -> Flow {
        var flow = Flow()
        var states = input
        let body = bodies[current]
        for step in steps {
            if states.isEmpty, case .label = step {} else if states.isEmpty { continue }
            switch step {
            case .call(let callee, let line, let target):
                var next = Set<PathState>()
                let freeChain = lookup(frees, callee, from: current)
                for var state in states {
                    if let target { state.variables.remove(target) }
                    if let failure = state.origin {
                        if let freeChain, origins[failure].kind != .poll, state.pendingFree == nil {
                            state.pendingFree = passFree(line: line, callee: callee, chain: DmaChain(
                                evidence: [evidence(body, line, "\(body.name)() calls \(callee)(), which frees DMA memory")] + freeChain.evidence,
                                path: [body.name] + freeChain.path))
                        }
                        next.insert(state)
                        continue
                    }
                    next.insert(state)
                    if vocabulary.pollMacros.contains(callee) {
                        let chain = DmaChain(evidence: [evidence(body, line, "\(body.name)() polls the hardware with \(callee)(), which can time out")],
                                             path: [callee])
                        next.insert(PathState(origin: origin(.observable, callee: callee, line: line, chain: chain), variables: Set(target.map { [$0] } ?? [])))
                    } else if let chain = lookup(mayFail, callee, from: current) {
                        next.insert(PathState(origin: origin(.observable, callee: callee, line: line, chain: chain), variables: Set(target.map { [$0] } ?? [])))
                    } else if let chain = lookup(swallows, callee, from: current) {
                        next.insert(PathState(origin: origin(.hidden, callee: callee, line: line, chain: chain)))
                    }
                }
                states = next
            case .poll(let line):
                let chain = DmaChain(evidence: [evidence(body, line, "\(body.name)() polls a hardware register until it changes, with a bounded number of tries")],
                                     path: [body.name])
                let failing = PathState(origin: origin(.poll, callee: "", line: line, chain: chain))
                states.formUnion(states.contains { $0.origin == nil } ? [failing] : [])
            case .free(let api, let line):
                states = Set(states.map { state in
                    guard let failure = state.origin, origins[failure].kind != .poll, state.pendingFree == nil else { return state }
                    var state = state
                    state.pendingFree = passFree(line: line, callee: api, chain: DmaChain(
                        evidence: [evidence(body, line, "\(body.name)() frees DMA memory with \(api)()")], path: [body.name, api]))
                    return state
                })
            case .recovery:
                // The failure is handed to a reset or recovery path: handled.
                states = Set(states.map { $0.origin == nil ? $0 : PathState() })
            case .assign(let variable, let isError):
                states = Set(states.map { state in
                    var state = state
                    if isError && state.origin != nil { state.variables.insert(variable) } else { state.variables.remove(variable) }
                    return state
                })
            case .branch(let condition, let then, let otherwise):
                var thenInput = Set<PathState>(), elseInput = Set<PathState>()
                for state in states {
                    if state.origin != nil, let decided = condition.polarity.first(where: { state.variables.contains($0.key) })?.value {
                        if decided { thenInput.insert(state) } else { elseInput.insert(state) }
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
                // Zero, one or two iterations: enough for a failure in one iteration to meet a free in the next.
                let first = run(inner, states)
                let again = first.normal.union(first.continues)
                let second = run(inner, again)
                flow.absorbExits(of: first); flow.absorbExits(of: second)
                states = states.union(first.breaks).union(again).union(second.breaks).union(second.normal).union(second.continues)
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

    private func passFree(line: Int, callee: String, chain: DmaChain) -> Int {
        if let existing = passedFrees.firstIndex(where: { $0.line == line && $0.callee == callee }) { return existing }
        passedFrees.append((line, callee, chain))
        return passedFrees.count - 1
    }

    /// One finding per dropped failure, at the first free it reaches.
    private func record(_ failure: Int, free: Int) {
        let passed = passedFrees[free]
        if let existing = found[failure], existing.freeLine <= passed.line { return }
        found[failure] = DmaFindingRecord(body: bodies[current], origin: origins[failure], freeLine: passed.line,
                                          freeCallee: passed.callee, freeChain: passed.chain)
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
        if let free = state.pendingFree, !propagated {
            // Freed while the hardware may still be running, and nobody above is told.
            record(failure, free: free)
            return
        }
        let freed = state.pendingFree != nil
        switch origin.kind {
        case .poll:
            guard propagated, mayFail[current] == nil else { return }
            mayFail[current] = DmaChain(evidence: origin.chain.evidence + [evidence(body, line, "\(body.name)() returns an error when the poll times out")],
                                        path: origin.chain.path)
        case .observable where propagated:
            guard mayFail[current] == nil else { return }
            mayFail[current] = DmaChain(evidence: origin.chain.evidence + [evidence(body, origin.line, "\(body.name)() passes on the failure of \(origin.callee)()")],
                                        path: [body.name] + origin.chain.path)
        case .observable:
            guard swallows[current] == nil, !freed else { return }
            swallows[current] = DmaChain(evidence: origin.chain.evidence + [evidence(body, origin.line, "\(body.name)() does not act on the failure of \(origin.callee)() and returns normally")],
                                         path: [body.name] + origin.chain.path)
        case .hidden:
            // Only the function that drops the failure itself counts as swallowing it: its callers are
            // judged, their callers are not (each further level adds distance and reset paths).
            break
        }
    }
}
