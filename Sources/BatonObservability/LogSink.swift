#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import BatonConfig
import Synchronization

/// Sends log messages to the `log` targets of one proxy (or of `global`), from any thread.
///
/// Create one per process generation: the sockets are opened in `init` and closed when the
/// dispatcher goes away. `log` never takes a lock and never blocks on a socket: datagrams are
/// sent with `MSG_DONTWAIT`, and a message the kernel cannot take right now (EAGAIN/ENOBUFS) is
/// dropped and counted in `droppedMessages`, as HAProxy does. Lines to stdout/stderr are written
/// with one plain `writev(2)` (they block if the reader stalls; HAProxy only avoids that by
/// making those descriptors non-blocking, which Baton leaves alone). When stdout/stderr is a
/// pipe whose reader went away, the process must ignore SIGPIPE (sockets use MSG_NOSIGNAL).
///
/// - Unix datagram targets (`/dev/log`) are addressed on every send (`sendmsg` with the path),
///   so a syslog daemon that starts late or re-creates its socket is reached without reconnecting.
/// - UDP targets are resolved once here and the socket is connected to the first address.
public final class LogDispatcher: Sendable {
    public let targets: [LogTarget]
    public let header: SyslogHeader
    public let timeZone: LogTimeZone
    /// Targets that could not be set up (unresolvable host, socket failure), with the reason.
    /// They are skipped; the others work.
    public let problems: [String]

    let sinks: [Sink]
    private let dropped = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)

    /// - Parameters:
    ///   - targets: the `log` lines that apply (a proxy's own, or `global`'s for `log global`).
    ///   - tag: `log-tag`, HAProxy uses the program name by default.
    ///   - hostname: `log-send-hostname`'s name, nil when hostnames are not sent.
    ///   - pid: the process id written in headers.
    public init(targets: [LogTarget], tag: String, hostname: String?, pid: Int32 = getpid(),
                timeZone: LogTimeZone = .local) {
        self.targets = targets
        self.header = SyslogHeader(tag: tag, pid: pid, hostname: hostname)
        self.timeZone = timeZone
        // Built once: every traffic log line is formatted with these options.
        self.lineOptions = LogLineOptions(timeZone: timeZone,
                                          maxLineLength: targets.reduce(1024) { Swift.max($0, $1.maxLength) })
        var sinks: [Sink] = []
        var problems: [String] = []
        for target in targets {
            let prepared = PreparedHeader(header, format: SyslogHeaderFormat(target.format))
            switch Sink.Endpoint.open(target.destination) {
            case .success(let endpoint):
                sinks.append(Sink(target: target, header: prepared, endpoint: endpoint))
            case .failure(let problem):
                problems.append(problem.message)
            }
        }
        self.sinks = sinks
        self.problems = problems
    }

    deinit {
        for sink in sinks { sink.endpoint.close() }
    }

    /// True when no message would go anywhere: skip building log lines.
    public var isEmpty: Bool { sinks.isEmpty }

    /// Whether a message of `level` would be sent to at least one target.
    public func wouldLog(_ level: SyslogLevel) -> Bool {
        sinks.contains { $0.target.admits(level) }
    }

    /// The `LogLineOptions` matching these targets: HAProxy builds lines of at most
    /// `max(1024, largest len) - 1` bytes (`global.max_syslog_len` covers every `log` line of the
    /// configuration; pass that instead when several dispatchers exist).
    public let lineOptions: LogLineOptions

    /// Messages the kernel refused because its buffer was full (EAGAIN, ENOBUFS).
    public var droppedMessages: Int { dropped.load(ordering: .relaxed) }
    /// Messages that failed for another reason (no listener on a unix socket, ICMP unreachable...).
    public var failedMessages: Int { failed.load(ordering: .relaxed) }

    public func log(_ message: String, level: SyslogLevel) {
        log(message, level: level, timestampMicroseconds: LogDispatcher.nowMicroseconds())
    }

    public func log(_ message: String, level: SyslogLevel, timestampMicroseconds: Int64) {
        var message = message
        message.withUTF8 { log(bytes: $0, level: level, timestampMicroseconds: timestampMicroseconds) }
    }

    public func log(bytes message: [UInt8], level: SyslogLevel) {
        message.withUnsafeBufferPointer {
            log(bytes: $0, level: level, timestampMicroseconds: LogDispatcher.nowMicroseconds())
        }
    }

    public func log(bytes message: UnsafeBufferPointer<UInt8>, level: SyslogLevel, timestampMicroseconds: Int64) {
        guard !sinks.isEmpty else { return }
        let body = SyslogFraming.trimmedLength(message)
        for sink in sinks where sink.target.admits(level) {
            let head = sink.header.bytes(level: sink.target.effectiveLevel(level),
                                         facility: sink.target.facility,
                                         timestampMicroseconds: timestampMicroseconds, timeZone: timeZone)
            let (headLength, bodyLength) = SyslogFraming.truncatedLengths(
                header: head.count, message: body, maxLength: sink.target.maxLength, stream: sink.target.isStream)
            let result = head.withUnsafeBytes { headBytes in
                sink.endpoint.send(header: UnsafeRawBufferPointer(rebasing: headBytes[0..<headLength]),
                                   message: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: message[0..<bodyLength])))
            }
            switch result {
            case .sent: break
            case .dropped: dropped.add(1, ordering: .relaxed)
            case .failed: failed.add(1, ordering: .relaxed)
            }
        }
    }

    /// The system's host name (`gethostname`), what `log-send-hostname` without a name sends.
    public static func systemHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func nowMicroseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}

