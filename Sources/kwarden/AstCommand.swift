import ArgumentParser
import Foundation
import ClangKit
import KwardenCore
import KwardenRules
import RuleKit

/// Prints the tree the rules see for each function of a file: for rule authors and bug reports.
struct AstCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ast", abstract: "Show the AST kwarden's rules see for the functions of a file.")

    @Argument(help: "A .c file.") var file: String
    @Option(help: "Only this function.") var function: String?
    @Flag(name: .customLong("flags"), help: "Print the compiler arguments used for the file, and stop.") var flagsOnly = false
    @OptionGroup var scan: ScanOptionGroup

    func run() throws {
        let path = URL(fileURLWithPath: file).standardizedFileURL.path
        let setups = try CompileSetupProvider(kernelRoot: KernelTree.root(containing: path), compileCommands: scan.compileCommands,
                                              arch: scan.arch, extraArguments: scan.extraArguments)
        let setup = try setups.setup(for: path)
        if flagsOnly {
            print(setup.arguments.joined(separator: "\n"))
            for file in setup.unsavedFiles { print("# in memory: \(file.path)") }
            return
        }
        // On a large stack, as in a scan: deeply nested code recurses deeply.
        try LargeStack.run {
            Result {
                let unit = try ClangIndex().parse(file: path, arguments: setup.arguments, unsavedFiles: setup.unsavedFiles)
                for diagnostic in unit.diagnostics where diagnostic.severity.rawValue >= Diagnostic.Severity.error.rawValue {
                    print("error: \(diagnostic.position): \(diagnostic.message)")
                }
                let context = FileContext(path: path, unit: unit)
                for definition in context.functions where function == nil || definition.name == function {
                    print("function \(definition.name)")
                    dump(definition.declaration, depth: 1)
                }
                for cut in context.tooDeep where function == nil || cut.function == function {
                    print("function \(cut.function): \(cut.at): \(cut.message)")
                }
            }
        }.get()
    }

    private func dump(_ node: Node, depth: Int) {
        var line = String(repeating: "  ", count: depth) + "\(node.kind)"
        if let op = node.operatorSpelling { line += " '\(op)'" }
        if !node.spelling.isEmpty { line += " \(node.spelling)" }
        if node.kind.isExpression { line += " : \(node.type.spelling)" }
        line += " @\(node.position.line):\(node.position.column)"
        print(line)
        for child in node.children { dump(child, depth: depth + 1) }
    }
}
