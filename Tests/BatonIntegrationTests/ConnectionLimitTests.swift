import Foundation
import Testing

/// `maxconn` on a frontend and in `global`: connections beyond the limit wait in the kernel's
/// backlog (they are not refused) and are served as soon as an earlier one closes.
@Suite("Connection limits")
struct ConnectionLimitTests {
    @Test("maxconn: a connection over the limit is not served until one closes, then it is",
          arguments: ["frontend", "global"])
    func excessConnectionWaits(scope: String) async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let global = scope == "global" ? "global\n    maxconn 1\n" : ""
        let frontendLimit = scope == "frontend" ? "    maxconn 1\n" : ""
        let baton = try await BatonProcess.start(config: """
            \(global)
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
            \(frontendLimit)
                server app1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        _ = baton

        // The first client holds the only slot with a kept-alive connection.
        let first = try RawClient(port: port)
        try await first.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await first.readResponse().status == 200)

        // The second connects (the kernel completes the handshake) but is not accepted.
        let second = try RawClient(port: port)
        try await second.send("GET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        try await Task.sleep(for: .milliseconds(300))
        #expect(upstream.requests.map(\.uri) == ["/one"], "the second request went through over the limit")

        // Once the first leaves, the waiting one is accepted and served.
        first.close()
        let response = try await second.readResponse(timeout: .seconds(3))
        #expect(response.status == 200)
        #expect(upstream.requests.map(\.uri) == ["/one", "/two"])
    }
}
