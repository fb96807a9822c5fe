import NIOCore
import Testing

@testable import BatonHTTP1

@Suite("Request parsing: accepted messages")
struct RequestParsingTests {
    @Test func simpleGet() throws {
        let events = try parseRequests("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n")
        let expected = HTTPRequestHead(
            method: "GET",
            target: "/index.html?q=1",
            version: .http1_1,
            fields: [HTTPField("Host", "example.com"), HTTPField("Accept", "*/*")]
        )
        #expect(events == [.head(expected, .none), .end(trailers: [])])
    }

    @Test func fieldNameCaseIsPreservedAndValuesAreTrimmed() throws {
        let events = try parseRequests(
            "GET / HTTP/1.1\r\nhOsT:example.com\r\nX-Spaces: \t a  b \t \r\nX-Empty:\r\nX-Blank:   \r\nX-Tab:\ta\tb\t\r\n\r\n"
        )
        let (head, _) = try #require(requestHead(events.first))
        #expect(
            head.fields == [
                HTTPField("hOsT", "example.com"),
                HTTPField("X-Spaces", "a  b"),
                HTTPField("X-Empty", ""),
                HTTPField("X-Blank", ""),
                HTTPField("X-Tab", "a\tb"),
            ]
        )
    }

    @Test func contentLengthBody() throws {
        let events = try parseRequests("POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world")
        #expect(events.count == 3)
        #expect(requestHead(events[0])?.1 == .contentLength(11))
        #expect(events[1] == .body(buffer("hello world")))
        #expect(events[2] == .end(trailers: []))
    }

    @Test func contentLengthZeroIsHeadThenEnd() throws {
        let events = try parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        #expect(events.count == 2)
        #expect(requestHead(events[0])?.1 == .contentLength(0))
        #expect(events[1] == .end(trailers: []))
    }

    @Test func caseInsensitiveFramingFieldNames() throws {
        let a = try parseRequests("POST / HTTP/1.1\r\nHOST: a\r\ncontent-LENGTH: 2\r\n\r\nhi")
        #expect(requestHead(a.first)?.1 == .contentLength(2))
        let b = try parseRequests("POST / HTTP/1.1\r\nhost: a\r\nTRANSFER-ENCODING: CHUNKED\r\n\r\n2\r\nhi\r\n0\r\n\r\n")
        #expect(requestHead(b.first)?.1 == .chunked)
        #expect(bodyString(b) == "hi")
    }

    @Test func identicalRepeatedContentLengthsAreOne() throws {
        let separate = try parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")
        #expect(requestHead(separate.first)?.1 == .contentLength(3))
        #expect(bodyString(separate) == "abc")
        let list = try parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3 , 3,3\r\n\r\nabc")
        #expect(requestHead(list.first)?.1 == .contentLength(3))
        let leadingZero = try parseRequests("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\nabc")
        #expect(requestHead(leadingZero.first)?.1 == .contentLength(3))
    }

    @Test func largestContentLength() throws {
        var parser = HTTPRequestParser()
        parser.append(buffer("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n"))
        #expect(requestHead(try parser.next())?.1 == .contentLength(UInt64.max))
    }

    @Test func http10WithoutHost() throws {
        let events = try parseRequests("GET / HTTP/1.0\r\n\r\n")
        let (head, framing) = try #require(requestHead(events.first))
        #expect(head.version == .http1_0)
        #expect(head.fields.isEmpty)
        #expect(framing == .none)
    }

    @Test func requestTargetForms() throws {
        let forms = [
            ("OPTIONS", "http://example.com:8080/a?b", "example.com:8080"),
            ("OPTIONS", "*", "example.com"),
            ("CONNECT", "example.com:443", "example.com"),
            ("OPTIONS", "/%20a;b=c,d!$&'()*+", "example.com"),
        ]
        for (method, target, host) in forms {
            let events = try parseRequests("\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n\r\n")
            #expect(requestHead(events.first)?.0.target == target)
            #expect(requestHead(events.first)?.0.method == method)
        }
    }

    @Test func extensionMethodsAreTokens() throws {
        let events = try parseRequests("M-SEARCH! / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(requestHead(events.first)?.0.method == "M-SEARCH!")
    }

    @Test func leadingEmptyLinesAreSkipped() throws {
        let events = try parseRequests("\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(requestHead(events.first)?.0.target == "/")
        #expect(events.count == 2)
    }

    @Test func utf8ObsTextInValues() throws {
        let events = try parseRequests("GET / HTTP/1.1\r\nHost: a\r\nX-Name: Zoë – ✓\r\n\r\n")
        #expect(requestHead(events.first)?.0.fields.last == HTTPField("X-Name", "Zoë – ✓"))
    }

    @Test func pipelinedRequests() throws {
        let raw = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
            + "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
            + "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
            + "GET /4 HTTP/1.0\r\n\r\n"
        let events = try parseRequests(raw)
        let targets = events.compactMap { requestHead($0)?.0.target }
        #expect(targets == ["/1", "/2", "/3", "/4"])
        #expect(events.filter { if case .end = $0 { return true } else { return false } }.count == 4)
        #expect(bodyString(events) == "abcx")
    }

    @Test func parsingIsLazyAndLeavesFollowingBytes() throws {
        var parser = HTTPRequestParser()
        parser.append(buffer("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\u{16}\u{03}\u{01}tls bytes"))
        let (head, framing) = try #require(requestHead(try parser.next()))
        #expect(head.method == "CONNECT")
        #expect(framing == .none)
        #expect(try parser.next() == .end(trailers: []))
        #expect(parser.isIdle == false)
        #expect(parser.takeRemainingBytes() == buffer("\u{16}\u{03}\u{01}tls bytes"))
        #expect(parser.isIdle)
    }

    @Test func takeRemainingBytesReturnsPipelinedRequest() throws {
        var parser = HTTPRequestParser()
        parser.append(buffer("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HT"))
        #expect(requestHead(try parser.next()) != nil)
        #expect(try parser.next() == .end(trailers: []))
        #expect(try parser.next() == nil)  // second request is partial
        #expect(parser.takeRemainingBytes() == buffer("GET /b HT"))
        parser.append(buffer("GET /c HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(requestHead(try parser.next())?.0.target == "/c")
    }

    @Test func isIdle() throws {
        var parser = HTTPRequestParser()
        #expect(parser.isIdle)
        parser.append(buffer("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n"))
        #expect(!parser.isIdle)
        _ = try parser.next()
        #expect(!parser.isIdle)
        parser.append(buffer("x"))
        #expect(try parser.next() == .body(buffer("x")))
        #expect(!parser.isIdle)
        #expect(try parser.next() == .end(trailers: []))
        #expect(parser.isIdle)
    }

    @Test func bodyIsDeliveredIncrementally() throws {
        var parser = HTTPRequestParser()
        parser.append(buffer("PUT /big HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\nfirst"))
        #expect(requestHead(try parser.next())?.1 == .contentLength(1_000_000))
        #expect(try parser.next() == .body(buffer("first")))
        #expect(try parser.next() == nil)
        var total = 5
        let piece = ByteBuffer(repeating: 0x61, count: 65536)
        while total < 1_000_000 {
            var next = piece
            if total + next.readableBytes > 1_000_000 { next = next.getSlice(at: 0, length: 1_000_000 - total)! }
            parser.append(next)
            #expect(try parser.next() == .body(next))
            total += next.readableBytes
        }
        #expect(try parser.next() == .end(trailers: []))
    }

    @Test func bodyPiecesAreSlicesOfTheAppendedBuffer() throws {
        for (framing, body) in [("Content-Length: 5", "hello"), ("Transfer-Encoding: chunked", "5\r\nhello\r\n0\r\n\r\n")] {
            let input = buffer("POST / HTTP/1.1\r\nHost: a\r\n\(framing)\r\n\r\n\(body)")
            var parser = HTTPRequestParser()
            parser.append(input)
            _ = try parser.next()
            guard case .body(let piece)? = try parser.next() else {
                Issue.record("expected a body piece")
                continue
            }
            #expect(piece == buffer("hello"))
            let headLength = input.readableBytes - body.utf8.count
            let offset = framing.hasPrefix("Content") ? headLength : headLength + 3
            let inputBase = input.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
            let pieceBase = piece.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
            #expect(pieceBase == inputBase + UInt(offset), "the piece was copied")
        }
    }

    @Test func bodyPiecesDoNotCrossMessageBoundaries() throws {
        var parser = HTTPRequestParser()
        parser.append(buffer("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nabGET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        _ = try parser.next()
        #expect(try parser.next() == .body(buffer("ab")))
        #expect(try parser.next() == .end(trailers: []))
        #expect(requestHead(try parser.next())?.0.method == "GET")
    }

    @Test func endOfInputWhenIdleIsNil() throws {
        var parser = HTTPRequestParser()
        #expect(try parser.endOfInput() == nil)
        // A lone CR after a complete message may start an ignorable empty line: not a truncated message.
        var other = HTTPRequestParser()
        let events = try drive(&other, [buffer("GET / HTTP/1.1\r\nHost: a\r\n\r\n\r")], endOfInput: true)
        #expect(events.count == 2)
    }

    @Test func endOfInputDeliversRemainingEvents() throws {
        var parser = HTTPRequestParser()
        parser.append(buffer("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        let first = try parser.endOfInput()
        #expect(requestHead(first) != nil)
        #expect(try parser.next() == .end(trailers: []))
        #expect(try parser.next() == nil)
    }

    @Test func limitsExactlyAtTheBoundaryAreAccepted() throws {
        // Request line of exactly 30 bytes, head of exactly 60 bytes.
        let line = "GET /" + String(repeating: "a", count: 16) + " HTTP/1.1"
        #expect(line.utf8.count == 30)
        let prefix = line + "\r\nHost: a\r\nX: "
        let head = prefix + String(repeating: "b", count: 60 - prefix.utf8.count - 4) + "\r\n\r\n"
        #expect(head.utf8.count == 60)
        let events = try parseRequests(head, parser: HTTPRequestParser(maxHeadBytes: 60, maxRequestLineBytes: 30))
        #expect(events.count == 2)
    }

    @Test func unlimitedLimitsDoNotOverflow() throws {
        var parser = HTTPRequestParser(maxHeadBytes: .max, maxRequestLineBytes: .max)
        let events = try drive(&parser, [buffer("GET / HTTP/1.1\r\nHost: a\r\n"), buffer("\r\n")])
        #expect(events.count == 2)
        var responses = HTTPResponseParser(maxHeadBytes: .max, maxStatusLineBytes: .max)
        responses.expectResponse(toMethod: "GET")
        #expect(try drive(&responses, [buffer("HTTP/1.1 204 No Content\r\n\r\n")]).count == 2)
    }

    @Test func hostValueMayBeEmpty() throws {
        let events = try parseRequests("GET / HTTP/1.1\r\nHost:\r\n\r\n")
        #expect(requestHead(events.first)?.0.fields == [HTTPField("Host", "")])
    }

    @Test func tcharTableMatchesRFC9110() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in 0...255 {
            #expect(ASCII.isTchar(UInt8(byte)) == tchar.contains(UInt8(byte)), "byte \(byte)")
        }
    }
}
