import Foundation
import Testing

/// The other `bind` forms: Unix sockets, all addresses, several binds on one frontend.
@Suite("Bind addresses")
struct BindTests {
    @Test("bind unix@PATH serves HTTP on a Unix socket")
    func unixSocket() async throws {
        let upstream = try await TestUpstream.named("over-unix")
        let directory = try TemporaryDirectory()
        let socketPath = directory.path("web.sock")
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind unix@\(socketPath)
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [], directory: directory)
        let appeared = await eventually { FileManager.default.fileExists(atPath: socketPath) }
        try #require(appeared, "no socket at \(socketPath); stderr: \(baton.stderr)")
        let result = try await curl("--unix-socket", socketPath, "http://localhost/u")
        #expect(result.status == 200, "\(result)")
        #expect(result.bodyText == "over-unix")
        await baton.stop()
    }

    @Test("bind *:PORT accepts connections on every local address")
    func allAddresses() async throws {
        let upstream = try await TestUpstream.named("everywhere")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind *:\(port)
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        for host in ["127.0.0.1", "127.0.0.2"] {
            let client = try RawClient(port: port, host: host)
            try await client.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(try await client.readResponse().bodyText == "everywhere", "via \(host)")
        }
        await baton.stop()
    }

    @Test("a frontend with two bind lines serves on both")
    func twoBinds() async throws {
        let upstream = try await TestUpstream.named("both")
        let first = freePort()
        let second = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            frontend web
                bind 127.0.0.1:\(first)
                bind 127.0.0.1:\(second)
                default_backend app
            backend app
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [first, second])
        #expect(try await rawGet(port: first).bodyText == "both")
        #expect(try await rawGet(port: second).bodyText == "both")
        await baton.stop()
    }
}
