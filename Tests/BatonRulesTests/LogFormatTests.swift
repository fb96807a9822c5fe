import Testing
@testable import BatonRules

/// Log-format strings as HTTP rules use them (`set-header`, `lf-string`, redirects); the outputs are haproxy 2.6's.
@Suite struct LogFormatTests {
    static func render(_ text: String,
                       _ subject: TestSubject = TestSubject("GET", "/p?q=1", [("X-Y", "q\"]\\z")])) throws -> String {
        try LogFormat.parse(text, environment: TestFiles.environment).evaluate(subject)
    }

    static func error(_ text: String) -> String? {
        do { _ = try LogFormat.parse(text, environment: TestFiles.environment); return nil } catch { return "\(error)" }
    }

    static let table: [(String, String)] = [
        ("plain text", "plain text"), ("100%%", "100%"), ("%[path]", "/p"), ("a=%[method] b=%[query]", "a=GET b=q=1"),
        ("[%[req.hdr(x-missing)]]", "[]"), ("[%[str()]]", "[]"), ("%{+Q}[str(a)]", "a"), ("%{+Q}[req.hdr(nope)]", ""),
        ("%{+X}[int(255)]", "255"), ("%{+M}[req.hdr(nope)]", ""), ("%{+E}[req.hdr(x-y)]", "q\\\"\\]\\\\z"),
        ("%[str(a%0Ab%7F),url_dec]", "a%0Ab%7F"), ("%[str(a%09b),url_dec]", "a\tb"),
        ("%ci:%cp", "192.0.2.7:5555"), ("%{+Q}ci", "\"192.0.2.7\""), ("%f/%b", "fe/be"), ("%HM %HU %HV", "GET /p?q=1 HTTP/1.1"),
        ("%{+Q}o%ci %[str(b)]", "\"192.0.2.7\" b"), ("%{+Q,-Q}ci", "192.0.2.7"), ("%{Q}ci", "192.0.2.7"), ("%{+nope}ci", "192.0.2.7"),
        ("%-a", "-a"), ("x%/y", "x/y"), ("%ST", "-"),
    ]

    @Test("rendering", arguments: table)
    func rendering(_ text: String, _ expected: String) throws {
        #expect(try Self.render(text) == expected)
    }

    @Test func constantTextIsKnownWithoutASubject() throws {
        #expect(try LogFormat.parse("just text", environment: TestFiles.environment).constantText == "just text")
        // Unescaped spaces are separators: several print as one, none first.
        #expect(try LogFormat.parse(" a   b", environment: TestFiles.environment).constantText == "a b")
        #expect(try LogFormat.parse("%[path]", environment: TestFiles.environment).constantText == nil)
        #expect(try LogFormat.parse("%[res.hdr(x)]", environment: TestFiles.environment).usesResponse)
    }

    @Test func errors() {
        #expect(Self.error("100%") == "unexpected end of log-format string after '%'")
        #expect(Self.error("%[path") == "missing ']' after expression 'path'")
        #expect(Self.error("%[nosuch]") == "failed to parse sample expression <nosuch]> : unknown fetch method 'nosuch'.")
        #expect(Self.error("%zz")?.hasPrefix("no such format variable 'zz'") == true)
        #expect(Self.error("%1")?.hasPrefix("unexpected character '1' after '%'") == true)
        #expect(Self.error("% a")?.hasPrefix("unexpected character ' ' after '%'") == true)
        #expect(Self.error("%{+Q}-")?.hasPrefix("unexpected character '-' after '%'") == true)
        #expect(Self.error("%{+Q") == "missing '}' after '%{' in log-format string")
    }
}
