import Foundation
import Testing

/// What the HTTP connection options do to the connections a client and a server see.
@Suite("Connection modes")
struct ConnectionModeTests {
    enum Mode: String, CaseIterable, Sendable {
        case defaultMode = "", keepAlive = "option http-keep-alive", serverClose = "option http-server-close",
             close = "option httpclose"
    }

    @Test("two requests on one client connection, under each connection option", arguments: Mode.allCases)
    func twoRequests(mode: Mode) async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            global
                log stdout format raw local0
            \(httpDefaults("    log global\n    option httplog"))
            listen web
                bind 127.0.0.1:\(port)
                \(mode.rawValue)
                server app1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let client = try RawClient(port: port)
        try await client.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
        let first = try await client.readResponse()
        #expect(first.status == 200)
        if mode == .close {
            #expect(try await client.waitForClose(timeout: .seconds(2)).closed, "httpclose: the client connection stayed open")
            await baton.stop()
            return
        }
        try await client.send("GET /two HTTP/1.1\r\nHost: a\r\n\r\n")
        let second = try await client.readResponse()
        #expect(second.status == 200)
        #expect(second.bodyText.hasPrefix("GET /two HTTP/1.1\n"))
        #expect(upstream.requests.map(\.uri) == ["/one", "/two"])
        switch mode {
        case .serverClose:
            #expect(upstream.connectionCount == 2, "http-server-close: server connections \(upstream.connectionCount)")
        default:
            #expect(upstream.connectionCount == 1,
                    "keep-alive: server connections \(upstream.connectionCount); log:\n\(baton.stdout)\(baton.stderr)")
        }
        await baton.stop()
    }

    @Test("an HTTP/1.0 request without keep-alive is answered, then the connection is closed")
    func http10() async throws {
        let upstream = try await TestUpstream.start { _ in .text("old client") }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                server app1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let client = try RawClient(port: port)
        try await client.send("GET /old HTTP/1.0\r\n\r\n")
        let response = try await client.readResponse()
        #expect(response.status == 200)
        #expect(response.bodyText == "old client")
        #expect(try await client.waitForClose(timeout: .seconds(2)).closed)
        await baton.stop()
    }
}
