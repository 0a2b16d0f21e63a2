import Foundation

/// What a rule that follows chains across functions asks of the textual call graph: which calls
/// mark a body, and the two marks a starting point of a finding must reach.
///
/// A function is a *candidate* when its own body or its calls reach `first` and `second` through
/// different routes (its own body counts as one route; one callee that reaches both is that
/// callee's business). The files kept are those defining a candidate, and those defining a
/// function on a route from a candidate to either mark: the whole chain is parsed in one pass.
public struct CallGraphCriteria: Sendable {
    public let first: CallMarks
    public let second: CallMarks
    /// A body calling one of these names carries its marks.
    public let calls: [String: CallMarks]
    /// A body holding a loop and calling one of these names carries its marks…
    public let callsWithLoop: [String: CallMarks]
    /// …if it also calls one of these, directly or through a helper or macro (two deep) that
    /// does (a poll loop reads a register, perhaps through the driver's read wrapper); nil: no
    /// such condition.
    public let loopAlsoCalls: Set<String>?

    public init(first: CallMarks, second: CallMarks, calls: [String: CallMarks], callsWithLoop: [String: CallMarks] = [:],
                loopAlsoCalls: Set<String>? = nil) {
        self.first = first
        self.second = second
        self.calls = calls
        self.callsWithLoop = callsWithLoop
        self.loopAlsoCalls = loopAlsoCalls
    }
}

/// A call graph of a tree, joined by name from the files' textual outlines.
///
/// Calls resolve to the caller's own file first (static helpers, macros, ops-table members
/// initialised there), then to the tree's non-static functions and header definitions of that
/// name. A name called from more than `hubDirectories` directories is shared infrastructure
/// (locking, allocation, logging, the networking core): routes through it are not followed, or
/// nearly every function in the kernel would reach every mark. A driver's chains run through its
/// own functions; the AST of the parsed files still follows whatever they call. A header's inline
/// helper of that name still lends its own body's marks (a release wrapped for every driver), as
/// the rules read header helpers from the parsed files' headers.
public final class CallGraph {
    public static let defaultHubDirectories = 4

    private var names: [String: Int32] = [:]
    private var fileOfDefinition: [Int32] = []
    private var nameOfDefinition: [Int32] = []
    private var localOfDefinition: [Bool] = []
    private var headerOfDefinition: [Bool] = []
    private var loopOfDefinition: [Bool] = []
    private var callOffsets: [Int32] = [0]
    private var callNames: [Int32] = []
    /// Per file: its definitions by name, and its ops-table members' targets.
    private var fileDefinitions: [[Int32: [Int32]]] = []
    private var fileMembers: [[Int32: [Int32]]] = []
    private var directoryOfFile: [Int32] = []
    private var directories: [String: Int32] = [:]
    /// Per name: the directories calling it, up to one more than the hub limit.
    private var callerDirectories: [[Int32]] = []
    private let hubDirectories: Int

    public private(set) var fileCount = 0
    public var definitionCount: Int { fileOfDefinition.count }

    public init(hubDirectories: Int = CallGraph.defaultHubDirectories) {
        self.hubDirectories = hubDirectories
    }

    private func intern(_ name: String) -> Int32 {
        if let id = names[name] { return id }
        let id = Int32(names.count)
        names[name] = id
        callerDirectories.append([])
        return id
    }

