import Foundation
import Testing

/// The same raw request sent to Baton and to the real HAProxy 2.6, each in front of its own recording origin
/// with the same minimal configuration: both must answer the client with the same status, and the same request
/// must reach both origins (or none). HAProxy is required: without it these tests fail (scripts/install-deps.sh
/// installs it).
@Suite("Request strictness, differential against HAProxy")
struct RequestStrictnessDifferentialTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var request: [UInt8]
        /// The status both must answer with.
        var status: Int
        var testDescription: String { name }

        init(_ name: String, _ request: String, status: Int) {
            self.init(name, Array(request.utf8), status: status)
        }

        init(_ name: String, _ request: [UInt8], status: Int) {
            self.name = name
            self.request = request
            self.status = status
        }
    }

    /// `count` header fields, Host first.
    static func withFields(_ count: Int) -> String {
        "GET /many HTTP/1.1\r\nHost: example.test\r\n" + (1..<count).map { "X-Field-\($0): \($0)\r\n" }.joined() + "\r\n"
    }

    static let refused: [Case] = [
        Case("absolute-form whose authority differs from Host",
             "GET http://other.test/abs HTTP/1.1\r\nHost: example.test\r\n\r\n", status: 400),
        Case("origin-form not starting with /", "GET a/b HTTP/1.1\r\nHost: example.test\r\n\r\n", status: 400),
        Case("a fragment in the target", "GET /a#frag HTTP/1.1\r\nHost: example.test\r\n\r\n", status: 400),
        Case("authority-form on GET", "GET example.test:80 HTTP/1.1\r\nHost: example.test\r\n\r\n", status: 400),
        Case("101 header fields (tune.http.maxhdr 101)", withFields(101), status: 400),
        Case("CONNECT without a port", "CONNECT example.test HTTP/1.1\r\nHost: example.test\r\n\r\n", status: 400),
        Case("CONNECT to another host than Host",
             "CONNECT example.test:8443 HTTP/1.1\r\nHost: other.test:8443\r\n\r\n", status: 400),
    ]

    static let forwarded: [Case] = [
        Case("a normal GET", "GET /normal?q=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: differential\r\nAccept: */*\r\n\r\n",
             status: 200),
        Case("absolute-form with a matching Host",
             "GET http://example.test/abs HTTP/1.1\r\nHost: example.test\r\n\r\n", status: 200),
        Case("absolute-form, Host with the default port",
             "GET http://example.test/abs HTTP/1.1\r\nHost: example.test:80\r\n\r\n", status: 200),
        Case("CONNECT in authority-form", "CONNECT example.test:8443 HTTP/1.1\r\nHost: example.test:8443\r\n\r\n",
             status: 200),
        Case("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: example.test\r\n\r\n", status: 200),
        Case("100 header fields", withFields(100), status: 200),
        Case("obs-text values: UTF-8 and a lone Latin-1 byte",
             Array("GET /obs HTTP/1.1\r\nHost: example.test\r\nX-Utf8: caf".utf8) + [0xC3, 0xA9]
                + Array("\r\nX-Latin1: ".utf8) + [0xE9] + Array("t".utf8) + [0xE9] + Array("\r\n\r\n".utf8),
             status: 200),
        Case("Connection: Host", "GET /connection-host HTTP/1.1\r\nHost: example.test\r\nConnection: Host\r\n\r\n",
             status: 200),
        Case("Connection: content-length",
             "POST /connection-cl HTTP/1.1\r\nHost: example.test\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\nhello",
             status: 200),
        Case("Connection: x-foo",
             "GET /connection-x-foo HTTP/1.1\r\nHost: example.test\r\nX-Foo: bar\r\nConnection: x-foo\r\n\r\n",
             status: 200),
        Case("Connection: close, x-foo",
             "GET /connection-close HTTP/1.1\r\nHost: example.test\r\nX-Foo: bar\r\nConnection: close, x-foo\r\n\r\n",
             status: 200),
    ]

    @Test("a request HAProxy refuses, Baton refuses the same way", arguments: refused)
    func refusedByBoth(_ testCase: Case) async throws {
        let pair = try await DifferentialPair.start()
        let (baton, haproxy) = try await pair.exchange(testCase.request)
        #expect(haproxy.status == testCase.status, "haproxy: \(haproxy)")
        #expect(baton.status == testCase.status, "baton: \(baton)")
        #expect(haproxy.originRequests.isEmpty, "haproxy forwarded: \(haproxy)")
        #expect(baton.originRequests.isEmpty, "baton forwarded: \(baton)")
        await pair.stop()
    }

    @Test("a request HAProxy forwards, Baton forwards the same way", arguments: forwarded)
    func forwardedByBoth(_ testCase: Case) async throws {
        let pair = try await DifferentialPair.start()
        let (baton, haproxy) = try await pair.exchange(testCase.request)
        #expect(haproxy.status == testCase.status, "haproxy: \(haproxy)")
        #expect(baton.status == testCase.status, "baton: \(baton)")
        #expect(haproxy.originRequests.count == 1, "haproxy: \(haproxy)")
        #expect(baton.response?.body == haproxy.response?.body)
        #expect(baton.originRequests.map(\.comparable) == haproxy.originRequests.map(\.comparable),
                "\nbaton:   \(baton.originRequests.map(\.comparable))\nhaproxy: \(haproxy.originRequests.map(\.comparable))")
        await pair.stop()
    }

    @Test("tune.http.maxhdr moves the limit the same way on both")
    func configuredHeaderLimit() async throws {
        let pair = try await DifferentialPair.start(ConfigTemplate("global\n    tune.http.maxhdr 5\n" + ConfigTemplate.minimal.text))
        let (batonAtLimit, haproxyAtLimit) = try await pair.exchange(Self.withFields(4))
        #expect(haproxyAtLimit.status == 200, "haproxy: \(haproxyAtLimit)")
        #expect(batonAtLimit.status == 200, "baton: \(batonAtLimit)")
        #expect(batonAtLimit.originRequests.map(\.comparable) == haproxyAtLimit.originRequests.map(\.comparable))
        let (batonOver, haproxyOver) = try await pair.exchange(Self.withFields(5))
        #expect(haproxyOver.status == 400, "haproxy: \(haproxyOver)")
        #expect(batonOver.status == 400, "baton: \(batonOver)")
        #expect(haproxyOver.originRequests.isEmpty && batonOver.originRequests.isEmpty)
        await pair.stop()
    }

    /// HAProxy applies tune.http.maxhdr to responses too, with a 502; so does Baton.
    @Test("a response with too many fields is a 502 on both", arguments: [98, 99])
    func responseHeaderLimit(extraFields: Int) async throws {
        // content-type and content-length, then the extra ones: 100 fields pass, 101 do not.
        let fields = (1...extraFields).map { (name: "X-Origin-\($0)", value: "\($0)") }
        let pair = try await DifferentialPair.start(originResponseFields: fields)
        let (baton, haproxy) = try await pair.exchange("GET /response HTTP/1.1\r\nHost: example.test\r\n\r\n")
        let expected = extraFields + 2 > 100 ? 502 : 200
        #expect(haproxy.status == expected, "haproxy: \(haproxy)")
        #expect(baton.status == expected, "baton: \(baton)")
        if expected == 200 {
            #expect(baton.response?.headers.filter { $0.name.hasPrefix("X-Origin-") }.count == extraFields)
        }
        await pair.stop()
    }

    /// The bytes of an obs-text value reach the origin exactly as the client sent them, not re-encoded.
    @Test func obsTextBytesReachTheOriginUnchanged() async throws {
        let pair = try await DifferentialPair.start()
        let value: [UInt8] = [0x61, 0xE9, 0x20, 0xFF, 0x80, 0xC3, 0xA9]
        let (baton, haproxy) = try await pair.exchange(
            Array("GET /bytes HTTP/1.1\r\nHost: example.test\r\nX-Raw: ".utf8) + value + Array("\r\n\r\n".utf8))
        #expect(haproxy.originRequests.first?.values("x-raw") == [value], "haproxy: \(haproxy)")
        #expect(baton.originRequests.first?.values("x-raw") == [value], "baton: \(baton)")
        let rawLine = Array("X-Raw: ".utf8) + value + [13, 10]
        #expect(baton.originRequests.first.map { $0.rawHead.firstRange(of: rawLine) != nil } == true)
        await pair.stop()
    }
}
