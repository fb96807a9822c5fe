import BatonConfig
import Testing
@testable import BatonObservability

// Every expected line below was printed by a real HAProxy 2.6.12 (Debian 2.6.12-1+deb12u4),
// `log stdout format raw local0`, run with TZ=UTC unless said otherwise, for the same values.

private let utc = LogLineOptions(timeZone: .utc)

/// The record of `curl http://127.0.0.1:18081/foo?x=1` answered by `http-request return`.
private func returnedByProxy(frontend: String = "fe_http", port: Int = 35908,
                             date: Int64 = utcMicros(2026, 11, 29, 5, 41, 48, micro: 668_421),
                             requestLine: String = "GET /foo?x=1 HTTP/1.1") -> TransactionLogRecord {
    var r = TransactionLogRecord(clientAddress: "127.0.0.1", clientPort: port,
                                 acceptDateMicroseconds: date, requestDateMicroseconds: date,
                                 frontendName: frontend, backendName: frontend, serverName: "<NOSRV>")
    r.requestHeadTime = 0
    r.activeTime = 0
    r.totalTime = 0
    r.status = 200
    r.bytesToClient = 76
    r.terminationState = "LR--"
    r.processConnections = 1
    r.frontendConnections = 1
    r.requestLine = requestLine
    return r
}

@Suite struct HTTPLogTests {
    @Test func returnedByHTTPRequestReturn() {
        #expect(LogLineFormatter.httplog(returnedByProxy(), options: utc) ==
            #"127.0.0.1:35908 [29/Nov/2026:05:41:48.668] fe_http fe_http/<NOSRV> 0/-1/-1/-1/0 200 76 - - LR-- 1/1/0/0/0 0/0 "GET /foo?x=1 HTTP/1.1""#)
    }

    @Test func forwardedToAServer() {
        let date = utcMicros(2026, 11, 29, 5, 41, 48, micro: 691_999)
        var r = TransactionLogRecord(clientAddress: "127.0.0.1", clientPort: 45808,
                                     acceptDateMicroseconds: date - 5_000, requestDateMicroseconds: date,
                                     frontendName: "fe_http_be", backendName: "fe_http_be", serverName: "s1")
        r.requestHeadTime = 0; r.queueTime = 0; r.connectTime = 0; r.responseTime = 0; r.activeTime = 0
        r.status = 200; r.bytesToClient = 76; r.terminationState = "----"
        r.processConnections = 2; r.frontendConnections = 1
        r.requestLine = "GET /viaBe HTTP/1.1"
        #expect(LogLineFormatter.httplog(r, options: utc) ==
            #"127.0.0.1:45808 [29/Nov/2026:05:41:48.691] fe_http_be fe_http_be/s1 0/0/0/0/0 200 76 - - ---- 2/1/0/0/0 0/0 "GET /viaBe HTTP/1.1""#)
    }

    @Test func badRequest() {
        var r = returnedByProxy(port: 35944, date: utcMicros(2026, 11, 29, 5, 41, 48, micro: 701_000),
                                requestLine: "<BADREQ>")
        r.requestHeadTime = -1; r.status = 400; r.bytesToClient = 0; r.terminationState = "PR--"
        r.processConnections = 2; r.frontendConnections = 2
        let expected = #"127.0.0.1:35944 [29/Nov/2026:05:41:48.701] fe_http fe_http/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 2/2/0/0/0 0/0 "<BADREQ>""#
        #expect(LogLineFormatter.httplog(r, options: utc) == expected)
        r.requestLine = ""   // nothing parsed at all: HAProxy prints <BADREQ> too
        #expect(LogLineFormatter.httplog(r, options: utc) == expected)
    }

