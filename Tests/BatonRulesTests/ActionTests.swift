import BatonCore
import Testing
@testable import BatonRules

/// Every action of `HTTPRuleParser.requestActions` and `responseActions`: what it does to a message, what it
/// answers, and how a bad line is refused. The effects match haproxy 2.6 (RulesDifferentialTests.actions).
@Suite struct ActionTests {
    static let location = SourceLocation(file: "test.cfg", line: 1)

    static func rule(_ direction: HTTPRuleParser.Direction, _ words: [String],
                     acls: [String: ACL] = [:]) throws(HTTPRuleParser.Failure) -> HTTPRule {
        var context = HTTPRuleParser.Context(acls: acls, environment: TestFiles.environment)
        return try HTTPRuleParser.parse(direction, words[...], location: location, context: &context)
    }

    static func words(_ line: String) -> [String] { line.split(separator: " ").map(String.init) }

    /// Runs one request rule on `subject`.
    @discardableResult
    static func run(_ line: String, _ subject: TestSubject) throws -> RuleVerdict {
        [try rule(.request, words(line))].run(on: .request, subject)
    }

    static func request(_ target: String = "/old/a.html?x=1", _ fields: [(String, String)] = []) -> TestSubject {
        TestSubject("GET", target, [("Host", "example.test")] + fields)
    }

    static func failure(_ direction: HTTPRuleParser.Direction = .request, _ line: String) -> String {
        do {
            _ = try rule(direction, words(line))
            return "parsed"
        } catch {
            switch error {
            case .action(_, let message): return message
            case .condition(_, let message): return "condition: \(message)"
            case .unknownAction(let name): return "unknown: \(name)"
            case .unsupportedAction(let name): return "unsupported: \(name)"
            }
        }
    }

    // MARK: - Header actions

    @Test func headerActions() throws {
        var subject = Self.request("/", [("X-Set", "old1"), ("X-In", "val"), ("x-set", "old2")])
        try Self.run("set-header X-Set v=%[req.hdr(x-in)]", subject)
        #expect(subject.requestLines == ["Host: example.test", "X-In: val", "X-Set: v=val"])
        try Self.run("add-header X-Set second", subject)
        #expect(subject.requestLines.suffix(2) == ["X-Set: v=val", "X-Set: second"])

        subject = Self.request("/", [("X-Del", "1"), ("x-del", "2"), ("X-Keep", "k"), ("X-Pre-A", "1"), ("Amid", "2"),
                                     ("A-Tail", "3"), ("X-R1", "4"), ("X-R22", "5")])
        try Self.run("del-header x-del", subject)
        #expect(!subject.requestLines.contains { $0.lowercased().hasPrefix("x-del") })
        try Self.run("del-header x-pre -m beg", subject)
        try Self.run("del-header mi -m sub", subject)
        try Self.run("del-header -tail -m end", subject)
        try Self.run("del-header ^x-r[0-9]$ -m reg", subject)
        #expect(subject.requestLines == ["Host: example.test", "X-Keep: k", "X-R22: 5"])
        try Self.run("del-header X-KEEP -m str", subject)
        #expect(subject.requestLines == ["Host: example.test", "X-R22: 5"])

        subject = Self.request("/", [("X-Rep", "alpha-beta"), ("X-Rep", "no match"), ("X-Val", "abc, bcd,ad")])
        try Self.run("replace-header X-Rep ^(\\w+)-(\\w+)$ \\2-\\1", subject)
        #expect(subject.requestLines.contains("X-Rep: beta-alpha") && subject.requestLines.contains("X-Rep: no match"))
        try Self.run("replace-value X-Val ^a(.*) A\\1", subject)
        #expect(subject.requestLines.last == "X-Val: Abc, bcd,Ad")
    }

    @Test func settingHostRewritesAnAbsoluteTarget() throws {
        let subject = TestSubject("GET", "http://example.test/p?q=1", [("Host", "example.test")])
        try Self.run("set-header host backend.internal", subject)
        #expect(subject.requestTarget == "http://backend.internal/p?q=1")
        #expect(subject.requestLines == ["host: backend.internal"])
    }

    // MARK: - Request line actions

