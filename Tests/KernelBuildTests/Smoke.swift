import XCTest
@testable import KernelBuild
final class KernelBuildSmokeTests: XCTestCase { func testModuleLoads() { _ = KernelBuild.self } }