/// One opened target.
struct Sink: Sendable {
    let target: LogTarget
    let header: PreparedHeader
    let endpoint: Endpoint

    struct Problem: Error { let message: String }

    enum SendResult { case sent, dropped, failed }

    enum Endpoint: Sendable {
        /// stdout or stderr; `isSocket` when it is a socket (then `sendmsg` with MSG_NOSIGNAL).
        case descriptor(Int32, isSocket: Bool)
        /// A datagram socket we own; `address` is empty when the socket is connected.
        case datagram(Int32, address: [UInt8])

        static func open(_ destination: LogTarget.Destination) -> Result<Endpoint, Problem> {
            switch destination {
            case .stdout: return .success(.descriptor(1, isSocket: isSocket(1)))
            case .stderr: return .success(.descriptor(2, isSocket: isSocket(2)))
            case .unixDatagram(let path): return openUnix(path)
            case .udp(let host, let port): return openUDP(host: host, port: port)
            }
        }

        func close() {
            if case .datagram(let fd, _) = self { _ = systemClose(fd) }
        }

        func send(header: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> SendResult {
            var newline = UInt8(ascii: "\n")
            return withUnsafeMutableBytes(of: &newline) { newlineBytes in
                withUnsafeTemporaryAllocation(of: iovec.self, capacity: 3) { iov in
                    iov[0] = iovec(iov_base: UnsafeMutableRawPointer(mutating: header.baseAddress), iov_len: header.count)
                    iov[1] = iovec(iov_base: UnsafeMutableRawPointer(mutating: message.baseAddress), iov_len: message.count)
                    iov[2] = iovec(iov_base: newlineBytes.baseAddress, iov_len: 1)
                    switch self {
                    case .datagram(let fd, let address):
                        return address.withUnsafeBytes { addressBytes in
                            var mh = msghdr()
                            if !address.isEmpty {
                                mh.msg_name = UnsafeMutableRawPointer(mutating: addressBytes.baseAddress)
                                mh.msg_namelen = socklen_t(address.count)
                            }
                            mh.msg_iov = iov.baseAddress
                            mh.msg_iovlen = 3
                            return Endpoint.result(of: sendmsg(fd, &mh, sendFlags))
                        }
                    case .descriptor(let fd, let isSocket):
                        return Endpoint.writeAll(fd, iov: iov, isSocket: isSocket,
                                                 total: header.count + message.count + 1)
                    }
                }
            }
        }

        private static func result(of sent: Int) -> SendResult {
            if sent >= 0 { return .sent }
            switch errno {
            case EAGAIN, EWOULDBLOCK, ENOBUFS: return .dropped
            default: return .failed
            }
        }

        /// One `writev` (or `sendmsg`); the rest of a partial write follows, EINTR is retried.
        private static func writeAll(_ fd: Int32, iov: UnsafeMutableBufferPointer<iovec>, isSocket: Bool,
                                     total: Int) -> SendResult {
            var remaining = total
            var first = 0
            while remaining > 0 {
                let count = iov.count - first
                let n: Int
                if isSocket {
                    var mh = msghdr()
                    mh.msg_iov = iov.baseAddress! + first
                    mh.msg_iovlen = numericCast(count)
                    n = sendmsg(fd, &mh, Int32(MSG_NOSIGNAL))
                } else {
                    n = writev(fd, iov.baseAddress! + first, Int32(count))
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    return result(of: n)
                }
                remaining -= n
                // Skip what was written.
                var written = n
                while first < iov.count, written >= iov[first].iov_len {
                    written -= iov[first].iov_len
                    first += 1
                }
                if written > 0 {
                    iov[first].iov_base = iov[first].iov_base! + written
                    iov[first].iov_len -= written
                }
            }
            return .sent
        }

        private static func isSocket(_ fd: Int32) -> Bool {
            var st = stat()
            guard fstat(fd, &st) == 0 else { return false }
            return (st.st_mode & S_IFMT) == S_IFSOCK
        }

        private static func openUnix(_ path: String) -> Result<Endpoint, Problem> {
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let pathBytes = Array(path.utf8)
            let capacity = MemoryLayout.size(ofValue: address.sun_path)
            guard pathBytes.count < capacity else {
                return .failure(Problem(message: "log socket path '\(path)' is longer than \(capacity - 1) bytes"))
            }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: pathBytes)
            }
            let fd = socket(AF_UNIX, socketDatagram, 0)
            guard fd >= 0 else {
                return .failure(Problem(message: "cannot create a socket for log target '\(path)': \(errorText())"))
            }
            prepare(fd)
            let length = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + pathBytes.count + 1
            let bytes = withUnsafeBytes(of: &address) { Array($0.prefix(length)) }
            return .success(.datagram(fd, address: bytes))
        }

