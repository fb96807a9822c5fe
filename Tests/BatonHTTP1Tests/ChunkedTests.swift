import NIOCore
import Testing

@testable import BatonHTTP1

private let chunkedHead = "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

@Suite("Chunked bodies")
struct ChunkedTests {
    @Test func chunksAreDecoded() throws {
        let events = try parseRequests(chunkedHead + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        #expect(requestHead(events.first)?.1 == .chunked)
        #expect(Array(events.dropFirst()) == [.body(buffer("hello")), .body(buffer(" world")), .end(trailers: [])])
    }

    @Test func hexSizesInEitherCaseAndLeadingZeros() throws {
        let data = String(repeating: "x", count: 0x1A)
        let events = try parseRequests(chunkedHead + "1a\r\n\(data)\r\n001A\r\n\(data)\r\n0000\r\n\r\n")
        #expect(bodyString(events) == data + data)
        #expect(events.last == .end(trailers: []))
    }

    @Test func extensionsAreAcceptedAndIgnored() throws {
        let lines = [
            "5;name\r\n",
            "5;name=value\r\n",
            "5 ; name = value ; other\r\n",
            "5;a=\"quoted ; \\\" value\"\r\n",
            "5;a=b;c=\"\";d\r\n",
            "5\t;\tname=val\r\n",
        ]
        for line in lines {
            let events = try parseRequests(chunkedHead + line + "hello\r\n0;last=1\r\n\r\n")
            #expect(bodyString(events) == "hello", "\(line)")
            #expect(events.last == .end(trailers: []))
        }
    }

    @Test func trailersAreDelivered() throws {
        let events = try parseRequests(chunkedHead + "3\r\nabc\r\n0\r\nX-Checksum: 1234 \r\nX-Other:\tv\r\n\r\n")
        #expect(events.last == .end(trailers: [HTTPField("X-Checksum", "1234"), HTTPField("X-Other", "v")]))
    }

    @Test func emptyBody() throws {
        let events = try parseRequests(chunkedHead + "0\r\n\r\n")
        #expect(events.count == 2)
        #expect(events.last == .end(trailers: []))
    }

    @Test func bigChunkIsDeliveredIncrementally() throws {
        var parser = HTTPRequestParser()
        parser.append(buffer(chunkedHead + "100000\r\nabc"))
        #expect(requestHead(try parser.next())?.1 == .chunked)
        #expect(try parser.next() == .body(buffer("abc")))
        #expect(try parser.next() == nil)
        parser.append(buffer("def"))
        #expect(try parser.next() == .body(buffer("def")))
        #expect(try parser.next() == nil)
    }

    @Test func messageAfterChunkedBody() throws {
        let events = try parseRequests(chunkedHead + "1\r\na\r\n0\r\nT: 1\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(events.compactMap { requestHead($0)?.0.target } == ["/upload", "/next"])
        #expect(events[2] == .end(trailers: [HTTPField("T", "1")]))
    }

    static let rejected: [RejectedCase] = [
        .init("size overflows", chunkedHead + "10000000000000000\r\n"),
        .init("size overflows with leading zeros", chunkedHead + "0000FFFFFFFFFFFFFFFFF\r\n"),
        .init("size not hex", chunkedHead + "xyz\r\n"),
        .init("size empty", chunkedHead + "\r\nhello\r\n0\r\n\r\n"),
        .init("size with leading space", chunkedHead + " 5\r\nhello\r\n0\r\n\r\n"),
        .init("size with trailing space", chunkedHead + "5 \r\nhello\r\n0\r\n\r\n"),
        .init("size negative", chunkedHead + "-5\r\nhello\r\n0\r\n\r\n"),
        .init("size with 0x", chunkedHead + "0x5\r\nhello\r\n0\r\n\r\n"),
        .init("size with plus", chunkedHead + "+5\r\nhello\r\n0\r\n\r\n"),
        .init("extension without name", chunkedHead + "5;\r\nhello\r\n0\r\n\r\n"),
        .init("extension with empty value", chunkedHead + "5;a=\r\nhello\r\n0\r\n\r\n"),
        .init("extension with bad name", chunkedHead + "5;a(b)\r\nhello\r\n0\r\n\r\n"),
        .init("extension unterminated quote", chunkedHead + "5;a=\"b\r\nhello\r\n0\r\n\r\n"),
        .init("extension with NUL", chunkedHead + "5;a=\"\u{0}\"\r\nhello\r\n0\r\n\r\n"),
        .init("garbage after size", chunkedHead + "5x\r\nhello\r\n0\r\n\r\n"),
        .init("data longer than size", chunkedHead + "5\r\nhello!\r\n0\r\n\r\n"),
        .init("data shorter than size", chunkedHead + "5\r\nhell\r\n0\r\n\r\n"),
        .init("data not followed by CRLF", chunkedHead + "5\r\nhelloXY0\r\n\r\n"),
        .init("data followed by LF CR", chunkedHead + "5\r\nhello\n\r0\r\n\r\n"),
        .init("invalid trailer name", chunkedHead + "0\r\nBad Name: x\r\n\r\n"),
        .init("trailer with space before colon", chunkedHead + "0\r\nX : x\r\n\r\n"),
        .init("trailer obs-fold", chunkedHead + "0\r\nX: a\r\n b\r\n\r\n"),
        .init("trailer with CTL", chunkedHead + "0\r\nX: a\u{1}\r\n\r\n"),
    ]

    @Test(arguments: rejected)
    func invalidChunkedBodies(_ c: RejectedCase) {
        #expect(requestError(c.raw) == c.kind)
    }

    @Test func chunkSizeLineTooLong() throws {
        let longExtension = "5;" + String(repeating: "a", count: 5000) + "\r\nhello\r\n0\r\n\r\n"
        #expect(requestError(chunkedHead + longExtension) == .badMessage)
        // Also detected while the line is still unterminated.
        var parser = HTTPRequestParser()
        parser.append(buffer(chunkedHead + "5;" + String(repeating: "a", count: 4000)))
        _ = try parser.next()
        #expect(try parser.next() == nil)
        parser.append(buffer(String(repeating: "a", count: 200)))
        #expect(throws: HTTPParserError.badMessage("chunk size line too long")) { try parser.next() }
    }

    @Test func trailerSectionIsLimited() {
        let parser = HTTPRequestParser(maxHeadBytes: 200, maxRequestLineBytes: 100)
        let trailers = (0..<20).map { "X-T\($0): 0123456789\r\n" }.joined()
        #expect(requestError(chunkedHead + "0\r\n" + trailers + "\r\n", parser: parser) == .headersTooLarge)
    }

    @Test func partialDataTerminatorIsCheckedEarly() throws {
        var parser = HTTPRequestParser()
        parser.append(buffer(chunkedHead + "1\r\na"))
        _ = try parser.next()
        #expect(try parser.next() == .body(buffer("a")))
        #expect(try parser.next() == nil)
        parser.append(buffer("\r"))
        #expect(try parser.next() == nil)
        parser.append(buffer("\n0\r\n\r\n"))
        #expect(try parser.next() == .end(trailers: []))
    }
}
