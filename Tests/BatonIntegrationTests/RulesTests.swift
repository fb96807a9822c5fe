import Foundation
import Testing

/// ACLs, actions, routing and stick tables through the real `baton` binary, as a client and
/// the servers see them. (The same rules against haproxy itself: `RulesDifferentialTests`.)
@Suite("rules: routing, header rules, stick tables, tcp-request")
struct RulesTests {
    @Test("the operator's frontend: Host picks the backend; proxy headers are set only when absent")
    func seedFrontend() async throws {
        let serviceA = try await TestUpstream.start { .echo($0) }
        let other = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            frontend https
                bind 127.0.0.1:\(port)
                acl             h_xoh_exists req.hdr(X-Original-Host) -m found
                http-request    set-header X-Original-Host %[req.hdr(Host)] unless h_xoh_exists
                acl             h_xfh_exists req.hdr(X-Forwarded-Host) -m found
                http-request    set-header X-Forwarded-Host %[req.hdr(Host)] unless h_xfh_exists
                acl             h_xfport_exists req.hdr(X-Forwarded-Proto) -m found
                http-request    set-header X-Forwarded-Proto https unless h_xfport_exists
                acl             is_service_a hdr(host) -i host.sub.domain.tld
                use_backend     service_a if is_service_a
                default_backend other
                http-response   set-header X-Served-By %b/%s
            backend service_a
                server a 127.0.0.1:\(serviceA.port)
            backend other
                server b 127.0.0.1:\(other.port)
            """, listening: [port])

        let routed = try await curl("http://127.0.0.1:\(port)/import", "-H", "Host: HOST.sub.domain.TLD")
        #expect(routed.status == 200)
        #expect(routed.header("X-Served-By") == "service_a/a")
        let first = try #require(serviceA.requests.first)
        #expect(first.header("X-Original-Host") == "HOST.sub.domain.TLD")
        #expect(first.header("X-Forwarded-Host") == "HOST.sub.domain.TLD")
        #expect(first.header("X-Forwarded-Proto") == "https")

        let kept = try await curl("http://127.0.0.1:\(port)/export", "-H", "Host: elsewhere.test",
                                  "-H", "X-Forwarded-Host: gateway.test", "-H", "X-Forwarded-Proto: http")
        #expect(kept.header("X-Served-By") == "other/b")
        let second = try #require(other.requests.first)
        #expect(second.values("X-Forwarded-Host") == ["gateway.test"])
        #expect(second.values("X-Forwarded-Proto") == ["http"])
        #expect(second.header("X-Original-Host") == "elsewhere.test")
        #expect(serviceA.requestCount == 1)
        await baton.stop()
    }

    @Test("stick table: the fourth request within the period gets 429; another client address is counted apart")
    func rateLimit() async throws {
        let upstream = try await TestUpstream.start { _ in .text("ok\n") }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            frontend fe
                bind 127.0.0.1:\(port)
                stick-table type ip size 1k expire 60s store http_req_rate(60s),conn_cur
                http-request track-sc0 src
                http-request deny deny_status 429 if { sc_http_req_rate(0) gt 3 }
                http-response set-header X-Rate %[sc_http_req_rate(0)]
                default_backend app
            backend app
                server s 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let client = try RawClient(port: port)
        var statuses: [Int] = []
        var rates: [String] = []
        for _ in 0..<5 {
            try await client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try await client.readResponse()
            statuses.append(response.status)
            rates.append(response.header("X-Rate") ?? "-")
        }
        #expect(statuses == [200, 200, 200, 429, 429])
        #expect(rates == ["1", "2", "3", "-", "-"])
        let other = try RawClient(port: port, source: "127.0.0.2")
        try await other.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try await other.readResponse().status == 200)
        #expect(upstream.requestCount == 4)
        await baton.stop()
    }

    @Test("tcp-request connection reject closes the connection without an answer; others are served")
    func tcpRequestConnectionReject() async throws {
        let upstream = try await TestUpstream.start { _ in .text("ok\n") }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            frontend fe
                bind 127.0.0.1:\(port)
                tcp-request connection reject if { src 127.0.0.2 }
                default_backend app
            backend app
                server s 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let rejected = try RawClient(port: port, source: "127.0.0.2")
        let (closed, extra) = try await rejected.waitForClose(timeout: .seconds(5))
        #expect(closed)
        #expect(extra.isEmpty)
        let accepted = try RawClient(port: port)
        try await accepted.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try await accepted.readResponse().status == 200)
        #expect(upstream.requestCount == 1)
        await baton.stop()
    }

    @Test("TCP mode: use_backend on the destination port; no match goes to default_backend")
    func tcpRouting() async throws {
        let first = try await TestUpstream.start { _ in .text("first\n") }
        let second = try await TestUpstream.start { _ in .text("second\n") }
        let (portA, portB) = (freePort(), freePort())
        let baton = try await BatonProcess.start(config: """
            defaults
                mode tcp
                timeout connect 5s
                timeout client 30s
                timeout server 30s
            frontend fe
                bind 127.0.0.1:\(portA)
                bind 127.0.0.1:\(portB)
                use_backend two if { dst_port \(portB) }
                default_backend one
            backend one
                server s 127.0.0.1:\(first.port)
            backend two
                server s 127.0.0.1:\(second.port)
            """, listening: [portA, portB])
        #expect(try await curl("http://127.0.0.1:\(portA)/").bodyText == "first\n")
        #expect(try await curl("http://127.0.0.1:\(portB)/").bodyText == "second\n")
        await baton.stop()
    }

    @Test("dynamic use_backend: the name comes from the request; an unknown name falls back")
    func dynamicBackend() async throws {
        let blue = try await TestUpstream.start { _ in .text("blue\n") }
        let fallback = try await TestUpstream.start { _ in .text("default\n") }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            frontend fe
                bind 127.0.0.1:\(port)
                use_backend be_%[req.hdr(x-color),lower]
                default_backend fallback
            backend be_blue
                server s 127.0.0.1:\(blue.port)
            backend fallback
                server s 127.0.0.1:\(fallback.port)
            """, listening: [port])
        #expect(try await curl("http://127.0.0.1:\(port)/", "-H", "X-Color: BLUE").bodyText == "blue\n")
        #expect(try await curl("http://127.0.0.1:\(port)/", "-H", "X-Color: red").bodyText == "default\n")
        #expect(try await curl("http://127.0.0.1:\(port)/").bodyText == "default\n")
        await baton.stop()
    }

    @Test("http-response rules edit the server's answer; http-response deny replaces it with 502")
    func responseRules() async throws {
        let upstream = try await TestUpstream.start { request in
            .text("body\n", headers: [("X-Secret", "s3cr3t"), ("X-Version", "1.2.3"),
                                     ("X-Kind", request.uri == "/bad" ? "bad" : "good")])
        }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                http-response del-header X-Secret
                http-response replace-header X-Version ([0-9]+)\\..* v\\1
                http-response set-status 203 if { path /edited }
                http-response deny if { res.hdr(X-Kind) bad }
                server s 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let edited = try await curl("http://127.0.0.1:\(port)/edited")
        #expect(edited.status == 203)
        #expect(edited.header("X-Secret") == nil)
        #expect(edited.header("X-Version") == "v1")
        #expect(edited.bodyText == "body\n")
        let denied = try await curl("http://127.0.0.1:\(port)/bad")
        #expect(denied.status == 502)
        #expect(denied.bodyText.contains("502 Bad Gateway"))
        #expect(!denied.bodyText.hasPrefix("body"))
        await baton.stop()
    }

    @Test("use-server sends matching requests to the named server; balancing decides the rest")
    func useServer() async throws {
        let one = try await TestUpstream.start { _ in .text("one\n") }
        let two = try await TestUpstream.start { _ in .text("two\n") }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                balance roundrobin
                use-server s2 if { path_beg /two }
                server s1 127.0.0.1:\(one.port)
                server s2 127.0.0.1:\(two.port)
            """, listening: [port])
        for _ in 0..<4 {
            #expect(try await curl("http://127.0.0.1:\(port)/two/x").bodyText == "two\n")
        }
        var answers: Set<String> = []
        for _ in 0..<4 { answers.insert(try await curl("http://127.0.0.1:\(port)/any").bodyText) }
        #expect(answers == ["one\n", "two\n"])
        await baton.stop()
    }

    @Test("userlist and http-request auth: 401 with the realm until the right credentials come")
    func basicAuthentication() async throws {
        let upstream = try await TestUpstream.start { _ in .text("secret\n") }
        let port = freePort()
        // "sesame" hashed with SHA-512 crypt, as `mkpasswd -m sha-512` makes them.
        let hash = "$6$saltsalt$g3uPFdehVnKoLXdidvSAg1zlVgYomPr0X/xgdXSBn2LuxZUOGgYW4IULZkguZ77fzYteIur49AGHmF9iek6Sf1"
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            userlist admins
                user alice insecure-password wonderland
                user bob password \(hash)
            listen web
                bind 127.0.0.1:\(port)
                http-request auth realm Private unless { http_auth(admins) }
                server s 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let anonymous = try await curl("http://127.0.0.1:\(port)/")
        #expect(anonymous.status == 401)
        #expect(anonymous.header("WWW-Authenticate") == "Basic realm=\"Private\"")
        #expect(try await curl("http://127.0.0.1:\(port)/", "-u", "alice:wrong").status == 401)
        let alice = try await curl("http://127.0.0.1:\(port)/", "-u", "alice:wonderland")
        #expect(alice.status == 200)
        #expect(alice.bodyText == "secret\n")
        #expect(try await curl("http://127.0.0.1:\(port)/", "-u", "bob:sesame").status == 200)
        #expect(try await curl("http://127.0.0.1:\(port)/", "-u", "bob:nope").status == 401)
        #expect(upstream.requestCount == 2)
        await baton.stop()
    }

    @Test("capture request/response header and http-request capture show in the httplog line; set-log-level silent drops one")
    func captures() async throws {
        let upstream = try await TestUpstream.start { _ in .text("ok\n", headers: [("X-Served", "origin-1")]) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            global
                log stdout format raw local0
            \(httpDefaults())
                log global
                option httplog
            frontend fe
                bind 127.0.0.1:\(port)
                capture request header Host len 9
                capture response header X-Served len 20
                http-request capture req.hdr(User-Agent),lower len 5
                http-request set-log-level silent if { path /quiet }
                default_backend app
            backend app
                server s 127.0.0.1:\(upstream.port)
            """, listening: [port])
        #expect(try await curl("http://127.0.0.1:\(port)/quiet").status == 200)
        #expect(try await curl("http://127.0.0.1:\(port)/c", "-H", "User-Agent: CURLISH/1").status == 200)
        let lines = await baton.waitForStdoutLines { $0.contains("/c HTTP/1.1") }
        // set-log-level silent: the earlier request left no line.
        #expect(baton.stdoutLines(containing: "/quiet").isEmpty)
        #expect(lines.count == 1)
        #expect(lines.first?.contains(" {127.0.0.1|curli} {origin-1} \"GET /c HTTP/1.1\"") == true, "\(lines)")
        await baton.stop()
    }

    @Test("option http-buffer-request: rules read req.body before the request goes on; the server gets the whole body")
    func bufferedBody() async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                option http-buffer-request
                http-request deny deny_status 403 if { req.body -m sub forbidden }
                http-request set-header X-Body-Length %[req.body_len]
                server s 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let denied = try await curl("http://127.0.0.1:\(port)/post", "--data-binary", "this is forbidden text")
        #expect(denied.status == 403)
        let allowed = try await curl("http://127.0.0.1:\(port)/post", "--data-binary", "hello body")
        #expect(allowed.status == 200)
        let forwarded = try #require(upstream.requests.first)
        #expect(forwarded.header("X-Body-Length") == "10")
        #expect(forwarded.bodyText == "hello body")
        // A client that waits for 100-continue gets it from Baton and its body goes through.
        let large = String(repeating: "x", count: 3000)
        let expecting = try await curl("http://127.0.0.1:\(port)/big", "-H", "Expect: 100-continue",
                                       "--expect100-timeout", "30", "--data-binary", large)
        #expect(expecting.status == 200)
        #expect(upstream.requests.last?.bodyText == large)
        #expect(upstream.requests.last?.header("X-Body-Length") == "3000")
        #expect(upstream.requests.count == 2)
        await baton.stop()
    }

    @Test("log-format: aliases, a variable and unique-id-format as HAProxy writes them")
    func logFormatLine() async throws {
        let upstream = try await TestUpstream.start { _ in .text("ok\n") }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            global
                log stdout format raw local0
            \(httpDefaults())
                log global
            frontend fe
                bind 127.0.0.1:\(port)
                unique-id-format %{+X}o\\ %ci:%fp
                unique-id-header X-Request-ID
                http-request set-var(txn.ua) req.hdr(User-Agent),lower
                log-format "%ci %f %b/%s %si:%sp %ST %HM %HP %HQ %{+Q}r id=%ID ua=%[var(txn.ua)] %{+Q}[var(txn.none)]  end"
                default_backend app
            backend app
                server s 127.0.0.1:\(upstream.port)
            """, listening: [port])
        #expect(try await curl("http://127.0.0.1:\(port)/a/b?x=1", "-H", "User-Agent: Probe").status == 200)
        let line = try #require(await baton.waitForStdoutLines { $0.contains("/a/b") }.first)
        let id = "7F000001:" + String(format: "%04X", Int(port))
        #expect(line == "127.0.0.1 fe app/s 127.0.0.1:\(upstream.port) 200 GET /a/b ?x=1 \"GET /a/b?x=1 HTTP/1.1\" "
                + "id=\(id) ua=probe \"\" end", "\(line)")
        #expect(upstream.requests.first?.header("X-Request-ID") == id)
        await baton.stop()
    }

    @Test("a rejected configuration names the file, line and word at fault")
    func configurationErrors() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("bad.cfg", """
            \(httpDefaults())
            frontend fe
                bind 127.0.0.1:1
                acl a req.hdrr(host) -m found
                http-request set-header X %[req.hdr(host),lowerr]
                http-request deny if nosuch
                use_backend missing
            """)
        let result = try await runCommand(BatonProcess.binaryPath, ["-c", "-f", path])
        #expect(result.status == .exited(1))
        #expect(result.stderr.contains("bad.cfg:9] : error detected while parsing ACL 'a' : unknown fetch method 'req.hdrr' in ACL expression 'req.hdrr(host)'; did you mean 'req.hdr' maybe ?."),
                "\(result.stderr)")
        #expect(result.stderr.contains("bad.cfg:10] : error detected in frontend 'fe' while parsing 'http-request set-header' rule"))
        #expect(result.stderr.contains("failed to parse sample expression <req.hdr(host),lowerr]> : unknown converter 'lowerr'; did you mean 'lower' maybe ?."))
        #expect(result.stderr.contains("bad.cfg:11] : error detected while parsing an 'http-request deny' condition : no such ACL : 'nosuch'."))
        #expect(result.stderr.contains("bad.cfg:12] : Proxy 'fe': unable to find required use_backend: 'missing'."))
    }
}
