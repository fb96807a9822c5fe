import Foundation
import Testing

/// The rules engine against the real HAProxy 2.6: the same configuration and the same requests to Baton and to
/// haproxy, each in front of its own recording origin; the request that reaches the origin and the response the
/// client gets must be the same. Many cases share one pair of processes, so the suite stays fast.
///
/// Normalised on purpose (docs/differences.md): field-name case (HAProxy lowercases), the position of
/// Content-Length and Connection in a response (compared by value), and the request fields as
/// `ComparableRequest` does.
@Suite("Rules, differential against HAProxy")
struct RulesDifferentialTests {
    // MARK: - Comparison helpers

    /// A response reduced to what both must agree on: status, header lines (lowercased names, in order, without
    /// content-length and connection, which are compared by value), and the body.
    struct ComparableResponse: Equatable, CustomStringConvertible {
        var status: Int?
        var headers: [String]
        var contentLength: String?
        var connection: String?
        var body: String

        init(_ observation: ProxyObservation) {
            let response = observation.response
            status = response?.status
            headers = (response?.headers ?? []).map { "\($0.name.lowercased()): \($0.value)" }
                .filter { !$0.hasPrefix("content-length:") && !$0.hasPrefix("connection:") }
            contentLength = response?.header("content-length")
            connection = response?.header("connection")
            body = response?.bodyText ?? "<no response: \(observation.failure ?? "?")>"
        }

        var description: String {
            "\(status.map(String.init) ?? "-") \(headers) cl=\(contentLength ?? "-") conn=\(connection ?? "-") body=\(body.debugDescription)"
        }
    }

