import BatonConfig
import BatonCore
import BatonObservability
import BatonProxy
import Dispatch
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Runs a checked configuration: daemonizes when asked, opens listeners, drops privileges,
/// and waits for a signal. SIGTERM and SIGINT stop at once; SIGUSR1 soft-stops.
struct Runner {
    let configuration: Configuration
    let options: CommandLineOptions

    func run() -> Never {
        let global = configuration.global
        let daemonize = options.daemon || (global.daemon && !options.foreground)
        var readiness: DaemonReadiness?
        if daemonize {
            readiness = DaemonReadiness.fork()
        }
        let pid = getpid()

        let hostname = global.logSendHostname.map { $0 ?? System.hostname }
        // HAProxy tags lines with its program name; keeping "haproxy" keeps existing syslog
        // routing (such as Debian's rsyslog rule for programname haproxy) working unchanged.
        let tag = global.logTag ?? "haproxy"
        let makeLogger: ([LogTarget]) -> LogDispatcher? = { targets in
            let dispatcher = LogDispatcher(targets: targets, tag: tag, hostname: hostname, pid: pid)
            for problem in dispatcher.problems {
                Baton.printError("[WARNING]  (\(pid)) : log : \(problem)")
            }
            return dispatcher
        }
        let generation: ProxyGeneration
        do {
            generation = try ProxyGeneration(configuration: configuration, makeLogger: makeLogger)
        } catch {
            fail("config : \(error)", readiness: readiness)
        }
        if let limit = global.fileDescriptorLimit, let problem = applyFileDescriptorLimit(limit) {
            fail(problem, readiness: readiness)
        }
        let threads = global.threadCount ?? System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let server = ProxyServer(generation: generation, group: group)
        do {
            try server.start()
        } catch {
            fail("\(error)", readiness: readiness)
        }

        if let pidFile = options.pidFile ?? global.pidFile {
            do {
                try writePIDFile(pidFile, pid: pid)
            } catch {
                fail("[\(pidFile)] : cannot create pidfile: \(error)", readiness: readiness)
            }
        }
        if let problem = dropPrivileges(global) {
            fail(problem, readiness: readiness)
        }
        readiness?.signalReady()

        let signals = SignalWatcher()
        let received = signals.wait()
        switch received {
        case SIGUSR1:
            server.softStop(hardStopAfter: global.hardStopAfter)
        default:
            server.stop()
        }
        try? group.syncShutdownGracefully()
        if let pidFile = options.pidFile ?? global.pidFile { unlink(pidFile) }
        exit(0)
    }

    /// `ulimit-n`: sets the file descriptor limit before any listener opens; as HAProxy 2.6,
    /// failing to reach it is fatal.
    func applyFileDescriptorLimit(_ wanted: Int) -> String? {
        guard wanted > 0 else { return nil }
        var current = rlimit()
        getrlimit(RLIMIT_NOFILE_VALUE, &current)
        let value = rlim_t(wanted)
        var limit = rlimit(rlim_cur: value, rlim_max: value)
        if setrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 { return nil }
        limit.rlim_max = current.rlim_max
        if value <= current.rlim_max, setrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 { return nil }
        return "[baton.main()] Cannot raise FD limit to \(wanted), limit is \(current.rlim_max)."
    }

    func fail(_ message: String, readiness: DaemonReadiness?) -> Never {
        let line = "[ALERT]    (\(getpid())) : \(message)"
        if let readiness {
            readiness.signalFailure(line)
        } else {
            Baton.printError(line)
        }
        exit(1)
    }

