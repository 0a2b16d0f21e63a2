import Foundation
import ClangKit
import RuleKit

/// Per file, from the AST: the abstract body of every function (and of header helpers that
/// free DMA memory or poll).
extension DmaFreeAfterFailedDisable {
    public func extract(_ context: FileContext, _ request: ExtractRequest<Question>) -> [DmaFunctionBody] {
        let pass = request.questions.map(\.pass).max() ?? 1
        let builder = DmaBodyBuilder(context: context, vocabulary: vocabulary)
        let headerNames = vocabulary.frees.union(vocabulary.pollMacros)
        let own = context.functions.compactMap { builder.body(of: $0, pass: pass) }
        // A shared header's helpers read alike in every file parsed with those headers.
        let shared = context.sharedHeaderFacts(mentioning: headerNames, key: id + "|" + vocabulary.identity + "|" + String(pass)) { definition in
            (builder.body(of: definition, pass: pass), builder.consultedCallees, builder.readFileFacts)
        }
        return own + shared + context.unsharedHeaderFunctions(mentioning: headerNames).compactMap { builder.body(of: $0, pass: pass) }
    }
}