    static let lineActions: [(String, String, String)] = [
        ("set-path /new%[path]", "/old/a.html?x=1", "/new/old/a.html?x=1"),
        ("set-path /n", "http://example.test/old?x=1", "http://example.test/n?x=1"),
        ("set-pathq /pq?z=%[query]", "/old/a.html?x=1", "/pq?z=x=1"),
        ("set-query q=%[path]", "/old/a.html?x=1", "/old/a.html?q=/old/a.html"),
        ("set-uri /uri/%[method]", "/old/a.html?x=1", "/uri/GET"),
        ("replace-path /old/(.*) /newer/\\1", "/old/a.html?x=1", "/newer/a.html?x=1"),
        ("replace-path /nomatch/(.*) /x", "/old/a.html?x=1", "/old/a.html?x=1"),
        ("replace-pathq ^/old/([^?]*)\\?(.*) /pq/\\1/\\2", "/old/a.html?x=1", "/pq/a.html/x=1"),
        ("replace-uri ^/old/(.*) /uri2/\\1", "/old/a.html?x=1", "/uri2/a.html?x=1"),
    ]

    @Test("set-path, set-pathq, set-query, set-uri, replace-path, replace-pathq, replace-uri", arguments: lineActions)
    func requestLine(_ line: String, _ target: String, _ expected: String) throws {
        let subject = Self.request(target)
        #expect(try Self.run(line, subject) == .proceed)
        #expect(subject.requestTarget == expected)
    }

    @Test func setMethod() throws {
        let subject = Self.request()
        try Self.run("set-method PUT", subject)
        #expect(subject.requestMethod == "PUT")
    }

    // MARK: - Variables and bookkeeping

    @Test func variables() throws {
        let subject = Self.request()
        try Self.run("set-var(txn.p) path", subject)
        try Self.run("set-var-fmt(txn.f) %[method]-%[var(txn.p)]", subject)
        try Self.run("set-var(sess.s) int(7)", subject)
        #expect(try evaluate("var(txn.f)", subject) == "GET-/old/a.html")
        #expect(try evaluate("var(sess.s)", subject) == "7")
        try Self.run("unset-var(txn.p)", subject)
        #expect(try evaluate("var(txn.p)", subject) == nil)
        try Self.run("set-var(txn.none) req.hdr(x-missing)", subject)
        #expect(try evaluate("var(txn.none)", subject) == nil)
        // set-log-level and capture change nothing rules can see.
        #expect(try Self.run("set-log-level silent", subject) == .proceed)
        #expect(try Self.run("capture req.hdr(host) len 10", subject) == .proceed)
    }

    // MARK: - Final actions

    @Test func finalActions() throws {
        let subject = Self.request("/old/a.html?x=1", [("Cookie", "a=1")])
        #expect(try Self.run("allow", subject) == .allow)
        #expect(try Self.run("deny", subject) == .respond(LocalResponse(status: 403), deny: true))
        #expect(try Self.run("deny deny_status 429", subject) == .respond(LocalResponse(status: 429), deny: true))
        #expect(try Self.run("tarpit", subject) == .tarpit(LocalResponse(status: 500)))
        #expect(try Self.run("return", subject) == .respond(LocalResponse(status: 200, body: .empty), deny: false))
        guard case .respond(let reply, false) = try [Self.rule(.request, ["return", "status", "503", "content-type", "text/html",
                                                                           "string", "<p>down</p>", "hdr", "X-A", "%[path]"])]
            .run(on: .request, subject) else {
            Issue.record("return did not answer")
            return
        }
        #expect(reply.status == 503 && reply.contentType == "text/html" && reply.body == .text("<p>down</p>"))
        #expect(reply.headers.map(\.name) == ["X-A"] && reply.headers.first?.value.evaluate(subject) == "/old/a.html")
        guard case .respond(let lf, false) = try Self.run("return content-type text/plain lf-string p=%[path]", subject),
              case .logFormat(let format) = lf.body else {
            Issue.record("return lf-string did not answer")
            return
        }
        #expect(format.evaluate(subject) == "p=/old/a.html")
    }

    static let redirects: [(String, String, Int, String?)] = [
        ("redirect location /moved code 301", "/old/a.html?x=1", 301, nil),
        ("redirect prefix /pre code 303", "/old/a.html?x=1", 303, nil),
        ("redirect prefix /pre drop-query append-slash", "/old/a.html?x=1", 302, nil),
        ("redirect prefix /pre append-slash", "/old/dir?x=1", 302, nil),
        ("redirect prefix /", "/old/a.html?x=1", 302, nil),
        ("redirect scheme https code 307", "/old/a.html?x=1", 307, nil),
        ("redirect scheme https drop-query set-cookie SEEN=1", "/old/a.html?x=1", 302, "SEEN=1; path=/;"),
        ("redirect location /c clear-cookie OLD=", "/", 302, "OLD=; path=/; Max-Age=0;"),
    ]
    static let expectedLocations = ["/moved", "/pre/old/a.html?x=1", "/pre/old/a.html/", "/pre/old/dir?x=1/", "/old/a.html?x=1",
                                    "https://example.test:8080/old/a.html?x=1", "https://example.test:8080/old/a.html", "/c"]