        private static func openUDP(host: String, port: Int) -> Result<Endpoint, Problem> {
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = socketDatagram
            hints.ai_flags = AI_NUMERICSERV
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, String(port), &hints, &list)
            guard status == 0, let info = list else {
                let reason = String(cString: gai_strerror(status))
                return .failure(Problem(message: "cannot resolve log server '\(host):\(port)': \(reason)"))
            }
            defer { freeaddrinfo(list) }
            let family = info.pointee.ai_family
            let address = Array(UnsafeRawBufferPointer(start: info.pointee.ai_addr, count: Int(info.pointee.ai_addrlen)))
            let fd = socket(family, socketDatagram, Int32(IPPROTO_UDP))
            guard fd >= 0 else {
                return .failure(Problem(message: "cannot create a socket for log server '\(host):\(port)': \(errorText())"))
            }
            prepare(fd)
            let connected = address.withUnsafeBytes { raw in
                connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count)) == 0
            }
            // A socket that could not be connected (no route yet) addresses each datagram instead.
            return .success(.datagram(fd, address: connected ? [] : address))
        }

        /// Non-blocking, close-on-exec, and nothing to receive.
        private static func prepare(_ fd: Int32) {
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var zero: Int32 = 0
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &zero, socklen_t(MemoryLayout<Int32>.size))
            _ = shutdown(fd, Int32(SHUT_RD))
        }

        private static func errorText() -> String { String(cString: strerror(errno)) }
    }
}

#if canImport(Glibc) || canImport(Musl)
private let socketDatagram = Int32(SOCK_DGRAM.rawValue)
private let sendFlags = Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)
#else
private let socketDatagram = SOCK_DGRAM
private let sendFlags = MSG_DONTWAIT
private let MSG_NOSIGNAL: Int32 = 0
#endif

private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
