import Testing
@testable import BatonConfig

@Suite("Conditional blocks (.if/.elif/.else/.endif and messages)")
struct ConditionalBlockTests {
    @Test func takesTheFirstTrueBranch() {
        let result = load("""
            .if defined(NOPE)
            .notice "if"
            .elif streq("${MODE}",prod)
            .notice "elif"
            .else
            .notice "else"
            .endif
            """, environment: ["MODE": "prod"])
        #expect(result.lines == ["[NOTICE]  config : parsing [t.cfg:4] : 'elif'."])
        #expect(result.configuration != nil)
    }

    @Test func elseIsTakenWhenNothingElseIs() {
        let result = load(".if 0\n.notice a\n.elif 0\n.notice b\n.else\n.notice c\n.endif")
        #expect(result.lines == ["[NOTICE]  config : parsing [t.cfg:6] : 'c'."])
    }

    @Test func nestedBlocksInsideADroppedBlockAreSkipped() {
        let result = load("""
            .if 0
            .if 1
            .notice inner
            .else
            .notice inner-else
            .endif
            .else
            .notice outer-else
            .endif
            """)
        #expect(result.lines == ["[NOTICE]  config : parsing [t.cfg:8] : 'outer-else'."])
    }

    @Test func droppedLinesAreNotParsed() {
        let result = load("""
            .if 0
            this is not a keyword
            .endif
            frontend fe
                bind :80
            .if 1
                timeout client 5s
            .else
                timeout client foo
            .endif
            """)
        #expect(result.diagnostics.isEmpty)
        #expect(result.configuration?.proxies.first?.timeouts.client == .seconds(5))
    }

