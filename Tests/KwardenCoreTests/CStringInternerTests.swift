import Foundation
import XCTest
@testable import ClangKit

/// File names are interned by the address of libclang's copy of the name; an address reused for
/// another name, and a full table, must each free a copy exactly once.
final class CStringInternerTests: XCTestCase {
    func testReusedAddressesAndAFullTableGiveTheRightNames() {
        var interner = CStringInterner(capacity: 4)
        let reused = strdup("include/linux/a.h")!
        defer { free(reused) }
        XCTAssertEqual(interner.name(of: reused), "include/linux/a.h")
        XCTAssertEqual(interner.name(of: reused), "include/linux/a.h")
        strcpy(reused, "include/linux/b.h")
        XCTAssertEqual(interner.name(of: reused), "include/linux/b.h", "the same address, another name")
        var others: [UnsafeMutablePointer<CChar>] = []
        defer { others.forEach { free($0) } }
        for index in 0..<10 {
            others.append(strdup("drivers/f\(index).h")!)
            XCTAssertEqual(interner.name(of: others[index]), "drivers/f\(index).h")
            // An address whose name changed while the table fills and is emptied.
            strcpy(reused, "include/linux/\(index).h")
            XCTAssertEqual(interner.name(of: reused), "include/linux/\(index).h")
        }
        XCTAssertEqual(others.map { interner.name(of: $0) }, (0..<10).map { "drivers/f\($0).h" })
    }
}