    func writePIDFile(_ path: String, pid: Int32) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw SystemError(errno: errno) }
        defer { close(fd) }
        let text = "\(pid)\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }

    /// `chroot`, `group` and `user`, in HAProxy's order, after the listeners are open.
    func dropPrivileges(_ global: GlobalSettings) -> String? {
        var gid: gid_t?
        var uid: uid_t?
        if let group = global.group {
            guard let entry = getgrnam(group) else { return "[baton.main()] Cannot find group id for '\(group)'." }
            gid = entry.pointee.gr_gid
        }
        if let user = global.user {
            guard let entry = getpwnam(user) else { return "[baton.main()] Cannot find user id for '\(user)'." }
            uid = entry.pointee.pw_uid
            if gid == nil { gid = entry.pointee.pw_gid }
        }
        if let directory = global.chroot {
            // Load the time zone while /etc/localtime is still reachable: log dates use it.
            tzset()
            var now = time(nil)
            var parts = tm()
            localtime_r(&now, &parts)
            guard chdir(directory) == 0, chroot(directory) == 0, chdir("/") == 0 else {
                return "[baton.main()] Cannot chroot(\(directory)): \(SystemError(errno: errno))."
            }
        }
        if let gid {
            guard setgroups(0, nil) == 0 || getuid() != 0, setgid(gid) == 0 else {
                return "[baton.main()] Cannot set gid \(gid): \(SystemError(errno: errno))."
            }
        }
        if let uid {
            guard setuid(uid) == 0 else {
                return "[baton.main()] Cannot set uid \(uid): \(SystemError(errno: errno))."
            }
        }
        return nil
    }
}

struct SystemError: Error, CustomStringConvertible {
    var errno: Int32
    var description: String { String(cString: strerror(errno)) }
}

enum System {
    static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    static var hostname: String {
        var buffer = [UInt8](repeating: 0, count: 256)
        buffer.withUnsafeMutableBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { _ = gethostname($0.baseAddress!, 255) }
        }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// Blocks the main thread until SIGTERM, SIGINT or SIGUSR1 arrives.
final class SignalWatcher: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private var received: Int32 = 0
    private var sources: [any DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "baton.signals")

    init() {
        for signalNumber in [SIGTERM, SIGINT, SIGUSR1] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [unowned self] in
                if self.received == 0 {
                    self.received = signalNumber
                    self.semaphore.signal()
                }
            }
            source.resume()
            sources.append(source)
        }
        signal(SIGPIPE, SIG_IGN)
    }

    func wait() -> Int32 {
        semaphore.wait()
        return queue.sync { received }
    }
}

/// `-D`: the parent forks before any thread exists, then waits for the child to say it is
/// serving (exit 0) or why it could not start (printed, exit 1), as HAProxy's parent does.
struct DaemonReadiness {
    let writeEnd: Int32

    static func fork() -> DaemonReadiness {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            Baton.printError("[ALERT]    (\(getpid())) : cannot create pipe for daemon mode")
            exit(1)
        }
        let child = Glibc.fork()
        if child < 0 {
            Baton.printError("[ALERT]    (\(getpid())) : cannot fork for daemon mode")
            exit(1)
        }
        if child > 0 {
            close(fds[1])
            var message = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(fds[0], &buffer, buffer.count)
                if count <= 0 { break }
                message.append(contentsOf: buffer[0..<count])
            }
            if message == Array("ready".utf8) { exit(0) }
            let text = String(decoding: message, as: UTF8.self)
            Baton.printError(text.isEmpty ? "[ALERT]    (\(child)) : worker exited before it was ready" : text)
            exit(1)
        }
        close(fds[0])
        setsid()
        return DaemonReadiness(writeEnd: fds[1])
    }

    func signalReady() {
        _ = "ready".withCString { write(writeEnd, $0, 5) }
        close(writeEnd)
        // Detach from the terminal like a daemon: stdin, stdout and stderr to /dev/null.
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            dup2(null, 0)
            dup2(null, 1)
            dup2(null, 2)
            if null > 2 { close(null) }
        }
    }

    func signalFailure(_ message: String) {
        _ = message.withCString { write(writeEnd, $0, strlen($0)) }
        close(writeEnd)
    }
}

#if canImport(Glibc)
/// Glibc imports RLIMIT_NOFILE as an enum case of `__rlimit_resource`.
let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif
