import Foundation
import RuleKit

/// rcu-publish-without-sync
///
/// Finds setup paths that publish a pointer with `rcu_assign_pointer(p->f, v)` into a field that
/// some reader uses as a mode gate — `if (rcu_access_pointer(q->f))` (or `rcu_dereference*()`,
/// directly or through a helper that returns the test) decides whether to take a lock, claim
/// ownership with cmpxchg() or otherwise serialize — and then reach their successful return
/// without a grace-period wait (`synchronize_rcu()`, `synchronize_net()`, ...). Readers that
/// tested the gate before the publish became visible are still running unserialized while the
/// setup path already reports the new mode as in force.
/// The wait is often in a caller: publishers that do not wait are followed up their call chains
/// across the tree (summaries per file, joined by the judge); each chain that reaches success without
/// a wait is reported at its outermost function, chains that wait stay silent.
/// Gate readers are gathered from every parsed unit, including static inline helpers in headers.
/// Confidence: medium (whether the serialized mode is relied on right after setup is a judgement
/// the rule does not make; it reports the missing wait).
public struct RcuPublishWithoutSync: Rule {
    public let metadata: RuleMetadata
    let publishMacros: Set<String>
    let readMacros: Set<String>
    let serializing: Set<String>
    let waits: Set<String>
    let errorValues: Set<String>
    let noreturnFunctions: Set<String>
    /// Tells these lists apart within a process (gates found in a shared header's helpers are
    /// kept per set of lists).
    let listsIdentity: String

    public init(metadata: RuleMetadata) {
        self.metadata = metadata
        publishMacros = metadata.names("publish_macros")
        readMacros = metadata.names("gate_read_macros")
        serializing = metadata.names("serializing_operations")
        waits = metadata.names("grace_period_waits")
        errorValues = metadata.names("error_value_functions")
        noreturnFunctions = metadata.names("noreturn_functions")
        listsIdentity = metadata.listsIdentity
    }

    public func preselect(_ source: SourceText) -> Bool { metadataPreselect(source) }

    // MARK: Summaries

    struct Publish: Codable, Hashable, Sendable {
        var target: String
        var waited: Bool
        var isStatic: Bool
    }

    struct Call: Codable, Hashable, Sendable {
        var waited: Bool
        var isStatic: Bool
        var calleeStatic: Bool
        var calleeFile: String
    }

    struct Gate: Codable, Hashable, Sendable {
        var operation: String
        var helper: String?
    }

    /// What one file says: a publish of a field, a call on the way up from a publisher, a function
    /// stored in a function-pointer field (`field` names it), or a gate reader of a field.
    public struct Summary: Codable, Hashable, Sendable {
        public enum Kind: String, Codable, Sendable { case publish, call, bind, gate }
        var kind: Kind
        var key: String
        var file: String
        var line: Int
        var function: String
        var publish: Publish?
        var call: Call?
        var gate: Gate?
        var field: String?
    }

    /// Readers of a published field, callers of a function that publishes without a wait, and calls
    /// through a function-pointer field ("record.field") that holds such a function.
    public enum Question: RuleQuestion {
        case field(String)
        case callee(String)
        case pointerField(String)

        public var needles: [String] { [name] }
        /// The identifier a file must name.
        var name: String {
            switch self {
            case .callee(let function): return function
            case .field(let key), .pointerField(let key): return key.split(separator: ".").last.map(String.init) ?? key
            }
        }
        /// Each asked field, callee and function-pointer field is its own topic, so that in a
        /// whole-tree scan each gets the files nearest to where it was seen rather than the first
        /// files of the tree. (A file may answer a question when it names its identifier, and a
        /// function-pointer field's when it uses the name as a member: see `mayAnswer`.)
        public var topic: String? {
            switch self {
            case .field(let key): return "field:" + key
            case .callee(let function): return "callee:" + function
            case .pointerField(let key): return "fnfield:" + key
            }
        }
    }

    /// Key of a call summary for a call through a function-pointer field.
    static let indirectPrefix = "field:"

    /// A file may answer a question when it names its identifier. For a function-pointer field
    /// it must also use the name as a member other than by storing into it: a call through the
    /// field is written `ops->name(…)`, `(*ops->name)(…)` or `ops->name` handed to a macro, while
    /// the files that only bind a function to it (`.name = fn`) hold no call. Fields of common
    /// names (`probe`, `resume`) are named by thousands of files, most of them drivers binding
    /// their own functions.
    public func mayAnswer(_ questions: [Question], _ source: SourceText, naming named: Set<String>) -> [Question: Int] {
        var answered: [Question: Int] = [:]
        var usedMembers: Set<String>?
        for question in questions where named.contains(question.name) {
            if case .pointerField = question {
                // One pass over the text for every field asked about: a tree's candidates are
                // thousands of files, each asked about dozens of fields.
                let used = usedMembers ?? Self.membersUsed(among: Set(questions.compactMap { question in
                    if case .pointerField = question, named.contains(question.name) { return question.name }
                    return nil
                }), in: source)
                usedMembers = used
                if !used.contains(question.name) { continue }
            }
            answered[question] = 0
        }
        return answered
    }

    /// Of `names`, those that occur as a whole identifier after `->` or `.` and are not assigned
    /// there (`=` after it, but not `==`), in one pass over the text.
    static func membersUsed(among names: Set<String>, in source: SourceText) -> Set<String> {
        let lengths = names.map(\.utf8.count)
        guard let longest = lengths.max() else { return [] }
        // Only a run of identifier bytes as long as a name, and starting as one does, is looked up.
        var lengthAsked = [Bool](repeating: false, count: longest + 1), firstAsked = [Bool](repeating: false, count: 256)
        for name in names where !name.isEmpty {
            lengthAsked[name.utf8.count] = true
            firstAsked[Int(name.utf8.first!)] = true
        }
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d }
        var used = Set<String>()
        source.bytes.withUnsafeBufferPointer { bytes in
            let count = bytes.count
            var index = 0
            // From each `.` and `->` to the identifier after it (past blanks): a member's name.
            while index < count, used.count < names.count {
                let byte = bytes[index]
                index += 1
                guard byte == UInt8(ascii: ".") || (byte == UInt8(ascii: ">") && index >= 2 && bytes[index - 2] == UInt8(ascii: "-")) else { continue }
                var start = index
                while start < count, isSpace(bytes[start]) { start += 1 }
                var end = start
                while end < count, SourceText.isIdentifierByte(bytes[end]) { end += 1 }
                guard end > start, end - start <= longest, lengthAsked[end - start], firstAsked[Int(bytes[start])] else { continue }
                let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                guard names.contains(name), !used.contains(name) else { continue }
                var after = end
                while after < count, isSpace(bytes[after]) { after += 1 }
                let assigned = after < count && bytes[after] == UInt8(ascii: "=") && !(after + 1 < count && bytes[after + 1] == UInt8(ascii: "="))
                if !assigned { used.insert(name) }
            }
        }
        return used
    }
}
