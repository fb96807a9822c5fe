import BatonRules
import BatonConfig
import BatonHTTP1
import Testing

@testable import BatonProxy

private func request(_ fields: [(String, String)], version: HTTPVersion = .http1_1) -> HTTPRequestHead {
    HTTPRequestHead(method: "GET", target: "/", version: version,
                    fields: fields.map { HTTPField($0.0, $0.1) })
}

private func names(_ head: HTTPRequestHead) -> [String] { head.fields.map { $0.name.lowercased() } }

@Suite struct ServerRequestHeadTests {
    @Test func removesHopByHopFieldsButNotThoseNamedByConnection() {
        // As HAProxy 2.6: a field named by a Connection token is forwarded, and so is the Connection
        // field's own token for it; close and keep-alive are the proxy's to state.
        let (head, framing) = MessageRewriting.serverRequestHead(
            for: request([("Host", "a"), ("Connection", "keep-alive, X-Secret"), ("X-Secret", "1"),
                          ("Keep-Alive", "timeout=5"), ("TE", "gzip"), ("Proxy-Connection", "x"),
                          ("Accept", "*/*")]),
            framing: .none, forwardFor: nil, clientAddress: "10.0.0.1", clientAddressBytes: [10, 0, 0, 1],
            closeServerSide: false, upgrade: false)
        #expect(names(head) == ["host", "connection", "x-secret", "accept"])
        #expect(head.fields.values(named: "connection") == ["X-Secret"])
        #expect(framing == .none)
        #expect(head.version == .http1_1)
    }

    @Test func aConnectionTokenNeverRemovesHostOrFraming() {
        let (head, framing) = MessageRewriting.serverRequestHead(
            for: HTTPRequestHead(method: "POST", target: "/", version: .http1_1, fields: [
                HTTPField("Host", "a"), HTTPField("Connection", "Host, Content-Length, close"),
                HTTPField("Content-Length", "3"),
            ]),
            framing: .contentLength(3), forwardFor: nil, clientAddress: nil, clientAddressBytes: nil,
            closeServerSide: true, upgrade: false)
        #expect(head.fields == [HTTPField("Host", "a"), HTTPField("Connection", "Host, Content-Length"),
                                HTTPField("content-length", "3"), HTTPField("connection", "close")])
        #expect(framing == .contentLength)
    }

    @Test func keepsOnlyTheTrailersTokenOfTE() {
        let (head, _) = MessageRewriting.serverRequestHead(
            for: request([("Host", "a"), ("TE", "gzip;q=0.5, Trailers")]), framing: .none, forwardFor: nil,
            clientAddress: nil, clientAddressBytes: nil, closeServerSide: false, upgrade: false)
        #expect(head.fields.values(named: "te") == ["trailers"])
        let (without, _) = MessageRewriting.serverRequestHead(
            for: request([("Host", "a"), ("TE", "gzip")]), framing: .none, forwardFor: nil,
            clientAddress: nil, clientAddressBytes: nil, closeServerSide: false, upgrade: false)
        #expect(!without.fields.contains(name: "te"))
    }

    @Test func restatesFramingOnce() {
        let (chunked, chunkedFraming) = MessageRewriting.serverRequestHead(
            for: request([("Host", "a"), ("Transfer-Encoding", "chunked")]), framing: .chunked,
            forwardFor: nil, clientAddress: nil, clientAddressBytes: nil, closeServerSide: false, upgrade: false)
        #expect(chunked.fields.values(named: "transfer-encoding") == ["chunked"])
        #expect(chunkedFraming == .chunked)
        let (sized, sizedFraming) = MessageRewriting.serverRequestHead(
            for: request([("Host", "a"), ("Content-Length", "5")]), framing: .contentLength(5),
            forwardFor: nil, clientAddress: nil, clientAddressBytes: nil, closeServerSide: false, upgrade: false)
        #expect(sized.fields.values(named: "content-length") == ["5"])
        #expect(sizedFraming == .contentLength)
    }

    @Test func forwardForAddsTheClientAddress() {
        var forwardFor = ForwardFor()
        let (head, _) = MessageRewriting.serverRequestHead(
            for: request([("Host", "a"), ("X-Forwarded-For", "1.2.3.4")]), framing: .none,
            forwardFor: forwardFor, clientAddress: "10.0.0.1", clientAddressBytes: [10, 0, 0, 1],
            closeServerSide: false, upgrade: false)
        // HAProxy appends a new field rather than editing the one the client sent.
        #expect(head.fields.values(named: "x-forwarded-for") == ["1.2.3.4", "10.0.0.1"])

        forwardFor.ifNone = true
        forwardFor.headerName = "X-Real-IP"
        let (ifNone, _) = MessageRewriting.serverRequestHead(
            for: request([("Host", "a"), ("X-Real-IP", "1.2.3.4")]), framing: .none,
            forwardFor: forwardFor, clientAddress: "10.0.0.1", clientAddressBytes: [10, 0, 0, 1],
            closeServerSide: false, upgrade: false)
        #expect(ifNone.fields.values(named: "x-real-ip") == ["1.2.3.4"])
    }

    @Test func forwardForExceptSkipsTrustedNetworks() {
        var forwardFor = ForwardFor()
        forwardFor.except = IPNetwork(address: [10, 0, 0, 0], prefixLength: 8)
        let (inside, _) = MessageRewriting.serverRequestHead(
            for: request([("Host", "a")]), framing: .none, forwardFor: forwardFor,
            clientAddress: "10.9.8.7", clientAddressBytes: [10, 9, 8, 7], closeServerSide: false, upgrade: false)
        #expect(!inside.fields.contains(name: "x-forwarded-for"))
        let (outside, _) = MessageRewriting.serverRequestHead(
            for: request([("Host", "a")]), framing: .none, forwardFor: forwardFor,
            clientAddress: "192.0.2.1", clientAddressBytes: [192, 0, 2, 1], closeServerSide: false, upgrade: false)
        #expect(outside.fields.values(named: "x-forwarded-for") == ["192.0.2.1"])
    }

    @Test func closeAndUpgradeAreStatedToTheServer() {
        let (closing, _) = MessageRewriting.serverRequestHead(
            for: request([("Host", "a")]), framing: .none, forwardFor: nil, clientAddress: nil,
            clientAddressBytes: nil, closeServerSide: true, upgrade: false)
        #expect(closing.fields.values(named: "connection") == ["close"])
        let upgradeRequest = request([("Host", "a"), ("Connection", "Upgrade"), ("Upgrade", "websocket")])
        #expect(MessageRewriting.isUpgradeRequest(upgradeRequest))
        let (upgrading, _) = MessageRewriting.serverRequestHead(
            for: upgradeRequest, framing: .none, forwardFor: nil, clientAddress: nil,
            clientAddressBytes: nil, closeServerSide: true, upgrade: true)
        #expect(upgrading.fields.values(named: "upgrade") == ["websocket"])
        #expect(upgrading.fields.values(named: "connection") == ["upgrade"])
    }
}

