import Foundation
import Testing

/// The statuses Baton answers with itself when things go wrong, with HAProxy's pages.
@Suite("Error statuses")
struct ErrorStatusTests {
    static func page(_ status: Int, _ reason: String, _ message: String) -> String {
        "<html><body><h1>\(status) \(reason)</h1>\n\(message)\n</body></html>\n"
    }

    static let page503 = page(503, "Service Unavailable", "No server is available to handle this request.")
    static let page504 = page(504, "Gateway Time-out", "The server didn't respond in time.")
    static let page502 = page(502, "Bad Gateway", "The server returned an invalid or incomplete response.")
    static let page408 = page(408, "Request Time-out", "Your browser didn't send a complete request in time.")

    static func config(port: UInt16, backend: String, defaults: String = "") -> String {
        """
        global
            log stdout format raw local0
        \(httpDefaults(defaults))
            log global
            option httplog
        frontend web
            bind 127.0.0.1:\(port)
            default_backend app
        backend app
        \(backend)
        """
    }

    @Test("503 with HAProxy's page when the backend's only server is disabled")
    func noServer() async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, backend: "    server app1 127.0.0.1:\(upstream.port) disabled"), listening: [port])
        let response = try await rawGet(port: port, "/nothing")
        #expect(response.status == 503)
        #expect(response.bodyText == Self.page503)
        #expect(response.header("Content-Type") == "text/html")
        #expect(response.header("Cache-Control") == "no-cache")
        #expect(upstream.connectionCount == 0)
        let line = await baton.waitForStdoutLines { $0.contains("/nothing") }.first.flatMap(HTTPLogLine.init)
        #expect(line?.server == "<NOSRV>")
        #expect(line?.status == 503)
        await baton.stop()
    }

    @Test("503 after the connect retries to a dead server; the log shows the retries")
    func deadServerRetries() async throws {
        let dead = freePort()
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, backend: """
                retries 2
                timeout connect 200ms
                server dead1 127.0.0.1:\(dead)
            """), listening: [port])
        let response = try await rawGet(port: port, "/dead")
        #expect(response.status == 503)
        #expect(response.bodyText == Self.page503)
        let lines = await baton.waitForStdoutLines { $0.contains("/dead") }
        let line = try #require(lines.first.flatMap(HTTPLogLine.init), "log: \(baton.stdout)")
        #expect(line.server == "dead1")
        #expect(line.status == 503)
        #expect(line.connections[4] == 2, "retries in \(lines)")
        #expect(line.terminationState.hasPrefix("SC"), "termination state in \(lines)")
        await baton.stop()
    }

    @Test("option redispatch: with one dead and one live server every request gets the live one's 200")
    func redispatch() async throws {
        let live = try await TestUpstream.named("live")
        let dead = freePort()
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, backend: """
                balance roundrobin
                retries 1
                option redispatch
                timeout connect 200ms
                server dead1 127.0.0.1:\(dead)
                server live1 127.0.0.1:\(live.port)
            """), listening: [port])
        for index in 0..<6 {
            let response = try await rawGet(port: port, "/r\(index)")
            #expect(response.status == 200, "request \(index): \(response)")
            #expect(response.bodyText == "live")
        }
        #expect(live.requestCount == 6)
        await baton.stop()
    }

    @Test("504 with HAProxy's page when the server is slower than timeout server")
    func serverTimeout() async throws {
        let upstream = try await TestUpstream.start { _ in .delay(.seconds(20), .text("too late")) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, backend: """
                timeout server 300ms
                server app1 127.0.0.1:\(upstream.port)
            """), listening: [port])
        let started = ContinuousClock.now
        let response = try await rawGet(port: port, "/slow")
        let elapsed = ContinuousClock.now - started
        #expect(response.status == 504)
        #expect(response.bodyText == Self.page504)
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(7), "answered after \(elapsed)")
        let line = await baton.waitForStdoutLines { $0.contains("/slow") }.first.flatMap(HTTPLogLine.init)
        #expect(line?.terminationState.hasPrefix("sH") == true, "log: \(baton.stdout)")
        await baton.stop()
    }

    @Test("502 with HAProxy's page when the server answers garbage")
    func garbageResponse() async throws {
        let upstream = try await TestUpstream.start { _ in .raw(Array("this is not http\r\n\r\n".utf8), thenClose: true) }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, backend: "    server app1 127.0.0.1:\(upstream.port)"), listening: [port])
        let response = try await rawGet(port: port, "/garbage")
        #expect(response.status == 502)
        #expect(response.bodyText == Self.page502)
        await baton.stop()
    }

    @Test("502 with HAProxy's page when the server closes without answering")
    func serverClosesWithoutResponse() async throws {
        let upstream = try await TestUpstream.start { _ in .close }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, backend: "    server app1 127.0.0.1:\(upstream.port)"), listening: [port])
        let response = try await rawGet(port: port, "/closed")
        #expect(response.status == 502)
        #expect(response.bodyText == Self.page502)
        let line = await baton.waitForStdoutLines { $0.contains("/closed") }.first.flatMap(HTTPLogLine.init)
        #expect(line?.terminationState.hasPrefix("SH") == true, "log: \(baton.stdout)")
        await baton.stop()
    }

    @Test("503 when a request waits in the server's queue longer than timeout queue")
    func queueTimeout() async throws {
        let upstream = try await TestUpstream.start { request in
            request.uri == "/slow" ? .delay(.seconds(8), .text("slow")) : .text("quick")
        }
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, backend: """
                timeout queue 300ms
                server app1 127.0.0.1:\(upstream.port) maxconn 1
            """), listening: [port])
        let slow = try startCurl("http://127.0.0.1:\(port)/slow")
        try #require(await upstream.waitForRequests(1))
        let started = ContinuousClock.now
        let response = try await rawGet(port: port, "/queued")
        let elapsed = ContinuousClock.now - started
        #expect(response.status == 503)
        #expect(response.bodyText == Self.page503)
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(7), "answered after \(elapsed)")
        #expect(upstream.requests.map(\.uri) == ["/slow"])
        let line = await baton.waitForStdoutLines { $0.contains("/queued") }.first.flatMap(HTTPLogLine.init)
        #expect(line?.terminationState.hasPrefix("sQ") == true, "log: \(baton.stdout)")
        #expect(await slow.result().status == 200)
        await baton.stop()
    }

    @Test("408 with HAProxy's page when the request head does not arrive within timeout http-request")
    func requestTimeout() async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, backend: "    server app1 127.0.0.1:\(upstream.port)",
                                defaults: "    timeout http-request 300ms"),
            listening: [port])
        let client = try RawClient(port: port)
        let started = ContinuousClock.now
        try await client.send("GET /half HTTP/1.1\r\nHost: a\r\n")
        let response = try await client.readResponse(timeout: .seconds(4))
        let elapsed = ContinuousClock.now - started
        #expect(response.status == 408)
        #expect(response.bodyText == Self.page408)
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(7), "answered after \(elapsed)")
        #expect(try await client.waitForClose(timeout: .seconds(2)).closed)
        #expect(upstream.requestCount == 0)
        await baton.stop()
    }

    @Test("an idle keep-alive client connection is closed silently after timeout http-keep-alive")
    func keepAliveTimeout() async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, backend: "    server app1 127.0.0.1:\(upstream.port)",
                                defaults: "    timeout http-keep-alive 300ms"),
            listening: [port])
        let client = try RawClient(port: port)
        try await client.send("GET /once HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try await client.readResponse()
        #expect(response.status == 200)
        let (closed, extra) = try await client.waitForClose(timeout: .seconds(8))
        #expect(closed, "connection still open after 8 s idle")
        #expect(extra.isEmpty, "bytes sent on an idle connection: \(String(decoding: extra, as: UTF8.self).debugDescription)")
        // From when the server had written its response (so never later than Baton sent it on)
        // to when the client saw the end of the connection: a scheduling delay in this busy test
        // process can only make the measured idle time longer, never shorter.
        let idle = try #require(client.closedAt) - (try #require(upstream.respondedAt(0)))
        #expect(idle >= .milliseconds(250), "closed \(idle) after the response: not kept alive")
        #expect(idle < .seconds(7), "closed after \(idle)")
        await baton.stop()
    }
}
