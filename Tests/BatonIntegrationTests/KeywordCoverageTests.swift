import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The argument forms and sections of the README's keyword table that no other suite runs end
/// to end: the remaining `bind` address forms (IPv4, IPv6, Unix paths, several addresses on one
/// line), `server` address forms, and keywords given in `defaults` or in a frontend/backend.
@Suite("Keyword coverage")
struct KeywordCoverageTests {
    // MARK: bind address forms

    /// Where a client connects: `host` is "127.0.0.1", "127.0.0.2" or "[::1]"; `port` is the
    /// index of the allocated port.
    struct Endpoint: Sendable, CustomStringConvertible {
        var host: String
        var port: Int
        var description: String { "\(host):#\(port)" }
    }

    /// A bind line with placeholders (`P0`, `P1` for ports, `SOCK` for a socket path), the
    /// endpoints that must be served, and those that must not be (IPv4 127.0.0.1 only).
    struct BindCase: Sendable, CustomTestStringConvertible {
        var spec: String
        var served: [Endpoint]
        var refusedOnIPv4: [Int] = []
        var unixSocket = false
        var ipv6 = false
        var testDescription: String { "bind \(spec)" }
    }

    static let ipv4Cases: [BindCase] = [
        BindCase(spec: ":P0", served: [.init(host: "127.0.0.1", port: 0), .init(host: "127.0.0.2", port: 0)]),
        BindCase(spec: "0.0.0.0:P0", served: [.init(host: "127.0.0.1", port: 0), .init(host: "127.0.0.2", port: 0)]),
        BindCase(spec: "ipv4@127.0.0.1:P0", served: [.init(host: "127.0.0.1", port: 0)]),
        BindCase(spec: "ipv4@:P0", served: [.init(host: "127.0.0.1", port: 0), .init(host: "127.0.0.2", port: 0)]),
        BindCase(spec: "ipv4@*:P0", served: [.init(host: "127.0.0.2", port: 0)]),
        BindCase(spec: "tcp4@127.0.0.1:P0", served: [.init(host: "127.0.0.1", port: 0)]),
        BindCase(spec: "127.0.0.1:P0,127.0.0.1:P1", served: [.init(host: "127.0.0.1", port: 0), .init(host: "127.0.0.1", port: 1)]),
        BindCase(spec: "127.0.0.1:P0,*:P1", served: [.init(host: "127.0.0.1", port: 0), .init(host: "127.0.0.2", port: 1)]),
        BindCase(spec: "SOCK", served: [], unixSocket: true),
        BindCase(spec: "127.0.0.1:P0,unix@SOCK", served: [.init(host: "127.0.0.1", port: 0)], unixSocket: true),
    ]

    static let ipv6Cases: [BindCase] = [
        BindCase(spec: ":::P0", served: [.init(host: "[::1]", port: 0)], ipv6: true),
        BindCase(spec: "ipv6@::1:P0", served: [.init(host: "[::1]", port: 0)], refusedOnIPv4: [0], ipv6: true),
        BindCase(spec: "[::1]:P0", served: [.init(host: "[::1]", port: 0)], refusedOnIPv4: [0], ipv6: true),
        BindCase(spec: "ipv6@:P0", served: [.init(host: "[::1]", port: 0)], ipv6: true),
        BindCase(spec: "ipv6@::1:P0,127.0.0.1:P1",
                 served: [.init(host: "[::1]", port: 0), .init(host: "127.0.0.1", port: 1)], refusedOnIPv4: [0], ipv6: true),
    ]

