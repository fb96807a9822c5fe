import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
enum ExitStatus: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

struct SpawnError: Error, CustomStringConvertible {
    var description: String
}

/// A child process started with `posix_spawn` (not Foundation.Process, which cannot hand the
/// child a chosen file descriptor). Standard input is /dev/null; standard output and error go
/// to files. Every descriptor except 0, 1, 2 and the ones passed with `inheritedFDs` is closed
/// in the child, so sockets of tests running in parallel never leak into it. The child runs in
/// its own process group. It is killed (SIGKILL) and reaped when the object goes away.
final class ChildProcess: @unchecked Sendable {
    let pid: pid_t
    let executable: String
    private let lock = NSLock()
    private var status: ExitStatus?

    /// - Parameter inheritedFDs: pairs (descriptor in this process, number it gets in the child).
    ///   Targets must be 3, 4, 5, ... without gaps.
    init(executable: String, arguments: [String], environment: [String: String]? = nil,
         workingDirectory: String? = nil, stdoutPath: String, stderrPath: String,
         inheritedFDs: [(source: Int32, target: Int32)] = []) throws {
        self.executable = executable
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
        for pair in inheritedFDs {
            posix_spawn_file_actions_adddup2(&actions, pair.source, pair.target)
        }
        let firstClosed = (inheritedFDs.map(\.target).max() ?? 2) + 1
        guard SpawnExtensions.addCloseFrom(&actions, firstClosed) else {
            throw SpawnError(description: "posix_spawn_file_actions_addclosefrom_np is not available")
        }
        if let workingDirectory {
            guard SpawnExtensions.addChdir(&actions, workingDirectory) else {
                throw SpawnError(description: "posix_spawn_file_actions_addchdir_np is not available")
            }
        }

        // A clean signal state: nothing blocked, and the signals Baton handles at their defaults
        // (an ignored signal would otherwise be inherited through exec).
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes,
                                 Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var env = ProcessInfo.processInfo.environment
        if let environment {
            env.merge(environment) { _, new in new }
        }
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }

        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw SpawnError(description: "posix_spawn \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    deinit {
        if exitStatus == nil {
            Glibc.kill(pid, SIGKILL)
            var raw: Int32 = 0
            _ = waitpid(pid, &raw, 0)
        }
    }

    /// The exit status if the child has ended (reaps it), nil while it runs.
    var exitStatus: ExitStatus? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        let result = waitpid(pid, &raw, WNOHANG)
        guard result == pid else { return nil }
        let exited = (raw & 0x7f) == 0
        status = exited ? .exited((raw >> 8) & 0xff) : .signaled(raw & 0x7f)
        return status
    }

    var isRunning: Bool { exitStatus == nil }

    func send(_ signal: Int32) {
        if isRunning { Glibc.kill(pid, signal) }
    }

    /// Waits for the child to end; nil when it is still running after `timeout`.
    func waitForExit(timeout: Duration) async -> ExitStatus? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = exitStatus { return status }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// SIGKILL and reap.
    func kill() async {
        send(SIGKILL)
        _ = await waitForExit(timeout: .seconds(10))
    }
}

/// glibc's `_np` spawn file actions, which Swift's Glibc module does not import.
enum SpawnExtensions {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    private typealias Chdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32

    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    private static let chdir: Chdir? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else { return nil }
        return unsafeBitCast(symbol, to: Chdir.self)
    }()

    static func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ fd: Int32) -> Bool {
        guard let closeFrom else { return false }
        return closeFrom(actions, fd) == 0
    }

    static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Bool {
        guard let chdir else { return false }
        return path.withCString { chdir(actions, $0) } == 0
    }
}

/// Runs a command to completion and returns what it printed.
struct CommandResult: Sendable {
    var status: ExitStatus
    var stdout: String
    var stderr: String
    var pid: pid_t
}

func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                workingDirectory: String? = nil, timeout: Duration = .seconds(20)) async throws -> CommandResult {
    let directory = try TemporaryDirectory()
    let child = try ChildProcess(executable: executable, arguments: arguments, environment: environment,
                                 workingDirectory: workingDirectory,
                                 stdoutPath: directory.path("stdout"), stderrPath: directory.path("stderr"))
    guard let status = await child.waitForExit(timeout: timeout) else {
        await child.kill()
        throw SpawnError(description: "\(executable) \(arguments) did not finish within \(timeout); stderr: \(directory.read("stderr"))")
    }
    return CommandResult(status: status, stdout: directory.read("stdout"), stderr: directory.read("stderr"), pid: child.pid)
}
