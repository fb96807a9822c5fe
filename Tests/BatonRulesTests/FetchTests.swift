import Testing
@testable import BatonRules
#if canImport(Glibc)
import Glibc
#endif

/// Every sample fetch of `FetchTable.definitions`, on one request and response; the values are those haproxy 2.6
/// prints for the same message (see RulesDifferentialTests for the side-by-side run).
@Suite struct FetchTests {
    static func standard() -> TestSubject {
        let subject = TestSubject("GET", "/p/a.b/c?x=1&y=two&x=3;z=4", version: "1.1", [
            ("Host", "example.test"), ("X-List", "a, b,c"), ("X-List", "d"), ("X-Num", "42"), ("X-IP", "10.1.2.3"),
            ("Cookie", "a=1; b=2; a=3"), ("Cookie", "c=4"), ("X-Empty", ""),
        ])
        subject.requestBody = Array("hello".utf8)
        subject.variables["txn.v"] = .string("val")
        return subject.respond(200, [
            ("Set-Cookie", "s=9; Path=/"), ("Set-Cookie", "t=8"), ("X-R", "r1, r2"), ("X-R", "r3"), ("X-RNum", "5"),
            ("X-RIP", "::1"),
        ])
    }

    /// Fetch expression and what it gives (nil: no sample).
    static let table: [(String, String?)] = [
        ("src", "192.0.2.7"), ("src_port", "5555"), ("dst", "127.0.0.1"), ("dst_port", "8080"),
        ("method", "GET"), ("path", "/p/a.b/c"), ("url", "/p/a.b/c?x=1&y=two&x=3;z=4"), ("query", "x=1&y=two&x=3;z=4"),
        ("base", "example.test/p/a.b/c"), ("req.ver", "1.1"), ("req_ver", "1.1"),
        ("url_param(x)", "1"), ("url_param(z)", "4"), ("url_param", "1"), ("url_param(none)", nil), ("urlp(y)", "two"),
        ("urlp_val(x)", "1"), ("url_param(x,&)", "3"),
        ("req.hdr(x-list)", "d"), ("req.hdr(x-list,1)", "a"), ("req.hdr(x-list,2)", "b"), ("req.hdr(x-list,-2)", "c"),
        ("req.hdr(x-list,0)", "d"), ("req.hdr(x-list,9)", nil), ("hdr(X-LIST)", "d"), ("req.hdr(x-empty)", ""),
        ("req.hdr(x-missing)", nil), ("req.hdr(cookie)", "c=4"),
        ("req.fhdr(x-list)", "d"), ("req.fhdr(x-list,1)", "a, b,c"), ("req.fhdr(x-list,-2)", "a, b,c"),
        ("req.hdr_val(x-num)", "42"), ("hdr_val(x-num)", "42"), ("req.hdr_ip(x-ip)", "10.1.2.3"), ("hdr_ip(x-ip)", "10.1.2.3"),
        ("req.hdr_cnt(x-list)", "4"), ("hdr_cnt(x-list)", "4"), ("req.fhdr_cnt(x-list)", "2"), ("hdr_cnt(x-missing)", "0"),
        ("res.hdr(x-r)", "r3"), ("shdr(x-r,1)", "r1"), ("res.fhdr(x-r,1)", "r1, r2"), ("res.hdr_val(x-rnum)", "5"),
        ("shdr_val(x-rnum)", "5"), ("res.hdr_ip(x-rip)", "::1"), ("res.hdr_cnt(x-r)", "3"), ("shdr_cnt(x-r)", "3"),
        ("res.fhdr_cnt(x-r)", "2"),
        ("req.cook(a)", "3"), ("cook(b)", "2"), ("cook(c)", "4"), ("cook(z)", nil), ("cook", "1"), ("req.cook_val(a)", "3"),
        ("cook_val(b)", "2"), ("req.cook_cnt", "4"), ("cook_cnt(a)", "2"), ("res.cook(s)", "9"), ("scook(t)", "8"),
        ("req.body", "hello"), ("req.body_len", "5"), ("req.body_size", "5"),
        ("status", "200"), ("res.ver", "1.1"), ("resp_ver", "1.1"),
        ("fe_name", "fe"), ("be_name", "be"), ("srv_name", "srv1"), ("nbsrv", "2"), ("nbsrv(other)", "0"),
        ("nbsrv(unknown)", nil), ("be_conn", "3"), ("be_conn(be)", "3"),
        ("http_first_req", "1"), ("ssl_fc", "0"), ("always_true", "1"), ("always_false", "0"),
        ("req.proto_http", "1"), ("req_proto_http", "1"), ("req.len", "1"), ("req_len", "1"), ("wait_end", "1"),
        ("unique-id", "uid-1"),
        ("var(txn.v)", "val"), ("var(txn.missing)", nil), ("var(txn.missing,dflt)", "dflt"),
        ("str(abc)", "abc"), ("str()", ""), ("int(-3)", "-3"), ("bool(true)", "1"), ("bool(0)", "0"), ("bool(FALSE)", "0"),
    ]

