import Testing
@testable import BatonRules

/// `acl` matching methods, flags and operators, and `if`/`unless` conditions; the cases mirror the ACLs of
/// RulesDifferentialTests.matchers, which haproxy 2.6 evaluates the same way.
@Suite struct MatcherTests {
    static func term(_ words: String) throws -> ACLTerm {
        var warnings: [String] = []
        return try ACLParser.parseTerm(words.split(separator: " ").map(String.init)[...], environment: TestFiles.environment,
                                       warnings: &warnings)
    }

    static func matches(_ words: String, _ subject: TestSubject) throws -> Bool {
        try term(words).matches(subject)
    }

    static func subject() -> TestSubject { TestSubject("GET", "/api/v1/admin/x.php?x=1&x=3", [
        ("Host", "www.example.com"), ("X-Str", "abc"), ("X-N", "42"), ("X-IP", "192.168.1.1"), ("X-List", "a, b,c"),
        ("X-F", ""), ("Cookie", "sid=s1"), ("X-Pad", "xyz  "),
    ]) }

    /// ACL words and whether they match `subject`.
    static let table: [(String, Bool)] = [
        ("req.hdr(x-f) -m found", true), ("req.hdr(x-missing) -m found", false),
        ("hdr_val(x-n) -m bool", true), ("int(0) -m bool", false), ("always_true", true), ("always_false", false),
        ("hdr_val(x-n) 42", true), ("hdr_val(x-n) 41", false), ("hdr_val(x-n) eq 42", true), ("hdr_val(x-n) ge 42", true),
        ("hdr_val(x-n) gt 42", false), ("hdr_val(x-n) le 41", false), ("hdr_val(x-n) lt 43", true),
        ("hdr_val(x-n) 40:50", true), ("hdr_val(x-n) 43:", false), ("hdr_val(x-n) :42", true), ("hdr(x-n) -m int 6 42", true),
        ("src 192.0.2.0/24", true), ("src 192.0.2.0/255.255.255.0", true), ("src 10.0.0.0/8", false), ("src 192.0.2.7", true),
        ("hdr_ip(x-ip) 192.168.0.0/16", true), ("hdr_ip(x-ip) ::ffff:192.168.1.1", true), ("hdr_ip(x-ip) ::1", false),
        ("hdr(x-str) abc", true), ("hdr(x-str) ABC", false), ("hdr(x-str) -i ABC", true), ("hdr(x-str) x y abc", true),
        ("hdr(x-str) -m beg ab", true), ("hdr(x-str) -m beg -i AB", true), ("hdr(x-str) -m end bc", true),
        ("hdr(x-str) -m sub b", true), ("hdr(x-str) -m sub x", false),
        ("path -m dir admin", true), ("path -m dir dmin", false), ("path -m dir /v1/admin/", true),
        ("hdr(host) -m dom example.com", true), ("hdr(host) -m dom ample.com", false), ("hdr(host) -m dom -i EXAMPLE.com", true),
        ("path -m reg ^/api/v[0-9]+/", true), ("path -m reg ^/API", false), ("path -i -m reg ^/API", true),
        ("hdr(x-str) -m len 3", true), ("hdr(x-str) -m len ge 4", false), ("hdr(x-str) -m bin 616263", true),
        ("hdr(x-str) -m bin 6162", false),
        ("path_beg /api", true), ("path_end .php", true), ("path_sub admin", true), ("path_reg ^/api", true),
        ("path_dir v1", true), ("hdr_dom(host) www", true), ("hdr_len(x-str) 3", true), ("url_beg /api", true),
        ("hdr_beg(x-str) ab", true), ("hdr_end(host) .com", true), ("hdr_sub(x-list) b", true),
        ("hdr(x-list) b", true), ("req.fhdr(x-list) b", false), ("req.fhdr(x-list) -m sub b,c", true),
        ("url_param(x) -m int 3", true), ("url_param(x) 1", true), ("cook(sid) -m found", true), ("cook(sid) -m beg s", true),
        ("hdr(x-str) -f patterns.txt", true), ("str(xyz) -f patterns.txt", false), ("req.fhdr(x-pad) -f patterns.txt", true), ("str(#) -f patterns.txt", false),
        ("method GET POST", true), ("method -i get", false), ("method -m str -i get", true),
        ("var(txn.missing) -m found", false), ("hdr(x-str) -- abc", true),
    ]

    @Test("matching methods, flags and operators", arguments: table)
    func match(_ words: String, _ expected: Bool) throws {
        #expect(try Self.matches(words, Self.subject()) == expected)
    }

    @Test func nonStandardMethodsMatchByName() throws {
        let subject = TestSubject("PURGE", "/")
        #expect(try Self.matches("method PURGE", subject))
        #expect(try Self.matches("method -i purge", subject))
        #expect(try !Self.matches("method purge", subject))
        #expect(try !Self.matches("method GET", subject))
    }

