import NIOCore
import Testing

@testable import BatonHTTP1

@Suite("Serialization")
struct SerializerTests {
    @Test func requestHeadBytes() {
        let head = HTTPRequestHead(
            method: "POST",
            target: "/p?q=1",
            version: .http1_1,
            fields: [HTTPField("Host", "example.com"), HTTPField("Content-Length", "3")]
        )
        var out = ByteBuffer()
        head.write(into: &out)
        #expect(String(buffer: out) == "POST /p?q=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\n")
    }

    @Test func responseHeadBytes() {
        var out = ByteBuffer()
        HTTPResponseHead(version: .http1_0, status: 404, reason: "Not Found", fields: [HTTPField("A", "b")])
            .write(into: &out)
        #expect(String(buffer: out) == "HTTP/1.0 404 Not Found\r\nA: b\r\n\r\n")
        out.clear()
        HTTPResponseHead(version: .http1_1, status: 200, reason: "", fields: []).write(into: &out)
        #expect(String(buffer: out) == "HTTP/1.1 200 \r\n\r\n")
    }

    @Test func otherVersionsAreWrittenGenerically() {
        var out = ByteBuffer()
        HTTPVersion(major: 2, minor: 0).write(into: &out)
        #expect(String(buffer: out) == "HTTP/2.0")
    }

    @Test func writingAppendsToExistingContent() {
        var out = ByteBuffer(string: "prefix|")
        HTTPRequestHead(method: "GET", target: "/", version: .http1_1, fields: [HTTPField("Host", "h")]).write(into: &out)
        #expect(String(buffer: out) == "prefix|GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    }

    @Test func requestRoundTrip() throws {
        let head = HTTPRequestHead(
            method: "PATCH",
            target: "http://example.com/x%20y",
            version: .http1_1,
            fields: [
                HTTPField("Host", "example.com"),
                HTTPField("X-Unicode", "naïve ✓"),
                HTTPField("X-Empty", ""),
                HTTPField("Content-Length", "4"),
            ]
        )
        var out = ByteBuffer()
        head.write(into: &out)
        out.writeString("body")
        var parser = HTTPRequestParser()
        let events = try drive(&parser, [out])
        #expect(events == [.head(head, .contentLength(4)), .body(buffer("body")), .end(trailers: [])])
    }

    @Test func responseRoundTrip() throws {
        for reason in ["OK", "", "Not Found"] {
            let head = HTTPResponseHead(
                version: .http1_1,
                status: 418,
                reason: reason,
                fields: [HTTPField("Content-Length", "0"), HTTPField("Server", "baton")]
            )
            var out = ByteBuffer()
            head.write(into: &out)
            var parser = responseParser(expecting: ["GET"])
            let events = try drive(&parser, [out])
            #expect(events == [.head(head, .contentLength(0)), .end(trailers: [])])
        }
    }

    @Test func chunkEncoding() {
        var out = ByteBuffer()
        ChunkedEncoder.writeChunk(buffer("hello"), into: &out)
        #expect(String(buffer: out) == "5\r\nhello\r\n")
        out.clear()
        ChunkedEncoder.writeChunk(ByteBuffer(), into: &out)
        #expect(out.readableBytes == 0, "an empty chunk would end the body")
        for (length, hex) in [(1, "1"), (15, "f"), (16, "10"), (255, "ff"), (4096, "1000"), (0xABCDEF, "abcdef")] {
            out.clear()
            ChunkedEncoder.writeChunkHeader(length: length, into: &out)
            #expect(String(buffer: out) == hex + "\r\n")
        }
        out.clear()
        ChunkedEncoder.writeChunkDataEnd(into: &out)
        #expect(String(buffer: out) == "\r\n")
    }

    @Test func lastChunk() {
        var out = ByteBuffer()
        ChunkedEncoder.writeLastChunk(trailers: [], into: &out)
        #expect(String(buffer: out) == "0\r\n\r\n")
        out.clear()
        ChunkedEncoder.writeLastChunk(trailers: [HTTPField("X-Sum", "1"), HTTPField("X-B", "2")], into: &out)
        #expect(String(buffer: out) == "0\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n")
    }

    @Test func chunkedRoundTrip() throws {
        let head = HTTPRequestHead(
            method: "POST",
            target: "/",
            version: .http1_1,
            fields: [HTTPField("Host", "a"), HTTPField("Transfer-Encoding", "chunked")]
        )
        var out = ByteBuffer()
        head.write(into: &out)
        let pieces = ["a", String(repeating: "b", count: 300), "", "cde"]
        for piece in pieces { ChunkedEncoder.writeChunk(buffer(piece), into: &out) }
        ChunkedEncoder.writeChunkHeader(length: 2, into: &out)
        out.writeString("fg")
        ChunkedEncoder.writeChunkDataEnd(into: &out)
        ChunkedEncoder.writeLastChunk(trailers: [HTTPField("X-T", "v")], into: &out)
        var parser = HTTPRequestParser()
        let events = try drive(&parser, [out])
        #expect(requestHead(events.first)?.0 == head)
        #expect(bodyString(events) == pieces.joined() + "fg")
        #expect(events.last == .end(trailers: [HTTPField("X-T", "v")]))
        #expect(parser.isIdle)
    }
}
