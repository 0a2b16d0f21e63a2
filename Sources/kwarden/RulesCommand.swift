import ArgumentParser
import Foundation
import KwardenCore
import KwardenRules
import RuleKit

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "List kwarden's rules.")

    @Option(name: .customLong("rules-dir"), help: "Directory holding the rules' metadata.")
    var rulesDir: String?

    func run() throws {
        let rules = try RuleRegistry.load(rulesDirectory: rulesDir)
        let width = rules.map(\.id.count).max() ?? 0
        for rule in rules {
            let padded = rule.id.padding(toLength: width, withPad: " ", startingAt: 0)
            print("\(padded)  \(rule.metadata.severity.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0))  \(rule.metadata.title)")
        }
    }
}

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explain", abstract: "Describe one rule: what it finds, why it matters, examples.")

    @Argument(help: "Rule id.") var id: String
    @Option(name: .customLong("rules-dir"), help: "Directory holding the rules' metadata.")
    var rulesDir: String?

    @Flag(name: .customLong("review"), help: "Also print what the rule found on a real kernel tree, finding by finding.")
    var review = false

    func run() throws {
        let rule: AnyRule
        do { rule = try RuleRegistry.load(only: [id], rulesDirectory: rulesDir)[0] } catch {
            throw ValidationError("\(error)")
        }
        let m = rule.metadata
        var out = "\(m.id): \(m.title)\nseverity: \(m.severity.rawValue), confidence: \(m.confidence.rawValue)\n\n"
        out += "What it finds\n" + indent(m.finds) + "\nWhy it matters\n" + indent(m.why)
        if let incident = m.incident { out += "\nIncident\n" + indent(incident) }
        if let references = m.references, !references.isEmpty { out += "\nReferences\n" + references.map { "  - \($0)\n" }.joined() }
        if let lists = m.lists, !lists.isEmpty {
            out += "\nKernel API names it knows (extend in .kwarden.yaml or rules/\(m.id).yaml)\n"
            for (name, values) in lists.sorted(by: { $0.key < $1.key }) { out += "  \(name): \(values.joined(separator: ", "))\n" }
        }
        if let examples = m.examples {
            for example in examples.triggering { out += "\nTriggers:\n" + indent(example) }
            for example in examples.nonTriggering { out += "\nDoes not trigger:\n" + indent(example) }
        }
        if let text = m.review {
            out += review ? "\nOn a real tree\n" + indent(text) : "\nOn a real tree: `kwarden explain \(m.id) --review`\n"
        }
        print(out, terminator: "")
    }

    private func indent(_ text: String) -> String {
        text.trimmingCharacters(in: .newlines).split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") + "\n"
    }
}