    @Test("the default method follows the fetch's type; binary and any need -m")
    func defaults() throws {
        #expect(try Self.term("src 1.2.3.4").patterns.method == .ip)
        #expect(try Self.term("hdr_cnt 1").patterns.method == .int)
        #expect(try Self.term("path /").patterns.method == .str)
        #expect(try Self.term("always_true").patterns.method == .bool)
        #expect(try Self.term("req.body 00").patterns.method == .bin)
        #expect(throws: RuleError.self) { try Self.term("var(txn.x) 1") }
    }

    @Test("pattern errors are haproxy's")
    func errors() {
        func message(_ words: String) -> String {
            do { _ = try Self.term(words); return "" } catch { return "\(error)" }
        }
        #expect(message("src 1.2.3.x") == "'1.2.3.x' is not a valid IPv4 or IPv6 address.")
        #expect(message("hdr_val(x) abc") == "'abc' is not a number")
        #expect(message("path -m nope x") == "unknown matching method 'nope' when parsing ACL expression.")
        #expect(message("path -x") == "'-x' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'.")
        #expect(message("path -m") == "missing matching method after '-m'.")
        #expect(message("hdr(x) -m found abc") == "")
        #expect(message("path -f nofile.txt") == "failed to open pattern file <nofile.txt>.")
        #expect(message("path -m reg (") .hasPrefix("regex '(' is invalid"))
        #expect(message("hdr(x) -m bin 6") == "'6' : bad binary pattern (odd length)")
        #expect(message("nosuch x").hasPrefix("unknown fetch method 'nosuch' in ACL expression 'nosuch'"))
        var warnings: [String] = []
        _ = try? ACLParser.parseTerm(["path"], environment: TestFiles.environment, warnings: &warnings)
        #expect(warnings.first?.contains("no pattern to match against were provided") == true)
    }

    // MARK: - Conditions

    static func condition(_ text: String, acls: [String: ACL] = [:]) throws -> Condition {
        var words = text.split(separator: " ").map(String.init)
        let unless = words.removeFirst() == "unless"
        var warnings: [String] = []
        return try ACLParser.parseCondition(unless: unless, words[...], known: acls, environment: TestFiles.environment,
                                            warnings: &warnings)
    }

    static let named: [String: ACL] = [
        "is_api": ACL(name: "is_api", terms: [try! term("path_beg /api")]),
        "is_php": ACL(name: "is_php", terms: [try! term("path_end .php")]),
        "is_img": ACL(name: "is_img", terms: [try! term("path_end .png")]),
        // Two lines with the same name are ORed.
        "either": ACL(name: "either", terms: [try! term("path_end .png"), try! term("hdr(x-str) abc")]),
    ]

    static let conditionTable: [(String, Bool)] = [
        ("if is_api", true), ("unless is_api", false), ("if is_api is_php", true), ("if is_api is_img", false),
        ("if is_img or is_php", true), ("if is_img || is_php", true), ("if is_img OR is_api", true), ("if !is_api", false),
        ("if !is_img", true), ("if !is_img is_api", true), ("if is_img or !is_php", false), ("unless is_img || is_api", false),
        ("if either", true), ("if { path_beg /api } { hdr(x-str) abc }", true), ("if { path_beg /img }", false),
        ("if !{ path_beg /img }", true), ("if is_img or { hdr(x-n) 42 }", true),
        ("if TRUE", true), ("if FALSE", false), ("if METH_GET", true), ("if METH_POST", false), ("if HTTP_1.1", true),
        ("if HTTP_1.0", false), ("if HTTP", true), ("if HTTP_URL_SLASH", true), ("if HTTP_URL_ABS", false),
        ("if HTTP_URL_STAR", false), ("if LOCALHOST", false), ("if HTTP_CONTENT", false), ("if METH_HEAD", false),
        ("if REQ_CONTENT", true), ("if WAIT_END", true),
    ]

    @Test("conditions: implicit AND, or/||, !, anonymous and predefined ACLs", arguments: conditionTable)
    func conditions(_ text: String, _ expected: Bool) throws {
        #expect(try Self.condition(text, acls: Self.named).isSatisfied(by: Self.subject()) == expected)
    }

    @Test func conditionErrors() {
        #expect(throws: RuleError("no such ACL : 'nope'")) { try Self.condition("if nope") }
        #expect(throws: RuleError("missing closing '}' in condition")) { try Self.condition("if { path /") }
        #expect((try? Self.condition("if is_ap", acls: Self.named)) == nil)
    }

    @Test func predefinedACLsOnOtherRequests() throws {
        let head = TestSubject("HEAD", "http://example.test/", version: "1.0", [("Host", "example.test"), ("Content-Length", "3")])
        head.clientAddress = IPAddress("127.0.0.1")
        for (name, expected) in [("METH_GET", true), ("METH_HEAD", true), ("HTTP_1.0", true), ("HTTP_URL_ABS", true),
                                 ("LOCALHOST", true), ("HTTP_CONTENT", true)] {
            #expect(try Self.condition("if \(name)").isSatisfied(by: head) == expected, "\(name)")
        }
        #expect(try Self.condition("if HTTP_URL_STAR").isSatisfied(by: TestSubject("OPTIONS", "*")))
        #expect(Set(ACLParser.predefinedNames).isSuperset(of: ["TRUE", "FALSE", "METH_GET", "HTTP_1.1", "LOCALHOST"]))
    }
}