    @Test func quoteAndHashInTheRequestLineAreEscaped() {
        // printf 'GET /q"u#o{|}t HTTP/1.1\r\n...' with option accept-invalid-http-request.
        let r = returnedByProxy(port: 56170, date: utcMicros(2026, 11, 29, 5, 43, 39, micro: 87_000),
                                requestLine: #"GET /q"u#o{|}t HTTP/1.1"#)
        #expect(LogLineFormatter.httplog(r, options: utc) ==
            #"127.0.0.1:56170 [29/Nov/2026:05:43:39.087] fe_http fe_http/<NOSRV> 0/-1/-1/-1/0 200 76 - - LR-- 1/1/0/0/0 0/0 "GET /q#22u#23o{|}t HTTP/1.1""#)
    }

    @Test func controlAndNonASCIIBytesAreEscaped() {
        let r = returnedByProxy(requestLine: "GET /t\u{01}\u{7F}é HTTP/1.1")
        #expect(LogLineFormatter.httplog(r, options: utc).hasSuffix(#" "GET /t#01#7F#C3#A9 HTTP/1.1""#))
    }

    @Test func capturedHeaders() {
        // capture request header Host len 32 / X-Missing len 10, capture response header
        // Content-Type len 20; curl -H 'Host: a{b|c}"d#e'.
        var r = returnedByProxy(frontend: "fe_cap", port: 45784,
                                date: utcMicros(2026, 11, 29, 5, 43, 44, micro: 930_500),
                                requestLine: "GET /cap HTTP/1.1")
        r.requestCaptures = [#"a{b|c}"d#e"#, nil]
        r.responseCaptures = [nil]
        #expect(LogLineFormatter.httplog(r, options: utc) ==
            #"127.0.0.1:45784 [29/Nov/2026:05:43:44.930] fe_cap fe_cap/<NOSRV> 0/-1/-1/-1/0 200 76 - - LR-- 1/1/0/0/0 0/0 {a#7Bb#7Cc#7D#22d#23e|} {} "GET /cap HTTP/1.1""#)
    }

    @Test func localTimeOfTheRequest() {
        // The same kind of request with TZ=Europe/Paris: 05:42:38 UTC is 06:42:38 there.
        let r = returnedByProxy(port: 53584, date: utcMicros(2026, 11, 29, 5, 42, 38, micro: 269_900))
        #expect(LogLineFormatter.httplog(r, options: LogLineOptions(timeZone: .fixed(offsetSeconds: 3600))) ==
            #"127.0.0.1:53584 [29/Nov/2026:06:42:38.269] fe_http fe_http/<NOSRV> 0/-1/-1/-1/0 200 76 - - LR-- 1/1/0/0/0 0/0 "GET /foo?x=1 HTTP/1.1""#)
    }

    @Test func httplogUsesTheRequestDateAndTcplogTheAcceptDate() {
        var r = returnedByProxy()
        r.acceptDateMicroseconds = utcMicros(2026, 1, 2, 3, 4, 5, micro: 6_000)
        r.requestDateMicroseconds = utcMicros(2026, 1, 2, 3, 4, 7, micro: 9_000)
        #expect(LogLineFormatter.httplog(r, options: utc).contains("[02/Jan/2026:03:04:07.009]"))
        #expect(LogLineFormatter.tcplog(r, options: utc).contains("[02/Jan/2026:03:04:05.006]"))
    }

    @Test func shortTerminationStatesArePadded() {
        var r = returnedByProxy()
        r.terminationState = "cD"
        #expect(LogLineFormatter.httplog(r, options: utc).contains(" - - cD-- 1/1/"))
    }

    @Test func ipv6Client() {
        var r = returnedByProxy()
        r.clientAddress = "::1"
        r.clientPort = 40000
        #expect(LogLineFormatter.httplog(r, options: utc).hasPrefix("::1:40000 [29/Nov/2026:05:41:48.668] "))
    }
}

@Suite struct HTTPSLogTests {
    @Test func plainConnection() {
        let r = returnedByProxy(frontend: "fe_https", port: 35116,
                                date: utcMicros(2026, 11, 29, 5, 41, 48, micro: 675_000),
                                requestLine: "GET /bar HTTP/1.1")
        #expect(LogLineFormatter.httpslog(r, options: utc) ==
            #"127.0.0.1:35116 [29/Nov/2026:05:41:48.675] fe_https fe_https/<NOSRV> 0/-1/-1/-1/0 200 76 - - LR-- 1/1/0/0/0 0/0 "GET /bar HTTP/1.1" 0/-/-/-/0 -/-/-"#)
        #expect(LogLineFormatter.line(r, format: .httpslog, options: utc) == LogLineFormatter.httpslog(r, options: utc))
    }

    @Test func withACapturedHeader() {
        var r = returnedByProxy(frontend: "fe_capreq", port: 43422,
                                date: utcMicros(2026, 11, 29, 5, 43, 44, micro: 937_000),
                                requestLine: "GET /cap2 HTTP/1.1")
        r.requestCaptures = ["127.0.0.1:18082"]
        #expect(LogLineFormatter.httpslog(r, options: utc) ==
            #"127.0.0.1:43422 [29/Nov/2026:05:43:44.937] fe_capreq fe_capreq/<NOSRV> 0/-1/-1/-1/0 200 76 - - LR-- 1/1/0/0/0 0/0 {127.0.0.1:18082} "GET /cap2 HTTP/1.1" 0/-/-/-/0 -/-/-"#)
    }
}

@Suite struct TCPLogTests {
    @Test func forwardedSession() {
        // listen fe_tcp, mode tcp, option tcplog, server s1; one HTTP exchange through it.
        let date = utcMicros(2026, 11, 29, 5, 41, 48, micro: 683_700)
        var r = TransactionLogRecord(clientAddress: "127.0.0.1", clientPort: 34254,
                                     acceptDateMicroseconds: date, requestDateMicroseconds: date + 1_000,
                                     frontendName: "fe_tcp", backendName: "fe_tcp", serverName: "s1")
        r.queueTime = 1; r.connectTime = 0; r.totalTime = 1
        r.bytesToClient = 69
        r.terminationState = "--"
        r.processConnections = 1; r.frontendConnections = 1
        let expected = "127.0.0.1:34254 [29/Nov/2026:05:41:48.683] fe_tcp fe_tcp/s1 1/0/1 69 -- 1/1/0/0/0 0/0"
        #expect(LogLineFormatter.tcplog(r, options: utc) == expected)
        r.terminationState = "----"   // only the first two characters belong to %ts
        #expect(LogLineFormatter.tcplog(r, options: utc) == expected)
        #expect(LogLineFormatter.line(r, format: .tcplog, options: utc) == expected)
    }

    @Test func unreachedPhases() {
        var r = TransactionLogRecord(clientAddress: "10.0.0.7", clientPort: 5, acceptDateMicroseconds: 0,
                                     requestDateMicroseconds: 0, frontendName: "f", backendName: "b",
                                     serverName: "<NOSRV>")
        r.totalTime = 3001; r.terminationState = "cR"; r.bytesToClient = 12_345_678_901
        r.processConnections = 10; r.frontendConnections = 9; r.backendConnections = 8
        r.serverConnections = 7; r.retries = 3; r.serverQueue = 2; r.backendQueue = 1
        #expect(LogLineFormatter.tcplog(r, options: utc) ==
            "10.0.0.7:5 [01/Jan/1970:00:00:00.000] f b/<NOSRV> -1/-1/3001 12345678901 cR 10/9/8/7/3 2/1")
    }
}

@Suite struct LongLineTests {
    private static let prefix = "127.0.0.1:42734 [29/Nov/2026:05:46:51.319] fe_http fe_http/<NOSRV> 0/-1/-1/-1/0 200 76 - - LR-- 1/1/0/0/0 0/0 "

