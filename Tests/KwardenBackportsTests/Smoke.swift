import XCTest
@testable import KwardenBackports
final class BackportsSmokeTests: XCTestCase { func testEngineVersion() { XCTAssertTrue(Backports.engineVersion.hasPrefix("libgit2 1.")) } }
