import Testing
@testable import BatonConfig

@Suite("Lexer: HAProxy quoting, escaping and environment rules")
struct LexerTests {
    func words(_ line: String, _ environment: [String: String] = [:]) throws -> [String] {
        try Lexer.split(line, environment: environment).map(\.text)
    }

    func error(_ line: String, _ environment: [String: String] = [:]) -> String? {
        do {
            _ = try Lexer.split(line, environment: environment)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func splitsOnBlanksAndSkipsComments() throws {
        #expect(try words("  bind\t:80   # a comment") == ["bind", ":80"])
        #expect(try words("# only a comment") == [])
        #expect(try words("   ") == [])
        #expect(try words("a#b") == ["a"])
    }

    @Test func singleQuotesProtectEverything() throws {
        #expect(try words("'a b' '$HOME' 'x\\ y' '#'", ["HOME": "/root"]) == ["a b", "$HOME", "x\\ y", "#"])
    }

    @Test func doubleQuotesKeepBlanksAndCommentSigns() throws {
        #expect(try words("\"a b\" \"# not a comment\"") == ["a b", "# not a comment"])
    }

    @Test func quotesJoinAdjacentText() throws {
        #expect(try words("a\"b c\"d'e'") == ["ab cde"])
    }

    @Test func emptyQuotesMakeAnEmptyWord() throws {
        #expect(try words("a \"\" b") == ["a", "", "b"])
        #expect(try words("a ''") == ["a", ""])
    }

    @Test func backslashEscapes() throws {
        #expect(try words("a\\ b") == ["a b"])
        #expect(try words("\\#x") == ["#x"])
        #expect(try words("\\\\") == ["\\"])
        #expect(try words("\\'q\\'") == ["'q'"])
        #expect(try words("\\\"q\\\"") == ["\"q\""])
        #expect(try words("\"a\\tb\\nc\\rd\"") == ["a\tb\nc\rd"])
        #expect(try words("\\x41\\x7a") == ["Az"])
        #expect(try words("\"\\$HOME\"", ["HOME": "/root"]) == ["$HOME"])
        // Not an escape sequence: the backslash stays.
        #expect(try words("a\\qb \\$x") == ["a\\qb", "\\$x"])
    }

    @Test func environmentVariablesExpandInsideDoubleQuotesOnly() throws {
        let env = ["FOO": "x y", "PORT": "8080"]
        #expect(try words("\"$FOO\"", env) == ["x y"])
        #expect(try words("\"${FOO}bar\"", env) == ["x ybar"])
        #expect(try words("\":${PORT}\"", env) == [":8080"])
        #expect(try words("\"$PORT.5\"", env) == ["8080.5"])
        // HAProxy leaves unquoted dollars alone.
        #expect(try words("$FOO ${PORT}", env) == ["$FOO", "${PORT}"])
    }

    @Test func undefinedVariablesExpandToNothing() throws {
        #expect(try words("\"${UNDEF}\"") == [""])
        #expect(try words("\"a${UNDEF}b\"") == ["ab"])
        #expect(try words("\"${UNDEF-fallback}\" \"${SET-fallback}\"", ["SET": "set"]) == ["fallback", "set"])
    }

    @Test func wordExpansionSplitsOnBlanks() throws {
        #expect(try words("x \"${LIST[*]}\" y", ["LIST": "a  b c"]) == ["x", "a", "b", "c", "y"])
        #expect(try words("x \"${UNDEF[*]}\" y") == ["x", "y"])
    }

    @Test func pseudoVariables() throws {
        let pseudo = LexerPseudoVariables(file: "f.cfg", line: 12, section: "frontend")
        let result = try Lexer.split("\"${.FILE}:${.LINE} ${.SECTION}\"", environment: [:], pseudo: pseudo)
        #expect(result.map(\.text) == ["f.cfg:12 frontend"])
    }

    @Test func emptyWordRemembersWhereTheVariableWas() throws {
        let result = try Lexer.split("log-tag \"${NOPE}\"", environment: [:])
        #expect(result[1] == LexedWord("", position: 11))
    }

    @Test func unterminatedQuotesAreReportedWithACaret() {
        #expect(error("  bind 'x") == "unmatched quote at position 8:\n  bind 'x\n       ^")
        #expect(error("frontend \"f") == "unmatched quote at position 10:\n  frontend \"f\n           ^")
    }

    @Test func badSequencesAreReported() {
        #expect(error("a \\x4") == "truncated or invalid hexadecimal sequence at position 3:\n  a \\x4\n    ^")
        #expect(error("\"${FOO\"") == "unmatched brace in environment variable name at position 3:\n  \"${FOO\"\n    ^")
        #expect(error("\"$1\"") == "forbidden first char in environment variable name at position 3:\n  \"$1\"\n    ^")
        #expect(error("\"${A[x]}\"") == "truncated or invalid word expansion sequence at position 5:\n  \"${A[x]}\"\n      ^")
    }

    @Test func carriageReturnEndsTheLine() throws {
        #expect(try words("bind :80\r") == ["bind", ":80"])
    }
}
