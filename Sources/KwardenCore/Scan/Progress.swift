import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Progress on stderr: a live line on a terminal, a plain line every few seconds otherwise.
public final class ProgressReporter: @unchecked Sendable {
    private let enabled: Bool
    private let live: Bool
    private let start = Date()
    private var last = Date.distantPast
    private let lock = NSLock()
    private var wroteLive = false

    public init(enabled: Bool) {
        self.enabled = enabled
        self.live = isatty(2) != 0
    }

    public func update(phase: String, done: Int, total: Int, failed: Int) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let interval = live ? 0.2 : 10.0
        guard now.timeIntervalSince(last) >= interval || done == total else { return }
        last = now
        let elapsed = Int(now.timeIntervalSince(start))
        let text = "kwarden: \(phase) \(done)/\(total) files, \(failed) failed, \(elapsed / 60):" + String(format: "%02d", elapsed % 60)
        if live {
            FileHandle.standardError.write(Data(("\r\u{1b}[K" + text).utf8))
            wroteLive = true
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    public func message(_ text: String) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        finishLine()
        FileHandle.standardError.write(Data(("kwarden: " + text + "\n").utf8))
    }

    public func finish() {
        lock.lock(); defer { lock.unlock() }
        finishLine()
    }

    private func finishLine() {
        if wroteLive { FileHandle.standardError.write(Data("\n".utf8)); wroteLive = false }
    }
}
