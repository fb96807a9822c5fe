import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `bind fd@N`: Baton serves on a listening socket it inherited from its parent.
@Suite("Inherited listeners")
struct FdListenerTests {
    @Test("bind fd@3 serves on the socket passed as descriptor 3")
    func inheritedSocket() async throws {
        let upstream = try await TestUpstream.named("behind-fd")
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_in.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0 && listen(fd, 64) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)

        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind fd@3
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [], inheritedFDs: [(source: fd, target: 3)])
        // Only Baton holds the socket now: whatever answers on the port is Baton.
        close(fd)
        let result = try await curl("http://127.0.0.1:\(port)/via-fd", timeout: .seconds(10))
        #expect(result.status == 200, "\(result); baton \(baton.exitStatus.map(String.init(describing:)) ?? "running"), stderr: \(baton.stderr)")
        #expect(result.bodyText == "behind-fd")
        #expect(upstream.requests.map(\.uri) == ["/via-fd"])
        await baton.stop()
    }
}
