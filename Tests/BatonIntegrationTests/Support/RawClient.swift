import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct RawClientError: Error, CustomStringConvertible {
    var description: String
}

/// A blocking TCP client on a plain POSIX socket, for tests that need exact bytes on the wire:
/// it sends what it is given, reads with deadlines, and can half-close.
final class RawClient: @unchecked Sendable {
    private(set) var fd: Int32
    /// Bytes received and not yet consumed by `readResponse`.
    private var buffer: [UInt8] = []
    /// The peer closed (EOF) or reset the connection.
    private(set) var peerClosed = false
    private(set) var peerReset = false
    /// When bytes last arrived, and when the end of the connection was seen, taken on the
    /// reading thread as it happens (not when a test gets round to looking).
    private(set) var lastDataAt: ContinuousClock.Instant?
    private(set) var closedAt: ContinuousClock.Instant?

    /// Connects to `host`:`port`, optionally from the local address `source` (any 127.x.y.z).
    init(port: UInt16, host: String = "127.0.0.1", source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RawClientError(description: "socket: \(String(cString: strerror(errno)))") }
        if let source {
            var local = sockaddr_in.loopback(port: 0, address: source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let message = String(cString: strerror(errno))
                Glibc.close(fd)
                fd = -1  // deinit runs after a throwing init too: never close a number twice
                throw RawClientError(description: "bind \(source): \(message)")
            }
        }
        var address = sockaddr_in.loopback(port: port, address: host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            fd = -1  // deinit runs after a throwing init too: never close a number twice
            throw RawClientError(description: "connect 127.0.0.1:\(port): \(message)")
        }
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// The local port of this connection (as Baton sees it in `%cp`).
    var localPort: UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    private func blockingSend(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                throw RawClientError(description: "send: \(String(cString: strerror(errno)))")
            }
            offset += sent
        }
    }

    /// `shutdown(SHUT_WR)`: the peer reads EOF, this side can still read.
    func shutdownWrite() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Waits until bytes arrive (appended to the buffer), the peer closes, or the deadline
    /// passes. Returns the number of bytes read (0 on EOF or timeout).
    @discardableResult
    private func receiveSome(deadline: ContinuousClock.Instant, maxBytes: Int = 1 << 20) -> Int {
        guard !peerClosed else { return 0 }
        while true {
            let remaining = deadline - ContinuousClock.now
            let milliseconds = max(0, Int(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
            var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pollFD, 1, Int32(min(milliseconds, Int(Int32.max))))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { return 0 }
            var chunk = [UInt8](repeating: 0, count: maxBytes)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                if errno == ECONNRESET { peerReset = true }
                peerClosed = true
                closedAt = .now
                return 0
            }
            if count == 0 {
                peerClosed = true
                closedAt = .now
                return 0
            }
            lastDataAt = .now
            buffer.append(contentsOf: chunk[0..<count])
            return count
        }
    }

    /// Reads until the peer closes or `timeout` passes; returns (and consumes) all buffered bytes.
    private func blockingReadUntilClose(timeout: Duration) -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while !peerClosed && ContinuousClock.now < deadline {
            receiveSome(deadline: deadline)
        }
        defer { buffer.removeAll() }
        return buffer
    }

    /// Waits for `count` bytes (fewer if the peer closes or the time runs out) and returns them.
    private func blockingReadBytes(_ count: Int, timeout: Duration) -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while buffer.count < count && !peerClosed && ContinuousClock.now < deadline {
            receiveSome(deadline: deadline)
        }
        let taken = Array(buffer.prefix(count))
        buffer.removeFirst(taken.count)
        return taken
    }

    /// Reads `count` bytes of a `Pattern` stream that starts at stream offset `offset`, checking
    /// them without keeping them. Returns how many arrived and whether all were as expected.
    private func blockingConsumePattern(count: Int, offset: Int, timeout: Duration) -> (received: Int, intact: Bool) {
        let deadline = ContinuousClock.now + timeout
        var received = min(buffer.count, count)
        var intact = buffer.prefix(received).withUnsafeBytes { Pattern.matches($0, at: offset) }
        buffer.removeFirst(received)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while received < count && !peerClosed && ContinuousClock.now < deadline {
            var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pollFD, 1, 100) > 0 else { continue }
            let wanted = min(chunk.count, count - received)
            let got = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, wanted, 0) }
            if got <= 0 {
                if got < 0 && errno == EINTR { continue }
                peerClosed = true
                break
            }
            if intact {
                intact = chunk.withUnsafeBytes { Pattern.matches(UnsafeRawBufferPointer(rebasing: $0[0..<got]), at: offset + received) }
            }
            received += got
        }
        return (received, intact)
    }

    /// Reads one HTTP/1.x response. `head` tells that it answers a HEAD request (no body).
    private func blockingReadResponse(timeout: Duration, head: Bool) throws -> HTTPResponse {
        let deadline = ContinuousClock.now + timeout
        while true {
            switch HTTPResponse.parse(buffer, isHeadResponse: head, peerClosed: peerClosed) {
            case .complete(let response, let consumed):
                buffer.removeFirst(consumed)
                return response
            case .invalid(let reason):
                throw RawClientError(description: "invalid response (\(reason)): \(String(decoding: buffer, as: UTF8.self).debugDescription)")
            case .incomplete:
                if peerClosed {
                    throw RawClientError(description: "connection closed before a complete response; got \(String(decoding: buffer, as: UTF8.self).debugDescription)")
                }
                if ContinuousClock.now >= deadline {
                    throw RawClientError(description: "no complete response within \(timeout); got \(String(decoding: buffer, as: UTF8.self).debugDescription)")
                }
                receiveSome(deadline: deadline)
            }
        }
    }
    // The blocking work runs on a thread of its own (`onThread`), never on the few threads
    // that run the tests' async code: a test that waits seconds for bytes must not delay the
    // clocks and polls of the tests running beside it.

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) async throws {
        try await onThread { try self.blockingSend(bytes) }
    }

    /// Reads until the peer closes or `timeout` passes; returns (and consumes) all buffered bytes.
    func readUntilClose(timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        try await onThread { self.blockingReadUntilClose(timeout: timeout) }
    }

    /// Waits for `count` bytes (fewer if the peer closes or the time runs out) and returns them.
    func readBytes(_ count: Int, timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        try await onThread { self.blockingReadBytes(count, timeout: timeout) }
    }

    /// Whether the peer closes the connection within `timeout` without sending anything more;
    /// `extra` holds the bytes that arrived instead.
    func waitForClose(timeout: Duration) async throws -> (closed: Bool, extra: [UInt8]) {
        try await onThread {
            let bytes = self.blockingReadUntilClose(timeout: timeout)
            return (self.peerClosed, bytes)
        }
    }

    /// Reads `count` bytes of a `Pattern` stream that starts at stream offset `offset`, checking
    /// them without keeping them. Returns how many arrived and whether all were as expected.
    func consumePattern(count: Int, offset: Int = 0, timeout: Duration) async throws -> (received: Int, intact: Bool) {
        try await onThread { self.blockingConsumePattern(count: count, offset: offset, timeout: timeout) }
    }

    /// Reads one HTTP/1.x response. `head` tells that it answers a HEAD request (no body) or
    /// that only the head is wanted (the body stays buffered for `consumePattern`).
    func readResponse(timeout: Duration = .seconds(5), head: Bool = false) async throws -> HTTPResponse {
        try await onThread { try self.blockingReadResponse(timeout: timeout, head: head) }
    }
}

/// Sends one request on a new connection and reads the response.
func rawRequest(port: UInt16, _ request: String, source: String? = nil,
                timeout: Duration = .seconds(5)) async throws -> HTTPResponse {
    let client = try RawClient(port: port, source: source)
    try await client.send(request)
    return try await client.readResponse(timeout: timeout, head: request.hasPrefix("HEAD "))
}

/// `GET path` with `Connection: close` on a new connection.
func rawGet(port: UInt16, _ path: String = "/", source: String? = nil,
            extraHeaders: String = "", timeout: Duration = .seconds(5)) async throws -> HTTPResponse {
    try await rawRequest(port: port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\(extraHeaders)Connection: close\r\n\r\n",
                   source: source, timeout: timeout)
}