    /// Sends one request to both and expects the same response and the same request at the origin.
    ///
    /// Two differences outside the rules engine are normalised: Baton's error answers (400, 408, 502, 503, 504)
    /// say `connection: close` and close, where HAProxy 2.6 keeps some connections (docs/differences.md); and
    /// Baton forwards an HTTP/1.0 request as HTTP/1.1 without HAProxy's `connection: keep-alive`, so for those the
    /// version and the Connection field are left out.
    static func expectSame(_ pair: DifferentialPair, _ request: String, _ label: String,
                           closesAfterResponseRule: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (baton, haproxy) = try await pair.exchange(request)
        var batonResponse = ComparableResponse(baton), haproxyResponse = ComparableResponse(haproxy)
        if let status = batonResponse.status, [400, 408, 502, 503, 504].contains(status), haproxyResponse.connection == nil {
            batonResponse.connection = nil
        }
        // A reply made by an http-response rule closes the client connection in Baton (docs/differences.md).
        if closesAfterResponseRule, haproxyResponse.connection == nil, batonResponse.connection == "close" {
            batonResponse.connection = nil
        }
        let http10 = request.components(separatedBy: "\r\n")[0].hasSuffix("HTTP/1.0")
        func comparable(_ recorded: RecordedRequest) -> ComparableRequest {
            var result = ComparableRequest(recorded, ignoringFields: http10 ? ["connection"] : [])
            if http10 { result.version = "-" }
            return result
        }
        #expect(batonResponse == haproxyResponse, "\(label)\n  baton:   \(batonResponse)\n  haproxy: \(haproxyResponse)",
                sourceLocation: sourceLocation)
        let batonRequests = baton.originRequests.map(comparable)
        let haproxyRequests = haproxy.originRequests.map(comparable)
        #expect(batonRequests == haproxyRequests, "\(label)\n  baton:   \(batonRequests)\n  haproxy: \(haproxyRequests)",
                sourceLocation: sourceLocation)
    }

    static let defaults = """
        defaults
            mode http
            timeout connect 5s
            timeout client 30s
            timeout server 30s

        """

    // MARK: - (a) The operator's frontend

    /// The `frontend https` of the forum thread (without `ssl`), with `option forwardfor` from its defaults; each
    /// backend names itself in a field so that the origin tells which one forwarded the request. `service_b` is
    /// chosen by a second `use_backend`; any other Host finds no backend (503), as in the original.
    static let operatorConfig = defaults + """
            option forwardfor

        frontend https
            bind 127.0.0.1:@FRONTEND_PORT@

            # Set Headers
            acl             h_xoh_exists req.hdr(X-Original-Host) -m found
            http-request    set-header X-Original-Host %[req.hdr(Host)] unless h_xoh_exists

            acl             h_xfh_exists req.hdr(X-Forwarded-Host) -m found
            http-request    set-header X-Forwarded-Host %[req.hdr(Host)] unless h_xfh_exists

            acl             h_xfport_exists req.hdr(X-Forwarded-Proto) -m found
            http-request    set-header X-Forwarded-Proto https unless h_xfport_exists

            acl             is_service_a hdr(host) -i host.sub.domain.tld
            use_backend     service_a if is_service_a
            use_backend     service_b if { hdr(host) -i b.sub.domain.tld }

        backend service_a
            mode            http
            http-request    set-header host azure_cae.sub.domain.tld
            http-request    set-header X-Backend service_a
            server          service_a @ORIGIN@

        backend service_b
            http-request    set-header X-Backend service_b
            server          service_b @ORIGIN@
        """

    @Test("the operator's frontend: header defaults and Host routing")
    func operatorFrontend() async throws {
        let pair = try await DifferentialPair.start(ConfigTemplate(Self.operatorConfig))
        let cases: [(String, String)] = [
            ("no forwarded fields", "GET /a?x=1 HTTP/1.1\r\nHost: host.sub.domain.tld\r\nUser-Agent: t\r\n\r\n"),
            ("Host in another case", "GET /a HTTP/1.1\r\nHost: HOST.Sub.Domain.TLD\r\n\r\n"),
            ("every field present", "GET /b HTTP/1.1\r\nHost: host.sub.domain.tld\r\nX-Original-Host: orig.example\r\n"
                + "X-Forwarded-Host: fwd.example\r\nX-Forwarded-Proto: http\r\n\r\n"),
            ("present but empty", "GET /c HTTP/1.1\r\nHost: host.sub.domain.tld\r\nX-Original-Host:\r\nx-forwarded-proto: \r\n\r\n"),
            ("a list and a repeated field", "GET /d HTTP/1.1\r\nHost: host.sub.domain.tld\r\nX-Forwarded-Host: a, b\r\n"
                + "X-Forwarded-Host: c\r\n\r\n"),
            ("the other backend", "GET /e HTTP/1.1\r\nHost: b.sub.domain.tld\r\nX-Forwarded-Proto: wss\r\n\r\n"),
            ("the other backend, upper case", "GET /e HTTP/1.1\r\nHost: B.SUB.DOMAIN.TLD\r\n\r\n"),
            ("Host with a port matches no ACL", "GET /f HTTP/1.1\r\nHost: host.sub.domain.tld:443\r\n\r\n"),
            ("unknown Host: no backend", "GET /g HTTP/1.1\r\nHost: other.tld\r\n\r\n"),
            ("HTTP/1.0", "GET /h HTTP/1.0\r\nHost: host.sub.domain.tld\r\n\r\n"),
            ("absolute-form", "GET http://host.sub.domain.tld/i HTTP/1.1\r\nHost: host.sub.domain.tld\r\n\r\n"),
        ]
        for (label, request) in cases {
            try await Self.expectSame(pair, request, label)
        }
        // The routing itself, stated once: service_a forwarded with its Host, the unknown Host got a 503.
        let (baton, haproxy) = try await pair.exchange("GET /j HTTP/1.1\r\nHost: Host.Sub.Domain.Tld\r\n\r\n")
        for side in [baton, haproxy] {
            #expect(side.originRequests.first?.values("x-backend") == [Array("service_a".utf8)])
            #expect(side.originRequests.first?.values("host") == [Array("azure_cae.sub.domain.tld".utf8)])
            #expect(side.originRequests.first?.values("x-original-host") == [Array("Host.Sub.Domain.Tld".utf8)])
        }
        let (batonMiss, haproxyMiss) = try await pair.exchange("GET /k HTTP/1.1\r\nHost: nowhere\r\n\r\n")
        #expect(batonMiss.status == 503 && haproxyMiss.status == 503)
        await pair.stop()
    }

    // MARK: - (b) Fetches and converters, printed by `http-request return ... lf-string`

    struct ExpressionGroup: Sendable {
        var requestLine: String
        var headers: String
        var expressions: [String]

        init(_ requestLine: String, _ headers: String, _ expressions: [String]) {
            self.requestLine = requestLine
            self.headers = headers
            self.expressions = expressions
        }
    }

    static let fullHeaders = "Host: example.test\r\nX-Text: Hello World \"quoted\" \\ back/slash\r\nX-Utf8: café €\r\n"
        + "X-Num: 42\r\nX-Neg: -7\r\nX-List: a, b,c\r\nX-List: d\r\nX-Empty: \r\nX-Enc: a%20b%2Fc+d\r\nX-Bad: a%2\r\n"
        + "X-B64: aGVsbG8gd29ybGQ=\r\nX-B64bad: abc\r\nX-IP: 192.168.10.77\r\nX-IP6: 2001:db8:1:2::1\r\nX-Dots: a.b..c.d\r\n"
        + "Cookie: a=1; b=2; a=3\r\nCookie: c=4\r\nX-Ctrl: tab\there\r\n"

    /// Each group is one request; its body lists `N=%[expression]` for every expression, compared line by line.
    static let expressionGroups: [ExpressionGroup] = [
        ExpressionGroup("GET /p/a.b/c?x=1&y=two&x=3&e=&flag HTTP/1.1", fullHeaders, [
            "req.fhdr(x-text)", "req.fhdr(x-text),lower", "req.fhdr(x-text),upper",
            "req.fhdr(x-text),length", "req.fhdr(x-text),crc32", "req.fhdr(x-text),crc32(1)",
            "req.fhdr(x-text),djb2", "req.fhdr(x-text),djb2(1)", "req.fhdr(x-text),sdbm",
            "req.fhdr(x-text),sdbm(1)", "req.fhdr(x-text),wt6", "req.fhdr(x-text),wt6(1)",
            "req.fhdr(x-text),base64", "req.fhdr(x-text),hex", "req.fhdr(x-text),json",
            "req.fhdr(x-text),json(utf8)", "req.fhdr(x-text),bytes(2,5)", "req.fhdr(x-text),bytes(6)",
            "req.fhdr(x-text),bytes(100)", "req.fhdr(x-text),bytes(0,0)", "req.fhdr(x-text),regsub(o,0)",
            "req.fhdr(x-text),regsub(o,0,g)", "req.fhdr(x-text),regsub(O,0,gi)", "req.fhdr(x-text),regsub(l+,L,g)",
            "req.fhdr(x-text),regsub(^,>,g)", "req.fhdr(x-text),regsub(x*,-,g)", "req.fhdr(x-dots),field(2,.)",
            "req.fhdr(x-dots),field(-1,.)", "req.fhdr(x-dots),field(-2,.)", "req.fhdr(x-dots),field(3,.)",
            "req.fhdr(x-dots),field(2,.,2)", "req.fhdr(x-dots),field(-2,.,2)", "req.fhdr(x-dots),field(2,.,0)",
            "req.fhdr(x-dots),field(-2,.,0)", "req.fhdr(x-dots),field(9,.)", "req.fhdr(x-dots),field(-9,.)",
            "req.fhdr(x-dots),word(2,.)", "req.fhdr(x-dots),word(-1,.)", "req.fhdr(x-dots),word(2,.,2)",
            "req.fhdr(x-dots),word(-2,.,2)", "req.fhdr(x-dots),word(3,.,0)", "req.fhdr(x-dots),word(-3,.,0)",
            "req.fhdr(x-dots),word(9,.)", "req.fhdr(x-dots),field(1,.b)", "req.fhdr(x-dots),word(2,.b)",
            "req.fhdr(x-utf8),json", "req.fhdr(x-utf8),json(utf8)", "req.fhdr(x-utf8),json(utf8s)",
            "req.fhdr(x-ctrl),json", "req.fhdr(x-utf8),upper", "req.fhdr(x-utf8),length",
            "req.fhdr(x-utf8),hex",
        ]),
        ExpressionGroup("GET /q HTTP/1.1", fullHeaders, [
            "int(9223372036854775807),add(1)", "int(-9223372036854775808),sub(1)", "int(4611686018427387904),mul(4)",
            "int(-4611686018427387904),mul(4)", "int(7),div(2)", "int(-7),div(2)",
            "int(7),div(0)", "int(-7),div(0)", "int(7),mod(3)",
            "int(-7),mod(3)", "int(7),mod(0)", "int(-7),mod(0)",
            "int(-9223372036854775808),div(-1)", "int(-9223372036854775808),mod(-1)", "int(6),and(3)",
            "int(6),or(3)", "int(6),xor(3)", "int(5),neg",
            "int(-9223372036854775808),neg", "req.hdr(x-num),add(1)", "req.hdr(x-neg),mul(-3)",
            "req.fhdr(x-text),add(1)", "int(5),add(txn.n)", "int(5),add(txn.missing)",
            "int(5),sub(txn.v)", "req.fhdr(x-enc),url_dec", "req.fhdr(x-enc),url_dec(1)",
            "req.hdr(x-bad),url_dec", "str(a+b?c+d),url_dec", "req.hdr(x-b64),b64dec",
            "req.hdr(x-b64bad),b64dec", "str(hi),base64,b64dec", "str(a),base64",
            "str(ab),base64", "int(255),hex", "int(-1),hex",
            "str(),hex", "req.hdr(x-ip),ipmask(24)", "req.hdr(x-ip),ipmask(255.255.0.0)",
            "req.hdr(x-ip6),ipmask(24,64)", "req.hdr(x-ip6),ipmask(24)", "src,ipmask(16)",
            "src,ipmask(0)", "req.hdr(x-text),ipmask(8)", "str(k1),map(@MAP@)",
            "str(k2),map(@MAP@)", "str(zz),map(@MAP@,dflt)", "str(zz),map(@MAP@)",
            "str(/api/v1),map_beg(@MAP@)", "req.hdr(x-ip),map_ip(@MAPIP@)", "str(10.1.2.3),map_ip(@MAPIP@)",
            "str(8.8.8.8),map_ip(@MAPIP@,none)", "str(www.example.com),map_dom(@MAP@)", "str(x/index.php),map_end(@MAP@)",
            "str(/re12/x),map_reg(@MAP@)", "str(a-sub-b),map_sub(@MAP@)", "str(/x/static/y),map_dir(@MAP@)",
            "int(42),map_int(@MAPINT@)", "str(42),map_str_int(@MAPNUM@)", "str(k9),map_str_int(@MAPNUM@,7)",
            "str(a),concat(-,txn.v,-)", "str(a),concat(<)", "str(a),concat(,txn.missing,>)",
            "str(a),concat()", "str(x)", "int(-3)",
            "bool(1)", "bool(0)", "bool(true)",
            "str()", "str(),length", "str(),upper",
            "req.hdr(x-missing)", "req.hdr(x-missing),lower", "req.hdr(x-missing),length",
            "req.hdr(x-missing),json", "var(txn.v)", "var(txn.n)",
            "var(txn.missing)", "var(txn.fmt)", "var(req.r)",
            "var(sess.s)",
        ]),
        ExpressionGroup("GET /p/a.b/c?x=1&y=two&x=3&e=&flag HTTP/1.1", fullHeaders, [
            "req.hdr(x-list)", "req.hdr(x-list,1)", "req.hdr(x-list,2)",
            "req.hdr(x-list,-1)", "req.hdr(x-list,-2)", "req.hdr(x-list,0)",
            "req.hdr(x-list,9)", "req.hdr(x-list,-9)", "req.fhdr(x-list)",
            "req.fhdr(x-list,1)", "req.fhdr(x-list,-2)", "hdr_cnt(x-list)",
            "req.fhdr_cnt(x-list)", "hdr_cnt", "req.fhdr_cnt",
            "req.hdr(host)", "hdr(X-LIST)", "req.hdr(x-empty)",
            "req.hdr(x-empty),length", "hdr_cnt(x-empty)", "hdr_cnt(x-missing)",
            "req.hdr_val(x-num)", "req.hdr_val(x-neg)", "req.hdr_ip(x-ip)",
            "hdr_val(x-text)", "req.hdr_ip(x-text)", "req.cook(a)",
            "cook(b)", "cook(c)", "cook(z)",
            "cook_cnt", "cook_cnt(a)", "req.cook_cnt(c)",
            "cook", "req.cook_val(a)", "req.hdr(cookie)",
            "req.fhdr(cookie)", "url_param(x)", "urlp(y)",
            "url_param(e)", "url_param(flag)", "url_param(none)",
            "url_param", "urlp_val(x)", "url_param(x,&)",
            "url_param(y,;)", "query", "path",
            "base", "url", "method",
            "req.ver", "fe_name", "nbsrv(be)",
            "dst_port,sub(@FRONTEND_PORT@)", "src", "dst",
            "always_true", "always_false", "http_first_req",
        ]),
        ExpressionGroup("GET http://example.test/abs/p?q=1 HTTP/1.1", "Host: example.test\r\n", [
            "url", "path", "base",
            "query", "url_param(q)",
        ]),
        ExpressionGroup("GET /nq HTTP/1.0", "Host: example.test:8080\r\n", [
            "url", "path", "base",
            "query", "url_param(q)", "req.ver",
            "hdr_cnt", "req.hdr(host)",
        ]),
        ExpressionGroup("GET /x HTTP/1.1", "Host: e\r\nX-Text: Hello World\r\n", [
            "req.fhdr(x-text),regsub('^(H[a-z]+)\\\\s(W[a-z]+)','\\\\2-\\\\1')", "req.fhdr(x-text),regsub(\\\\s,+)", "req.fhdr(x-text),regsub(o,<\\\\0>,g)",
            "str(a%0Ab%7F),url_dec", "str(a%22b%5Dc),url_dec", "req.fhdr(x-text),regsub(l,_,g),upper",
        ]),
        ExpressionGroup("POST /m/ HTTP/1.1", "Host: e\r\nContent-Length: 0\r\n", [
            "method", "path", "base",
        ]),    ]

    static let maps: [(placeholder: String, name: String, contents: String)] = [
        ("@MAP@", "map.txt", "# comment\nk1 v1\nk2 two words\n/api api-prefix\nexample.com dom\n.php php-end\n"
            + "^/re[0-9]+ regex\nsub sub-hit\n/static dir-hit\n"),
        ("@MAPIP@", "mapip.txt", "10.0.0.0/8 ten\n192.168.0.0/16 private\n192.168.10.0/24 narrow\n"),
        ("@MAPINT@", "mapint.txt", "42 forty-two\n7 seven\n"),
        ("@MAPNUM@", "mapnum.txt", "42 4200\nk1 11\n"),
    ]

    static func expressionConfig(directory: TemporaryDirectory) throws -> String {
        var text = defaults + """
            frontend fe
                bind 127.0.0.1:@FRONTEND_PORT@
                http-request set-var(txn.v) str(val)
                http-request set-var(txn.n) int(42)
                http-request set-var-fmt(txn.fmt) "%[method]-%[path]"
                http-request set-var(req.r) str(reqscope)
                http-request set-var(sess.s) str(sessscope)

            """
        for (index, group) in expressionGroups.enumerated() {
            let body = group.expressions.enumerated().map { "\($0.offset)=%[\($0.element)]\\n" }.joined()
            text += "    http-request return status 200 content-type text/plain lf-string \"\(body)\" "
                + "if { req.hdr(x-group) -m str g\(index) }\n"
        }
        text += """
                default_backend be

            backend be
                http-request return status 200 content-type text/plain lf-string "be=%[be_name] fe=%[fe_name] nb=%[nbsrv]\\n"
                server s1 @ORIGIN@
            """
        for map in maps {
            text = text.replacingOccurrences(of: map.placeholder, with: try directory.write(map.name, map.contents))
        }
        return text
    }

    @Test("every fetch and converter prints the same as HAProxy's")
    func expressionsPrintTheSame() async throws {
        let directory = try TemporaryDirectory()
        let pair = try await DifferentialPair.start(ConfigTemplate(try Self.expressionConfig(directory: directory)))
        for (index, group) in Self.expressionGroups.enumerated() {
            let request = "\(group.requestLine)\r\n\(group.headers)X-Group: g\(index)\r\n\r\n"
            let (baton, haproxy) = try await pair.exchange(request)
            #expect(haproxy.status == 200, "haproxy: \(haproxy)")
            #expect(ComparableResponse(baton).headers == ComparableResponse(haproxy).headers)
            let batonLines = (baton.response?.bodyText ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            let haproxyLines = (haproxy.response?.bodyText ?? "").split(separator: "\n", omittingEmptySubsequences: false)
            #expect(haproxyLines.count == group.expressions.count + 1)
            for line in 0..<max(batonLines.count, haproxyLines.count) {
                let b = line < batonLines.count ? String(batonLines[line]) : "<missing>"
                let h = line < haproxyLines.count ? String(haproxyLines[line]) : "<missing>"
                let expression = line < group.expressions.count ? group.expressions[line] : "end"
                #expect(b == h, "g\(index) %[\(expression)]\n  baton:   \(b.debugDescription)\n  haproxy: \(h.debugDescription)")
            }
            // Byte for byte, head included.
            #expect(baton.response?.body == haproxy.response?.body)
        }
        try await Self.expectSame(pair, "GET /backend HTTP/1.1\r\nHost: a\r\n\r\n", "fetches in a backend")
        await pair.stop()
    }

    // MARK: - (c) Actions

    static let actionConfig = defaults + """
        frontend fe
            bind 127.0.0.1:@FRONTEND_PORT@
            http-request set-var(txn.case) req.hdr(x-case)
            http-request set-header X-Set "v=%[req.hdr(x-in)] m=%[method]" if { var(txn.case) -m str set-header }
            http-request add-header X-Set added if { var(txn.case) -m str add-header }
            http-request add-header X-Empty "%[req.hdr(x-missing)]" if { var(txn.case) -m str add-header }
            http-request del-header X-Del if { var(txn.case) -m str del-header }
            http-request del-header x-pre -m beg if { var(txn.case) -m str del-beg }
            http-request del-header mid -m sub if { var(txn.case) -m str del-sub }
            http-request del-header ^x-r[0-9]$ -m reg if { var(txn.case) -m str del-reg }
            http-request del-header -tail -m end if { var(txn.case) -m str del-end }
            http-request replace-header X-Rep ^(\\w+)-(\\w+)$ \\2-\\1 if { var(txn.case) -m str replace-header }
            http-request replace-header Cookie (.*)sid=[^;]*(.*) \\1sid=new\\2 if { var(txn.case) -m str replace-cookie }
            http-request replace-value X-Val ^a(.*) A\\1<%[var(txn.case)]> if { var(txn.case) -m str replace-value }
            http-request set-path /new%[path] if { var(txn.case) -m str set-path }
            http-request set-pathq /pq?z=%[query] if { var(txn.case) -m str set-pathq }
            http-request set-query q=%[path]&k=v if { var(txn.case) -m str set-query }
            http-request set-uri /uri/%[method] if { var(txn.case) -m str set-uri }
            http-request set-method PUT if { var(txn.case) -m str set-method }
            http-request replace-path /old/(.*) /newer/\\1 if { var(txn.case) -m str replace-path }
            http-request replace-pathq ^/old/([^?]*)\\?(.*) /pq/\\1/\\2 if { var(txn.case) -m str replace-pathq }
            http-request replace-uri ^/old/(.*) /uri2/\\1 if { var(txn.case) -m str replace-uri }
            http-request redirect location /moved code 301 if { var(txn.case) -m str redirect-location }
            http-request redirect location https://%[req.hdr(host)]%[url] code 308 if { var(txn.case) -m str redirect-lf }
            http-request redirect prefix /pre code 303 if { var(txn.case) -m str redirect-prefix }
            http-request redirect prefix /pre drop-query append-slash if { var(txn.case) -m str redirect-prefix-opts }
            http-request redirect prefix / if { var(txn.case) -m str redirect-prefix-slash }
            http-request redirect scheme https code 307 if { var(txn.case) -m str redirect-scheme }
            http-request redirect scheme https drop-query set-cookie SEEN=1 if { var(txn.case) -m str redirect-scheme-cookie }
            http-request redirect location /c clear-cookie OLD= if { var(txn.case) -m str redirect-clear-cookie }
            http-request redirect location %[req.hdr(x-missing)] ignore-empty if { var(txn.case) -m str redirect-ignore-empty }
            http-request deny if { var(txn.case) -m str deny }
            http-request deny deny_status 429 if { var(txn.case) -m str deny-429 }
            http-request deny deny_status 400 content-type text/plain string "no thanks" if { var(txn.case) -m str deny-string }
            http-request return if { var(txn.case) -m str return-empty }
            http-request return status 404 if { var(txn.case) -m str return-404 }
            http-request return status 503 content-type text/html string "<p>down</p>" hdr X-A a hdr X-B "%[path]" if { var(txn.case) -m str return-string }
            http-request return content-type application/json lf-string "{\\"path\\":\\"%[path,json]\\",\\"q\\":\\"%[query]\\"}" if { var(txn.case) -m str return-lf }
            http-request allow if { var(txn.case) -m str allow }
            http-request deny if { var(txn.case) -m str allow }
            redirect prefix /legacy code 302 if { var(txn.case) -m str legacy-redirect }
            redirect location /legacy-loc if { var(txn.case) -m str legacy-redirect-2 }
            default_backend be
        backend be
            http-response set-header X-Resp "s=%[status] c=%[var(txn.case)]" if { var(txn.case) -m str res-set-header }
            http-response add-header X-Origin-A extra if { var(txn.case) -m str res-add-header }
            http-response del-header X-Origin-A if { var(txn.case) -m str res-del-header }
            http-response del-header x-origin- -m beg if { var(txn.case) -m str res-del-beg }
            http-response replace-header X-Origin-B ^(.*)-(.*)$ \\2+\\1 if { var(txn.case) -m str res-replace-header }
            http-response replace-value X-Origin-C ^v(.*) V\\1 if { var(txn.case) -m str res-replace-value }
            http-response set-status 404 if { var(txn.case) -m str res-set-status }
            http-response set-status 503 reason "Gone Fishing" if { var(txn.case) -m str res-set-status-reason }
            http-response deny if { var(txn.case) -m str res-deny }
            http-response return status 202 content-type text/plain lf-string "replaced %[status]" if { var(txn.case) -m str res-return }
            http-response set-header X-Status-Class big if { status ge 200 } { var(txn.case) -m str res-status-acl }
            server s1 @ORIGIN@
        """

    static let originFields: [(name: String, value: String)] = [
        ("X-Origin-A", "one"), ("X-Origin-B", "left-right"), ("X-Origin-C", "v1, v2,w3"), ("Set-Cookie", "sid=1; Path=/"),
    ]

    static let actionCases: [(String, String)] = [
        ("set-header", "X-Set: old1\r\nX-In: val\r\nX-Set: old2\r\nX-Other: o"),
        ("add-header", "X-Set: old"),
        ("del-header", "X-Del: 1\r\nx-del: 2\r\nX-Keep: k"),
        ("del-beg", "X-Pre-A: 1\r\nX-Keep: k\r\nx-prefix: 2"),
        ("del-sub", "X-Mid-A: 1\r\nAmidst: 2\r\nX-Keep: k"),
        ("del-reg", "X-R1: 1\r\nX-R22: 2\r\nx-r3: 3"),
        ("del-end", "A-Tail: 1\r\nX-Keep: k"),
        ("replace-header", "X-Rep: alpha-beta\r\nX-Rep: no match here\r\nX-Rep: a-b, c-d"),
        ("replace-cookie", "Cookie: a=1; sid=old; b=2"),
        ("replace-value", "X-Val: abc, bcd,ad\r\nX-Val: x"),
        ("set-path", ""),
        ("set-pathq", ""),
        ("set-query", ""),
        ("set-uri", ""),
        ("set-method", ""),
        ("replace-path", ""),
        ("replace-pathq", ""),
        ("replace-uri", ""),
        ("redirect-location", ""),
        ("redirect-lf", ""),
        ("redirect-prefix", ""),
        ("redirect-prefix-opts", ""),
        ("redirect-prefix-slash", ""),
        ("redirect-scheme", ""),
        ("redirect-scheme-cookie", ""),
        ("redirect-clear-cookie", ""),
        ("redirect-ignore-empty", ""),
        ("deny", ""),
        ("deny-429", ""),
        ("deny-string", ""),
        ("return-empty", ""),
        ("return-404", ""),
        ("return-string", ""),
        ("return-lf", ""),
        ("allow", ""),
        ("legacy-redirect", ""),
        ("legacy-redirect-2", ""),
        ("res-set-header", ""),
        ("res-add-header", ""),
        ("res-del-header", ""),
        ("res-del-beg", ""),
        ("res-replace-header", ""),
        ("res-replace-value", ""),
        ("res-set-status", ""),
        ("res-set-status-reason", ""),
        ("res-deny", ""),
        ("res-return", ""),
        ("res-status-acl", ""),
    ]

    @Test("http-request and http-response actions do what HAProxy's do")
    func actions() async throws {
        let pair = try await DifferentialPair.start(ConfigTemplate(Self.actionConfig), originResponseFields: Self.originFields)
        for (name, fields) in Self.actionCases {
            let extra = fields.isEmpty ? "" : fields + "\r\n"
            for target in ["/old/a/b.html?x=1&y=2", "/old/dir/"] {
                let request = "GET \(target) HTTP/1.1\r\nHost: example.test:8080\r\nX-Case: \(name)\r\n\(extra)\r\n"
                try await Self.expectSame(pair, request, "\(name) \(target)", closesAfterResponseRule: name.hasPrefix("res-"))
            }
        }
        // Absolute-form and a POST whose body is not read when a rule answers.
        try await Self.expectSame(pair, "GET http://example.test/old/abs?q=1 HTTP/1.1\r\nHost: example.test\r\nX-Case: set-path\r\n\r\n",
                                  "set-path, absolute-form")
        try await Self.expectSame(pair, "GET http://example.test/old/abs?q=1 HTTP/1.1\r\nHost: example.test\r\nX-Case: redirect-scheme\r\n\r\n",
                                  "redirect scheme, absolute-form")
        try await Self.expectSame(pair, "GET /old/x HTTP/1.0\r\nX-Case: redirect-scheme\r\n\r\n", "redirect scheme without Host")
        try await Self.expectSame(pair, "POST /old/p HTTP/1.1\r\nHost: e\r\nX-Case: return-string\r\nContent-Length: 3\r\n\r\nabc",
                                  "return after a POST")
        await pair.stop()
    }

    // MARK: - (c) Matchers and conditions

    static let matchConfig = defaults + """
        frontend fe
            bind 127.0.0.1:@FRONTEND_PORT@
            acl m_beg path -m beg /api
            acl m_end path -m end .php
            acl m_sub path -m sub admin
            acl m_sub_i path -i -m sub ADMIN
            acl m_dom hdr(host) -m dom example.com
            acl m_dir path -m dir static
            acl m_reg path -m reg ^/v[0-9]+/
            acl m_reg_i path -i -m reg ^/V[0-9]+/
            acl m_len hdr(x-str) -m len 3
            acl m_len_ge hdr(x-str) -m len ge 5
            acl m_str hdr(x-str) abc
            acl m_str_i hdr(x-str) -i abc
            acl m_multi hdr(x-str) one two
            acl m_multi hdr(x-str) three
            acl m_int_gt hdr_val(x-n) gt 10
            acl m_int_range hdr_val(x-n) 5:7
            acl m_int_open hdr_val(x-n) :0
            acl m_int_eq hdr_val(x-n) eq 42
            acl m_int_lt hdr_val(x-n) lt 0
            acl m_int_le hdr_val(x-n) le 7
            acl m_int_ge hdr_val(x-n) ge 42
            acl m_int_plain hdr(x-n) -m int 6 42
            acl m_src src 127.0.0.0/8
            acl m_src_mask src 10.0.0.0/255.0.0.0
            acl m_hdr_ip hdr_ip(x-ip) 192.168.0.0/16 ::1
            acl m_found hdr(x-f) -m found
            acl m_bool hdr_val(x-n) -m bool
            acl m_beg_shortcut hdr_beg(x-str) ab
            acl m_end_shortcut hdr_end(host) .test
            acl m_file hdr(x-str) -f @PATTERNS@
            acl m_list_elem hdr(x-list) b
            acl m_fhdr req.fhdr(x-list) -m sub b,c
            acl m_param url_param(x) -m int 3
            acl m_cook cook(sid) -m found
            acl m_cook_val cook(sid) -m beg s
            acl m_bin hdr(x-str) -m bin 616263
            acl m_method method GET POST
            acl m_method_i method -i get
            acl m_ver req.ver 1.0
            acl m_var var(txn.x) -m str set
            acl m_dash hdr(x-str) -- -dash
            http-request set-var(txn.x) str(set) if { hdr(x-setvar) -m found }
            http-request add-header X-M beg if m_beg
            http-request add-header X-M end if m_end
            http-request add-header X-M sub if m_sub
            http-request add-header X-M sub-i if m_sub_i
            http-request add-header X-M dom if m_dom
            http-request add-header X-M dir if m_dir
            http-request add-header X-M reg if m_reg
            http-request add-header X-M reg-i if m_reg_i
            http-request add-header X-M len if m_len
            http-request add-header X-M len-ge if m_len_ge
            http-request add-header X-M str if m_str
            http-request add-header X-M str-i if m_str_i
            http-request add-header X-M multi if m_multi
            http-request add-header X-M int-gt if m_int_gt
            http-request add-header X-M int-range if m_int_range
            http-request add-header X-M int-open if m_int_open
            http-request add-header X-M int-eq if m_int_eq
            http-request add-header X-M int-lt if m_int_lt
            http-request add-header X-M int-le if m_int_le
            http-request add-header X-M int-ge if m_int_ge
            http-request add-header X-M int-plain if m_int_plain
            http-request add-header X-M src if m_src
            http-request add-header X-M src-mask if m_src_mask
            http-request add-header X-M hdr-ip if m_hdr_ip
            http-request add-header X-M found if m_found
            http-request add-header X-M bool if m_bool
            http-request add-header X-M beg-shortcut if m_beg_shortcut
            http-request add-header X-M end-shortcut if m_end_shortcut
            http-request add-header X-M file if m_file
            http-request add-header X-M list-elem if m_list_elem
            http-request add-header X-M fhdr if m_fhdr
            http-request add-header X-M param if m_param
            http-request add-header X-M cook if m_cook
            http-request add-header X-M cook-val if m_cook_val
            http-request add-header X-M bin if m_bin
            http-request add-header X-M method if m_method
            http-request add-header X-M method-i if m_method_i
            http-request add-header X-M ver if m_ver
            http-request add-header X-M var if m_var
            http-request add-header X-M dash if m_dash
            http-request add-header X-M and if m_beg m_str
            http-request add-header X-M or if m_beg or m_end
            http-request add-header X-M pipes if m_sub || m_dir
            http-request add-header X-M not if !m_beg
            http-request add-header X-M not-and if !m_beg !m_end m_src
            http-request add-header X-M unless unless m_beg
            http-request add-header X-M unless-or unless m_beg || m_found
            http-request add-header X-M anon if { path_beg /api } !{ hdr(x-str) -m found }
            http-request add-header X-M anon-or if { hdr(x-n) 1 } or { hdr(x-n) 42 }
            http-request add-header X-M get if METH_GET
            http-request add-header X-M post if METH_POST
            http-request add-header X-M h10 if HTTP_1.0
            http-request add-header X-M h11 if HTTP_1.1
            http-request add-header X-M true if TRUE
            http-request add-header X-M false if FALSE
            http-request add-header X-M localhost if LOCALHOST
            http-request add-header X-M url-slash if HTTP_URL_SLASH
            http-request add-header X-M url-abs if HTTP_URL_ABS
            http-request add-header X-M content if HTTP_CONTENT
            http-request add-header X-M http if HTTP
            default_backend be
        backend be
            server s1 @ORIGIN@
        """

    static let matchRequests: [String] = [
        "GET /api/v1/admin/x.php HTTP/1.1\r\nHost: www.example.com\r\nX-Str: abc\r\nX-N: 42\r\nX-IP: 192.168.1.1\r\n\r\n",
        "GET /static/img.png?x=1&x=3 HTTP/1.1\r\nHost: example.test\r\nX-Str: ABC\r\nX-N: 6\r\nX-F:\r\nCookie: a=b; sid=s1\r\n\r\n",
        "GET /V2/Admin HTTP/1.1\r\nHost: example.com:8080\r\nX-Str: three\r\nX-N: -3\r\nX-List: a, b,c\r\nX-IP: ::1\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: a.example.com\r\nX-Str: abcdef\r\nX-N: 0\r\nContent-Length: 2\r\nX-Setvar: 1\r\n\r\nhi",
        "GET /dir/static HTTP/1.0\r\nHost: examplexcom\r\nX-Str: xyz\r\nX-N: 7\r\n\r\n",
        "HEAD /x HTTP/1.1\r\nHost: e\r\nX-Str: -dash\r\nX-N: 11abc\r\nX-List: b\r\nX-List: d\r\n\r\n",
        "GET http://example.test/abs HTTP/1.1\r\nHost: example.test\r\nX-Str: one\r\nX-N: junk\r\n\r\n",
        "DELETE /api HTTP/1.1\r\nHost: x\r\nX-Str: ab\r\nX-N: 5\r\n\r\n",
    ]

    @Test("ACL matching methods and conditions select the same rules as HAProxy's")
    func matchers() async throws {
        let directory = try TemporaryDirectory()
        let patterns = try directory.write("patterns.txt", "abc\n# comment\n  xyz  \n\n")
        let pair = try await DifferentialPair.start(ConfigTemplate(Self.matchConfig.replacingOccurrences(of: "@PATTERNS@", with: patterns)))
        for request in Self.matchRequests {
            try await Self.expectSame(pair, request, request.components(separatedBy: "\r\n")[0])
        }
        await pair.stop()
    }
}
