import Foundation
import Testing

/// Requests through Baton to a real upstream, as curl and raw sockets see them.
@Suite("HTTP proxying")
struct HTTPProxyTests {
    /// A `listen` section, or the same as `frontend` + `backend`.
    static func proxyConfig(port: UInt16, upstream: UInt16, split: Bool, extra: String = "") -> String {
        if split {
            return """
                \(httpDefaults())
                frontend web
                    bind 127.0.0.1:\(port)
                    default_backend app
                backend app
                \(extra)
                    server app1 127.0.0.1:\(upstream)
                """
        }
        return """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
            \(extra)
                server app1 127.0.0.1:\(upstream)
            """
    }

    @Test("GET through a proxy: status, upstream headers and body reach curl; the request reaches the server",
          arguments: [false, true])
    func basicGet(split: Bool) async throws {
        let upstream = try await TestUpstream.start { request in
            .text("hello from upstream\n", headers: [("Content-Type", "text/plain"), ("X-Upstream", "yes")])
        }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: split), listening: [port])
        let result = try await curl("http://127.0.0.1:\(port)/hello/world?x=1&y=2", "-H", "X-Test: yes")
        #expect(result.status == 200, "\(result)")
        #expect(result.bodyText == "hello from upstream\n")
        #expect(result.header("X-Upstream") == "yes")
        #expect(result.header("Content-Type") == "text/plain")
        let requests = upstream.requests
        #expect(requests.count == 1)
        #expect(requests.first?.method == "GET")
        #expect(requests.first?.uri == "/hello/world?x=1&y=2")
        #expect(requests.first?.header("X-Test") == "yes")
        #expect(requests.first?.header("Host") == "127.0.0.1:\(port)")
        await baton.stop()
    }

    @Test("two requests on one client connection reuse one upstream connection")
    func keepAliveReuse() async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: false), listening: [port])
        let client = try RawClient(port: port)
        for path in ["/first", "/second"] {
            try await client.send("GET \(path) HTTP/1.1\r\nHost: example.test\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.bodyText.hasPrefix("GET \(path) HTTP/1.1\n"), "\(response)")
        }
        #expect(!client.peerClosed)
        #expect(upstream.requestCount == 2)
        #expect(upstream.connectionCount == 1, "upstream accepted \(upstream.connectionCount) connections")
        #expect(upstream.requests.map(\.connection) == [1, 1])
        await baton.stop()
    }

    @Test("pipelined requests are answered in order, even when the first answer is the slowest")
    func pipelining() async throws {
        let upstream = try await TestUpstream.start { request in
            request.uri == "/1" ? .delay(.milliseconds(200), .echo(request)) : .echo(request)
        }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: false), listening: [port])
        let client = try RawClient(port: port)
        try await client.send((1...3).map { "GET /\($0) HTTP/1.1\r\nHost: example.test\r\n\r\n" }.joined())
        for index in 1...3 {
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.bodyText.hasPrefix("GET /\(index) HTTP/1.1\n"), "response \(index): \(response)")
        }
        await baton.stop()
    }

    @Test("HEAD gets the headers without a body, and the connection stays usable")
    func head() async throws {
        let upstream = try await TestUpstream.start { _ in .text("eleven char") }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: false), listening: [port])
        let client = try RawClient(port: port)
        try await client.send("HEAD /h HTTP/1.1\r\nHost: example.test\r\n\r\n")
        let head = try await client.readResponse(head: true)
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "11")
        try await client.send("GET /g HTTP/1.1\r\nHost: example.test\r\n\r\n")
        let get = try await client.readResponse()
        #expect(get.status == 200)
        #expect(get.bodyText == "eleven char", "a HEAD body leaked into the next response? \(get)")
        #expect(upstream.requests.map(\.method) == ["HEAD", "GET"])
        await baton.stop()
    }

    @Test("POST bodies reach the server intact: content-length and chunked, and come back",
          arguments: [false, true])
    func postBody(chunked: Bool) async throws {
        let upstream = try await TestUpstream.start { .respond(headers: [("Content-Type", "application/octet-stream")], body: $0.body) }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: false), listening: [port])
        let directory = try TemporaryDirectory()
        let size = 300_000
        try Pattern.writeFile(directory.path("body"), count: size)
        var arguments = ["http://127.0.0.1:\(port)/upload", "--data-binary", "@" + directory.path("body"),
                         "-H", "Content-Type: application/octet-stream", "-H", "Expect:"]
        if chunked { arguments += ["-H", "Transfer-Encoding: chunked"] }
        let result = try await curl(arguments: arguments)
        #expect(result.status == 200, "\(result)")
        #expect(result.body.count == size)
        #expect(result.body.elementsEqual(Pattern.bytes.prefix(size)))
        let request = try #require(upstream.requests.first)
        #expect(request.method == "POST")
        #expect(request.bodyLength == size)
        #expect(request.bodyMatchesPattern)
        await baton.stop()
    }

    @Test("a chunked request with extensions and a trailer arrives as its payload")
    func rawChunkedRequest() async throws {
        let upstream = try await TestUpstream.start { .respond(body: $0.body) }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: false), listening: [port])
        let response = try await rawRequest(port: port, "POST /c HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      + "5\r\nhello\r\n6;name=value\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
        #expect(response.status == 200)
        #expect(response.bodyText == "hello world")
        #expect(upstream.requests.first?.bodyText == "hello world")
        await baton.stop()
    }

    @Test("a chunked response reaches the client whole")
    func chunkedResponse() async throws {
        let upstream = try await TestUpstream.start { _ in .chunked(chunks: ["first,", "second,", "third"]) }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: false), listening: [port])
        let result = try await curl("http://127.0.0.1:\(port)/")
        #expect(result.status == 200)
        #expect(result.bodyText == "first,second,third")
        await baton.stop()
    }

    @Test("Expect: 100-continue: the client gets 100 Continue before it sends the body")
    func expectContinue() async throws {
        let upstream = try await TestUpstream.start { .respond(body: $0.body) }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: false), listening: [port])
        // Raw: nothing of the body is sent until the interim response has arrived.
        let client = try RawClient(port: port)
        try await client.send("POST /e HTTP/1.1\r\nHost: example.test\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        let interim = try await client.readResponse(timeout: .seconds(3))
        #expect(interim.status == 100, "\(interim)")
        try await client.send("hello world")
        let final = try await client.readResponse()
        #expect(final.status == 200)
        #expect(final.bodyText == "hello world")

        // curl, which waits up to a second for the 100 before sending the body anyway.
        let directory = try TemporaryDirectory()
        try Pattern.writeFile(directory.path("body"), count: 2000)
        let result = try await curl("http://127.0.0.1:\(port)/e2", "-H", "Expect: 100-continue",
                                    "--data-binary", "@" + directory.path("body"))
        #expect(result.status == 200)
        #expect(result.headerText.contains("HTTP/1.1 100 Continue"), "\(result)")
        #expect(result.body.elementsEqual(Pattern.bytes.prefix(2000)))
        await baton.stop()
    }

    @Test("hop-by-hop headers stop at the proxy; a request field named by Connection goes on, as with HAProxy")
    func hopByHop() async throws {
        let upstream = try await TestUpstream.start { _ in
            .text("ok", headers: [("Connection", "X-Bar"), ("X-Bar", "2"), ("X-End-To-End", "kept")])
        }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: false), listening: [port])
        let response = try await rawRequest(port: port, "GET /h HTTP/1.1\r\nHost: example.test\r\nConnection: X-Foo, keep-alive\r\n"
                                      + "X-Foo: 1\r\nKeep-Alive: timeout=5\r\nX-Kept: yes\r\n\r\n")
        #expect(response.status == 200)
        #expect(response.header("X-Bar") == nil, "X-Bar (named by the server's Connection) reached the client: \(response)")
        #expect(response.header("X-End-To-End") == "kept")
        let request = try #require(upstream.requests.first)
        // HAProxy 2.6 forwards a request field named by Connection, and the Connection token naming it
        // (RequestStrictnessDifferentialTests compares the two); only close/keep-alive are the proxy's.
        #expect(request.header("X-Foo") == "1", "X-Foo (named by Connection) did not reach the server: \(request.headers)")
        #expect(request.values("Connection") == ["X-Foo"], "\(request.headers)")
        #expect(request.header("Keep-Alive") == nil, "Keep-Alive reached the server: \(request.headers)")
        #expect(request.header("X-Kept") == "yes")
        await baton.stop()
    }

    enum ForwardFor: String, CaseIterable, Sendable {
        case plain, exceptLoopback, customHeader, ifNonePresent, appendToPresent
    }

    @Test("option forwardfor: X-Forwarded-For with the client's address, except, header, if-none",
          arguments: ForwardFor.allCases)
    func forwardFor(variant: ForwardFor) async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let option: String
        var clientHeader = ""
        switch variant {
        case .plain: option = "option forwardfor"
        case .exceptLoopback: option = "option forwardfor except 127.0.0.0/8"
        case .customHeader: option = "option forwardfor header X-Real-IP"
        case .ifNonePresent:
            option = "option forwardfor if-none"
            clientHeader = "X-Forwarded-For: 192.0.2.7\r\n"
        case .appendToPresent:
            option = "option forwardfor"
            clientHeader = "X-Forwarded-For: 192.0.2.7\r\n"
        }
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: true, extra: "    \(option)"),
            listening: [port])
        // From 127.0.0.5, so the address must be the client's, not a constant.
        let response = try await rawGet(port: port, "/ff", source: "127.0.0.5", extraHeaders: clientHeader)
        #expect(response.status == 200)
        let request = try #require(upstream.requests.first)
        let forwarded = request.values("X-Forwarded-For").joined(separator: ", ")
        switch variant {
        case .plain:
            #expect(forwarded == "127.0.0.5", "\(request.headers)")
        case .exceptLoopback:
            #expect(request.values("X-Forwarded-For").isEmpty, "\(request.headers)")
        case .customHeader:
            #expect(request.values("X-Real-IP") == ["127.0.0.5"], "\(request.headers)")
            #expect(request.values("X-Forwarded-For").isEmpty, "\(request.headers)")
        case .ifNonePresent:
            #expect(forwarded == "192.0.2.7", "\(request.headers)")
        case .appendToPresent:
            #expect(forwarded == "192.0.2.7, 127.0.0.5", "\(request.headers)")
        }
        await baton.stop()
    }

    @Test("monitor-uri answers 200 with HAProxy's page itself; other paths still go to the server")
    func monitorURI() async throws {
        let upstream = try await TestUpstream.start { _ in .text("from upstream") }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: false, extra: "    monitor-uri /healthz"),
            listening: [port])
        let health = try await curl("http://127.0.0.1:\(port)/healthz")
        #expect(health.status == 200)
        #expect(health.bodyText == "<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n")
        #expect(upstream.requestCount == 0)
        let other = try await curl("http://127.0.0.1:\(port)/other")
        #expect(other.status == 200)
        #expect(other.bodyText == "from upstream")
        #expect(upstream.requestCount == 1)
        await baton.stop()
    }

    @Test("http-request return answers with the given status, content-type and string")
    func httpRequestReturnString() async throws {
        let upstream = try await TestUpstream.start { _ in .text("from upstream") }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: false,
                                     extra: "    http-request return status 403 content-type text/plain string \"no entry\""),
            listening: [port])
        let result = try await curl("http://127.0.0.1:\(port)/anything")
        #expect(result.status == 403)
        #expect(result.header("Content-Type") == "text/plain")
        #expect(result.bodyText == "no entry")
        #expect(upstream.requestCount == 0)
        await baton.stop()
    }

    @Test("http-request return answers with a file's contents")
    func httpRequestReturnFile() async throws {
        let upstream = try await TestUpstream.start { _ in .text("from upstream") }
        let port = freePort()
        let directory = try TemporaryDirectory()
        let file = try directory.write("answer.json", "{\"status\": \"maintenance\"}\n")
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: false,
                                     extra: "    http-request return status 200 content-type application/json file \(file)"),
            listening: [port], directory: directory)
        let result = try await curl("http://127.0.0.1:\(port)/")
        #expect(result.status == 200)
        #expect(result.header("Content-Type") == "application/json")
        #expect(result.header("Content-Length") == "26")
        #expect(result.bodyText == "{\"status\": \"maintenance\"}\n")
        #expect(upstream.requestCount == 0)
        await baton.stop()
    }

    @Test("errorfile 503 replaces the 503 page")
    func errorFile() async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("503.http", "HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\n"
                                       + "Connection: close\r\nContent-Type: text/plain\r\n\r\nsorry, we are closed\n")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            frontend web
                bind 127.0.0.1:\(port)
                default_backend app
            backend app
                errorfile 503 \(file)
                server app1 127.0.0.1:9 disabled
            """, listening: [port], directory: directory)
        let result = try await curl("http://127.0.0.1:\(port)/")
        #expect(result.status == 503)
        #expect(result.bodyText == "sorry, we are closed\n")
        #expect(result.header("Content-Type") == "text/plain")
        await baton.stop()
    }

    @Test("a 101 upgrade turns the connection into a tunnel that carries raw bytes both ways")
    func upgradeTunnel() async throws {
        let upstream = try await TestUpstream.start { _ in .upgradeEcho }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.proxyConfig(port: port, upstream: upstream.port, split: false, extra: "    timeout tunnel 30s"),
            listening: [port])
        let client = try RawClient(port: port)
        try await client.send("GET /ws HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let switching = try await client.readResponse()
        #expect(switching.status == 101, "\(switching)")
        let payload: [UInt8] = [0x81, 0x05] + Array("hello".utf8) + [0x00, 0xFF, 0x0D, 0x0A]
        try await client.send(payload)
        #expect(try await client.readBytes(payload.count, timeout: .seconds(3)) == payload)
        try await client.send("second message")
        #expect(try await client.readBytes(14, timeout: .seconds(3)) == Array("second message".utf8))
        await baton.stop()
    }
}
