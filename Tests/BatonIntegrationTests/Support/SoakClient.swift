import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why one soak connection did not go as expected.
struct SoakFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}

/// One client connection of the soak tests: a blocking POSIX socket and nothing else, because
/// the tests open a quarter of a million of them from a debug build on two cores and the client
/// must cost far less than the proxy it measures (`RawClient` starts a thread per read).
///
/// Reads and writes give up after `SoakSocket.ioTimeout` (SO_RCVTIMEO/SO_SNDTIMEO): a Baton that
/// stops answering turns into counted failures within bounded time, never a hung test.
struct SoakSocket {
    static let ioTimeoutSeconds = 10

    let fd: Int32

    static func connect(port: UInt16) throws -> SoakSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SoakFailure("socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: ioTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            // EADDRNOTAVAIL here means the ephemeral ports ran out (see SoakTests on TIME_WAIT).
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw SoakFailure("connect 127.0.0.1:\(port): \(message)")
        }
        return SoakSocket(fd: fd)
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SoakFailure("send: \(String(cString: strerror(errno)))")
            }
            sent += count
        }
    }

    /// Sends our FIN (the peer reads end of stream) and goes on reading.
    func shutdownOutput() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Closes; with `reset`, by a reset (SO_LINGER {1, 0}) instead of a FIN. Used once Baton has
    /// closed its side (end of stream read): the reset then reaches only what the kernel keeps
    /// of Baton's closed socket, which it ends at once instead of leaving it in TIME_WAIT for a
    /// minute. Baton's code sees an ordinary close either way.
    func close(reset: Bool = false) {
        if reset {
            var abort = linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, socklen_t(MemoryLayout<linger>.size))
        }
        Glibc.close(fd)
    }
}

/// The response bytes of one connection, in a buffer each client thread allocates once and
/// reuses for every connection it makes.
final class SoakBuffer {
    static let capacity = 64 * 1024

    private let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: SoakBuffer.capacity, alignment: 8)
    /// Bytes received so far.
    private(set) var count = 0

    deinit { storage.deallocate() }

    func reset() { count = 0 }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[0..<count]) }

    /// Reads once; false at end of stream. Throws on a reset, a read timeout or a full buffer.
    func fill(from socket: SoakSocket) throws -> Bool {
        guard count < Self.capacity else { throw SoakFailure("more than \(Self.capacity) bytes received") }
        while true {
            let received = Glibc.read(socket.fd, storage.baseAddress! + count, Self.capacity - count)
            if received > 0 {
                count += received
                return true
            }
            if received == 0 { return false }
            switch errno {
            case EINTR: continue
            case EAGAIN: throw SoakFailure("no bytes for \(SoakSocket.ioTimeoutSeconds) s after \(count) (\(preview))")
            default: throw SoakFailure("read after \(count) bytes: \(String(cString: strerror(errno))) (\(preview))")
            }
        }
    }

    /// Reads until the peer closes.
    func readToEnd(from socket: SoakSocket) throws {
        while try fill(from: socket) {}
    }

    /// Reads until at least `total` bytes are buffered.
    func read(atLeast total: Int, from socket: SoakSocket) throws {
        while count < total {
            guard try fill(from: socket) else {
                throw SoakFailure("closed after \(count) of \(total) bytes (\(preview))")
            }
        }
    }

    /// Reads until a whole response head is buffered and parses it.
    func readHead(from socket: SoakSocket) throws -> SoakResponseHead {
        while true {
            if let head = try SoakResponseHead(parsing: bytes) { return head }
            guard try fill(from: socket) else { throw SoakFailure("closed before a whole response head (\(preview))") }
        }
    }

    /// Whether the bytes from `offset` on are exactly `expected`.
    func matches(_ expected: [UInt8], from offset: Int) -> Bool {
        guard count - offset == expected.count else { return false }
        return expected.withUnsafeBytes { memcmp($0.baseAddress!, storage.baseAddress! + offset, expected.count) == 0 }
    }

    /// The start of what was received, for failure messages.
    var preview: String {
        String(decoding: bytes.prefix(240), as: UTF8.self).debugDescription
    }
}

/// The parts of a response head the soak tests check: the status and the body's length.
struct SoakResponseHead {
    var status: Int
    /// Bytes up to and including the empty line.
    var length: Int
    var contentLength: Int?

    /// nil while the head is incomplete; throws when it cannot be a response head.
    init?(parsing bytes: UnsafeRawBufferPointer) throws {
        guard let end = Self.endOfHead(in: bytes) else { return nil }
        // "HTTP/1.1 200 "
        guard end >= 12, bytes[0] == UInt8(ascii: "H"), bytes[8] == UInt8(ascii: " "),
              let status = Self.digits(bytes, 9..<12) else {
            throw SoakFailure("not an HTTP response: \(String(decoding: bytes.prefix(80), as: UTF8.self).debugDescription)")
        }
        self.status = status
        self.length = end
        self.contentLength = Self.contentLength(in: UnsafeRawBufferPointer(rebasing: bytes[0..<end]))
    }

    /// The offset just past the first CRLF CRLF.
    private static func endOfHead(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index] == 10 && bytes[index - 1] == 13
            && bytes[index - 2] == 10 && bytes[index - 3] == 13 {
            return index + 1
        }
        return nil
    }

    private static func digits(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        var value = 0
        for index in range {
            let byte = bytes[index]
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }

    private static let contentLengthName = Array("content-length:".utf8)

    /// The value of the Content-Length field, if there is one (compared case-insensitively).
    private static func contentLength(in head: UnsafeRawBufferPointer) -> Int? {
        var lineStart = 0
        for index in 0..<head.count where head[index] == 10 {
            let line = lineStart..<index
            lineStart = index + 1
            guard line.count > contentLengthName.count else { continue }
            var matches = true
            for (offset, expected) in contentLengthName.enumerated() where head[line.lowerBound + offset] | 0x20 != expected {
                matches = false
                break
            }
            guard matches else { continue }
            var value = 0
            for position in (line.lowerBound + contentLengthName.count)..<line.upperBound {
                let byte = head[position]
                if byte >= 48 && byte <= 57 { value = value * 10 + Int(byte - 48) }
            }
            return value
        }
        return nil
    }
}