    /// Adds one file's outline; returns the file's index.
    @discardableResult
    public func add(path: String, outline: CallOutline) -> Int {
        let isHeader = path.hasSuffix(".h")
        let file = Int32(fileCount)
        fileCount += 1
        let directory = (path as NSString).deletingLastPathComponent
        let directoryID: Int32
        if let known = directories[directory] { directoryID = known } else { directoryID = Int32(directories.count); directories[directory] = directoryID }
        directoryOfFile.append(directoryID)
        var own: [Int32: [Int32]] = [:]
        // A body that calls nothing can be on no chain: left out (most are constants' macros).
        for definition in outline.definitions where !definition.calls.isEmpty {
            let index = Int32(fileOfDefinition.count)
            let name = intern(definition.name)
            fileOfDefinition.append(file)
            nameOfDefinition.append(name)
            localOfDefinition.append(definition.isFileLocal)
            headerOfDefinition.append(isHeader)
            loopOfDefinition.append(definition.hasLoop)
            for call in definition.calls {
                let callee = intern(call)
                callNames.append(callee)
                // In place: a copy per call would cost more than the rest of the join.
                if callerDirectories[Int(callee)].count <= hubDirectories && !callerDirectories[Int(callee)].contains(directoryID) {
                    callerDirectories[Int(callee)].append(directoryID)
                }
            }
            callOffsets.append(Int32(callNames.count))
            own[name, default: []].append(index)
        }
        fileDefinitions.append(own)
        var members: [Int32: [Int32]] = [:]
        for (member, targets) in outline.memberTargets { members[intern(member)] = targets.map(intern) }
        fileMembers.append(members)
        return Int(file)
    }

