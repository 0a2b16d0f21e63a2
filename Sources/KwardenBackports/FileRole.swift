/// What a file of a kernel tree is for, as far as backports go: stable branches often take only the code part of a
/// fix and leave its tests and documentation out (or put the test elsewhere).
enum FileRole {
    static func isTestOrDocumentation(_ path: String) -> Bool {
        if path.hasPrefix("Documentation/") || path.hasPrefix("tools/testing/") { return true }
        let components = path.split(separator: "/")
        if components.dropLast().contains(where: { ["selftests", "tests", "test", "testing", "kunit"].contains($0) }) {
            return true
        }
        guard let name = components.last else { return false }
        if name.hasPrefix("test_") || name.hasPrefix("test-") { return true }
        for suffix in ["_test.c", "-test.c", "_kunit.c", "-kunit.c", "_tests.c", ".rst", ".md", ".txt"] where name.hasSuffix(suffix) {
            return true
        }
        return false
    }
}
