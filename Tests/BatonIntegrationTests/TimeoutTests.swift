import Foundation
import Testing

/// The timeouts not covered with the error statuses: `timeout connect`, `timeout client` (HTTP and
/// TCP), `timeout tunnel` (HTTP upgrade and TCP), `timeout client-fin`/`server-fin`, and
/// `timeout server` in TCP mode. Each expectation is what HAProxy 2.6 does with the same
/// configuration (checked by running this suite with `BATON_BINARY=/usr/sbin/haproxy`).
///
/// The timeout under test is short (200–300 ms) and set against long ones (1.5 s to 10 s), so
/// that an end after about the short one can only be its doing; ends are polled for, never
/// slept on, so a passing test takes about the short timeout. Durations are taken from the
/// proxy's own log (Ta, Tt) where there is one; a duration measured in this test process is
/// taken so that a delay here (the whole suite shares two cores) can only make it longer, and
/// is then used as a lower bound, with a generous upper bound.
@Suite("Timeouts")
struct TimeoutTests {
    static func httpConfig(port: UInt16, timeouts: String, backend: String) -> String {
        """
        global
            log stdout format raw local0
        defaults
            mode http
            log global
            option httplog
        \(timeouts)
        frontend web
            bind 127.0.0.1:\(port)
            default_backend app
        backend app
        \(backend)
        """
    }

    static func tcpConfig(port: UInt16, server: UInt16, timeouts: String) -> String {
        """
        global
            log stdout format raw local0
        defaults
            mode tcp
            log global
            option tcplog
            timeout connect 1s
        \(timeouts)
        listen tcpfe
            bind 127.0.0.1:\(port)
            server s1 127.0.0.1:\(server)
        """
    }

    /// The log lines of the connection from client port `clientPort`, once at least one is there;
    /// then waits `settle` more for any further line (one connection must give one line).
    static func logLines(_ baton: BatonProcess, clientPort: UInt16, timeout: Duration = .seconds(5),
                         settle: Duration = .milliseconds(300)) async -> [String] {
        let marker = ":\(clientPort) ["
        let first = await baton.waitForStdoutLines(timeout: timeout) { $0.contains(marker) }
        guard !first.isEmpty else { return [] }
        return await baton.waitForStdoutLines(count: first.count + 1, timeout: settle) { $0.contains(marker) }
    }

    // MARK: timeout connect

    @Test("timeout connect: a server that never answers the SYN is tried retries+1 times, then 503 logged sC--")
    func connectTimeout() async throws {
        let hole = try await onThread { try BlackHoleListener() }
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.httpConfig(port: port, timeouts: """
                timeout client 5s
                timeout server 5s
            """, backend: """
                retries 1
                timeout connect 200ms
                server hole1 127.0.0.1:\(hole.port)
            """), listening: [port])
        let client = try RawClient(port: port)
        let started = ContinuousClock.now
        try await client.send("GET /connect HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        let response = try await client.readResponse(timeout: .seconds(10))
        let elapsed = ContinuousClock.now - started
        #expect(response.status == 503, "\(response)")
        #expect(response.bodyText == ErrorStatusTests.page503)
        #expect(elapsed >= .milliseconds(380), "answered after \(elapsed)")
        let lines = await Self.logLines(baton, clientPort: client.localPort)
        #expect(lines.count == 1, "one log line per request: \(lines)")
        let line = try #require(lines.first.flatMap(HTTPLogLine.init), "log: \(baton.stdout)")
        #expect(line.server == "hole1")
        #expect(line.status == 503)
        // Lowercase s: the timeout struck (SC is a connection refused).
        #expect(line.terminationState == "sC--", "termination state in \(lines)")
        #expect(line.connections[4] == 1, "retries in \(lines)")
        #expect(line.timers[2] == -1, "Tc of a connection never established in \(lines)")
        // Two attempts of 200 ms (the first and one retry); a refused connect fails at once, and
        // without timeout connect the kernel would go on retransmitting the SYN for minutes.
        #expect(line.timers[4] >= 380 && line.timers[4] < 3000, "Ta in \(lines)")
        await baton.stop()
    }

    // MARK: timeout client, HTTP mode

