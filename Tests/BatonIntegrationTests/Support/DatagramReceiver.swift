import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A syslog server stand-in: a datagram socket (a Unix datagram socket at a path, or UDP on
/// 127.0.0.1 or ::1) whose datagrams a thread of its own collects, each exactly as received.
final class DatagramReceiver: @unchecked Sendable {
    let fd: Int32
    /// The socket path (Unix) or "" (UDP).
    let path: String
    /// The UDP port (0 for a Unix socket).
    let port: UInt16
    private let lock = NSLock()
    private var _datagrams: [[UInt8]] = []
    private var running = true
    private let finished = DispatchSemaphore(value: 0)

    private init(fd: Int32, path: String, port: UInt16) {
        self.fd = fd
        self.path = path
        self.port = port
        let thread = Thread { [self] in
            defer { finished.signal() }
            var buffer = [UInt8](repeating: 0, count: 70_000)
            while lock.withLock({ running }) {
                var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pollFD, 1, 20) > 0 else { continue }
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if count >= 0 {
                    let datagram = Array(buffer[0..<count])
                    lock.withLock { _datagrams.append(datagram) }
                }
            }
        }
        thread.start()
    }

    /// A Unix datagram socket bound at `path` (what `log /path` and `log unix@path` send to).
    static func unix(path: String) throws -> DatagramReceiver {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SpawnError(description: "socket(AF_UNIX): \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw SpawnError(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw SpawnError(description: "bind \(path): \(message)")
        }
        chmod(path, 0o666)
        return DatagramReceiver(fd: fd, path: path, port: 0)
    }

    /// A UDP socket on `host` (127.0.0.1 or ::1) and a port the kernel chooses.
    static func udp(host: String = "127.0.0.1") throws -> DatagramReceiver {
        let isIPv6 = host.contains(":")
        let fd = socket(isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SpawnError(description: "socket(UDP): \(String(cString: strerror(errno)))") }
        var result: Int32
        var port: UInt16 = 0
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            inet_pton(AF_INET6, host, &address.sin6_addr)
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
            var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            port = UInt16(bigEndian: address.sin6_port)
        } else {
            var address = sockaddr_in.loopback(port: 0, address: host)
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            port = UInt16(bigEndian: address.sin_port)
        }
        guard result == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw SpawnError(description: "bind udp \(host): \(message)")
        }
        return DatagramReceiver(fd: fd, path: "", port: port)
    }

    deinit {
        stop()
        close(fd)
        if !path.isEmpty { unlink(path) }
    }

    func stop() {
        let wasRunning = lock.withLock { () -> Bool in
            defer { running = false }
            return running
        }
        if wasRunning { _ = finished.wait(timeout: .now() + 1) }
    }

    /// Every datagram received so far, bytes as they came.
    var datagrams: [[UInt8]] { lock.withLock { _datagrams } }

    /// The datagrams as text.
    var messages: [String] { datagrams.map { String(decoding: $0, as: UTF8.self) } }

    /// Waits until at least `count` datagrams satisfy `predicate` (or `timeout` passes) and
    /// returns those that do.
    func waitForMessages(count: Int = 1, timeout: Duration = .seconds(5),
                         where predicate: (String) -> Bool = { _ in true }) async -> [String] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let matching = messages.filter(predicate)
            if matching.count >= count || ContinuousClock.now >= deadline { return matching }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// Whether a socket can be bound on ::1 here (some containers have no IPv6 loopback).
func canBindIPv6Loopback() -> Bool {
    let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    inet_pton(AF_INET6, "::1", &address.sin6_addr)
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
    }
    return result == 0
}

/// The names (`comm`) of a process's threads, from /proc/PID/task/*/comm.
func threadNames(of pid: pid_t) -> [String] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    return tasks.compactMap { readProcFile("/proc/\(pid)/task/\($0)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// One `Name:\tvalue...` line of /proc/PID/status, split into its fields.
func procStatusFields(_ pid: pid_t, _ name: String) -> [String] {
    let status = readProcFile("/proc/\(pid)/status") ?? ""
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("\(name):") }) else { return [] }
    return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().map(String.init)
}

/// Parses the date of an RFC 3164 header (`Mmm dd hh:mm:ss`, no year, local time), taking the
/// year of `near`; nil when it is not one.
func parseSyslogDate(_ text: String, near: Date = Date(), timeZone: TimeZone = .current) -> Date? {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = timeZone
    formatter.dateFormat = "yyyy MMM d HH:mm:ss"
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = timeZone
    let year = calendar.component(.year, from: near)
    let squeezed = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    return formatter.date(from: "\(year) \(squeezed)")
}

/// Parses an RFC 5424 timestamp `yyyy-mm-ddThh:mm:ss.uuuuuu+hh:mm` (fraction dropped).
func parseRFC5424Date(_ text: String) -> Date? {
    guard let match = text.wholeMatch(of: #/(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.\d{6}([+-]\d{2}:\d{2}|Z)/#) else { return nil }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ssxxxxx"
    return formatter.date(from: "\(match.1)\(match.2)")
}
