import Foundation
import XCTest
@testable import KwardenCore
@testable import KwardenRules

/// A file's flags, derived from the Makefiles and Kconfig, are kept in the cache and taken back
/// by the next scan while the build files they came from are unchanged.
final class StoredFlagsTests: XCTestCase {
    /// The tree and the cache side by side in one scratch directory.
    let base = NSTemporaryDirectory() + "kwarden-flags-" + UUID().uuidString
    var tree: String { base + "/linux" }
    var cacheDirectory: String { base + "/cache" }

    override func setUpWithError() throws {
        try writeTree(preparedKernelSkeleton.merging([
            "Kbuild": "obj-y += drivers/\n",
            "drivers/Makefile": "obj-y += ring/\n",
            "drivers/ring/Makefile": "ccflags-y += -DRING_LEVEL=1\nobj-y += ring.o\n",
            "drivers/ring/ring.c": "int ring_level = RING_LEVEL;\n\nunsigned int ring_pick(unsigned int hash, unsigned int count)\n{\n\twhile (hash >= count)\n\t\thash -= count;\n\treturn hash;\n}\n",
        ]) { $1 }, under: tree)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: base) }

    /// A fresh provider (a new scan), with the flags the cache holds.
    func provider() throws -> (CompileSetupProvider, ResultCache) {
        let setups = try CompileSetupProvider(kernelRoot: tree, compileCommands: nil, arch: nil)
        let cache = try ResultCache(directory: cacheDirectory)
        setups.loadFlags(from: cache)
        return (setups, cache)
    }

    /// A file's cache key is its own architecture's configuration, the same whatever other
    /// architectures the scan set up before it (a rescan looks files up in another order).
    func testAFilesConfigurationKeyDoesNotDependOnOtherArchitectures() throws {
        let file = tree + "/drivers/ring/ring.c", armFile = tree + "/arch/arm64/kernel/setup.c"
        // Prepared for x86: arm64's configuration comes from its Kconfig.
        try writeTree(["arch/arm64/Kconfig": "config ARM64\n\tdef_bool y\n", "arch/arm64/kernel/setup.c": "int arm_setup;\n",
                       "include/generated/autoconf.h": "/*\n * Automatically generated file; DO NOT EDIT.\n * Linux/x86 6.1.0 Kernel Configuration\n */\n"], under: tree)
        let (setups, _) = try provider()
        let before = setups.configurationKey(for: file)
        XCTAssertEqual(setups.architecture(for: armFile), "arm64")
        XCTAssertTrue(try setups.setup(for: armFile).arguments.contains { $0.contains("aarch64") }, "arm64 is set up")
        XCTAssertNotEqual(setups.configurationKey(for: armFile), before, "arm64 has a configuration of its own")
        XCTAssertEqual(setups.configurationKey(for: file), before)
    }

    /// A worker process takes a file's setup as the scanning process derived it (sent with the
    /// job), instead of walking the Makefiles again: here the Makefile changed after the scan
    /// derived the flags, and the worker still parses with the scan's.
    func testAWorkerTakesTheSetupTheScanDerived() throws {
        let file = tree + "/drivers/ring/ring.c"
        let scan = try CompileSetupProvider(kernelRoot: tree, compileCommands: nil, arch: nil)
        let derived = try XCTUnwrap(scan.derivedSetup(for: file))
        XCTAssertTrue(derived.arguments.contains("-DRING_LEVEL=1"), "\(derived.arguments)")
        XCTAssertTrue(derived.knowsArch)
        XCTAssertNil(derived.preferredArch)
        var job = FileJob(file: file, pass: 1)
        job.setups = [file: derived]
        let sent = try JSONDecoder().decode(FileJob.self, from: JSONEncoder().encode(job))

        try "ccflags-y += -DRING_LEVEL=2\nobj-y += ring.o\n".write(toFile: tree + "/drivers/ring/Makefile", atomically: true, encoding: .utf8)
        let worker = try CompileSetupProvider(kernelRoot: tree, compileCommands: nil, arch: nil)
        for (path, setup) in sent.setups ?? [:] { worker.adopt(setup, for: path) }
        XCTAssertEqual(try worker.setup(for: file).arguments, derived.arguments)
        XCTAssertNil(worker.architecture(for: file))
        let unsent = try CompileSetupProvider(kernelRoot: tree, compileCommands: nil, arch: nil)
        XCTAssertTrue(try unsent.setup(for: file).arguments.contains("-DRING_LEVEL=2"), "derived afresh without the job's setup")
    }

    /// A worker reads its scan's kept configurations without writing to the cache, and opens
    /// none where there is no cache.
    func testWorkersReadKeptConfigurationsWithoutWriting() throws {
        let cache = try ResultCache(directory: cacheDirectory)
        cache.keepResolvedConfiguration(Data("resolved".utf8), named: "kconfig-resolved|x86")
        let database = cacheDirectory + "/results.sqlite"
        let before = try FileManager.default.attributesOfItem(atPath: database)[.size] as? Int
        let worker = try XCTUnwrap(KeptConfigurations(directory: cacheDirectory))
        XCTAssertEqual(worker.resolvedConfiguration(named: "kconfig-resolved|x86"), Data("resolved".utf8))
        XCTAssertNil(worker.resolvedConfiguration(named: "kconfig-resolved|arm64"))
        worker.keepResolvedConfiguration(Data("other".utf8), named: "kconfig-resolved|arm64")
        XCTAssertNil(cache.resolvedConfiguration(named: "kconfig-resolved|arm64"), "a worker keeps nothing")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: database)[.size] as? Int, before)
        let missing = base + "/no-cache-here"
        XCTAssertNil(KeptConfigurations(directory: missing))
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "nothing made where there is no cache")
    }

    /// What a scan without a cache builds ahead, on its idle core, changes no file's flags.
    func testFlagsAreTheSameWhenTheirIndexIsBuiltAhead() throws {
        let file = tree + "/drivers/ring/ring.c"
        let ahead = try CompileSetupProvider(kernelRoot: tree, compileCommands: nil, arch: nil)
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            if index == 0 { ahead.prepareFileQueries() } else { _ = try? ahead.setup(for: file) }
        }
        let plain = try CompileSetupProvider(kernelRoot: tree, compileCommands: nil, arch: nil)
        XCTAssertEqual(try ahead.setup(for: file).arguments, try plain.setup(for: file).arguments)
        XCTAssertTrue(try ahead.setup(for: file).arguments.contains("-DRING_LEVEL=1"))
    }

    /// Without a cache, the configuration the scan resolved through Kconfig is kept in its scratch
    /// directory, where its workers (which only read) take it back.
    func testWorkersTakeTheScansConfigurationFromItsScratchDirectory() throws {
        try FileManager.default.removeItem(atPath: tree + "/include/generated/autoconf.h")
        let scratch = base + "/scratch/configurations"
        let scan = try CompileSetupProvider(kernelRoot: tree, compileCommands: nil, arch: nil,
                                            configurations: ScratchConfigurations(directory: scratch, writable: true))
        XCTAssertEqual(scan.scratchConfigurationsDirectory, scratch)
        let kept = try FileManager.default.contentsOfDirectory(atPath: scratch)
        XCTAssertEqual(kept.count, 1, "the unprepared tree's configuration, resolved through Kconfig")

        let elsewhere = base + "/other/configurations"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        let lone = try CompileSetupProvider(kernelRoot: tree, compileCommands: nil, arch: nil,
                                            configurations: ScratchConfigurations(directory: elsewhere, writable: false))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: elsewhere), [], "a worker keeps nothing")

        let worker = try CompileSetupProvider(kernelRoot: tree, compileCommands: nil, arch: nil,
                                              configurations: ScratchConfigurations(directory: scratch, writable: false))
        let file = tree + "/drivers/ring/ring.c"
        XCTAssertEqual(worker.configurationKey(for: file), scan.configurationKey(for: file))
        XCTAssertEqual(lone.configurationKey(for: file), scan.configurationKey(for: file))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch), kept)
    }

    func testFlagsComeBackUntilAMakefileChanges() throws {
        let file = tree + "/drivers/ring/ring.c"
        let (first, cache) = try provider()
        XCTAssertEqual(first.filesWithStoredFlags, 0)
        let derived = try first.setup(for: file).arguments
        XCTAssertTrue(derived.contains("-DRING_LEVEL=1"), "\(derived)")
        first.storeFlags(to: cache)

        let (second, _) = try provider()
        XCTAssertEqual(second.filesWithStoredFlags, 1)
        XCTAssertEqual(try second.setup(for: file).arguments, derived)
        XCTAssertNil(second.architecture(for: file), "the primary architecture")

        let makefile = tree + "/drivers/ring/Makefile"
        try "ccflags-y += -DRING_LEVEL=2\nobj-y += ring.o\n".write(toFile: makefile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: makefile)
        let (third, _) = try provider()
        XCTAssertEqual(third.filesWithStoredFlags, 0, "a Makefile they came from changed")
        XCTAssertTrue(try third.setup(for: file).arguments.contains("-DRING_LEVEL=2"))
    }

    /// A file of another architecture keeps its flags too, taken back once that architecture's
    /// configuration is set up again and found the same.
    func testAnotherArchitecturesFlagsComeBackUnderItsOwnConfiguration() throws {
        let armFile = tree + "/arch/arm64/kernel/setup.c"
        // Prepared for x86: arm64's configuration comes from its Kconfig.
        try writeTree(["arch/arm64/Kconfig": "config ARM64\n\tdef_bool y\n", "arch/arm64/kernel/setup.c": "int arm_setup;\n",
                       "include/generated/autoconf.h": "/*\n * Automatically generated file; DO NOT EDIT.\n * Linux/x86 6.1.0 Kernel Configuration\n */\n"], under: tree)
        let (first, cache) = try provider()
        let derived = try first.setup(for: armFile).arguments
        XCTAssertTrue(derived.contains { $0.contains("aarch64") })
        first.storeFlags(to: cache)

        let (second, _) = try provider()
        XCTAssertEqual(second.filesWithStoredFlags, 0, "not before arm64 is set up")
        XCTAssertEqual(try second.setup(for: armFile).arguments, derived)
        XCTAssertEqual(second.filesWithStoredFlags, 1)

        // Another arm64 configuration: its flags are derived again.
        try "config ARM64\n\tdef_bool y\nconfig ARM64_EXTRA\n\tdef_bool y\n".write(toFile: tree + "/arch/arm64/Kconfig", atomically: true, encoding: .utf8)
        let (third, _) = try provider()
        _ = try third.setup(for: armFile)
        XCTAssertEqual(third.filesWithStoredFlags, 0)
    }

    /// `--arch` in another spelling than the architecture's directory still names the primary one.
    func testFlagsComeBackWhenTheArchitectureIsNamedAnotherWay() throws {
        let file = tree + "/arch/x86/kernel/setup.c"
        try writeTree(["arch/x86/kernel/setup.c": "int x86_setup;\n"], under: tree)
        let cache = try ResultCache(directory: cacheDirectory)
        let first = try CompileSetupProvider(kernelRoot: tree, compileCommands: nil, arch: "x86_64")
        first.loadFlags(from: cache)
        let derived = try first.setup(for: file).arguments
        first.storeFlags(to: cache)
        let second = try CompileSetupProvider(kernelRoot: tree, compileCommands: nil, arch: "x86_64")
        second.loadFlags(from: cache)
        XCTAssertEqual(second.filesWithStoredFlags, 1)
        XCTAssertEqual(try second.setup(for: file).arguments, derived)
    }

    func testAScanKeepsTheFlagsItDerived() throws {
        var options = ScanOptions(paths: [tree + "/drivers"], rules: try RuleRegistry.load(rulesDirectory: Repository.rules))
        options.cache = try ResultCache(directory: cacheDirectory)
        options.jobs = 1
        _ = try Scanner(options: options).run()
        let (setups, _) = try provider()
        XCTAssertEqual(setups.filesWithStoredFlags, 1)
        XCTAssertTrue(try setups.setup(for: tree + "/drivers/ring/ring.c").arguments.contains("-DRING_LEVEL=1"))
    }
}
