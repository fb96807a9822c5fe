import NIOCore
import Testing

@testable import BatonHTTP1

/// A stream fed to a fresh parser in different splits must produce the same events (body pieces merged).
struct StreamCase: Sendable, CustomTestStringConvertible {
    let name: String
    let raw: String
    let methods: [String]  // responses only
    let endOfInput: Bool

    init(_ name: String, _ raw: String, methods: [String] = [], endOfInput: Bool = false) {
        self.name = name
        self.raw = raw
        self.methods = methods
        self.endOfInput = endOfInput
    }

    var testDescription: String { self.name }
}

private func outcome<P: EventParser>(
    _ parser: P,
    _ pieces: [ByteBuffer],
    endOfInput: Bool
) -> Result<[HTTPParserEvent<P.Head>], ErrorKind> {
    var parser = parser
    do {
        return .success(coalesced(try drive(&parser, pieces, endOfInput: endOfInput)))
    } catch {
        return .failure(error.kind)
    }
}

/// Checks whole, byte-by-byte and random splits against each other; returns the whole-stream outcome.
@discardableResult
private func checkSplits<P: EventParser>(
    _ makeParser: () -> P,
    _ raw: String,
    endOfInput: Bool,
    sourceLocation: SourceLocation = #_sourceLocation
) -> Result<[HTTPParserEvent<P.Head>], ErrorKind> {
    let bytes = Array(raw.utf8)
    let whole = outcome(makeParser(), [ByteBuffer(bytes: bytes)], endOfInput: endOfInput)
    var rng = SplitMix64(seed: 0)
    let byteByByte = outcome(makeParser(), split(bytes, maxPiece: 1, using: &rng), endOfInput: endOfInput)
    #expect(byteByByte == whole, "byte by byte", sourceLocation: sourceLocation)
    for seed in 1...60 {
        var rng = SplitMix64(seed: UInt64(seed))
        let maxPiece = [2, 3, 7, 16, 64][seed % 5]
        let random = outcome(makeParser(), split(bytes, maxPiece: maxPiece, using: &rng), endOfInput: endOfInput)
        #expect(random == whole, "seed \(seed), pieces up to \(maxPiece)", sourceLocation: sourceLocation)
    }
    return whole
}

private let requestStream =
    "\r\nGET /a HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n"
    + "POST /b HTTP/1.1\r\nHost: example.com\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz"
    + "PUT /c HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
    + "a;ext=\"q;v\"\r\n0123456789\r\n1\r\n!\r\n0\r\nX-Sum: 42\r\n\r\n"
    + "GET /d HTTP/1.0\r\n\r\n"

private let responseStream =
    "HTTP/1.1 100 Continue\r\n\r\n"
    + "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world!"
    + "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
    + "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
    + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"
    + "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the very end"

@Suite("Incremental feeding")
struct IncrementalTests {
    @Test func requestStreamInAnySplit() throws {
        let whole = checkSplits({ HTTPRequestParser() }, requestStream, endOfInput: true)
        let events = try whole.get()
        #expect(events.compactMap { requestHead($0)?.0.target } == ["/a", "/b", "/c", "/d"])
        #expect(bodyString(events) == "abcdefghijklmnopqrstuvwxyz0123456789!")
        #expect(events.contains(.end(trailers: [HTTPField("X-Sum", "42")])))
    }

    @Test func responseStreamInAnySplit() throws {
        let methods = ["POST", "HEAD", "GET", "GET", "GET"]
        let whole = checkSplits({ responseParser(expecting: methods) }, responseStream, endOfInput: true)
        let events = try whole.get()
        #expect(events.compactMap { responseHead($0)?.0.status } == [100, 200, 200, 304, 200, 200])
        #expect(responseHead(events.last(where: { responseHead($0) != nil }))?.1 == .untilClose)
        #expect(bodyString(events) == "hello world!abc0123456789abcdefuntil the very end")
        #expect(events.last == .end(trailers: []))
    }

    static let failingRequests: [StreamCase] = [
        .init("CL+TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        .init("bare LF in head", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"),
        .init("bare LF ending head", "GET / HTTP/1.1\r\nHost: a\r\n\n"),
        .init("bare LF in chunk line", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n"),
        .init("bad chunk terminator", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n"),
        .init("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"),
        .init("truncated body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc", endOfInput: true),
        .init("second request bad", "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
    ]

    @Test(arguments: failingRequests)
    func failuresDoNotDependOnSplits(_ c: StreamCase) {
        let whole = checkSplits({ HTTPRequestParser() }, c.raw, endOfInput: c.endOfInput)
        if case .success = whole { Issue.record("expected a failure") }
    }

    @Test func limitsDoNotDependOnSplits() {
        let line = "GET /" + String(repeating: "x", count: 100) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        let uri = checkSplits({ HTTPRequestParser(maxHeadBytes: 1000, maxRequestLineBytes: 50) }, line, endOfInput: false)
        #expect(uri == .failure(.uriTooLong))
        let head = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "y", count: 100) + "\r\n\r\n"
        let large = checkSplits({ HTTPRequestParser(maxHeadBytes: 100, maxRequestLineBytes: 50) }, head, endOfInput: false)
        #expect(large == .failure(.headersTooLarge))
    }

    @Test func bodyNeverWaitsForMoreThanIsAvailable() throws {
        // Every appended body byte is handed out before the next append.
        let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        let body = "400\r\n" + String(repeating: "z", count: 1024) + "\r\n0\r\n\r\n"
        var parser = HTTPRequestParser()
        parser.append(buffer(head))
        _ = try parser.next()
        var rng = SplitMix64(seed: 7)
        var delivered = 0
        var dataSeen = 0
        let bytes = Array(body.utf8)
        for piece in split(bytes, maxPiece: 50, using: &rng) {
            parser.append(piece)
            while let event = try parser.next() {
                if case .body(let b) = event { delivered += b.readableBytes }
            }
            dataSeen += piece.readableBytes
            // Bytes of chunk data received so far (the size line is 5 bytes).
            let expected = max(0, min(1024, dataSeen - 5))
            #expect(delivered == expected)
        }
    }

    @Test func scanningDoesNotRestartFromTheBeginning() throws {
        // A header section arriving one byte at a time must stay linear; this is a smoke test that a large head
        // fed byte by byte parses (quadratic rescanning would still pass, but slowly).
        let fields = (0..<300).map { "X-Field-\($0): value-\($0)\r\n" }.joined()
        let raw = "GET / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n"
        var parser = HTTPRequestParser(maxHeadBytes: 20000, maxFields: 400)
        var events: [RequestEvent] = []
        for byte in raw.utf8 {
            parser.append(ByteBuffer(bytes: [byte]))
            while let event = try parser.next() { events.append(event) }
        }
        #expect(requestHead(events.first)?.0.fields.count == 301)
    }
}