    /// The files (indices from `add`) a rule with these criteria needs parsed. `through`: keep
    /// only the chains that run through one of these files (a change's files: the chains whose
    /// findings it can make or unmake).
    public func selectFiles(_ criteria: CallGraphCriteria, through focus: Set<Int>? = nil) -> Set<Int> {
        let count = fileOfDefinition.count
        var marking: [Int32: CallMarks] = [:], markingInLoop: [Int32: CallMarks] = [:]
        for (name, marks) in criteria.calls { if let id = names[name] { marking[id, default: []].formUnion(marks) } }
        for (name, marks) in criteria.callsWithLoop { if let id = names[name] { markingInLoop[id, default: []].formUnion(marks) } }
        // Marks of calls alone first; loop marks may need a helper's body (below).
        var marksOfDefinition = [CallMarks](repeating: [], count: count)
        var loopMarks = [CallMarks](repeating: [], count: count)
        for index in 0..<count {
            for call in callNames[Int(callOffsets[index])..<Int(callOffsets[index + 1])] {
                if let marks = marking[call] { marksOfDefinition[index].formUnion(marks) }
                if loopOfDefinition[index], let marks = markingInLoop[call] { loopMarks[index].formUnion(marks) }
            }
        }
        var global: [Int32: [Int32]] = [:]
        for index in 0..<count where !localOfDefinition[index] { global[nameOfDefinition[index], default: []].append(Int32(index)) }
        func isHub(_ name: Int32) -> Bool { callerDirectories[Int(name)].count > hubDirectories }

        // A shared header helper is only its own body: a leaf lending its marks.
        func resolveGlobal(_ name: Int32, into targets: inout Set<Int32>) {
            guard let found = global[name] else { return }
            if !isHub(name) { targets.formUnion(found); return }
            for target in found where headerOfDefinition[Int(target)] && !(marksOfDefinition[Int(target)].isEmpty && loopMarks[Int(target)].isEmpty) { targets.insert(target) }
        }
        let isLeaf = (0..<count).map { headerOfDefinition[$0] && isHub(nameOfDefinition[$0]) }

        // Edges, resolved as the compiler would for the caller's file, then across the tree.
        var edgeOffsets = [Int32](repeating: 0, count: count + 1)
        var edges: [Int32] = []
        edges.reserveCapacity(callNames.count)
        for index in 0..<count {
            let file = Int(fileOfDefinition[index])
            let own = fileDefinitions[file], members = fileMembers[file]
            var targets = Set<Int32>()
            for call in callNames[Int(callOffsets[index])..<Int(callOffsets[index + 1])] where !isLeaf[index] {
                if let local = own[call] { targets.formUnion(local); continue }
                var resolvedLocally = false
                if let viaMember = members[call] {
                    for target in viaMember {
                        if let local = own[target] { targets.formUnion(local); resolvedLocally = true }
                        else { resolveGlobal(target, into: &targets) }
                    }
                }
                if !resolvedLocally { resolveGlobal(call, into: &targets) }
            }
            targets.remove(Int32(index))
            edges.append(contentsOf: targets.sorted())
            edgeOffsets[index + 1] = Int32(edges.count)
        }
        func callees(_ index: Int) -> ArraySlice<Int32> { edges[Int(edgeOffsets[index])..<Int(edgeOffsets[index + 1])] }

        if let also = criteria.loopAlsoCalls {
            // By name, wherever defined (a driver's `rd32` macro is a hub of its own name).
            var calling = Set(also.compactMap { names[$0] })
            for _ in 0..<2 {
                var deeper = calling
                for index in 0..<count where !deeper.contains(nameOfDefinition[index])
                    && callNames[Int(callOffsets[index])..<Int(callOffsets[index + 1])].contains(where: calling.contains) {
                    deeper.insert(nameOfDefinition[index])
                }
                calling = deeper
            }
            for index in 0..<count where !loopMarks[index].isEmpty
                && callNames[Int(callOffsets[index])..<Int(callOffsets[index + 1])].contains(where: calling.contains) {
                marksOfDefinition[index].formUnion(loopMarks[index])
            }
        } else {
            for index in 0..<count { marksOfDefinition[index].formUnion(loopMarks[index]) }
        }

        // Reverse edges, to spread reachability from the marked bodies to their callers.
        var reverseCounts = [Int32](repeating: 0, count: count + 1)
        for target in edges { reverseCounts[Int(target) + 1] += 1 }
        for index in 0..<count { reverseCounts[index + 1] += reverseCounts[index] }
        var reverse = [Int32](repeating: 0, count: edges.count)
        var fill = reverseCounts
        for index in 0..<count {
            for target in callees(index) {
                reverse[Int(fill[Int(target)])] = Int32(index)
                fill[Int(target)] += 1
            }
        }
        func reaching(_ mark: CallMarks) -> [Bool] {
            var reached = marksOfDefinition.map { $0.contains(mark) }
            var queue = (0..<count).filter { reached[$0] }
            while let target = queue.popLast() {
                for caller in reverse[Int(reverseCounts[target])..<Int(reverseCounts[target + 1])] where !reached[Int(caller)] {
                    reached[Int(caller)] = true
                    queue.append(Int(caller))
                }
            }
            return reached
        }
        let reachesFirst = reaching(criteria.first), reachesSecond = reaching(criteria.second)

        var candidates: [Int] = []
        for index in 0..<count where reachesFirst[index] && reachesSecond[index] {
            let marks = marksOfDefinition[index]
            let ownFirst = marks.contains(criteria.first), ownSecond = marks.contains(criteria.second)
            if ownFirst && ownSecond { candidates.append(index); continue }
            let firstRoutes = callees(index).filter { reachesFirst[Int($0)] }
            let secondRoutes = callees(index).filter { reachesSecond[Int($0)] }
            // Two routes: the own body and a callee, or two different callees.
            let distinct = (ownFirst && !secondRoutes.isEmpty) || (ownSecond && !firstRoutes.isEmpty)
                || firstRoutes.contains { first in secondRoutes.contains { $0 != first } }
            if distinct { candidates.append(index) }
        }

        if let focus {
            // A chain runs through a focus body when the candidate is an ancestor of it along
            // bodies reaching a mark (each caller of such a body reaches that mark too).
            var above = [Bool](repeating: false, count: count)
            var queue = (0..<count).filter { focus.contains(Int(fileOfDefinition[$0])) && (reachesFirst[$0] || reachesSecond[$0]) }
            for index in queue { above[index] = true }
            while let target = queue.popLast() {
                for caller in reverse[Int(reverseCounts[target])..<Int(reverseCounts[target + 1])] where !above[Int(caller)] {
                    above[Int(caller)] = true
                    queue.append(Int(caller))
                }
            }
            candidates = candidates.filter { above[$0] }
        }

        // The chains: from each candidate down every route that reaches a mark.
        var onChain = [Bool](repeating: false, count: count)
        var queue = candidates
        for index in candidates { onChain[index] = true }
        while let index = queue.popLast() {
            for callee in callees(index) where !onChain[Int(callee)] && (reachesFirst[Int(callee)] || reachesSecond[Int(callee)]) {
                onChain[Int(callee)] = true
                queue.append(Int(callee))
            }
        }
        var files = Set<Int>()
        for index in 0..<count where onChain[index] { files.insert(Int(fileOfDefinition[index])) }
        return files
    }
}