@Suite struct PersistenceTests {
    @Test func clientKeepAliveFollowsVersionAndConnection() {
        #expect(MessageRewriting.clientWantsKeepAlive(request([("Host", "a")])))
        #expect(!MessageRewriting.clientWantsKeepAlive(request([("Host", "a"), ("Connection", "close")])))
        #expect(!MessageRewriting.clientWantsKeepAlive(request([], version: .http1_0)))
        #expect(MessageRewriting.clientWantsKeepAlive(request([("Connection", "Keep-Alive")], version: .http1_0)))
    }

    @Test func responseFramingDecidesWhetherTheClientStaysOpen() {
        let response = HTTPResponseHead(version: .http1_1, status: 200, reason: "OK",
                                        fields: [HTTPField("Transfer-Encoding", "chunked")])
        let forOld = MessageRewriting.clientResponseHead(for: response, framing: .chunked,
                                                         clientVersion: .http1_0, keepClientOpen: true, upgrade: false)
        #expect(forOld.framing == .untilClose)
        #expect(!forOld.keepClientOpen)
        #expect(forOld.head.fields.values(named: "connection") == ["close"])
        let forNew = MessageRewriting.clientResponseHead(for: response, framing: .chunked,
                                                         clientVersion: .http1_1, keepClientOpen: true, upgrade: false)
        #expect(forNew.framing == .chunked)
        #expect(forNew.keepClientOpen)
        #expect(forNew.head.fields.values(named: "transfer-encoding") == ["chunked"])
        let closeDelimited = MessageRewriting.clientResponseHead(
            for: HTTPResponseHead(version: .http1_1, status: 200, reason: "OK", fields: []),
            framing: .untilClose, clientVersion: .http1_1, keepClientOpen: true, upgrade: false)
        #expect(!closeDelimited.keepClientOpen)
    }

