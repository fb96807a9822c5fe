import Foundation
import Testing

/// Requests whose framing is ambiguous or malformed (the stuff of request smuggling), sent as
/// exact bytes: each is refused with the right status, never reaches the server, the connection
/// is closed, and Baton goes on serving normal requests.
@Suite("Framing and request security")
struct FramingSecurityTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var request: String
        var status: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "Content-Length and Transfer-Encoding together",
             request: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
             status: 400),
        Case(name: "two different Content-Length fields",
             request: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
             status: 400),
        Case(name: "a Content-Length list with different values",
             request: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!",
             status: 400),
        Case(name: "Transfer-Encoding: gzip, chunked",
             request: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
             status: 400),
        Case(name: "Transfer-Encoding: chunked, gzip (chunked not last)",
             request: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
             status: 400),
        Case(name: "obs-fold (a header continued on the next line)",
             request: "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
             status: 400),
        Case(name: "bare LF line endings",
             request: "GET / HTTP/1.1\nHost: a\n\n",
             status: 400),
        Case(name: "whitespace between a field name and the colon",
             request: "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello",
             status: 400),
        Case(name: "a request line that is not HTTP",
             request: "HELLO THERE\r\n\r\n",
             status: 400),
        Case(name: "a 20 KiB header",
             request: "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "a", count: 20 * 1024) + "\r\n\r\n",
             status: 431),
    ]

    static let reasons = [400: "Bad request", 431: "Request Header Fields Too Large"]
    static let messages = [400: "Your browser sent an invalid request.",
                           431: "Your browser sent a request header section that is too large."]

    @Test("a malformed or ambiguous request is refused, closed, and never reaches the server",
          arguments: FramingSecurityTests.cases)
    func refused(_ testCase: Case) async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                server app1 127.0.0.1:\(upstream.port)
            """, listening: [port])

        let client = try RawClient(port: port)
        try await client.send(testCase.request)
        let response = try await client.readResponse(timeout: .seconds(3))
        #expect(response.status == testCase.status, "\(response)")
        if let reason = Self.reasons[testCase.status], let message = Self.messages[testCase.status] {
            #expect(response.bodyText == "<html><body><h1>\(testCase.status) \(reason)</h1>\n\(message)\n</body></html>\n")
        }
        let (closed, extra) = try await client.waitForClose(timeout: .seconds(3))
        #expect(closed, "Baton kept the connection open after refusing the request")
        #expect(extra.isEmpty, "more bytes after the error: \(String(decoding: extra, as: UTF8.self).debugDescription)")
        #expect(upstream.requestCount == 0, "the server received \(upstream.requests.map { "\($0.method) \($0.uri)" })")

        // Baton still serves a well-formed request.
        let normal = try await rawGet(port: port, "/after")
        #expect(normal.status == 200)
        #expect(normal.bodyText.hasPrefix("GET /after HTTP/1.1\n"))
        #expect(upstream.requests.map(\.uri) == ["/after"])
        await baton.stop()
    }

    @Test("a keep-alive connection that sends a malformed second request gets 400 for it only")
    func malformedSecondRequest() async throws {
        let upstream = try await TestUpstream.start { .echo($0) }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                server app1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let client = try RawClient(port: port)
        try await client.send("GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
        let first = try await client.readResponse()
        #expect(first.status == 200)
        try await client.send("POST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        let second = try await client.readResponse(timeout: .seconds(3))
        #expect(second.status == 400)
        #expect(try await client.waitForClose(timeout: .seconds(3)).closed)
        #expect(upstream.requests.map(\.uri) == ["/first"])
        await baton.stop()
    }
}
