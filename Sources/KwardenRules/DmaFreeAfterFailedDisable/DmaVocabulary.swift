import Foundation
import RuleKit

/// The API names the rule recognises, from the rule's lists.
struct DmaVocabulary {
    let frees: Set<String>
    let pollMacros: Set<String>
    let registerReads: Set<String>
    let delays: Set<String>
    let errorCodes: Set<String>
    let recovery: Set<String>
    let allocations: Set<String>
    let logFunctions: Set<String>
    /// Register write APIs, with the position of the value they store.
    let registerWrites: [String: Int]
    /// Register APIs that always clear the bits they are given.
    let registerClears: Set<String>
    /// Words (between underscores) that name a stop request in a written value.
    let disableWords: Set<String>
    /// Words that name an enable or running state bit (`TX_ENABLE`, `DMA_RUN`).
    let enableWords: Set<String>
    /// Words that name a reset command in a written value (`SOFT_RESET`, `RX_SWR`).
    let resetWords: Set<String>
    /// Words of a function or register name that mark a receive or a transmit queue: they pair a
    /// failed disable with the release of the same direction (ranking only).
    let rxWords: Set<String>
    let txWords: Set<String>

    /// Tells vocabularies apart within a process (what is made of a shared header's helper is
    /// kept per vocabulary).
    let identity: String

    init(_ metadata: RuleMetadata) {
        identity = metadata.listsIdentity
        frees = metadata.names("dma_free_functions")
        pollMacros = metadata.names("poll_macros")
        registerReads = metadata.names("register_reads")
        delays = metadata.names("poll_delays")
        errorCodes = metadata.names("error_codes")
        recovery = metadata.names("recovery_functions")
        allocations = metadata.names("dma_alloc_functions")
        logFunctions = metadata.names("log_functions")
        registerWrites = metadata.positions("register_writes").compactMapValues { $0 }
        registerClears = metadata.names("register_clears")
        disableWords = Set(metadata.list("disable_words").map { $0.uppercased() })
        enableWords = Set(metadata.list("enable_words").map { $0.uppercased() })
        resetWords = Set(metadata.list("reset_words").map { $0.uppercased() })
        rxWords = Set(metadata.list("rx_words").map { $0.uppercased() })
        txWords = Set(metadata.list("tx_words").map { $0.uppercased() })
        preselectNames = IdentifierMatcher(frees.union(pollMacros).union(delays).union(errorCodes))
    }

    /// Identifiers a file must contain to hold a disable request or a DMA release.
    let preselectNames: IdentifierMatcher
}
