import Foundation
import RuleKit

/// wildcard-packet-type
///
/// Finds a `struct packet_type` that belongs to one instance (embedded in a per-device or
/// per-port structure, or allocated) and is registered with `dev_add_pack()` while its `.dev`
/// is NULL — assigned NULL, never assigned where the other fields are filled, or left out of a
/// designated initializer — and whose handler (`.func`) reaches the instance (container_of() on
/// the packet_type, or its private pointer) without first checking that the receiving device
/// belongs to it. Such a handler receives that EtherType from every device in the namespace and
/// works on instance state that was never set up for them.
/// File-scope protocol handlers are left alone: receiving from every device is their purpose.
/// Registration, field stores and handler may be in different files: each file contributes
/// summaries, the judge joins them by the packet_type's field ("record.member") and handler name.
/// Confidence: medium (the handler may check the device in a way the rule does not see, e.g.
/// in a callee).
public struct WildcardPacketType: Rule {
    public let metadata: RuleMetadata
    let registerFunctions: Set<String>
    let allocators: Set<String>
    let instanceMacros: Set<String>
    let instanceFields: Set<String>
    let noreturnFunctions: Set<String>

    public init(metadata: RuleMetadata) {
        self.metadata = metadata
        registerFunctions = metadata.names("register_functions")
        allocators = metadata.names("allocators")
        instanceMacros = metadata.names("instance_macros")
        instanceFields = metadata.names("instance_fields")
        noreturnFunctions = metadata.names("noreturn_functions")
    }

    public func preselect(_ source: SourceText) -> Bool { metadataPreselect(source) }

    // MARK: Summaries

    /// What one registration site knows about its packet_type.
    struct Registration: Codable, Hashable, Sendable {
        var key: String
        /// The key names a local allocation: only this function's stores count.
        var isLocal: Bool
        var argument: String
        /// "null", "set", "unset" (fields filled but not .dev) or "unknown" (nothing filled here).
        var devState: String
        var devLine: Int?
        var devNote: String?
        var handler: String?
    }

    /// A store into a field of a packet_type reached through an instance's member ("record.member").
    struct FieldStore: Codable, Hashable, Sendable {
        var field: String
        var isNull: Bool
        var handler: String?
    }

    /// A function with a packet_type handler's signature that reaches its instance.
    struct Handler: Codable, Hashable, Sendable {
        var checked: Bool
        var useLine: Int
        var use: String
        var isStatic: Bool
    }

    /// What one file says about packet_types: a registration, a store into a packet_type reached
    /// through an instance member, or a handler; `key` joins them ("record.member" or the handler's name).
    public struct Summary: Codable, Hashable, Sendable {
        public enum Kind: String, Codable, Sendable { case registration, fieldStore = "field-store", handler }
        var kind: Kind
        var key: String
        var file: String
        var line: Int
        var function: String
        var registration: Registration?
        var store: FieldStore?
        var handler: Handler?

        /// The payload's canonical text: orders summaries of one place and kind.
        var detail: String {
            let data = registration.map(SummaryCoding.encode) ?? store.map(SummaryCoding.encode) ?? handler.map(SummaryCoding.encode) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// A handler or an instance member whose stores and handler live in other files.
    public struct Question: RuleQuestion {
        let name: String
        public var needles: [String] { [name] }
        public var topic: String? { nil }
    }
}