    @Test("each fetch gives the value haproxy gives", arguments: table)
    func fetch(_ expression: String, _ expected: String?) throws {
        #expect(try evaluate(expression, Self.standard()) == expected)
    }

    @Test func environmentDateRandomAndUUID() throws {
        setenv("BATON_RULES_TEST", "from-env", 1)
        #expect(try evaluate("env(BATON_RULES_TEST)") == "from-env")
        #expect(try evaluate("env(BATON_RULES_TEST_UNSET)") == nil)
        let now = Int64(time(nil))
        let date = try #require(try evaluate("date").flatMap { Int64($0) })
        #expect(abs(date - now) <= 2)
        let later = try #require(try evaluate("date(3600)").flatMap { Int64($0) })
        #expect(abs(later - now - 3600) <= 2)
        let milliseconds = try #require(try evaluate("date(0,ms)").flatMap { Int64($0) })
        #expect(abs(milliseconds / 1000 - now) <= 2)
        for _ in 0..<20 {
            let value = try #require(try evaluate("rand(10)").flatMap { Int($0) })
            #expect((0..<10).contains(value))
        }
        let uuid = try #require(try evaluate("uuid"))
        #expect(uuid.count == 36 && uuid.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
        #expect(Array(uuid)[14] == "4")
        #expect(try evaluate("uuid(4)") != uuid)
    }

    @Test("every fetch of the table is covered here")
    func everyFetchIsCovered() {
        let tested = Set(Self.table.map { String($0.0.prefix { $0 != "(" }) } + ["env", "date", "rand", "uuid"])
            .union(StickTableTests.coveredFetches)
        let missing = Set(FetchTable.definitions.keys).subtracting(tested)
        #expect(missing.isEmpty, "untested fetches: \(missing.sorted())")
    }

    @Test("a request without query, Host or response")
    func absentParts() throws {
        let subject = TestSubject("POST", "/only", version: "1.0", [])
        #expect(try evaluate("query", subject) == nil)
        #expect(try evaluate("base", subject) == "/only")
        #expect(try evaluate("url_param(a)", subject) == nil)
        #expect(try evaluate("status", subject) == nil)
        #expect(try evaluate("res.hdr(x)", subject) == nil)
        #expect(try evaluate("req.body", subject) == nil)
        #expect(try evaluate("req.ver", subject) == "1.0")
        #expect(try evaluate("hdr_cnt", subject) == "0")
        let absolute = TestSubject("GET", "http://example.test:8080/abs/p?q=1", [("Host", "example.test:8080")])
        #expect(try evaluate("path", absolute) == "/abs/p")
        #expect(try evaluate("base", absolute) == "example.test:8080/abs/p")
        #expect(try evaluate("url", absolute) == "http://example.test:8080/abs/p?q=1")
        #expect(try evaluate("query", absolute) == "q=1")
        #expect(try evaluate("path", TestSubject("OPTIONS", "*")) == nil)
    }

    @Test("argument errors are haproxy's")
    func argumentErrors() {
        #expect(parseError("nosuch") == "unknown fetch method 'nosuch'")
        #expect(parseError("req.hdr(a,b)") == "invalid arg 2 in fetch method 'req.hdr' : expects an integer ('b').")
        #expect(parseError("req.hdr(a,1,2)") == "fetch method 'req.hdr' : end of arguments expected at position 3")
        #expect(parseError("var") == "fetch method 'var' : missing arguments (got 0/1)")
        #expect(parseError("var(nope)")?.hasPrefix("invalid arg 1 in fetch method 'var' : invalid variable name 'nope'") == true)
        #expect(parseError("int(x)") == "invalid arg 1 in fetch method 'int' : expects an integer ('x').")
        #expect(parseError("bool(5)") == "invalid args in fetch method 'bool' : Expects 'true', 'false', '0' or '1'.")
        #expect(parseError("rand(0)") == "invalid arg 1 in fetch method 'rand' : expects a positive integer ('0').")
        #expect(parseError("uuid(3)") == "invalid arg 1 in fetch method 'uuid' : Unsupported UUID version: '3'")
        #expect(parseError("date(0,h)") == "invalid arg 2 in fetch method 'date' : unit 'h' is not one of 's', 'ms' or 'us'")
        #expect(parseError("url_param(a,xy)") == "invalid arg 2 in fetch method 'url_param' : expects a single delimiter character")
        #expect(parseError("req.hdr(a") == "missing closing ')' after arguments to fetch method 'req.hdr'")
        #expect(parseError("src()") == nil)
        #expect(parseError("src(x)") == "fetch method 'src' : end of arguments expected at position 1")
    }

    @Test("arguments: quotes group, backslashes escape as in haproxy's make_arg_list")
    func argumentQuoting() throws {
        #expect(try evaluate("str('a,b')") == "a,b")
        #expect(try evaluate("str(\"a)b\")") == "a)b")
        #expect(try evaluate("str(a\\tb)") == "a\tb")
        #expect(try evaluate("str(a\\1b)") == "a\\1b")
        #expect(try evaluate("str('a\\tb')") == "a\\tb")
        #expect(try evaluate("str(\"\")") == "")
    }
}
