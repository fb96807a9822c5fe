import NIOCore
import Testing

@testable import BatonHTTP1

/// The requests HAProxy 2.6 refuses with a 400 and Baton used to forward (request targets, too many fields),
/// and the ones HAProxy forwards that Baton used to refuse (obs-text values). Each case was checked against
/// haproxy 2.6.12 on raw bytes; RequestStrictnessDifferentialTests (integration) compares the two end to end.
@Suite("Request parsing: as strict as HAProxy")
struct HAProxyStrictnessTests {
    private static func get(_ target: String, host: String? = "example.test", method: String = "GET",
                            version: String = "HTTP/1.1") -> String {
        "\(method) \(target) \(version)\r\n" + (host.map { "Host: \($0)\r\n" } ?? "") + "\r\n"
    }

    static let refusedTargets: [RejectedCase] = [
        .init("absolute-form whose authority differs from Host", get("http://other.test/abs")),
        .init("absolute-form with another port than Host's", get("http://example.test:8080/abs")),
        .init("absolute-form with a non-default port for https", get("https://example.test:80/x")),
        .init("absolute-form differing from Host in HTTP/1.0", get("http://other.test/abs", version: "HTTP/1.0")),
        .init("absolute-form with a query right after the authority", get("http://example.test?x=1")),
        .init("absolute-form with userinfo", get("http://user:pw@example.test/abs")),
        .init("absolute-form without authority", get("http:///abs")),
        .init("scheme without //", get("http:example.test/abs")),
        .init("scheme starting with a digit", get("1http://example.test/")),
        .init("origin-form not starting with /", get("a/b")),
        .init("a bare word", get("admin")),
        .init("relative path in HTTP/1.0", get("a/b", host: nil, version: "HTTP/1.0")),
        .init("fragment in origin-form", get("/a#frag")),
        .init("fragment after a query", get("/a?x#f")),
        .init("fragment in absolute-form", get("http://example.test/a#f")),
        .init("a lone #", get("#")),
        .init("authority-form on GET", get("example.test:80")),
        .init("authority-form on GET even when Host matches", get("example.test:80", host: "example.test:80")),
        .init("asterisk-form on GET", get("*")),
        .init("asterisk followed by a path", get("*/x", method: "OPTIONS")),
        .init("CONNECT without a port", get("example.test", method: "CONNECT")),
        .init("CONNECT with an empty port", get("example.test:", host: nil, method: "CONNECT")),
        .init("CONNECT without a host", get(":443", host: nil, method: "CONNECT")),
        .init("CONNECT with a path", get("/x", method: "CONNECT")),
        .init("CONNECT with absolute-form", get("http://example.test:80", method: "CONNECT")),
        .init("CONNECT with userinfo", get("u@example.test:443", host: nil, method: "CONNECT")),
        .init("CONNECT to another host than Host", get("example.test:80", host: "other.test:80", method: "CONNECT")),
        .init("CONNECT to another port than Host's", get("example.test:8443", host: "example.test:443", method: "CONNECT")),
        .init("CONNECT to a non-default port, Host without port", get("example.test:8443", method: "CONNECT")),
    ]

    @Test(arguments: refusedTargets)
    func refusedTarget(_ c: RejectedCase) {
        #expect(requestError(c.raw) == c.kind)
    }

    struct Accepted: Sendable, CustomTestStringConvertible {
        let method: String
        let target: String
        let host: String?
        var version = "HTTP/1.1"
        var testDescription: String { "\(method) \(target) Host: \(host ?? "-")" }
    }

