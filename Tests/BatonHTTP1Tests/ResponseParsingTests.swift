import NIOCore
import Testing

@testable import BatonHTTP1

@Suite("Response parsing")
struct ResponseParsingTests {
    @Test func contentLengthResponse() throws {
        let events = try parseResponses("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
        let expected = HTTPResponseHead(
            version: .http1_1,
            status: 200,
            reason: "OK",
            fields: [HTTPField("Content-Length", "5"), HTTPField("Content-Type", "text/plain")]
        )
        #expect(events == [.head(expected, .contentLength(5)), .body(buffer("hello")), .end(trailers: [])])
    }

    @Test func chunkedResponseWithTrailers() throws {
        let events = try parseResponses(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\nExpires: never\r\n\r\n"
        )
        #expect(responseHead(events.first)?.1 == .chunked)
        #expect(bodyString(events) == "Wikipedia")
        #expect(events.last == .end(trailers: [HTTPField("Expires", "never")]))
    }

    @Test func reasonPhraseVariants() throws {
        let cases: [(String, String)] = [
            ("HTTP/1.1 200 OK\r\n", "OK"),
            ("HTTP/1.1 200 \r\n", ""),
            ("HTTP/1.1 200\r\n", ""),
            ("HTTP/1.1 404 Not  Found \t\r\n", "Not  Found \t"),
            ("HTTP/1.0 500 Erreur générale\r\n", "Erreur générale"),
        ]
        for (line, reason) in cases {
            let events = try parseResponses(line + "Content-Length: 0\r\n\r\n")
            #expect(responseHead(events.first)?.0.reason == reason, "\(line)")
            #expect(events.count == 2)
        }
    }

    @Test func untilCloseBody() throws {
        var parser = responseParser(expecting: ["GET"])
        parser.append(buffer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome "))
        #expect(responseHead(try parser.next())?.1 == .untilClose)
        #expect(try parser.next() == .body(buffer("some ")))
        #expect(try parser.next() == nil)
        parser.append(buffer("data"))
        #expect(try parser.next() == .body(buffer("data")))
        #expect(try parser.next() == nil)
        #expect(try parser.endOfInput() == .end(trailers: []))
        #expect(try parser.next() == nil)
        #expect(try parser.endOfInput() == nil)
    }

    @Test func untilCloseDeliversBufferedBytesBeforeEnd() throws {
        let events = try parseResponses("HTTP/1.0 200 OK\r\n\r\nbody", endOfInput: true)
        #expect(responseHead(events.first)?.1 == .untilClose)
        #expect(Array(events.dropFirst()) == [.body(buffer("body")), .end(trailers: [])])
    }

    @Test func headResponseHasNoBody() throws {
        let raw = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        let events = try parseResponses(raw, methods: ["HEAD", "GET"])
        #expect(events.count == 5)
        #expect(responseHead(events[0])?.1 == HTTPBodyFraming.none)
        #expect(responseHead(events[0])?.0.fields == [HTTPField("Content-Length", "100")])
        #expect(events[1] == .end(trailers: []))
        #expect(responseHead(events[2])?.1 == .contentLength(2))
        #expect(events[3] == .body(buffer("hi")))
    }

    @Test func headResponseWithChunkedHasNoBody() throws {
        let events = try parseResponses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", methods: ["HEAD"])
        #expect(events.count == 2)
        #expect(responseHead(events[0])?.1 == HTTPBodyFraming.none)
    }

    @Test(arguments: [204, 304])
    func noBodyStatuses(_ status: Int) throws {
        let raw = "HTTP/1.1 \(status) X\r\nContent-Length: 10\r\n\r\n" + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        let events = try parseResponses(raw, methods: ["GET", "GET"])
        #expect(events.count == 4)
        #expect(responseHead(events[0])?.0.status == status)
        #expect(responseHead(events[0])?.1 == HTTPBodyFraming.none)
        #expect(responseHead(events[2])?.0.status == 200)
    }

    @Test func interimResponsesPrecedeTheFinalOne() throws {
        var parser = responseParser(expecting: ["POST"])
        let raw = "HTTP/1.1 100 Continue\r\n\r\n"
            + "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
            + "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
        parser.append(buffer(raw))
        #expect(responseHead(try parser.next())?.0.status == 100)
        #expect(parser.pendingResponseCount == 1)
        #expect(try parser.next() == .end(trailers: []))
        let (early, framing) = try #require(responseHead(try parser.next()))
        #expect(early.status == 103)
        #expect(early.fields.first(named: "link") == "</style.css>; rel=preload")
        #expect(framing == .none)
        #expect(try parser.next() == .end(trailers: []))
        #expect(parser.pendingResponseCount == 1)
        #expect(responseHead(try parser.next())?.0.status == 201)
        #expect(parser.pendingResponseCount == 0)
        #expect(try parser.next() == .body(buffer("ok")))
        #expect(try parser.next() == .end(trailers: []))
        #expect(parser.isIdle)
    }

    @Test func interimResponseIgnoresFramingFields() throws {
        let events = try parseResponses(
            "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        )
        #expect(events.count == 4)
        #expect(responseHead(events[0])?.1 == HTTPBodyFraming.none)
    }

    @Test func switchingProtocolsStopsParsing() throws {
        var parser = responseParser(expecting: ["GET"])
        parser.append(buffer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{81}\u{05}hello"))
        let (head, framing) = try #require(responseHead(try parser.next()))
        #expect(head.status == 101)
        #expect(framing == .none)
        #expect(try parser.next() == .end(trailers: []))
        #expect(try parser.next() == nil)
        parser.append(buffer("HTTP/1.1 200 OK\r\n\r\n"))
        #expect(try parser.next() == nil)
        #expect(try parser.endOfInput() == nil)
        #expect(parser.takeRemainingBytes() == buffer("\u{81}\u{05}helloHTTP/1.1 200 OK\r\n\r\n"))
    }

    @Test func connectSuccessStopsParsing() throws {
        var parser = responseParser(expecting: ["CONNECT"])
        parser.append(buffer("HTTP/1.1 200 Connection Established\r\nContent-Length: 10\r\n\r\ntunnel"))
        #expect(responseHead(try parser.next())?.1 == HTTPBodyFraming.none)
        #expect(try parser.next() == .end(trailers: []))
        #expect(try parser.next() == nil)
        #expect(parser.takeRemainingBytes() == buffer("tunnel"))
    }

    @Test func connectFailureHasABody() throws {
        let events = try parseResponses(
            "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\ndeny",
            methods: ["CONNECT"]
        )
        #expect(responseHead(events.first)?.1 == .contentLength(4))
        #expect(bodyString(events) == "deny")
    }

    @Test func pipelinedResponses() throws {
        let raw = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
            + "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"
            + "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n"
        var parser = responseParser(expecting: ["GET", "HEAD", "GET"])
        #expect(parser.pendingResponseCount == 3)
        let events = try drive(&parser, [buffer(raw)])
        #expect(events.compactMap { responseHead($0)?.0.status } == [200, 200, 404])
        #expect(bodyString(events) == "ab")
        #expect(parser.pendingResponseCount == 0)
        #expect(parser.isIdle)
    }

    @Test func unsolicitedResponseIsRejected() {
        #expect(responseError("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", methods: []) == .badMessage)
        #expect(
            responseError(
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                methods: ["GET"]
            ) == .badMessage
        )
    }

    @Test func methodMatchingIsCaseSensitive() throws {
        // "head" is not HEAD: the response is framed by its Content-Length.
        let events = try parseResponses("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", methods: ["head"])
        #expect(bodyString(events) == "hi")
    }

    @Test func truncatedResponses() {
        #expect(responseError("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", endOfInput: true) == .truncated)
        #expect(responseError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", endOfInput: true) == .truncated)
        #expect(responseError("HTTP/1.1 200 OK\r\nContent-", endOfInput: true) == .truncated)
    }

    @Test func idleAtEndOfInputIsNil() throws {
        #expect(try parseResponses("", methods: ["GET"], endOfInput: true).isEmpty)
    }

    static let rejected: [RejectedCase] = [
        .init("two-digit status", "HTTP/1.1 20 OK\r\n\r\n"),
        .init("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n"),
        .init("status below 100", "HTTP/1.1 099 Odd\r\n\r\n"),
        .init("status above 599", "HTTP/1.1 600 Odd\r\n\r\n"),
        .init("status not digits", "HTTP/1.1 abc OK\r\n\r\n"),
        .init("status with sign", "HTTP/1.1 +20 OK\r\n\r\n"),
        .init("double space", "HTTP/1.1  200 OK\r\n\r\n"),
        .init("missing status", "HTTP/1.1\r\n\r\n"),
        .init("missing status after space", "HTTP/1.1 \r\n\r\n"),
        .init("HTTP/2", "HTTP/2 200 OK\r\n\r\n"),
        .init("HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n"),
        .init("lowercase version", "http/1.1 200 OK\r\n\r\n"),
        .init("CTL in reason", "HTTP/1.1 200 O\u{1}K\r\n\r\n"),
        .init("bare LF after status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),
        .init("bare LF after field", "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n"),
        .init("bare CR in status line", "HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n"),
        .init("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
        .init("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"),
        .init("CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        .init("TE and CL", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
        .init("differing CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 4\r\n\r\nhello"),
        .init("invalid CL", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
        .init("TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
        .init("TE gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
        .init("TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        .init("CL and TE on 204", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        .init("bad chunk terminator", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naX\r\n0\r\n\r\n"),
    ]

    @Test(arguments: rejected)
    func invalidResponses(_ c: RejectedCase) {
        #expect(responseError(c.raw) == c.kind)
    }

    @Test func statusLineTooLong() {
        var parser = HTTPResponseParser(maxHeadBytes: 1000, maxStatusLineBytes: 20)
        parser.expectResponse(toMethod: "GET")
        parser.append(buffer("HTTP/1.1 200 A long reason phrase\r\n\r\n"))
        #expect(throws: HTTPParserError.headersTooLarge) { try parser.next() }
    }

    @Test func responseHeadTooLarge() {
        var parser = HTTPResponseParser(maxHeadBytes: 50)
        parser.expectResponse(toMethod: "GET")
        parser.append(buffer("HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 100)))
        #expect(throws: HTTPParserError.headersTooLarge) { try parser.next() }
    }
}