    @Test func directivesEmitDiagnostics() {
        let result = load("""
            .diag "for diagnostics"
            .notice "n ${WHO}"
            .warning w
            .alert "stop here"
            """, environment: ["WHO": "me"])
        #expect(result.lines == [
            "[NOTICE]  config : parsing [t.cfg:1] : 'for diagnostics'.",
            "[NOTICE]  config : parsing [t.cfg:2] : 'n me'.",
            "[WARNING] config : parsing [t.cfg:3] : 'w'.",
            "[ALERT]   config : parsing [t.cfg:4] : 'stop here'.",
        ])
        #expect(result.configuration == nil)
    }

    @Test func structuralErrors() {
        let result = load("""
            .elif 1
            .else
            .endif
            .warning hi there
            .foo
            .if 1
            .else
            .else
            .endif extra
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:1] : lone '.elif' with no matching '.if'.",
            "config : parsing [t.cfg:2] : lone '.else' with no matching '.if'.",
            "config : parsing [t.cfg:3] : lone '.endif' with no matching '.if'.",
            "config : parsing [t.cfg:4] : Unexpected argument 'there' for '.warning'. Use quotes if the message should contain spaces.",
            "config : parsing [t.cfg:5] : unknown directive '.foo'.",
            "config : parsing [t.cfg:8] : '.else' after '.else' is not permitted.",
            "config : parsing [t.cfg:9] : Unexpected argument 'extra' for '.endif'.",
            "config : parsing [t.cfg:6] : non-terminated '.if' block.",
        ])
    }

    @Test func blocksDoNotSpanFiles() {
        let loader = ConfigurationLoader(environment: [:], resolver: .numericOnly)
        let result = loader.load(sources: [("a.cfg", ".if 1"), ("b.cfg", ".endif")])
        #expect(result.alerts == [
            "config : parsing [a.cfg:1] : non-terminated '.if' block.",
            "config : parsing [b.cfg:1] : lone '.endif' with no matching '.if'.",
        ])
    }

    @Test func badConditionsAreReportedWithACaretAndTakenAsFalse() {
        let result = load(".if foo(x)\n.notice no\n.endif\n.if 1 2\n.endif\n.if (1\n.endif\n.if streq(a)\n.endif")
        #expect(result.alerts == [
            "config : parsing [t.cfg:1] : unparsable conditional expression 'foo(x)' in '.if' at position 1:\n  .if foo(x)\n      ^",
            "config : parsing [t.cfg:4] : unexpected character '2' at the end of conditional expression '1 2' in '.if' at position 3:\n  .if 1 2\n        ^",
            "config : parsing [t.cfg:6] : expected ')' after conditional expression '(1' in '.if' at position 1:\n  .if (1\n      ^",
            "config : parsing [t.cfg:8] : missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression in '.if' at position 8:\n  .if streq(a)\n             ^",
        ])
    }

    @Test func lexingErrorsAreReportedEvenInDroppedBlocks() {
        let result = load(".if 0\n  \"unterminated\n.endif")
        #expect(result.alerts == ["config : parsing [t.cfg:2] : unmatched quote at position 3:\n  \"unterminated\n  ^"])
    }
}

@Suite("ConditionExpression")
struct ConditionExpressionTests {
    func eval(_ text: String, _ environment: [String: String] = [:]) throws -> Bool {
        try ConditionExpression.evaluate(text, environment: environment)
    }

    func failure(_ text: String) -> String? {
        do {
            _ = try eval(text)
            return nil
        } catch let error as ConditionExpression.EvaluationError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func numbers() throws {
        #expect(try eval("1"))
        #expect(try !eval("0"))
        #expect(try eval("-3"))
        #expect(try eval("0x10"))
        #expect(try !eval("0x0"))
        #expect(try !eval(""))
    }

    @Test func predicates() throws {
        let env = ["A": "alpha", "EMPTY": ""]
        #expect(try eval("defined(A)", env))
        #expect(try eval("defined(EMPTY)", env))
        #expect(try !eval("defined(B)", env))
        #expect(try eval("streq(\"$A\",alpha)", env))
        #expect(try !eval("streq(\"$A\",beta)", env))
        #expect(try eval("strneq(a,b)"))
        #expect(try eval("strstr(haproxy,prox)"))
        #expect(try !eval("strstr(haproxy,nginx)"))
        #expect(try eval("feature(THREAD)"))
        #expect(try !eval("feature(OPENSSL)"))
        #expect(try !eval("enabled(POLL)"))
        #expect(try !eval("fips_mode"))
    }

    @Test func versions() throws {
        #expect(ConditionExpression.compatibleHAProxyVersion == "3.2")
        #expect(try eval("version_atleast(3.2)"))
        #expect(try eval("version_atleast(2.4.1)"))
        #expect(try !eval("version_atleast(3.2.1)"))
        #expect(try eval("version_before(3.3)"))
        #expect(try !eval("version_before(3.2)"))
    }

    @Test func operatorsAndPrecedence() throws {
        #expect(try eval("!0"))
        #expect(try !eval("!!0"))
        #expect(try eval("1 && 1"))
        #expect(try !eval("1 && 0"))
        #expect(try eval("0 || 1"))
        #expect(try eval("1 || 0 && 0"))
        #expect(try !eval("(1 || 0) && 0"))
        #expect(try eval("! ( 0 || 0 ) && defined(A)", ["A": "1"]))
    }

    @Test func errors() {
        #expect(failure("foo") == "unparsable conditional expression 'foo'")
        #expect(failure("1 2") == "unexpected character '2' at the end of conditional expression '1 2'")
        #expect(failure("(1") == "expected ')' after conditional expression '(1'")
        #expect(failure("version_atleast(2.5) || xxx") == "unparsable conditional expression 'xxx'")
        #expect(failure("defined") == "missing arguments (got 0/1), type 'string' expected in argument 0 of predicate 'defined' used in conditional expression")
        #expect(failure("\"unterminated") == "unmatched quote at position 1:\n  \"unterminated\n  ^")
    }

    @Test func errorsRenderLikeHAProxy() {
        let error = ConditionExpression.EvaluationError(message: "unparsable conditional expression 'xxx'",
                                                        expression: "version_atleast(2.5) || xxx", position: 24)
        #expect(error.rendered(directive: ".elif")
            == "unparsable conditional expression 'xxx' in '.elif' at position 25:\n  .elif version_atleast(2.5) || xxx\n                                ^")
    }
}
