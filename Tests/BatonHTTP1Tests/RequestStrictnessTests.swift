import NIOCore
import Testing

@testable import BatonHTTP1

/// A message that must be refused, with the exact error case.
struct RejectedCase: Sendable, CustomTestStringConvertible {
    let name: String
    let raw: String
    let kind: ErrorKind

    init(_ name: String, _ raw: String, _ kind: ErrorKind = .badMessage) {
        self.name = name
        self.raw = raw
        self.kind = kind
    }

    var testDescription: String { self.name }
}

private func post(_ fields: String, body: String = "") -> String {
    "POST / HTTP/1.1\r\nHost: a\r\n\(fields)\r\n\(body)"
}

@Suite("Request parsing: strictness and smuggling")
struct RequestStrictnessTests {
    static let framing: [RejectedCase] = [
        .init("CL then TE", post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", body: "0\r\n\r\n")),
        .init("TE then CL", post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", body: "0\r\n\r\n")),
        .init("CL zero with TE", post("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n")),
        .init("differing CL fields", post("Content-Length: 5\r\nContent-Length: 6\r\n", body: "hello!")),
        .init("differing CL list", post("Content-Length: 5, 6\r\n", body: "hello!")),
        .init("differing CL list and field", post("Content-Length: 5, 5\r\nContent-Length: 50\r\n")),
        .init("CL letters", post("Content-Length: abc\r\n")),
        .init("CL digits then letters", post("Content-Length: 5a\r\n")),
        .init("CL hex", post("Content-Length: 0x10\r\n")),
        .init("CL empty", post("Content-Length:\r\n")),
        .init("CL blank", post("Content-Length:   \r\n")),
        .init("CL plus", post("Content-Length: +5\r\n")),
        .init("CL minus", post("Content-Length: -5\r\n")),
        .init("CL inner space", post("Content-Length: 5 5\r\n")),
        .init("CL empty list element", post("Content-Length: 5,\r\n")),
        .init("CL leading comma", post("Content-Length: ,5\r\n")),
        .init("CL decimal", post("Content-Length: 5.0\r\n")),
        .init("CL overflow", post("Content-Length: 18446744073709551616\r\n")),
        .init("CL huge", post("Content-Length: 99999999999999999999999999\r\n")),
        .init("TE gzip, chunked", post("Transfer-Encoding: gzip, chunked\r\n")),
        .init("TE chunked, gzip", post("Transfer-Encoding: chunked, gzip\r\n")),
        .init("TE chunked, chunked", post("Transfer-Encoding: chunked, chunked\r\n")),
        .init("TE chunked twice as fields", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")),
        .init("TE gzip then chunked fields", post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")),
        .init("TE identity", post("Transfer-Encoding: identity\r\n")),
        .init("TE gzip", post("Transfer-Encoding: gzip\r\n")),
        .init("TE xchunked", post("Transfer-Encoding: xchunked\r\n")),
        .init("TE chunkedx", post("Transfer-Encoding: chunkedx\r\n")),
        .init("TE chunked with parameter", post("Transfer-Encoding: chunked;q=1\r\n")),
        .init("TE trailing comma", post("Transfer-Encoding: chunked,\r\n")),
        .init("TE leading comma", post("Transfer-Encoding: , chunked\r\n")),
        .init("TE empty", post("Transfer-Encoding:\r\n")),
        .init("TE quoted", post("Transfer-Encoding: \"chunked\"\r\n")),
        .init("TE vertical tab", post("Transfer-Encoding: \u{0B}chunked\r\n")),
        .init("TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ]

    static let lineEndings: [RejectedCase] = [
        .init("bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n"),
        .init("bare LF after field line", "GET / HTTP/1.1\r\nHost: a\n\r\n"),
        .init("bare LF as final line", "GET / HTTP/1.1\r\nHost: a\r\n\n"),
        .init("only bare LFs", "GET / HTTP/1.1\nHost: a\n\n"),
        .init("bare LF before request line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("bare CR before request line", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("bare CR in request line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("bare CR after version", "GET / HTTP/1.1\r\rHost: a\r\n\r\n"),
        .init("bare CR in field value", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"),
        .init("bare CR ending field line", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n"),
        .init("bare CR as final line", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n\r\n"),
        .init("bare CR in field name", "GET / HTTP/1.1\r\nHo\rst: a\r\n\r\n"),
        .init("bare LF in chunk size line", post("Transfer-Encoding: chunked\r\n", body: "5\nhello\r\n0\r\n\r\n")),
        .init("bare LF after chunk data", post("Transfer-Encoding: chunked\r\n", body: "5\r\nhello\n0\r\n\r\n")),
        .init("bare CR after chunk data", post("Transfer-Encoding: chunked\r\n", body: "5\r\nhello\r0\r\n\r\n")),
        .init("bare LF after last chunk", post("Transfer-Encoding: chunked\r\n", body: "0\n\r\n")),
        .init("bare LF ending trailers", post("Transfer-Encoding: chunked\r\n", body: "0\r\n\n")),
        .init("bare LF after trailer field", post("Transfer-Encoding: chunked\r\n", body: "0\r\nX: y\n\r\n")),
        .init("bare CR in chunk size line", post("Transfer-Encoding: chunked\r\n", body: "5\r\r\nhello\r\n0\r\n\r\n")),
    ]

    static let fieldSyntax: [RejectedCase] = [
        .init("obs-fold with space", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"),
        .init("obs-fold with tab", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n"),
        .init("whitespace before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
        .init("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
        .init("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
        .init("space before colon on CL", post("Content-Length : 5\r\n", body: "hello")),
        .init("empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n"),
        .init("no colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"),
        .init("separator in name", "GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n"),
        .init("slash in name", "GET / HTTP/1.1\r\nHost: a\r\nX/Y: b\r\n\r\n"),
        .init("DEL in name", "GET / HTTP/1.1\r\nHost: a\r\nX\u{7F}: b\r\n\r\n"),
        .init("non-ASCII in name", "GET / HTTP/1.1\r\nHost: a\r\nNamé: b\r\n\r\n"),
        .init("NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0}b\r\n\r\n"),
        .init("SOH in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{1}b\r\n\r\n"),
        .init("VT in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0B}b\r\n\r\n"),
        .init("FF in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0C}b\r\n\r\n"),
        .init("ESC in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{1B}b\r\n\r\n"),
        .init("DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7F}b\r\n\r\n"),
        .init("LF in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n"),
    ]

    static let requestLine: [RejectedCase] = [
        .init("double space after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("double space after target", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
        .init("leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("missing version", "GET /\r\nHost: a\r\n\r\n"),
        .init("missing target", "GET HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("method only", "GET\r\nHost: a\r\n\r\n"),
        .init("empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("method with separator", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("method with @", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("CTL in target", "GET /a\u{1}b HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("DEL in target", "GET /a\u{7F}b HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("tab in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("non-ASCII target", "GET /café HTTP/1.1\r\nHost: a\r\n\r\n"),
        .init("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
        .init("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
        .init("HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n"),
        .init("HTTP/1", "GET / HTTP/1\r\nHost: a\r\n\r\n"),
        .init("HTTP/1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n"),
        .init("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n"),
        .init("garbage version", "GET / HTTX/1.1\r\nHost: a\r\n\r\n"),
        .init("no host in HTTP/1.1", "GET / HTTP/1.1\r\nX: a\r\n\r\n"),
        .init("no fields in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n"),
        .init("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
        .init("two Host fields, different case", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
        .init("two Host fields in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
    ]

    @Test(arguments: framing)
    func ambiguousFraming(_ c: RejectedCase) {
        #expect(requestError(c.raw) == c.kind)
    }

    @Test(arguments: lineEndings)
    func bareLineEndings(_ c: RejectedCase) {
        #expect(requestError(c.raw) == c.kind)
    }

    @Test(arguments: fieldSyntax)
    func invalidFields(_ c: RejectedCase) {
        #expect(requestError(c.raw) == c.kind)
    }

    @Test(arguments: requestLine)
    func invalidRequestLines(_ c: RejectedCase) {
        #expect(requestError(c.raw) == c.kind)
    }

    /// The validating loops skip eight bytes at a time: put each kind of byte at every offset of a long value
    /// and of a long target.
    @Test(arguments: [0x00, 0x01, 0x08, 0x0A, 0x0B, 0x0D, 0x1F, 0x7F] as [UInt8])
    func controlBytesAtEveryOffset(_ byte: UInt8) {
        for offset in 0..<24 {
            var value = Array(repeating: UInt8(ascii: "v"), count: 24)
            value[offset] = byte
            let field = Array("GET / HTTP/1.1\r\nHost: a\r\nX: ".utf8) + value + Array("\r\n\r\n".utf8)
            #expect(requestError(bytes: field) == .badMessage, "value, offset \(offset)")
            var target = Array("/".utf8) + Array(repeating: UInt8(ascii: "t"), count: 24)
            target[offset + 1] = byte
            let line = Array("GET ".utf8) + target + Array(" HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
            #expect(requestError(bytes: line) == .badMessage, "target, offset \(offset)")
        }
    }

    @Test func allowedBytesAtEveryOffset() throws {
        for byte in [0x09, 0x20, 0x21, 0x7E] as [UInt8] {
            for offset in 1..<23 {
                var value = Array(repeating: UInt8(ascii: "v"), count: 24)
                value[offset] = byte
                let raw = Array("GET / HTTP/1.1\r\nHost: a\r\nX: ".utf8) + value + Array("\r\n\r\n".utf8)
                var parser = HTTPRequestParser()
                parser.append(buffer(raw))
                let (head, _) = try #require(requestHead(try parser.next()))
                #expect(Array(head.fields[1].value.utf8) == value)
            }
        }
        // A space inside the target ends it (and the line is then invalid).
        #expect(requestError("GET /" + String(repeating: "t", count: 10) + " x HTTP/1.1\r\nHost: a\r\n\r\n") == .badMessage)
    }


    @Test func requestLineTooLong() {
        let parser = HTTPRequestParser(maxHeadBytes: 1000, maxRequestLineBytes: 30)
        let line = "GET /" + String(repeating: "a", count: 17) + " HTTP/1.1"  // 31 bytes
        #expect(requestError(line + "\r\nHost: a\r\n\r\n", parser: parser) == .uriTooLong)
        #expect(HTTPParserError.uriTooLong.requestStatus == 414)
    }

    @Test func unterminatedRequestLineTooLongIsDetectedEarly() throws {
        var parser = HTTPRequestParser(maxHeadBytes: 100_000, maxRequestLineBytes: 100)
        parser.append(buffer("GET /" + String(repeating: "a", count: 95)))  // 100 bytes, still acceptable
        #expect(try parser.next() == nil)
        parser.append(buffer("a\r"))  // no LF yet and already 101 bytes before the CR
        #expect(throws: HTTPParserError.uriTooLong) { try parser.next() }
    }

    @Test func headTooLarge() {
        let parser = HTTPRequestParser(maxHeadBytes: 64, maxRequestLineBytes: 64)
        let raw = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + String(repeating: "b", count: 40) + "\r\n\r\n"
        #expect(requestError(raw, parser: parser) == .headersTooLarge)
        #expect(HTTPParserError.headersTooLarge.requestStatus == 431)
    }

    @Test func unterminatedHeadTooLargeIsDetectedWithoutBufferingMore() throws {
        var parser = HTTPRequestParser(maxHeadBytes: 1024, maxRequestLineBytes: 512)
        parser.append(buffer("GET / HTTP/1.1\r\nHost: a\r\n"))
        #expect(try parser.next() == nil)
        var failed: HTTPParserError?
        var appended = 0
        while failed == nil && appended < 10_000 {
            parser.append(buffer("X-Filler: 0123456789\r\n"))
            appended += 22
            do { _ = try parser.next() } catch { failed = error }
        }
        #expect(failed == .headersTooLarge)
        #expect(appended < 1024)
    }

    @Test func manyLeadingEmptyLinesAreBounded() {
        let parser = HTTPRequestParser(maxHeadBytes: 100, maxRequestLineBytes: 50)
        #expect(requestError(String(repeating: "\r\n", count: 51), parser: parser) == .headersTooLarge)
    }

    @Test func truncatedMessages() {
        #expect(requestError("GET / HTTP/1.1\r\nHost: a\r\n", endOfInput: true) == .truncated)
        #expect(requestError("GET", endOfInput: true) == .truncated)
        #expect(requestError(post("Content-Length: 10\r\n", body: "hello"), endOfInput: true) == .truncated)
        #expect(requestError(post("Transfer-Encoding: chunked\r\n", body: "5\r\nhel"), endOfInput: true) == .truncated)
        #expect(requestError(post("Transfer-Encoding: chunked\r\n", body: "5\r\nhello"), endOfInput: true) == .truncated)
        #expect(requestError(post("Transfer-Encoding: chunked\r\n", body: "0\r\n"), endOfInput: true) == .truncated)
        #expect(HTTPParserError.truncated.requestStatus == 400)
        #expect(HTTPParserError.badMessage("x").requestStatus == 400)
    }

    @Test func errorsAreSticky() throws {
        var parser = HTTPRequestParser()
        parser.append(buffer("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"))
        #expect(throws: HTTPParserError.badMessage("more than one Host field")) { try parser.next() }
        parser.append(buffer("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(throws: HTTPParserError.badMessage("more than one Host field")) { try parser.next() }
        #expect(throws: HTTPParserError.badMessage("more than one Host field")) { try parser.endOfInput() }
    }

    @Test func smugglingAttemptDoesNotLeakASecondRequest() throws {
        // Classic CL.TE: a lenient parser would see a second request in the body.
        var parser = HTTPRequestParser()
        parser.append(buffer(post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", body: "0\r\n\r\nG")))
        #expect(throws: HTTPParserError.self) { try parser.next() }
        #expect(throws: HTTPParserError.self) { try parser.next() }
    }
}