    static func runBindCase(_ bindCase: BindCase) async throws {
        let upstream = try await TestUpstream.named("bound")
        let directory = try TemporaryDirectory()
        let socketPath = directory.path("front.sock")
        let ports = [freePort(), freePort()]
        let spec = bindCase.spec.replacingOccurrences(of: "P0", with: "\(ports[0])")
            .replacingOccurrences(of: "P1", with: "\(ports[1])")
            .replacingOccurrences(of: "SOCK", with: socketPath)
        let usedPorts = ports.indices.filter { bindCase.spec.contains("P\($0)") }.map { ports[$0] }
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind \(spec)
                server s1 127.0.0.1:\(upstream.port)
            """, listening: usedPorts, directory: directory)
        var expectedRequests = 0
        for endpoint in bindCase.served {
            let url = "http://\(endpoint.host):\(ports[endpoint.port])/\(endpoint.host.filter(\.isNumber))"
            let result = try await curl(url, timeout: .seconds(5))
            #expect(result.status == 200 && result.bodyText == "bound", "bind \(spec), GET \(url): \(result); stderr: \(baton.stderr)")
            expectedRequests += 1
        }
        if bindCase.unixSocket {
            let appeared = await eventually { FileManager.default.fileExists(atPath: socketPath) }
            #expect(appeared, "no socket at \(socketPath); stderr: \(baton.stderr)")
            let result = try await curl("--unix-socket", socketPath, "http://localhost/over-unix")
            #expect(result.status == 200 && result.bodyText == "bound", "bind \(spec) via \(socketPath): \(result)")
            expectedRequests += 1
        }
        for index in bindCase.refusedOnIPv4 {
            #expect(connectionRefused(port: ports[index]), "bind \(spec) also accepts on 127.0.0.1:\(ports[index])")
        }
        #expect(upstream.requestCount == expectedRequests, "bind \(spec): \(upstream.requests.map(\.uri))")
        await baton.stop()
    }

    @Test("bind address forms on IPv4 and Unix sockets, one or several per line", arguments: ipv4Cases)
    func bindForms(bindCase: BindCase) async throws {
        try await Self.runBindCase(bindCase)
    }

    @Test("bind address forms on IPv6", .enabled(if: canBindIPv6Loopback(), "::1 cannot be bound on this machine"),
          arguments: ipv6Cases)
    func bindIPv6Forms(bindCase: BindCase) async throws {
        try await Self.runBindCase(bindCase)
    }

    @Test("bind :::PORT also accepts IPv4 clients when the system maps them (net.ipv6.bindv6only = 0)",
          .enabled(if: canBindIPv6Loopback(), "::1 cannot be bound on this machine"),
          .enabled(if: readProcFile("/proc/sys/net/ipv6/bindv6only")?.hasPrefix("0") == true, "bindv6only is set"))
    func ipv6WildcardTakesIPv4() async throws {
        try await Self.runBindCase(BindCase(spec: ":::P0", served: [.init(host: "127.0.0.1", port: 0),
                                                                  .init(host: "[::1]", port: 0)], ipv6: true))
    }

    // MARK: server address forms

    @Test("server address forms: IPv4 literal with ipv4@, a host name (localhost)",
          arguments: ["ipv4@127.0.0.1", "localhost"])
    func serverForms(host: String) async throws {
        let upstream = try await TestUpstream.named("reached")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                server s1 \(host):\(upstream.port)
            """, listening: [port])
        let response = try await rawGet(port: port, "/server-form")
        #expect(response.status == 200 && response.bodyText == "reached", "server \(host): \(response)")
        #expect(upstream.requests.map(\.uri) == ["/server-form"])
        await baton.stop()
    }

    @Test("server on IPv6: [::1]:PORT and ipv6@::1:PORT", .enabled(if: canBindIPv6Loopback(), "::1 cannot be bound here"),
          arguments: ["[::1]:", "ipv6@::1:"])
    func serverIPv6(prefix: String) async throws {
        let upstream = try await FixedResponseServer.start(name: "over-ipv6", host: "::1")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                server s1 \(prefix)\(upstream.port)
            """, listening: [port])
        let response = try await rawGet(port: port, "/v6")
        #expect(response.status == 200 && response.bodyText == "over-ipv6", "server \(prefix)\(upstream.port): \(response)")
        #expect(upstream.requestLines == ["GET /v6 HTTP/1.1"])
        await baton.stop()
    }

    // MARK: keywords in defaults, frontends and backends

    @Test("defaults default_backend: a frontend without its own default_backend uses it")
    func defaultsDefaultBackend() async throws {
        let upstream = try await TestUpstream.named("from-defaults")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults("    default_backend app"))
            frontend web
                bind 127.0.0.1:\(port)
            backend app
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let response = try await rawGet(port: port)
        #expect(response.status == 200 && response.bodyText == "from-defaults", "\(response)")
        await baton.stop()
    }

    @Test("defaults maxconn: a listen section inherits the limit; the excess connection waits until one closes")
    func defaultsMaxconn() async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults("    maxconn 1"))
            listen web
                bind 127.0.0.1:\(port)
                server app1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let first = try RawClient(port: port)
        try await first.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await first.readResponse().status == 200)
        let second = try RawClient(port: port)
        try await second.send("GET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        try await Task.sleep(for: .milliseconds(300))
        #expect(upstream.requests.map(\.uri) == ["/one"], "the second request went through over maxconn 1")
        first.close()
        #expect(try await second.readResponse(timeout: .seconds(3)).status == 200)
        #expect(upstream.requests.map(\.uri) == ["/one", "/two"])
        await baton.stop()
    }

    @Test("defaults errorfile: the backend's 503 uses the inherited page")
    func defaultsErrorfile() async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("503.http", "HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\n"
                                       + "Connection: close\r\nContent-Type: text/plain\r\n\r\ninherited page\n")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults("    errorfile 503 \(file)"))
            frontend web
                bind 127.0.0.1:\(port)
                default_backend app
            backend app
                server app1 127.0.0.1:9 disabled
            """, listening: [port], directory: directory)
        let response = try await rawGet(port: port)
        #expect(response.status == 503 && response.bodyText == "inherited page\n", "\(response)")
        await baton.stop()
    }

    /// HAProxy answers an error with the backend's errorfile for that status, else the
    /// frontend's, else the built-in page (`http_error_message()`). (HAProxy 2.6's H1 mux
    /// answers a request it cannot parse with its built-in 400 whatever the errorfile, so the
    /// "400" case fails by design with BATON_BINARY=haproxy; Baton applies the errorfile, as its
    /// README says.)
    @Test("errorfile in a frontend: used for its 400s, and for a backend's 503 when the backend has no errorfile 503",
          arguments: ["503 via backend", "400"])
    func frontendErrorfile(status: String) async throws {
        let directory = try TemporaryDirectory()
        let code = status.hasPrefix("503") ? 503 : 400
        let reason = code == 503 ? "Service Unavailable" : "Bad Request"
        let file = try directory.write("\(code).http", "HTTP/1.0 \(code) \(reason)\r\nCache-Control: no-cache\r\n"
                                       + "Connection: close\r\nContent-Type: text/plain\r\n\r\nfrontend page \(code)\n")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            frontend web
                bind 127.0.0.1:\(port)
                errorfile \(code) \(file)
                default_backend app
            backend app
                server app1 127.0.0.1:9 disabled
            """, listening: [port], directory: directory)
        let response = code == 503
            ? try await rawGet(port: port, "/unavailable")
            : try await rawRequest(port: port, "GET /bad HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n")
        #expect(response.status == code, "\(response)")
        #expect(response.bodyText == "frontend page \(code)\n", "\(response)")
        await baton.stop()
    }

    @Test("errorfile in a listen section replaces its 503 page")
    func listenErrorfile() async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("503.http", "HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\n"
                                       + "Connection: close\r\nContent-Type: text/plain\r\n\r\nlisten page\n")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                errorfile 503 \(file)
                server app1 127.0.0.1:9 disabled
            """, listening: [port], directory: directory)
        let response = try await rawGet(port: port)
        #expect(response.status == 503 && response.bodyText == "listen page\n", "\(response)")
        await baton.stop()
    }

    @Test("defaults balance: a backend without its own balance line uses it (first: all to the first server)")
    func defaultsBalance() async throws {
        let a = try await TestUpstream.named("a")
        let b = try await TestUpstream.named("b")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults("    balance first"))
            listen web
                bind 127.0.0.1:\(port)
                server a 127.0.0.1:\(a.port) maxconn 10
                server b 127.0.0.1:\(b.port) maxconn 10
            """, listening: [port])
        var names: [String] = []
        for _ in 0..<6 { names.append(try await rawGet(port: port).bodyText) }
        #expect(names == Array(repeating: "a", count: 6), "roundrobin would alternate: \(names)")
        await baton.stop()
    }

    @Test("monitor-uri in defaults or in a frontend: the frontend answers the probe itself", arguments: ["defaults", "frontend"])
    func monitorURISections(section: String) async throws {
        let upstream = try await TestUpstream.named("app")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults(section == "defaults" ? "    monitor-uri /alive" : ""))
            frontend web
                bind 127.0.0.1:\(port)
            \(section == "frontend" ? "    monitor-uri /alive" : "")
                default_backend app
            backend app
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let probe = try await rawGet(port: port, "/alive")
        #expect(probe.status == 200 && probe.bodyText.contains("Service ready."), "\(probe)")
        #expect(try await rawGet(port: port, "/other").bodyText == "app")
        #expect(upstream.requests.map(\.uri) == ["/other"])
        await baton.stop()
    }

    @Test("http-request return in a frontend, and in a backend reached through default_backend",
          arguments: ["frontend", "backend"])
    func httpRequestReturnSections(section: String) async throws {
        let upstream = try await TestUpstream.named("app")
        let port = freePort()
        let rule = "    http-request return status 418 content-type text/plain string \"from \(section)\""
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            frontend web
                bind 127.0.0.1:\(port)
            \(section == "frontend" ? rule : "")
                default_backend app
            backend app
            \(section == "backend" ? rule : "")
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let response = try await rawGet(port: port, "/teapot")
        #expect(response.status == 418, "\(response)")
        #expect(response.header("Content-Type") == "text/plain")
        #expect(response.bodyText == "from \(section)")
        #expect(upstream.requestCount == 0)
        await baton.stop()
    }

    @Test("option httplog in a frontend (not defaults) with a frontend log line")
    func httplogInFrontend() async throws {
        let upstream = try await TestUpstream.named("app")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            frontend web
                bind 127.0.0.1:\(port)
                log stdout format raw local0
                option httplog
                default_backend app
            backend app
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        _ = try await rawGet(port: port, "/fe-httplog")
        let line = await baton.waitForStdoutLines { $0.contains("/fe-httplog") }.first.flatMap(HTTPLogLine.init)
        #expect(line?.frontend == "web" && line?.backend == "app" && line?.server == "s1", "stdout: \(baton.stdout)")
        await baton.stop()
    }

    @Test("option forwardfor in a frontend or in defaults (not the backend) adds X-Forwarded-For",
          arguments: ["frontend", "defaults"])
    func forwardForSections(section: String) async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults(section == "defaults" ? "    option forwardfor" : ""))
            frontend web
                bind 127.0.0.1:\(port)
            \(section == "frontend" ? "    option forwardfor" : "")
                default_backend app
            backend app
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        #expect(try await rawGet(port: port, "/xff").status == 200)
        let request = try #require(upstream.requests.first)
        #expect(request.values("X-Forwarded-For") == ["127.0.0.1"], "\(request.headers)")
        await baton.stop()
    }

    /// HAProxy combines the frontend's and the backend's HTTP connection options; the more
    /// closing one wins (httpclose over http-server-close over keep-alive). The client side is
    /// settled by the frontend: HAProxy 2.6 with `option httpclose` in the backend only closes
    /// each server connection and keeps the client's open, which is what is checked here.
    @Test("option http-server-close / httpclose given only in the frontend or only in the backend",
          arguments: ["frontend", "backend"], ["option http-server-close", "option httpclose"])
    func connectionModeSections(section: String, option: String) async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            frontend web
                bind 127.0.0.1:\(port)
            \(section == "frontend" ? "    \(option)" : "")
                default_backend app
            backend app
            \(section == "backend" ? "    \(option)" : "")
                server s1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let client = try RawClient(port: port)
        try await client.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await client.readResponse().status == 200)
        if option == "option httpclose" && section == "frontend" {
            #expect(try await client.waitForClose(timeout: .seconds(2)).closed, "\(option) in the \(section): client connection kept open")
        } else {
            try await client.send("GET /two HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().status == 200, "\(option) in the \(section): client connection not kept alive")
            #expect(upstream.requests.map(\.uri) == ["/one", "/two"])
            #expect(upstream.connectionCount == 2, "\(option) in the \(section): server connections \(upstream.connectionCount)")
        }
        await baton.stop()
    }

    @Test("default_backend in a listen section sends its traffic to that backend")
    func listenDefaultBackend() async throws {
        let own = try await TestUpstream.named("own")
        let other = try await TestUpstream.named("other")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                default_backend app
                server own 127.0.0.1:\(own.port)
            backend app
                server other 127.0.0.1:\(other.port)
            """, listening: [port])
        #expect(try await rawGet(port: port).bodyText == "other")
        #expect(own.requestCount == 0)
        await baton.stop()
    }

    @Test("mode tcp in a listen section overrides the defaults' mode http")
    func modeInListen() async throws {
        let server = try await TCPTestServer.start(.echo)
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen raw
                mode tcp
                bind 127.0.0.1:\(port)
                server echo1 127.0.0.1:\(server.port)
            """, listening: [port])
        let client = try RawClient(port: port)
        try await client.send("not http at all\n")
        #expect(try await client.readBytes(16, timeout: .seconds(3)) == Array("not http at all\n".utf8))
        await baton.stop()
    }
}
