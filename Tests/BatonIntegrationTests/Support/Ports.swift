import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Hands out TCP ports for Baton's listeners. They come from 20000..<32000, below the kernel's
/// ephemeral range (32768+), so they never collide with the ports clients and upstreams get
/// from the kernel; a counter keeps parallel tests of this process apart, and each port is
/// checked to be free on 0.0.0.0 (and so on 127.0.0.1) before it is handed out.
enum PortAllocator {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var next: UInt16 = {
        20000 + UInt16(truncatingIfNeeded: Int(getpid()) * 37 % 12000)
    }()

    static func allocate() -> UInt16 {
        lock.lock()
        defer { lock.unlock() }
        for _ in 0..<12000 {
            let candidate = next
            next = next >= 31999 ? 20000 : next + 1
            if isFree(candidate) { return candidate }
        }
        fatalError("no free TCP port in 20000..<32000")
    }

    private static func isFree(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in.loopback(port: port)
        address.sin_addr.s_addr = INADDR_ANY
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }
}

/// A TCP port that nothing listens on, for Baton's frontends.
func freePort() -> UInt16 {
    PortAllocator.allocate()
}

extension sockaddr_in {
    static func loopback(port: UInt16, address: String = "127.0.0.1") -> sockaddr_in {
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = port.bigEndian
        inet_pton(AF_INET, address, &result.sin_addr)
        return result
    }
}

/// Whether some socket listens on TCP `port` (any address), read from /proc/net/tcp{,6}: a
/// probe that opens no connection, so Baton's logs and counters are left untouched.
func isListening(port: UInt16) -> Bool {
    let hexPort = String(format: ":%04X", port)
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        guard let text = readProcFile(table) else { continue }
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 3 else { continue }
            if fields[1].hasSuffix(hexPort) && fields[3] == "0A" { return true }
        }
    }
    return false
}

/// Whether a connection to 127.0.0.1:`port` is refused right now.
func connectionRefused(port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in.loopback(port: port)
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return result != 0 && errno == ECONNREFUSED
}

/// The whole text of a /proc file. procfs files report size 0 and are produced page by page, so
/// they are read to end of file here (Foundation's file reading may stop early and miss the
/// entries past the first pages, as /proc/net/tcp has thousands with TIME_WAIT sockets).
func readProcFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}