    private func record(_ requestLine: String) -> TransactionLogRecord {
        returnedByProxy(port: 42734, date: utcMicros(2026, 11, 29, 5, 46, 51, micro: 319_000),
                        requestLine: requestLine)
    }

    @Test func lineIsCutAt1023Bytes() {
        // curl http://127.0.0.1:18081/aaaa... (1100 a): the line stops after 1023 bytes, inside
        // the request, without its closing quote.
        let line = LogLineFormatter.httplog(record("GET /" + String(repeating: "a", count: 1100) + " HTTP/1.1"), options: utc)
        #expect(line.utf8.count == 1023)
        #expect(line == Self.prefix + "\"GET /" + String(repeating: "a", count: 1023 - Self.prefix.utf8.count - 6))
    }

    @Test(arguments: [(880, 8, 1021), (881, 8, 1022), (882, 8, 1023), (883, 7, 1021)])
    func escapesNearTheEndStopEarlyAndTheQuoteCloses(_ a: Int, _ escapes: Int, _ length: Int) {
        // printf 'GET /<a x N><# x 60> HTTP/1.1' (accept-invalid-http-request): an escape needs
        // four free bytes; when it does not fit HAProxy stops the field and still closes the quote.
        let line = LogLineFormatter.httplog(
            record("GET /" + String(repeating: "a", count: a) + String(repeating: "#", count: 60) + " HTTP/1.1"),
            options: utc)
        #expect(line.utf8.count == length)
        #expect(line == Self.prefix + "\"GET /" + String(repeating: "a", count: a)
                + String(repeating: "#23", count: escapes) + "\"")
    }

    @Test func requestLineKeepsAtMost1023Bytes() {
        let long = "GET /" + String(repeating: "b", count: 2000) + " HTTP/1.1"
        let options = LogLineOptions(timeZone: .utc, maxLineLength: 4096)
        let line = LogLineFormatter.httplog(record(long), options: options)
        #expect(line == Self.prefix + "\"" + String(long.prefix(1023)) + "\"")
    }

    @Test func numbersAndDatesAreWrittenWholeOrNotAtAll() {
        let r = record("GET / HTTP/1.1")
        #expect(LogLineFormatter.httplog(r, options: LogLineOptions(timeZone: .utc, maxLineLength: 30)) ==
            "127.0.0.1:42734 [")
        #expect(LogLineFormatter.httplog(r, options: LogLineOptions(timeZone: .utc, maxLineLength: 14)) ==
            "127.0.0.1:")
    }
}
