import Foundation
import XCTest

/// `scripts/new-rule` writes a rule's folder, metadata and corpus and registers it.
final class NewRuleTests: XCTestCase {
    func testSkeletonIsComplete() throws {
        let root = NSTemporaryDirectory() + "kwarden-new-rule-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/Sources/KwardenRules", withIntermediateDirectories: true)
        try fm.copyItem(atPath: Repository.root + "/Sources/KwardenRules/Registry.swift", toPath: root + "/Sources/KwardenRules/Registry.swift")

        let status = try run(Repository.root + "/scripts/new-rule", ["irq-free-in-napi", "--root", root])
        XCTAssertEqual(status, 0)
        for file in ["Sources/KwardenRules/IrqFreeInNapi/IrqFreeInNapi.swift", "Sources/KwardenRules/IrqFreeInNapi/IrqFreeInNapi+Extract.swift",
                     "Sources/KwardenRules/IrqFreeInNapi/IrqFreeInNapi+Judge.swift", "rules/irq-free-in-napi.yaml",
                     "corpus/irq-free-in-napi/calls.c", "corpus/irq-free-in-napi/quiet.c"] {
            XCTAssertTrue(fm.fileExists(atPath: root + "/" + file), "missing \(file)")
        }
        let registry = try String(contentsOfFile: root + "/Sources/KwardenRules/Registry.swift", encoding: .utf8)
        XCTAssertTrue(registry.contains("(\"irq-free-in-napi\", IrqFreeInNapi.self),"), registry)
        let judge = try String(contentsOfFile: root + "/Sources/KwardenRules/IrqFreeInNapi/IrqFreeInNapi+Judge.swift", encoding: .utf8)
        XCTAssertFalse(judge.contains("import ClangKit"), "the judge sees summaries only")
        let yaml = try String(contentsOfFile: root + "/rules/irq-free-in-napi.yaml", encoding: .utf8)
        XCTAssertTrue(yaml.contains("id: irq-free-in-napi") && yaml.contains("// expect: irq-free-in-napi"))
        let triggering = try String(contentsOfFile: root + "/corpus/irq-free-in-napi/calls.c", encoding: .utf8)
        XCTAssertTrue(triggering.contains("// expect: irq-free-in-napi"))
        // The generated Swift is well-formed (the full build is what a developer runs next).
        let swiftc = ProcessInfo.processInfo.environment["PATH"].flatMap { path in
            path.split(separator: ":").map { $0 + "/swiftc" }.first { fm.isExecutableFile(atPath: $0) }
        }
        if let swiftc {
            let sources = try fm.contentsOfDirectory(atPath: root + "/Sources/KwardenRules/IrqFreeInNapi").map { root + "/Sources/KwardenRules/IrqFreeInNapi/" + $0 }
            XCTAssertEqual(try run(swiftc, ["-parse"] + sources), 0)
        }

        // A second run refuses to overwrite, and a bad id is refused.
        XCTAssertEqual(try run(Repository.root + "/scripts/new-rule", ["irq-free-in-napi", "--root", root]), 2)
        XCTAssertEqual(try run(Repository.root + "/scripts/new-rule", ["Bad_Name", "--root", root]), 2)
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