    @Test("redirect location, prefix and scheme with their options", arguments: zip(redirects, expectedLocations))
    func redirect(_ redirect: (String, String, Int, String?), _ location: String) throws {
        let subject = TestSubject("GET", redirect.1, [("Host", "example.test:8080")])
        #expect(try Self.run(redirect.0, subject) == .redirect(code: redirect.2, location: location, setCookie: redirect.3))
    }

    @Test func redirectIgnoreEmptyAndNoHost() throws {
        let subject = TestSubject("GET", "/x", [])
        #expect(try Self.run("redirect location %[req.hdr(x-missing)] ignore-empty", subject) == .proceed)
        #expect(try Self.run("redirect location %[req.hdr(x-missing)]", subject) == .redirect(code: 302, location: "", setCookie: nil))
        #expect(try Self.run("redirect scheme https", subject) == .redirect(code: 302, location: "https:///x", setCookie: nil))
    }

    // MARK: - Response actions

    @Test func responseActions() throws {
        let subject = Self.request().respond(200, [("X-Origin-A", "one"), ("X-Origin-B", "left-right"), ("X-Origin-C", "v1, v2,w3")])
        func run(_ line: String) throws -> RuleVerdict { [try Self.rule(.response, Self.words(line))].run(on: .response, subject) }
        try run("set-header X-Resp s=%[status]")
        try run("add-header X-Origin-A extra")
        try run("replace-header X-Origin-B ^(.*)-(.*)$ \\2+\\1")
        try run("replace-value X-Origin-C ^v(.*) V\\1")
        try run("set-var(txn.s) status")
        try run("set-var-fmt(txn.t) s%[status]")
        try run("unset-var(txn.s)")
        try run("set-log-level info")
        #expect(subject.responseLines == ["X-Origin-A: one", "X-Origin-B: right+left", "X-Origin-C: V1,V2,w3", "X-Resp: s=200",
                                          "X-Origin-A: extra"])
        try run("del-header x-origin- -m beg")
        #expect(subject.responseLines == ["X-Resp: s=200"])
        try run("set-status 503 reason Gone")
        #expect(subject.responseStatus == 503 && subject.responseReason == "Gone")
        #expect(try evaluate("var(txn.t)", subject) == "s200" && evaluate("var(txn.s)", subject) == nil)
        #expect(try run("allow") == .allow)
        #expect(try run("deny") == .respond(LocalResponse(status: 502), deny: true))
        #expect(try run("redirect location /r") == .redirect(code: 302, location: "/r", setCookie: nil))
        guard case .respond(let reply, false) = try run("return status 202") else {
            Issue.record("return did not answer")
            return
        }
        #expect(reply.status == 202)
    }

    @Test func conditionsGuardActions() throws {
        let subject = Self.request()
        #expect(try Self.run("deny if { path_beg /other }", subject) == .proceed)
        #expect(try Self.run("deny unless { path_beg /other }", subject) == .respond(LocalResponse(status: 403), deny: true))
        // The condition starts after the action's own words: the header's value is "unless".
        try Self.run("add-header X-Mode unless unless { path_beg /other }", subject)
        #expect(subject.requestLines.last == "X-Mode: unless")
    }

    // MARK: - Errors

    static let errors: [(HTTPRuleParser.Direction, String, String)] = [
        (.request, "set-header X-A", "expects exactly 2 arguments."),
        (.request, "add-header X-A b c", "expects exactly 2 arguments."),
        (.request, "set-header X-A %[nosuch]", "failed to parse sample expression <nosuch]> : unknown fetch method 'nosuch'."),
        (.request, "del-header X-A -m dom", "'-m' expects one of 'str', 'beg', 'end', 'sub' or 'reg', got 'dom'."),
        (.request, "del-header", "expects exactly 1 argument or 3 arguments with '-m'."),
        (.request, "replace-header X-A ^a", "expects exactly 3 arguments."),
        (.request, "replace-value X-A ( b", "regex '(' is invalid (error=missing closing parenthesis, erroffset=1)"),
        (.request, "set-path", "expects exactly 1 argument."),
        (.request, "set-method A B", "expects exactly 1 argument."),
        (.request, "replace-uri ^/a", "expects exactly 2 arguments."),
        (.request, "set-var path", "expects a variable name between parentheses: 'set-var(<var-name>)'."),
        (.request, "set-var(bad) path", "invalid variable 'bad'. Expects a scope among 'proc', 'sess', 'txn', 'req', 'res' and a name made of letters, digits, '_' and '.'."),
        (.request, "set-var(txn.x) nosuch", "failed to parse sample expression <nosuch> : unknown fetch method 'nosuch'."),
        (.request, "unset-var(txn.x) extra", "expects exactly 0 arguments."),
        (.request, "allow extra", "expects exactly 0 arguments."),
        (.request, "set-log-level loud", "unexpected log level 'loud'."),
        (.request, "capture path len x", "expects <expression> 'len' <length>."),
        (.request, "deny status 403", "unexpected argument 'status' (use 'deny_status')."),
        (.request, "deny deny_status 99", "Unexpected status code '99'."),
        (.request, "return status 200 string body", "a content type must be defined when non-empty payload is configured."),
        (.request, "return status 204 content-type text/plain string x", "No body expected for 204 responses."),
        (.request, "return hdr Content-Length 3", "header 'Content-Length' not allowed."),
        (.request, "return string a lf-string b", "unexpected 'lf-string' argument, 'string' already defined."),
        (.request, "return file missing.txt", "error opening file 'missing.txt'."),
        (.request, "return bogus", "unexpected argument 'bogus'."),
        (.request, "tarpit deny_status", "'deny_status' expects <status_code> as argument."),
        (.request, "redirect", "redirect: expects either 'prefix', 'location' or 'scheme' followed by the redirection target."),
        (.request, "redirect location /a code 305", "'code' expects one of 301, 302, 303, 307 or 308, got '305'."),
        (.request, "redirect location", "'location' expects an argument."),
        (.request, "redirect location /a bogus", "expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was 'bogus')."),
        (.response, "set-status 99", "expects an HTTP status code between 100 and 999."),
        (.response, "set-status 200 because x", "expects only 'reason' keyword after the status code."),
        (.request, "deny if nope", "condition: no such ACL : 'nope'"),
        (.request, "deny if", "condition: no condition after 'if'"),
        (.request, "frobnicate", "unknown: frobnicate"),
        (.request, "set-src src", "unsupported: set-src"),
        (.request, "set-status 200", "unsupported: set-status"),
    ]

    @Test("parse errors", arguments: errors)
    func parseErrors(_ direction: HTTPRuleParser.Direction, _ line: String, _ message: String) {
        #expect(Self.failure(direction, line) == message)
    }

    @Test("request rules cannot print the response, the server or (in a frontend) the backend, as haproxy refuses them")
    func unavailableSamples() {
        let message = { (what: String, missing: String) in
            "sample fetch <\(what)]> may not be reliably used here because it needs '\(missing)' which is not available here."
        }
        #expect(Self.failure(.request, "set-header X %[srv_name]") == message("srv_name", "server"))
        #expect(Self.failure(.request, "set-header X %[res.hdr(x)]") == message("res.hdr(x)", "HTTP response headers"))
        var context = HTTPRuleParser.Context(acls: [:], environment: TestFiles.environment, hasBackendCapability: false)
        do {
            _ = try HTTPRuleParser.parse(.request, ["set-header", "X", "%[be_name]"], location: Self.location, context: &context)
            Issue.record("be_name in a frontend's request rule was accepted")
        } catch {
            guard case .action(_, let text) = error else { Issue.record("\(error)"); return }
            #expect(text == message("be_name", "backend"))
        }
        #expect(Self.failure(.request, "set-header X %[be_name]") == "parsed")
        #expect(Self.failure(.response, "set-header X %[srv_name]") == "parsed")
    }

    @Test("every action Baton implements is exercised here")
    func everyActionIsCovered() {
        let source = [Self.lineActions.map(\.0), Self.redirects.map(\.0), Self.errors.map(\.1)].flatMap { $0 }
        let exercised: Set<String> = Set(source.map { String($0.prefix { $0 != " " && $0 != "(" }) }).union([
            "set-header", "add-header", "del-header", "replace-header", "replace-value", "set-method", "set-var",
            "set-var-fmt", "unset-var", "set-log-level", "capture", "allow", "deny", "tarpit", "return", "redirect",
            "set-status",
            // StickTableTests: tracking, general purpose counters, authentication.
            "track-sc0", "track-sc1", "track-sc2", "sc-inc-gpc0", "sc-inc-gpc1", "auth",
        ])
        let implemented = Set(HTTPRuleParser.requestActions + HTTPRuleParser.responseActions)
        #expect(implemented.subtracting(exercised).isEmpty, "not exercised: \(implemented.subtracting(exercised).sorted())")
    }
}