    static let acceptedTargets: [Accepted] = [
        .init(method: "GET", target: "/", host: "example.test"),
        .init(method: "GET", target: "//example.test/x", host: "example.test"),
        .init(method: "GET", target: "/a?b=c/d?e", host: "example.test"),
        .init(method: "GET", target: "http://example.test/abs", host: "example.test"),
        .init(method: "GET", target: "http://EXAMPLE.test/abs", host: "example.TEST"),
        .init(method: "GET", target: "http://example.test", host: "example.test"),
        .init(method: "GET", target: "http://example.test:80/abs", host: "example.test"),
        .init(method: "GET", target: "http://example.test/abs", host: "example.test:80"),
        .init(method: "GET", target: "http://example.test:80/abs", host: "example.test:80"),
        .init(method: "GET", target: "http://example.test:/abs", host: "example.test"),
        .init(method: "GET", target: "http://example.test:8080/abs", host: "example.test:8080"),
        .init(method: "GET", target: "https://example.test:443/x", host: "example.test"),
        .init(method: "GET", target: "ftp://example.test/x", host: "example.test"),
        .init(method: "GET", target: "http://[::1]:80/x", host: "[::1]"),
        .init(method: "GET", target: "http://other.test/abs", host: nil, version: "HTTP/1.0"),
        .init(method: "OPTIONS", target: "*", host: "example.test"),
        .init(method: "CONNECT", target: "example.test:80", host: "example.test:80"),
        .init(method: "CONNECT", target: "example.test:443", host: "example.test"),
        .init(method: "CONNECT", target: "example.test:8443", host: "EXAMPLE.test:8443"),
        .init(method: "CONNECT", target: "example.test:80", host: nil, version: "HTTP/1.0"),
        .init(method: "CONNECT", target: "[::1]:443", host: "[::1]:443"),
    ]

    @Test(arguments: acceptedTargets)
    func acceptedTarget(_ c: Accepted) throws {
        let raw = "\(c.method) \(c.target) \(c.version)\r\n" + (c.host.map { "Host: \($0)\r\n" } ?? "") + "\r\n"
        let events = try parseRequests(raw)
        let (head, _) = try #require(requestHead(events.first))
        #expect(head.method == c.method)
        #expect(head.target == c.target)
    }

    // MARK: tune.http.maxhdr

    private static func request(fields count: Int) -> String {
        "GET / HTTP/1.1\r\nHost: a\r\n" + (1..<max(count, 1)).map { "X-F\($0): v\r\n" }.joined() + "\r\n"
    }

    @Test func aHundredFieldsPassTheDefaultLimit() throws {
        let events = try parseRequests(Self.request(fields: 100))
        #expect(requestHead(events.first)?.0.fields.count == 100)
    }

    @Test func aHundredAndOneFieldsAreABadMessage() {
        #expect(requestError(Self.request(fields: 101)) == .badMessage)
        #expect(HTTPRequestParser.defaultMaxFields == 100)
        #expect(HTTPRequestParser.maxFields(forMaxHeaderSlots: 101) == 100)
        #expect(HTTPRequestParser.maxFields(forMaxHeaderSlots: 1) == 0)
    }

    @Test func theLimitIsConfigurable() throws {
        let parser = HTTPRequestParser(maxFields: HTTPRequestParser.maxFields(forMaxHeaderSlots: 5))
        #expect(try requestHead(parseRequests(Self.request(fields: 4), parser: parser).first)?.0.fields.count == 4)
        #expect(requestError(Self.request(fields: 5), parser: parser) == .badMessage)
        // With one slot, only a request without any field passes.
        let one = HTTPRequestParser(maxFields: 0)
        #expect(try requestHead(parseRequests("GET / HTTP/1.0\r\n\r\n", parser: one).first) != nil)
        #expect(requestError("GET / HTTP/1.1\r\nHost: a\r\n\r\n", parser: one) == .badMessage)
    }

    @Test func tooManyFieldsAreRefusedBeforeTheSectionEnds() throws {
        var parser = HTTPRequestParser(maxFields: 3)
        parser.append(buffer("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n"))
        #expect(try parser.next() == nil)
        parser.append(buffer("C: 3\r\n"))
        #expect(throws: HTTPParserError.badMessage("too many header fields")) { try parser.next() }
    }

    @Test func trailersShareTheLimit() throws {
        let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        let atLimit = head + "T1: a\r\nT2: b\r\nT3: c\r\n\r\n"
        let events = try parseRequests(atLimit, parser: HTTPRequestParser(maxFields: 3))
        #expect(events.last == .end(trailers: [HTTPField("T1", "a"), HTTPField("T2", "b"), HTTPField("T3", "c")]))
        #expect(requestError(head + "T1: a\r\nT2: b\r\nT3: c\r\nT4: d\r\n\r\n",
                             parser: HTTPRequestParser(maxFields: 3)) == .badMessage)
    }

    @Test func responsesHaveTheLimitToo() throws {
        var parser = HTTPResponseParser(maxFields: 2)
        parser.expectResponse(toMethod: "GET")
        parser.append(buffer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nA: 1\r\nB: 2\r\n\r\n"))
        #expect(throws: HTTPParserError.badMessage("too many header fields")) { try parser.next() }
    }

    // MARK: obs-text

    /// HAProxy forwards field values with bytes 0x80-0xFF (RFC 9110 section 5.5 obs-text) as they are.
    @Test(arguments: [
        [0xE9] as [UInt8],  // Latin-1 "é" alone: not UTF-8
        [0xE9, 0x74, 0xE9],  // "été" in Latin-1
        [0xC3, 0xA9],  // "é" in UTF-8
        [0xC3],  // a truncated UTF-8 sequence
        [0x80, 0xFF, 0xFE],
        [0xED, 0xA0, 0x80],  // an encoded surrogate, invalid in UTF-8
        [0x61, 0x09, 0xFF, 0x20, 0x62],  // with HTAB and SP inside
    ])
    func obsTextValuesKeepTheirBytes(_ value: [UInt8]) throws {
        let raw = Array("GET / HTTP/1.1\r\nHost: a\r\nX-Obs:  ".utf8) + value + Array(" \r\n\r\n".utf8)
        var parser = HTTPRequestParser()
        parser.append(buffer(raw))
        let (head, _) = try #require(requestHead(try parser.next()))
        let field = try #require(head.fields.last)
        #expect(field.name == "X-Obs")
        #expect(field.valueBytes == value)
        #expect(field.valueByteCount == value.count)
        var out = ByteBuffer()
        head.write(into: &out)
        #expect(out.readableBytesView.elementsEqual(
            Array("GET / HTTP/1.1\r\nHost: a\r\nX-Obs: ".utf8) + value + Array("\r\n\r\n".utf8)))
    }

    @Test func aValidUTF8ValueIsPlainText() throws {
        var parser = HTTPRequestParser()
        parser.append(buffer("GET / HTTP/1.1\r\nHost: a\r\nX-Name: café\r\n\r\n"))
        let (head, _) = try #require(requestHead(try parser.next()))
        #expect(head.fields.last?.value == "café")
        #expect(head.fields.last?.rawValue == nil)
    }

    @Test func anInvalidValueReadsAsReplacementCharacters() throws {
        var parser = HTTPRequestParser()
        parser.append(buffer(Array("GET / HTTP/1.1\r\nHost: a\r\nX: a".utf8) + [0xE9] + Array("\r\n\r\n".utf8)))
        let (head, _) = try #require(requestHead(try parser.next()))
        var field = try #require(head.fields.last)
        #expect(field.value == "a\u{FFFD}")
        #expect(field.rawValue == [0x61, 0xE9])
        field.value = "b"
        #expect(field.rawValue == nil)
        #expect(field.valueBytes == [0x62])
    }

    @Test func obsTextInTrailersAndResponsesToo() throws {
        var parser = HTTPRequestParser()
        let chunked = Array("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: ".utf8)
            + [0xE9] + Array("\r\n\r\n".utf8)
        let events = try drive(&parser, [buffer(chunked)])
        guard case .end(let trailers)? = events.last else {
            Issue.record("no end event: \(events)")
            return
        }
        #expect(trailers.map(\.valueBytes) == [[0xE9]])

        var response = HTTPResponseParser()
        response.expectResponse(toMethod: "GET")
        response.append(buffer(Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: ".utf8) + [0xE9] + Array("\r\n\r\n".utf8)))
        let (head, _) = try #require(responseHead(try response.next()))
        #expect(head.fields.last?.valueBytes == [0xE9])
    }

    // MARK: Connection never removes what the proxy needs

    @Test func connectionTokensDoNotRemoveFields() {
        let fields = [
            HTTPField("Host", "a"), HTTPField("Connection", "Host, content-length, close"),
            HTTPField("Content-Length", "3"), HTTPField("X-Foo", "bar"), HTTPField("connection", "x-foo"),
            HTTPField("Keep-Alive", "timeout=5"), HTTPField("Connection", "keep-alive, Upgrade"),
            HTTPField("Upgrade", "h2c"), HTTPField("TE", "trailers"), HTTPField("Transfer-Encoding", "chunked"),
            HTTPField("Proxy-Connection", "x"), HTTPField("Trailer", "x"),
        ]
        #expect(fields.removingHopByHopKeepingNominated() == [
            HTTPField("Host", "a"), HTTPField("Connection", "Host, content-length"),
            HTTPField("Content-Length", "3"), HTTPField("X-Foo", "bar"), HTTPField("connection", "x-foo"),
        ])
    }
}