    /// HAProxy forwards the request head at once; from then on, until the response, it is the
    /// server side's timeout that runs, not the client's: a stalled request body ends with
    /// `timeout server` (504, sH--), the client's inactivity notwithstanding.
    @Test("timeout client does not cut a request whose body stalls once its head went to the server: timeout server answers 504")
    func stalledRequestBody() async throws {
        let server = try await SilentTCPServer.start()
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.httpConfig(port: port, timeouts: """
                timeout connect 1s
                timeout client 200ms
            """, backend: """
                timeout server 1500ms
                server app1 127.0.0.1:\(server.port)
            """), listening: [port])
        let client = try RawClient(port: port)
        let started = ContinuousClock.now
        try await client.send("POST /stalled HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
        let forwarded = await server.waitFor(timeout: .seconds(3)) {
            $0.receivedText.hasPrefix("POST /stalled HTTP/1.1\r\n") && $0.receivedText.hasSuffix("\r\n\r\n0123456789")
        }
        #expect(forwarded, "server got \(server.connection(0)?.receivedText.debugDescription ?? "no connection")")
        let response = try await client.readResponse(timeout: .seconds(10))
        let elapsed = ContinuousClock.now - started
        #expect(response.status == 504, "\(response) after \(elapsed)")
        #expect(response.bodyText == ErrorStatusTests.page504)
        #expect(elapsed >= .milliseconds(1400), "answered after \(elapsed)")
        #expect(try await client.waitForClose(timeout: .seconds(3)).closed, "client connection still open")
        #expect(await server.waitFor(timeout: .seconds(3)) { $0.endedAt != nil }, "server connection still open")
        let lines = await Self.logLines(baton, clientPort: client.localPort)
        #expect(lines.count == 1, "one log line per request: \(lines)")
        let line = try #require(lines.first.flatMap(HTTPLogLine.init), "log: \(baton.stdout)")
        #expect(line.status == 504)
        #expect(line.server == "app1")
        #expect(line.terminationState == "sH--", "termination state in \(lines)")
        #expect(line.request == "POST /stalled HTTP/1.1")
        #expect(line.timers[4] >= 1400 && line.timers[4] < 3500, "Ta in \(lines)")
        await baton.stop()
    }

