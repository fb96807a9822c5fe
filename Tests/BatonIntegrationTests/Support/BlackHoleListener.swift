import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A listening socket on 127.0.0.1 whose accept queue is full and never drained, so that a
/// further connect gets no answer at all: Linux drops a SYN for a listener whose accept queue is
/// full, the connecting side keeps waiting to retransmit it, and only its own timeout ends the
/// attempt (unlike a closed port, which refuses at once). That is `timeout connect` on loopback.
///
/// The listener has backlog 0 and is never accepted from; connections are made to it until one
/// of them does not complete within 100 ms. Those that completed fill the queue and are kept
/// open for the listener's life. `init` throws if the kernel completes every connect anyway.
final class BlackHoleListener: @unchecked Sendable {
    let port: UInt16
    private var listener: Int32
    private var fillers: [Int32] = []

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RawClientError(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 0) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw RawClientError(description: "black hole listener: \(message)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)

        for _ in 0..<16 {
            let (fd, completed) = Self.connectWithin(milliseconds: 100, port: port)
            if completed {
                fillers.append(fd)
                continue
            }
            if fd >= 0 { Glibc.close(fd) }
            if fillers.isEmpty {
                close()
                throw RawClientError(description: "the first connect to the black hole listener did not complete within 100 ms")
            }
            return
        }
        close()
        throw RawClientError(description: "the kernel completed 16 connects to a listener with backlog 0 that never accepts: "
                             + "no loopback black hole for timeout connect on this machine")
    }

    deinit { close() }

    func close() {
        for fd in fillers { Glibc.close(fd) }
        fillers.removeAll()
        if listener >= 0 { Glibc.close(listener) }
        listener = -1
    }

    /// A non-blocking connect to 127.0.0.1:`port`: the socket, and whether it was established
    /// within the time.
    private static func connectWithin(milliseconds: Int32, port: UInt16) -> (Int32, Bool) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return (-1, false) }
        var address = sockaddr_in.loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result == 0 { return (fd, true) }
        guard errno == EINPROGRESS else { return (fd, false) }
        var pollFD = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&pollFD, 1, milliseconds) > 0 else { return (fd, false) }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        return (fd, error == 0)
    }
}
