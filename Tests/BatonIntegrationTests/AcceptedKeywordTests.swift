import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// End to end, the runtime meaning of keywords Baton accepts as haproxy 2.6 does:
/// `option dontlognull`, `cookie` persistence, `server ... send-proxy[-v2]`, `bind ... accept-proxy`,
/// `option originalto`, `http-reuse never`, `bind ... maxconn/backlog/mode`, `option abortonclose`,
/// a frontend and a backend of the same name, `hard-stop-after` and `ulimit-n`.
@Suite("Accepted keywords")
struct AcceptedKeywordTests {
    static func loggingConfig(_ body: String, extraDefaults: String = "") -> String {
        """
        global
            log stdout format raw local0
        \(httpDefaults(extraDefaults))
            log global
            option httplog
        \(body)
        """
    }

    // MARK: option dontlognull

    @Test("option dontlognull: a connection that sends nothing is answered 408 but not logged; a partial head is")
    func dontlognull() async throws {
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.loggingConfig("""
            listen web
                bind 127.0.0.1:\(port)
                timeout http-request 300ms
                option dontlognull
                server app1 127.0.0.1:\(upstream.port)
            """), listening: [port])
        let silent = try RawClient(port: port)
        let silentAnswer = String(decoding: try await silent.readUntilClose(), as: UTF8.self)
        #expect(silentAnswer.hasPrefix("HTTP/1.1 408"), "\(silentAnswer)")
        let partial = try RawClient(port: port)
        try await partial.send("GET /part")
        _ = try await partial.readUntilClose()
        let badRequests = await baton.waitForStdoutLines { $0.contains("<BADREQ>") }
        #expect(badRequests.count == 1, "\(badRequests)")
        let response = try await rawGet(port: port, "/real")
        #expect(response.status == 200)
        let real = await baton.waitForStdoutLines { $0.contains("/real") }
        #expect(real.count == 1)
        // Every line is in by now (each connection ended before the next began).
        #expect(baton.stdoutLines(containing: "<BADREQ>").count == 1, "\(baton.stdout)")
        await baton.stop()
    }

    @Test("without option dontlognull the empty connection's 408 is logged")
    func nullConnectionsAreLoggedByDefault() async throws {
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.loggingConfig("""
            listen web
                bind 127.0.0.1:\(port)
                timeout http-request 300ms
                server app1 127.0.0.1:9
            """), listening: [port])
        let silent = try RawClient(port: port)
        _ = try await silent.readUntilClose()
        let lines = await baton.waitForStdoutLines { $0.contains("<BADREQ>") }
        #expect(lines.count == 1)
        await baton.stop()
    }

    @Test("option dontlognull in mode tcp: a connection that sends nothing is not logged")
    func dontlognullTCP() async throws {
        let echo = try await TCPTestServer.start(.echo)
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            global
                log stdout format raw local0
            defaults
                mode tcp
                timeout connect 5s
                timeout client 5s
                timeout server 5s
                log global
                option tcplog
                option dontlognull
            listen relay
                bind 127.0.0.1:\(port)
                server echo 127.0.0.1:\(echo.port)
            """, listening: [port])
        let silent = try RawClient(port: port)
        silent.close()
        #expect(await eventually { echo.connectionCount == 1 })
        let talker = try RawClient(port: port)
        try await talker.send("hello")
        #expect(try await talker.readBytes(5) == Array("hello".utf8))
        talker.close()
        let lines = await baton.waitForStdoutLines { $0.contains("relay relay/echo") }
        #expect(lines.count == 1, "\(lines)")
        // The silent session ended before the talking one began; its line would be there.
        #expect(baton.stdoutLines(containing: "relay relay/echo").count == 1, "\(baton.stdout)")
        await baton.stop()
    }

    @Test("option log-separate-errors: a 503 is logged at level err (<131>), a 200 at info (<134>)")
    func logSeparateErrors() async throws {
        let directory = try TemporaryDirectory()
        let receiver = try DatagramReceiver.unix(path: directory.path("syslog.sock"))
        let upstream = try await TestUpstream.named("fine")
        let port = freePort()
        let failingPort = freePort()
        let baton = try await BatonProcess.start(config: """
            global
                log \(receiver.path) format rfc3164 local0
            \(httpDefaults())
                log global
                option httplog
                option log-separate-errors
            frontend web
                bind 127.0.0.1:\(port)
                default_backend app
            backend app
                server s1 127.0.0.1:\(upstream.port)
                server s2 127.0.0.1:9 disabled
            backend down
                server s1 127.0.0.1:9 disabled
            frontend failing
                bind 127.0.0.1:\(failingPort)
                default_backend down
            """, listening: [port, failingPort], directory: directory)
        #expect(try await rawGet(port: port, "/fine").status == 200)
        #expect(try await rawGet(port: failingPort, "/failing").status == 503)
        let fine = await receiver.waitForMessages { $0.contains("/fine") }
        let failing = await receiver.waitForMessages { $0.contains("/failing") }
        #expect(fine.first?.hasPrefix("<134>") == true, "\(fine)")
        #expect(failing.first?.hasPrefix("<131>") == true, "\(failing)")
        await baton.stop()
    }

    // MARK: cookie persistence

    static func twoServers() async throws -> (TestUpstream, TestUpstream) {
        let one = try await TestUpstream.start(name: "one") { request in
            .respond(headers: [("X-Server", "one"), ("X-Cookie", request.header("cookie") ?? "-")])
        }
        let two = try await TestUpstream.start(name: "two") { request in
            .respond(headers: [("X-Server", "two"), ("X-Cookie", request.header("cookie") ?? "-")])
        }
        return (one, two)
    }

    @Test("cookie insert indirect nocache: inserted for new clients, honoured and hidden from the server after")
    func cookieInsert() async throws {
        let (one, two) = try await Self.twoServers()
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.loggingConfig("""
            listen web
                bind 127.0.0.1:\(port)
                cookie SRV insert indirect nocache httponly
                server s1 127.0.0.1:\(one.port) cookie c1
                server s2 127.0.0.1:\(two.port) cookie c2
                server s3 127.0.0.1:9 cookie c3 disabled
            """), listening: [port])
        let first = try await rawGet(port: port, "/new")
        let server = try #require(first.header("x-server"))
        let value = server == "one" ? "c1" : "c2"
        #expect(first.values("set-cookie") == ["SRV=\(value); path=/; HttpOnly"], "\(first)")
        #expect(first.header("cache-control") == "private")
        for _ in 0..<4 {
            let again = try await rawGet(port: port, "/again", extraHeaders: "Cookie: a=1; SRV=c2; b=2\r\n")
            #expect(again.header("x-server") == "two")
            #expect(again.header("x-cookie") == "a=1; b=2", "indirect: the server does not see SRV")
            #expect(again.values("set-cookie").isEmpty, "\(again)")
        }
        let invalid = try await rawGet(port: port, "/invalid", extraHeaders: "Cookie: SRV=nope\r\n")
        #expect(invalid.values("set-cookie").count == 1)
        let down = try await rawGet(port: port, "/down", extraHeaders: "Cookie: SRV=c3\r\n")
        #expect(down.status == 200 && down.values("set-cookie").count == 1, "\(down)")
        let newLine = await baton.waitForStdoutLines { $0.contains("/new") }
        #expect(newLine.first.flatMap(HTTPLogLine.init)?.terminationState == "--NI", "\(newLine)")
        let againLines = await baton.waitForStdoutLines(count: 4) { $0.contains("/again") }
        #expect(againLines.compactMap(HTTPLogLine.init).map(\.terminationState) == Array(repeating: "--VN", count: 4))
        #expect(againLines.compactMap(HTTPLogLine.init).allSatisfy { $0.server == "s2" })
        let invalidLine = await baton.waitForStdoutLines { $0.contains("/invalid") }
        #expect(invalidLine.first.flatMap(HTTPLogLine.init)?.terminationState == "--II")
        let downLine = await baton.waitForStdoutLines { $0.contains("/down") }
        #expect(downLine.first.flatMap(HTTPLogLine.init)?.terminationState == "--DI")
        await baton.stop()
    }

    @Test("cookie prefix: the server's cookie gets the server's prefix, and loses it on the way back")
    func cookiePrefix() async throws {
        let one = try await TestUpstream.start(name: "one") { request in
            .respond(headers: [("Set-Cookie", "JSESSIONID=abc; Path=/app"), ("X-Cookie", request.header("cookie") ?? "-")])
        }
        let two = try await TestUpstream.start(name: "two") { request in
            .respond(headers: [("Set-Cookie", "JSESSIONID=def; Path=/app"), ("X-Cookie", request.header("cookie") ?? "-")])
        }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            backend app
                cookie JSESSIONID prefix
                server s1 127.0.0.1:\(one.port) cookie p1
                server s2 127.0.0.1:\(two.port) cookie p2
            frontend web
                bind 127.0.0.1:\(port)
                default_backend app
            """, listening: [port])
        let first = try await rawGet(port: port, "/login")
        let cookie = try #require(first.header("set-cookie"))
        #expect(cookie == "JSESSIONID=p1~abc; Path=/app" || cookie == "JSESSIONID=p2~def; Path=/app", "\(cookie)")
        for _ in 0..<3 {
            let next = try await rawGet(port: port, "/next", extraHeaders: "Cookie: JSESSIONID=p2~xyz\r\n")
            #expect(next.header("x-cookie") == "JSESSIONID=xyz")
            #expect(next.header("set-cookie") == "JSESSIONID=p2~def; Path=/app")
        }
        await baton.stop()
    }

    @Test("cookie rewrite: the value the server sets becomes the server's cookie value")
    func cookieRewrite() async throws {
        let origin = try await TestUpstream.start(name: "one") { _ in
            .respond(headers: [("Set-Cookie", "SERVERID=placeholder; Path=/")])
        }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                cookie SERVERID rewrite
                server s1 127.0.0.1:\(origin.port) cookie srv1
            """, listening: [port])
        let response = try await rawGet(port: port)
        #expect(response.header("set-cookie") == "SERVERID=srv1; Path=/")
        await baton.stop()
    }

    // MARK: PROXY protocol

    @Test("server send-proxy and send-proxy-v2 start the server connection with the client's addresses",
          arguments: ["send-proxy", "send-proxy-v2"])
    func sendProxy(option: String) async throws {
        let origin = try await ProxyHeaderOrigin.start()
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                server s1 127.0.0.1:\(origin.port) \(option)
            """, listening: [port])
        let client = try RawClient(port: port)
        try await client.send("GET /proxied HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        let response = try await client.readResponse()
        #expect(response.status == 200 && response.bodyText == "ok")
        let header = origin.header(of: 0)
        if option == "send-proxy" {
            #expect(String(decoding: header, as: UTF8.self) == "PROXY TCP4 127.0.0.1 127.0.0.1 \(client.localPort) \(port)\r\n")
        } else {
            let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
            let expected = signature + [0x21, 0x11, 0x00, 12, 127, 0, 0, 1, 127, 0, 0, 1,
                                        UInt8(client.localPort >> 8), UInt8(client.localPort & 0xff),
                                        UInt8(port >> 8), UInt8(port & 0xff)]
            #expect(header == expected)
        }
        await baton.stop()
    }

    @Test("bind accept-proxy: the addresses of the PROXY header are the client's (v1 and v2)",
          arguments: [false, true])
    func acceptProxy(v2: Bool) async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.loggingConfig("""
            listen web
                bind 127.0.0.1:\(port) accept-proxy
                option forwardfor
                option originalto
                server s1 127.0.0.1:\(upstream.port)
            """), listening: [port])
        let client = try RawClient(port: port)
        let header: [UInt8] = v2
            ? [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 12,
               10, 1, 2, 3, 10, 9, 9, 9, 0x04, 0x57, 0x00, 0x50]
            : Array("PROXY TCP4 10.1.2.3 10.9.9.9 1111 80\r\n".utf8)
        try await client.send(header + Array("GET /via-proxy HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".utf8))
        let response = try await client.readResponse()
        #expect(response.status == 200)
        let seen = try #require(upstream.requests.first)
        #expect(seen.header("x-forwarded-for") == "10.1.2.3")
        #expect(seen.header("x-original-to") == "10.9.9.9")
        let lines = await baton.waitForStdoutLines { $0.contains("/via-proxy") }
        #expect(lines.first.flatMap(HTTPLogLine.init)?.clientIP == "10.1.2.3", "\(lines)")
        #expect(lines.first.flatMap(HTTPLogLine.init)?.clientPort == 1111)
        let garbage = try RawClient(port: port)
        try await garbage.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        let (closed, extra) = try await garbage.waitForClose(timeout: .seconds(5))
        #expect(closed && extra.isEmpty, "a connection without a PROXY header is closed")
        await baton.stop()
    }

    // MARK: option originalto

    @Test("option originalto: X-Original-To carries the address the client connected to; except skips it")
    func originalTo() async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let exceptPort = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            frontend web
                bind :\(port)
                option originalto header X-Dest
                default_backend app
            frontend excepted
                bind :\(exceptPort)
                option originalto except 127.0.0.2
                default_backend app
            backend app
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port, exceptPort])
        let client = try RawClient(port: port, host: "127.0.0.2")
        try await client.send("GET /dest HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(try await client.readResponse().status == 200)
        #expect(upstream.requests.last?.header("x-dest") == "127.0.0.2")
        #expect(upstream.requests.last?.header("x-original-to") == nil)
        let excepted = try RawClient(port: exceptPort, host: "127.0.0.2")
        try await excepted.send("GET /except HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(try await excepted.readResponse().status == 200)
        #expect(upstream.requests.last?.header("x-original-to") == nil)
        #expect(try await rawGet(port: exceptPort, "/not-excepted").status == 200)
        #expect(upstream.requests.last?.header("x-original-to") == "127.0.0.1")
        await baton.stop()
    }

    // MARK: http-reuse

    @Test("http-reuse never: every request of a keep-alive client gets its own server connection",
          arguments: ["never", "safe"])
    func httpReuse(mode: String) async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                http-reuse \(mode)
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let client = try RawClient(port: port)
        for index in 0..<3 {
            try await client.send("GET /r\(index) HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
        }
        #expect(upstream.requestCount == 3)
        if mode == "never" {
            #expect(upstream.connectionCount == 3)
            #expect(upstream.requests.allSatisfy { $0.header("connection") == "close" })
        } else {
            #expect(upstream.connectionCount == 1)
        }
        await baton.stop()
    }

    @Test("option prefer-last-server: a keep-alive client stays on its server; without it roundrobin alternates",
          arguments: [true, false])
    func preferLastServer(enabled: Bool) async throws {
        let (one, two) = try await Self.twoServers()
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                balance roundrobin
                \(enabled ? "option prefer-last-server" : "")
                server s1 127.0.0.1:\(one.port)
                server s2 127.0.0.1:\(two.port)
            """, listening: [port])
        let client = try RawClient(port: port)
        var servers: [String] = []
        for index in 0..<4 {
            try await client.send("GET /p\(index) HTTP/1.1\r\nHost: a\r\n\r\n")
            servers.append(try await client.readResponse().header("x-server") ?? "?")
        }
        if enabled {
            #expect(Set(servers).count == 1, "\(servers)")
        } else {
            #expect(Set(servers).count == 2, "\(servers)")
        }
        await baton.stop()
    }

    // MARK: bind settings

    @Test("bind maxconn limits that listener only; bind backlog sets the listen queue")
    func bindMaxconnAndBacklog() async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let limited = freePort()
        let free = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(limited) maxconn 1 backlog 7
                bind 127.0.0.1:\(free)
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [limited, free])
        let first = try RawClient(port: limited)
        try await first.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await first.readResponse().status == 200)
        let second = try RawClient(port: limited)
        try await second.send("GET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        // The other listener is not held back by this one's limit.
        #expect(try await rawGet(port: free, "/other").status == 200)
        #expect(!upstream.requests.map(\.uri).contains("/two"), "the second connection went over maxconn 1")
        first.close()
        #expect(try await second.readResponse(timeout: .seconds(5)).status == 200)
        let listing = try await runCommand("/usr/bin/ss", ["-ltnH", "sport = :\(limited)"]).stdout
        let columns = listing.split(whereSeparator: \.isWhitespace)
        #expect(columns.count >= 3 && columns[2] == "7", "ss: \(listing)")
        await baton.stop()
    }

    @Test("bind :::PORT v6only takes no IPv4 client; v4v6 does, whatever the system default",
          .enabled(if: canBindIPv6Loopback(), "::1 cannot be bound on this machine"), arguments: [true, false])
    func v6only(only: Bool) async throws {
        let upstream = try await TestUpstream.named("dual")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind :::\(port) \(only ? "v6only" : "v4v6")
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        #expect(try await curl("http://[::1]:\(port)/", timeout: .seconds(5)).status == 200)
        if only {
            #expect(connectionRefused(port: port), "an IPv4 client reached a v6only listener")
        } else {
            #expect(try await rawGet(port: port).status == 200)
        }
        await baton.stop()
    }

    @Test("bind on a Unix socket with mode: the socket file gets those permissions")
    func unixSocketMode() async throws {
        let upstream = try await TestUpstream.named("unix")
        let directory = try TemporaryDirectory()
        let socketPath = directory.path("front.sock")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                bind \(socketPath) mode 600
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port], directory: directory)
        #expect(await eventually { FileManager.default.fileExists(atPath: socketPath) })
        let attributes = try FileManager.default.attributesOfItem(atPath: socketPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        await baton.stop()
    }

    // MARK: option abortonclose

    @Test("option abortonclose: a queued request whose client closes its side is dropped (CQ), never sent")
    func abortOnClose() async throws {
        let upstream = try await TestUpstream.start { request in
            request.uri == "/slow" ? .delay(.seconds(5), .text("slow")) : .text("fast")
        }
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.loggingConfig("""
            listen web
                bind 127.0.0.1:\(port)
                option abortonclose
                timeout queue 10s
                server s1 127.0.0.1:\(upstream.port) maxconn 1
            """), listening: [port])
        let busy = try RawClient(port: port)
        try await busy.send("GET /slow HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(await upstream.waitForRequests(1))
        let queued = try RawClient(port: port)
        try await queued.send("GET /queued HTTP/1.1\r\nHost: a\r\n\r\n")
        queued.shutdownWrite()
        let lines = await baton.waitForStdoutLines { $0.contains("/queued") }
        // No status (-1): nothing was answered, as HAProxy logs it.
        #expect(lines.count == 1 && lines[0].contains(" web/<NOSRV> ") && lines[0].contains(" -1 0 - - CQ-- "), "\(lines)")
        #expect(try await busy.readResponse(timeout: .seconds(10)).status == 200)
        #expect(upstream.requests.map(\.uri) == ["/slow"])
        await baton.stop()
    }

    // MARK: same name

    @Test("a frontend and a backend with the same name: default_backend goes to the backend")
    func sameNameFrontendAndBackend() async throws {
        let upstream = try await TestUpstream.named("the backend")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            frontend app
                bind 127.0.0.1:\(port)
                default_backend app
            backend app
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let response = try await rawGet(port: port)
        #expect(response.status == 200 && response.bodyText == "the backend", "\(response)")
        await baton.stop()
    }

    @Test("a server without a port is reached on the port the client connected to")
    func serverWithoutPort() async throws {
        let port = freePort()
        // The origin listens on 127.0.0.2 at the port Baton listens on at 127.0.0.1.
        let origin = try await TestUpstream.start(name: "same-port", host: "127.0.0.2", port: Int(port)) { _ in .text("same port") }
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                server s1 127.0.0.2
            """, listening: [port])
        // The origin already holds that port number (on 127.0.0.2): wait for Baton's own socket.
        #expect(await eventually { (try? RawClient(port: port)) != nil })
        let response = try await rawGet(port: port)
        #expect(response.status == 200 && response.bodyText == "same port", "\(response)")
        #expect(origin.requestCount == 1)
        await baton.stop()
    }

    // MARK: global

    @Test("hard-stop-after: a soft-stop closes what is still open once the delay has passed")
    func hardStopAfter() async throws {
        let upstream = try await TestUpstream.start { _ in .hold }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            global
                hard-stop-after 300ms
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let client = try RawClient(port: port)
        try await client.send("GET /held HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(await upstream.waitForRequests(1))
        let started = ContinuousClock.now
        baton.send(SIGUSR1)
        let status = await baton.waitForExit(timeout: .seconds(10))
        #expect(status != nil, "baton still running 10 s after SIGUSR1 with hard-stop-after 300ms")
        #expect(ContinuousClock.now - started < .seconds(5))
        let (closed, _) = try await client.waitForClose(timeout: .seconds(2))
        #expect(closed)
    }

    @Test("tune.bufsize and tune.maxrewrite bound the request head: 4096 - 1024 bytes here")
    func bufferSize() async throws {
        let upstream = try await TestUpstream.named("fits")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            global
                tune.bufsize 4096
                tune.maxrewrite 1024
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let small = try await rawGet(port: port, "/small", extraHeaders: "X-Pad: \(String(repeating: "a", count: 2500))\r\n")
        #expect(small.status == 200 && small.bodyText == "fits")
        let large = try await rawGet(port: port, "/large", extraHeaders: "X-Pad: \(String(repeating: "a", count: 3500))\r\n")
        #expect(large.status == 431, "\(large)")
        #expect(upstream.requests.map(\.uri) == ["/small"])
        await baton.stop()
    }

    @Test("ulimit-n sets the file descriptor limit; one beyond what the system allows is fatal")
    func ulimitN() async throws {
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            global
                ulimit-n 1000
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                server s1 127.0.0.1:9
            """, listening: [port])
        let limits = try String(contentsOfFile: "/proc/\(baton.pid)/limits", encoding: .utf8)
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") } ?? ""
        #expect(line.split(whereSeparator: \.isWhitespace).dropFirst(3).prefix(2).map(String.init) == ["1000", "1000"],
                "\(line)")
        await baton.stop()

        let other = freePort()
        do {
            let impossible = try await BatonProcess.start(config: """
                global
                    ulimit-n 2000000000
                \(httpDefaults())
                listen web
                    bind 127.0.0.1:\(other)
                """, listening: [other])
            await impossible.stop()
            Issue.record("baton started with ulimit-n 2000000000")
        } catch {
            #expect("\(error)".contains("Cannot raise FD limit to 2000000000, limit is"), "\(error)")
        }
    }
}