    @Test("timeout client: a client that stops reading a response is cut off after the timeout (cD--)")
    func clientStopsReading() async throws {
        // Far more than the socket buffers on the way can hold (about 13 MB on loopback here).
        let total = 32 * MiB
        let upstream = try await TestUpstream.start { _ in .respond(body: [UInt8](repeating: 0x61, count: total)) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.httpConfig(port: port, timeouts: """
                timeout connect 1s
                timeout client 300ms
                timeout server 10s
            """, backend: "    server app1 127.0.0.1:\(upstream.port)"), listening: [port])
        let client = try RawClient(port: port)
        try await client.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        let head = try await client.readResponse(timeout: .seconds(5), head: true)
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "\(total)")
        // The client reads nothing more: once the buffers on the way are full, nothing moves
        // toward the client, and timeout client (not the 10 s server one) must end the transfer.
        let lines = await Self.logLines(baton, clientPort: client.localPort, timeout: .seconds(8))
        let line = try #require(lines.first.flatMap(HTTPLogLine.init), "no log line within 8 s: \(baton.stdout)")
        #expect(lines.count == 1, "one log line per request: \(lines)")
        #expect(line.status == 200)
        #expect(line.terminationState == "cD--", "termination state in \(lines)")
        #expect(line.timers[4] < 5000, "Ta in \(lines)")
        let body = try await client.readUntilClose(timeout: .seconds(10))
        #expect(client.peerClosed, "client connection still open after the timeout")
        #expect(body.count < total, "client received \(body.count) of \(total) bytes, then \(client.peerReset ? "a reset" : "the end of the connection")")
        // memcmp, not a per-byte Swift loop: megabytes checked byte by byte in a debug build would
        // hold one of the two threads that run every test's async code.
        let intact = body.isEmpty || [UInt8](repeating: 0x61, count: body.count).withUnsafeBytes { expected in
            body.withUnsafeBytes { memcmp($0.baseAddress!, expected.baseAddress!, body.count) == 0 }
        }
        #expect(intact, "the body the client received is not the server's")
        await baton.stop()
    }

    // MARK: timeout client / server, TCP mode

    @Test("TCP: an idle client is disconnected after timeout client (cD) when its server closes on end of stream")
    func tcpIdleClient() async throws {
        // The echo server closes when it reads the end of stream, as most servers do.
        let server = try await TCPTestServer.start(.echo)
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.tcpConfig(port: port, server: server.port, timeouts: """
                timeout client 300ms
                timeout server 5s
            """), listening: [port])
        let started = ContinuousClock.now
        let client = try RawClient(port: port)
        let (closed, extra) = try await client.waitForClose(timeout: .seconds(8))
        #expect(closed, "idle client still connected after 8 s")
        #expect(extra.isEmpty)
        if let closedAt = client.closedAt {
            #expect(closedAt - started >= .milliseconds(250), "closed after \(closedAt - started)")
        }
        #expect(server.connectionCount == 1)
        let lines = await Self.logLines(baton, clientPort: client.localPort)
        #expect(lines.count == 1, "\(lines)")
        let line = try #require(lines.first.flatMap(TCPLogLine.init), "log: \(baton.stdout)")
        #expect(line.terminationState == "cD", "termination state in \(lines)")
        #expect(line.server == "s1")
        #expect(line.timers[2] >= 250 && line.timers[2] < 2500, "Tt in \(lines)")
        await baton.stop()
    }

    /// HAProxy's timeout on one side shuts that side for reading and passes the end of stream on
    /// to the other side; the other direction stays open. So a server that answers at the end of
    /// stream still gets its answer to the idle client.
    @Test("TCP: timeout client ends only the client-to-server direction; the server's answer still reaches the client")
    func tcpClientTimeoutIsHalfClose() async throws {
        let server = try await TCPTestServer.start(.replyAfterEndOfStream)
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.tcpConfig(port: port, server: server.port, timeouts: """
                timeout client 300ms
                timeout server 5s
            """), listening: [port])
        let started = ContinuousClock.now
        let client = try RawClient(port: port)
        try await client.send("hello")
        let reply = try await client.readUntilClose(timeout: .seconds(8))
        #expect(String(decoding: reply, as: UTF8.self) == "received 5 bytes\n")
        #expect(client.peerClosed, "still connected after 8 s")
        if let closedAt = client.closedAt {
            #expect(closedAt - started >= .milliseconds(250), "closed after \(closedAt - started)")
        }
        let lines = await Self.logLines(baton, clientPort: client.localPort)
        let line = try #require(lines.first.flatMap(TCPLogLine.init), "log: \(baton.stdout)")
        #expect(line.terminationState == "cD", "termination state in \(lines)")
        #expect(line.bytes == 17, "bytes to the client in \(lines)")
        #expect(line.timers[2] >= 250 && line.timers[2] < 2500, "Tt in \(lines)")
        await baton.stop()
    }

    @Test("TCP: a server that never answers ends the session after timeout server (sD)")
    func tcpServerTimeout() async throws {
        let server = try await SilentTCPServer.start()
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.tcpConfig(port: port, server: server.port, timeouts: """
                timeout client 10s
                timeout server 300ms
            """), listening: [port])
        let started = ContinuousClock.now
        let client = try RawClient(port: port)
        let (closed, extra) = try await client.waitForClose(timeout: .seconds(12))
        #expect(closed, "client still connected after 12 s")
        #expect(extra.isEmpty)
        if let closedAt = client.closedAt {
            #expect(closedAt - started >= .milliseconds(250) && closedAt - started < .seconds(5),
                    "closed after \(closedAt - started) (timeout server 300 ms, timeout client 10 s)")
        }
        // The client, told the end of stream, closes, as clients do.
        let clientPort = client.localPort
        client.close()
        #expect(await server.waitFor(timeout: .seconds(3)) { $0.endedAt != nil }, "server connection still open")
        let lines = await Self.logLines(baton, clientPort: clientPort)
        #expect(lines.count == 1, "\(lines)")
        let line = try #require(lines.first.flatMap(TCPLogLine.init), "log: \(baton.stdout)")
        #expect(line.terminationState == "sD", "termination state in \(lines)")
        #expect(line.bytes == 0)
        await baton.stop()
    }

    // MARK: timeout client-fin / server-fin, TCP mode

    /// HAProxy's `timeout server-fin` is the server side's inactivity timeout once HAProxy has
    /// shut its write side toward the server, that is once the client half-closed and that was
    /// passed on: it then waits for the server under server-fin instead of timeout server.
    @Test("TCP: after the client half-closes, a silent server is given timeout server-fin, not timeout server (sD)")
    func serverFin() async throws {
        let server = try await SilentTCPServer.start()
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.tcpConfig(port: port, server: server.port, timeouts: """
                timeout client 8s
                timeout server 8s
                timeout server-fin 300ms
            """), listening: [port])
        let client = try RawClient(port: port)
        try await client.send("hello")
        #expect(await server.waitFor { $0.receivedText == "hello" })
        let halfClosed = ContinuousClock.now
        // Otherwise what follows would not be about the half-close (only a test process held up
        // for the 8 s of timeout client/server could see this).
        #expect(server.connection(0)?.endedAt == nil, "the session ended before the client half-closed")
        client.shutdownWrite()
        #expect(await server.waitFor(timeout: .seconds(3)) { $0.endedAt != nil }, "the half-close did not reach the server")
        let (closed, extra) = try await client.waitForClose(timeout: .seconds(10))
        #expect(closed, "still connected 10 s after the half-close")
        #expect(extra.isEmpty)
        let after = try #require(client.closedAt) - halfClosed
        #expect(after >= .milliseconds(250) && after < .seconds(4),
                "closed \(after) after the client's half-close (server-fin 300 ms, client/server 8 s)")
        let lines = await Self.logLines(baton, clientPort: client.localPort)
        let line = try #require(lines.first.flatMap(TCPLogLine.init), "log: \(baton.stdout)")
        #expect(line.terminationState == "sD", "termination state in \(lines)")
        await baton.stop()
    }

    /// HAProxy's `timeout client-fin` is the client side's inactivity timeout once HAProxy has
    /// shut its write side toward the client, that is once the server half-closed and that was
    /// passed on: it then waits for the client under client-fin instead of timeout client.
    @Test("TCP: after the server half-closes, a silent client is given timeout client-fin, not timeout client (cD)")
    func clientFin() async throws {
        let server = try await SilentTCPServer.start(halfCloseOnAccept: true)
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.tcpConfig(port: port, server: server.port, timeouts: """
                timeout client 8s
                timeout server 8s
                timeout client-fin 300ms
            """), listening: [port])
        let client = try RawClient(port: port)
        // The server's half-close reaches the client, which stays connected and silent.
        let (eof, extra) = try await client.waitForClose(timeout: .seconds(3))
        #expect(eof, "the server's half-close did not reach the client")
        #expect(extra.isEmpty)
        // From when the server shut its side (before the proxy could see it).
        let halfClosed = try #require(server.connection(0)?.outputClosedAt)
        #expect(await server.waitFor(timeout: .seconds(10)) { $0.endedAt != nil }, "server connection still open 10 s on")
        let ended = try #require(server.connection(0)?.endedAt)
        #expect(ended - halfClosed >= .milliseconds(250) && ended - halfClosed < .seconds(4),
                "server connection ended \(ended - halfClosed) after the server's half-close (client-fin 300 ms, client/server 8 s)")
        let lines = await Self.logLines(baton, clientPort: client.localPort)
        let line = try #require(lines.first.flatMap(TCPLogLine.init), "log: \(baton.stdout)")
        #expect(line.terminationState == "cD", "termination state in \(lines)")
        await baton.stop()
    }

    // MARK: timeout tunnel

    static let tunnelIdleLimit: Duration = .seconds(2)

    enum TunnelAttempt {
        /// The scenario ran to its end (its expectations are recorded).
        case evaluated
        /// This test process was held up so long that the tunnel may rightly have been idle for
        /// timeout tunnel: nothing can be concluded from this connection.
        case inconclusive(String)
    }

    /// Keeps `client` idle for 500 ms (over twice timeout client/server, well under timeout
    /// tunnel) and then echoes a message, three times; then waits for the close. The proxy's last
    /// activity is never earlier than when the last echoed message was sent (`acknowledged`), so
    /// `close - acknowledged` bounds the idle time it saw from above: a close with that under
    /// timeout tunnel is a close too early, whatever delays this process had; a larger one during
    /// the idle periods means the delays here made the period too long, and the scenario is
    /// retried on a new connection.
    static func tunnelLifetime(_ client: RawClient, opened: ContinuousClock.Instant) async throws -> TunnelAttempt {
        var acknowledged = opened
        func judgeClose(_ round: Int) throws -> TunnelAttempt {
            let idle = try #require(client.closedAt) - acknowledged
            if idle < tunnelIdleLimit - .milliseconds(50) {
                Issue.record("tunnel closed after at most \(idle) idle in round \(round) (timeout tunnel 2 s)")
                return .evaluated
            }
            return .inconclusive("closed in round \(round), up to \(idle) after the last echoed message was sent")
        }
        for round in 0..<3 {
            let (closed, extra) = try await client.waitForClose(timeout: .milliseconds(500))
            #expect(extra.isEmpty)
            if closed { return try judgeClose(round) }
            let message = Array("ping \(round)".utf8)
            let sending = ContinuousClock.now
            do {
                try await client.send(message)
            } catch {
                _ = try await client.waitForClose(timeout: .seconds(2))
            }
            let echo = try await client.readBytes(message.count, timeout: .seconds(3))
            if echo != message {
                if client.peerClosed { return try judgeClose(round) }
                Issue.record("round \(round): echo \(echo) instead of \(message)")
                return .evaluated
            }
            acknowledged = sending
        }
        let (closed, _) = try await client.waitForClose(timeout: .seconds(6))
        #expect(closed, "still open after 6 s idle (timeout tunnel 2 s)")
        let closedAt = try #require(client.closedAt)
        #expect(closedAt - acknowledged >= tunnelIdleLimit - .milliseconds(50),
                "closed \(closedAt - acknowledged) after the last message was sent (timeout tunnel 2 s)")
        let lastReceived = try #require(client.lastDataAt)
        #expect(closedAt - lastReceived < tunnelIdleLimit + .milliseconds(2500),
                "closed \(closedAt - lastReceived) after the last echo arrived (timeout tunnel 2 s)")
        return .evaluated
    }

    @Test("timeout tunnel: an upgraded connection outlives timeout client/server while active, and closes once idle for timeout tunnel")
    func tunnelTimeout() async throws {
        let upstream = try await TestUpstream.start { _ in .upgradeEcho }
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.httpConfig(port: port, timeouts: """
                timeout connect 1s
                timeout client 200ms
                timeout server 200ms
                timeout tunnel 2s
            """, backend: "    server app1 127.0.0.1:\(upstream.port)"), listening: [port])
        var inconclusive: [String] = []
        for _ in 0..<3 {
            let client = try RawClient(port: port)
            let sent = ContinuousClock.now
            try await client.send("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                                  + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            let switching = try await client.readResponse()
            if switching.status == 504 {
                // timeout server (200 ms) struck before the 101: this process's upstream was late.
                inconclusive.append("504 before the upgrade")
                continue
            }
            #expect(switching.status == 101, "\(switching)")
            guard switching.status == 101 else { break }
            if case .inconclusive(let why) = try await Self.tunnelLifetime(client, opened: sent) {
                inconclusive.append(why)
                continue
            }
            break
        }
        #expect(inconclusive.count < 3, "no conclusive attempt: \(inconclusive)")
        await baton.stop()
    }

    @Test("timeout tunnel in TCP mode supersedes timeout client/server")
    func tcpTunnelTimeout() async throws {
        let server = try await TCPTestServer.start(.echo)
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.tcpConfig(port: port, server: server.port, timeouts: """
                timeout client 200ms
                timeout server 200ms
                timeout tunnel 2s
            """), listening: [port])
        var inconclusive: [String] = []
        for _ in 0..<3 {
            let opened = ContinuousClock.now
            let client = try RawClient(port: port)
            if case .inconclusive(let why) = try await Self.tunnelLifetime(client, opened: opened) {
                inconclusive.append(why)
                continue
            }
            let lines = await Self.logLines(baton, clientPort: client.localPort)
            let line = try #require(lines.first.flatMap(TCPLogLine.init), "log: \(baton.stdout)")
            // Both sides went idle within a millisecond of each other (the echo), so either side's
            // timeout may be the one reported; HAProxy reports the client's on a tie.
            #expect(line.terminationState == "cD" || line.terminationState == "sD", "termination state in \(lines)")
            // Three idle periods of at least 500 ms, then 2 s.
            #expect(line.timers[2] >= 3450, "Tt in \(lines)")
            break
        }
        #expect(inconclusive.count < 3, "no conclusive attempt: \(inconclusive)")
        await baton.stop()
    }
}
