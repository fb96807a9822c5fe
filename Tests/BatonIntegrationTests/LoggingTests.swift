import Foundation
import Testing

/// Traffic logs on standard output (`log stdout format raw`), in HAProxy's formats.
@Suite("Logging")
struct LoggingTests {
    static func config(port: UInt16, backend: String, option: String = "option httplog") -> String {
        """
        global
            log stdout format raw local0
        \(httpDefaults())
            log global
            \(option)
        frontend web
            bind 127.0.0.1:\(port)
            default_backend app
        backend app
        \(backend)
        """
    }

    @Test("option httplog: one line per request with client, names, timers, status, bytes and request line")
    func httplog() async throws {
        let upstream = try await TestUpstream.start { _ in .delay(.milliseconds(150), .text("logged body")) }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, backend: "    server app1 127.0.0.1:\(upstream.port)"), listening: [port])
        let before = Date()
        let client = try RawClient(port: port)
        try await client.send("GET /logged?q=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        let received = try await client.readUntilClose()
        #expect(client.peerClosed)
        let lines = await baton.waitForStdoutLines { $0.contains("/logged") }
        #expect(lines.count == 1, "\(lines)")
        let line = try #require(lines.first.flatMap(HTTPLogLine.init), "not an httplog line: \(lines)")
        #expect(line.clientIP == "127.0.0.1")
        #expect(line.clientPort == Int(client.localPort))
        #expect(line.frontend == "web")
        #expect(line.backend == "app")
        #expect(line.server == "app1")
        #expect(line.status == 200)
        #expect(line.bytes == received.count, "client received \(received.count) bytes; line: \(lines[0])")
        #expect(line.request == "GET /logged?q=1 HTTP/1.1")
        #expect(line.terminationState == "----")
        #expect(line.capturedRequestCookie == "-" && line.capturedResponseCookie == "-")
        // TR/Tw/Tc/Tr/Ta: the server took 150 ms to answer.
        #expect(line.timers[0] >= 0 && line.timers[1] >= 0 && line.timers[2] >= 0, "\(lines[0])")
        #expect(line.timers[3] >= 140, "Tr in \(lines[0])")
        #expect(line.timers[4] >= line.timers[3], "Ta in \(lines[0])")
        #expect(line.connections.allSatisfy { $0 >= 0 } && line.connections[4] == 0)
        let date = try #require(parseLogDate(line.date), "date \(line.date)")
        #expect(abs(date.timeIntervalSince(before)) < 60, "logged date \(line.date) vs now \(before)")
        await baton.stop()
    }

    @Test("option httplog: a 503 without a server is logged with <NOSRV> and SC--")
    func httplogNoServer() async throws {
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, backend: "    server app1 127.0.0.1:9 disabled"), listening: [port])
        let client = try RawClient(port: port)
        try await client.send("GET /none HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        let received = try await client.readUntilClose()
        let lines = await baton.waitForStdoutLines { $0.contains("/none") }
        let line = try #require(lines.first.flatMap(HTTPLogLine.init), "not an httplog line: \(lines)")
        #expect(line.backend == "app")
        #expect(line.server == "<NOSRV>")
        #expect(line.status == 503)
        #expect(line.bytes == received.count)
        #expect(line.terminationState == "SC--")
        #expect(line.timers[2] == -1 && line.timers[3] == -1, "Tc and Tr in \(lines[0])")
        await baton.stop()
    }

    @Test("option httpslog on a plain connection: the httplog line then HAProxy's TLS fields, empty")
    func httpslog() async throws {
        let upstream = try await TestUpstream.named("s")
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, backend: "    server app1 127.0.0.1:\(upstream.port)", option: "option httpslog"),
            listening: [port])
        _ = try await rawGet(port: port, "/tls-fields")
        let lines = await baton.waitForStdoutLines { $0.contains("/tls-fields") }
        let text = try #require(lines.first)
        #expect(text.hasSuffix("\"GET /tls-fields HTTP/1.1\" 0/-/-/-/0 -/-/-"), "\(text)")
        let head = String(text.dropLast(" 0/-/-/-/0 -/-/-".count))
        #expect(HTTPLogLine(head)?.status == 200, "\(text)")
        await baton.stop()
    }

    @Test("without a log line in the configuration nothing is printed per request")
    func noLogging() async throws {
        let upstream = try await TestUpstream.named("s")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
                option httplog
            listen web
                bind 127.0.0.1:\(port)
                server app1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        #expect(try await rawGet(port: port, "/quiet").status == 200)
        try await Task.sleep(for: .milliseconds(200))
        #expect(!baton.stdout.contains("/quiet"))
        await baton.stop()
    }
}