    @Test func headResponsesKeepTheirStatedLength() {
        let response = HTTPResponseHead(version: .http1_1, status: 200, reason: "OK",
                                        fields: [HTTPField("Content-Length", "1234")])
        let rewritten = MessageRewriting.clientResponseHead(for: response, framing: .none,
                                                            clientVersion: .http1_1, keepClientOpen: true, upgrade: false)
        #expect(rewritten.head.fields.values(named: "content-length") == ["1234"])
    }

    @Test func serverReuseFollowsItsConnectionField() {
        #expect(MessageRewriting.serverAllowsReuse(HTTPResponseHead(version: .http1_1, status: 200, reason: "", fields: [])))
        #expect(!MessageRewriting.serverAllowsReuse(HTTPResponseHead(
            version: .http1_1, status: 200, reason: "", fields: [HTTPField("Connection", "close")])))
        #expect(!MessageRewriting.serverAllowsReuse(HTTPResponseHead(version: .http1_0, status: 200, reason: "", fields: [])))
    }
}

@Suite struct RetryPolicyTests {
    @Test func retriesTheSameServerThenGivesUp() {
        let policy = RetryPolicy(retries: 2, redispatch: false, connectTimeout: .milliseconds(200), hasAlternative: true)
        #expect(policy.decide(failedAttempts: 1, timedOut: false) == .retrySameServer(after: .milliseconds(200)))
        #expect(policy.decide(failedAttempts: 2, timedOut: false) == .retrySameServer(after: .milliseconds(200)))
        #expect(policy.decide(failedAttempts: 3, timedOut: false) == .giveUp)
    }

    @Test func redispatchesOnTheLastRetry() {
        let policy = RetryPolicy(retries: 3, redispatch: true, connectTimeout: .seconds(5), hasAlternative: true)
        #expect(policy.decide(failedAttempts: 1, timedOut: false) == .retrySameServer(after: .seconds(1)))
        #expect(policy.decide(failedAttempts: 3, timedOut: true) == .redispatch(after: .zero))
        let single = RetryPolicy(retries: 3, redispatch: true, connectTimeout: nil, hasAlternative: false)
        #expect(single.decide(failedAttempts: 3, timedOut: false) == .retrySameServer(after: .seconds(1)))
    }

    @Test func zeroRetriesGivesUpAtOnce() {
        let policy = RetryPolicy(retries: 0, redispatch: true, connectTimeout: nil, hasAlternative: true)
        #expect(policy.decide(failedAttempts: 1, timedOut: false) == .giveUp)
    }
}

@Suite struct ErrorPagesTests {
    @Test func defaultPagesAreHAProxys() {
        let page = ErrorPages().response(for: 503)
        #expect(String(buffer: page) == "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\n"
            + "cache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
            + "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n")
    }

    @Test func errorfileReplacesThePage() {
        let custom = Array("HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n".utf8)
        let pages = ErrorPages(errorFiles: [503: ErrorFile(status: 503, path: "/x", contents: custom)])
        #expect(Array(pages.response(for: 503).readableBytesView) == custom)
        #expect(String(buffer: pages.response(for: 502)).hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
    }

    @Test func closingErrorsSayConnectionClose() {
        let page = String(buffer: ErrorPages().closingResponse(for: 408))
        #expect(page.hasPrefix("HTTP/1.1 408 Request Time-out\r\nconnection: close\r\ncontent-length: 110\r\n"))
        let custom = Array("HTTP/1.1 503 Busy\r\nConnection: close\r\ncontent-length: 0\r\n\r\n".utf8)
        let pages = ErrorPages(errorFiles: [503: ErrorFile(status: 503, path: "/x", contents: custom)])
        #expect(Array(pages.closingResponse(for: 503).readableBytesView) == custom)
    }

    @Test func httpRequestReturnStatesLengthAndType() {
        let rule = LocalResponse(status: 200, contentType: "text/plain", body: .text("hi\n"))
        #expect(String(buffer: LocalResponseRenderer.render(rule, errorPages: ErrorPages(), subject: nil).bytes)
            == "HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-type: text/plain\r\n\r\nhi\n")
    }
}
