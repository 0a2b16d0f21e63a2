import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs jobs in `kwarden worker` child processes so that a libclang crash or hang costs one file,
/// never the scan. Jobs and outcomes travel as JSON lines over pipes.
final class WorkerProcess {
    let executable: String
    let arguments: [String]
    private(set) var pid: pid_t = 0
    private var toWorker: Int32 = -1
    private var fromWorker: Int32 = -1
    private var buffer: [UInt8] = []
    /// The worker's stderr goes here, so that a crash report lands in the failure reason, not the user's terminal.
    private let errorLog = NSTemporaryDirectory() + "kwarden-worker-" + UUID().uuidString + ".log"

    init(executable: String, arguments: [String]) {
        self.executable = executable
        self.arguments = arguments
    }

    deinit {
        terminate()
        try? FileManager.default.removeItem(atPath: errorLog)
    }

    func start() throws {
        var input: [Int32] = [0, 0], output: [Int32] = [0, 0]
        guard pipe(&input) == 0, pipe(&output) == 0 else { throw ScanError.workerFailed("cannot create pipes: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        for fd in [input[0], input[1], output[0], output[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        posix_spawn_file_actions_addopen(&actions, 2, errorLog, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // No symbolicated backtrace on a crash: the reason is enough, and it is much faster.
        let environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { _, new in new }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, nil, argv, envp)
        close(input[0]); close(output[1])
        guard status == 0 else {
            close(input[1]); close(output[0])
            throw ScanError.workerFailed("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        pid = child
        toWorker = input[1]
        fromWorker = output[0]
        buffer.removeAll()
        signal(SIGPIPE, SIG_IGN)
    }

    var isRunning: Bool { pid > 0 }

    enum Reply { case line(Data), exited(String), timedOut, overMemory }

    /// Sends one job line and waits for one reply line, at most `timeout` seconds. A worker whose
    /// resident memory passes `memoryLimit` bytes is killed (a macro bomb, `#include "/dev/zero"`):
    /// its size is read at every wake-up, a few times a second.
    func exchange(_ line: Data, timeout: Double, memoryLimit: Int? = nil) -> Reply {
        var payload = [UInt8](line)
        payload.append(0x0a)
        var written = 0
        while written < payload.count {
            let n = payload[written...].withUnsafeBytes { write(toWorker, $0.baseAddress, $0.count) }
            if n <= 0 { return .exited(reap()) }
            written += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffer.firstIndex(of: 0x0a) {
                let reply = Data(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return .line(reply)
            }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { terminate(); return .timedOut }
            if let memoryLimit, let resident = residentBytes(), resident > memoryLimit { terminate(); return .overMemory }
            var descriptor = pollfd(fd: fromWorker, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(remaining, 0.2) * 1000))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(fromWorker, &chunk, chunk.count)
            if n <= 0 { return .exited(reap()) }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    /// The worker's resident set size, from /proc (nil where there is none).
    private func residentBytes() -> Int? {
        guard pid > 0, let statm = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * sysconf(Int32(_SC_PAGESIZE))
    }

    /// Waits for the child and describes how it ended.
    private func reap() -> String {
        closePipes()
        guard pid > 0 else { return "worker not running" }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
        let signalNumber = status & 0x7f
        let said = lastErrorLine()
        if signalNumber != 0 {
            return "libclang crashed (worker killed by signal \(signalNumber): \(String(cString: strsignal(signalNumber))))" + (said.map { ": " + $0 } ?? "")
        }
        return "worker exited with status \((status >> 8) & 0xff)" + (said.map { ": " + $0 } ?? "")
    }

    private func lastErrorLine() -> String? {
        guard let text = try? String(contentsOfFile: errorLog, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.last { !$0.isEmpty }
    }

    func terminate() {
        closePipes()
        if pid > 0 {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            pid = 0
        }
    }

    private func closePipes() {
        if toWorker >= 0 { close(toWorker); toWorker = -1 }
        if fromWorker >= 0 { close(fromWorker); fromWorker = -1 }
    }
}

public enum ScanError: Error, CustomStringConvertible {
    case workerFailed(String)
    case nothingToScan(String)
    case badInput(String)

    public var description: String {
        switch self {
        case .workerFailed(let message): return message
        case .nothingToScan(let message): return message
        case .badInput(let message): return message
        }
    }
}

/// Reads job lines on standard input and answers each with one outcome line: the worker side.
public enum WorkerLoop {
    /// A worker outlives nothing: when the scan is killed, so is it, even mid-parse or while it
    /// sets up. (End of input alone cannot tell: sibling workers may hold the job pipe open.)
    /// Call first thing in the worker process.
    public static func exitWithParent() {
        let parent = getppid()
        guard parent > 1 else { exit(0) }
        Thread.detachNewThread {
            while getppid() == parent { usleep(200_000) }
            exit(0)
        }
    }

    public static func run(analyzer: FileAnalyzer) {
        let decoder = JSONDecoder()
        let encoder = JSONEncoder()
        while let line = readLine(strippingNewline: true) {
            guard !line.isEmpty else { continue }
            var outcome: FileOutcome
            if let job = try? decoder.decode(FileJob.self, from: Data(line.utf8)) {
                outcome = analyzer.analyze(job)
            } else {
                outcome = FileOutcome(file: "")
                outcome.failure = "worker received a malformed job"
            }
            var data = (try? encoder.encode(outcome)) ?? Data("{\"file\":\"\",\"failure\":\"cannot encode outcome\"}".utf8)
            data.append(0x0a)
            FileHandle.standardOutput.write(data)
        }
    }
}
