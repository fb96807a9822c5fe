import NIOCore
import Testing

@testable import BatonHTTP1

@Suite("Field helpers")
struct FieldHelperTests {
    let fields = [
        HTTPField("Host", "example.com"),
        HTTPField("Accept", "text/html"),
        HTTPField("accept", "application/json"),
        HTTPField("X-Straße", "unicode name is never equal to ASCII"),
    ]

    @Test func lookupIsCaseInsensitive() {
        #expect(self.fields.first(named: "HOST") == "example.com")
        #expect(self.fields.first(named: "accept") == "text/html")
        #expect(self.fields.first(named: "Missing") == nil)
        #expect(self.fields.values(named: "ACCEPT") == ["text/html", "application/json"])
        #expect(self.fields.values(named: "none").isEmpty)
        #expect(self.fields.contains(name: "hOsT"))
        #expect(!self.fields.contains(name: "Hos"))
        #expect(!self.fields.contains(name: "Hostx"))
        #expect(HTTPField("Content-Type", "x").hasName("content-type"))
        #expect(!HTTPField("Content-Type", "x").hasName("content-typf"))
    }

    @Test func comparisonIsASCIIOnly() {
        // Non-ASCII letters are not case-folded, and "K" (Kelvin sign) is not "k".
        #expect(!self.fields.contains(name: "X-STRASSE"))
        #expect(self.fields.contains(name: "X-Straße"))
        #expect(![HTTPField("\u{212A}eep-Alive", "")].contains(name: "keep-alive"))
        // Bytes differing by 0x20 that are not letters must not match.
        #expect(![HTTPField("X-A@", "")].contains(name: "x-a`"))
        #expect(![HTTPField("X_1", "")].contains(name: "x\u{7F}1"))
    }

    @Test func removeAllNamed() {
        var copy = self.fields
        copy.removeAll(named: "ACCEPT")
        #expect(copy == [HTTPField("Host", "example.com"), HTTPField("X-Straße", "unicode name is never equal to ASCII")])
    }

    @Test func connectionTokens() {
        let fields = [
            HTTPField("Connection", "Keep-Alive, UPGRADE"),
            HTTPField("Other", "close"),
            HTTPField("connection", " ,X-Custom ,, close\t"),
        ]
        #expect(fields.connectionTokens == ["keep-alive", "upgrade", "x-custom", "close"])
        #expect(fields.connectionHasToken("Close"))
        #expect(fields.connectionHasToken("upgrade"))
        #expect(!fields.connectionHasToken("clos"))
        #expect([HTTPField]().connectionTokens.isEmpty)
    }

    @Test func removingHopByHop() {
        let fields = [
            HTTPField("Host", "a"),
            HTTPField("Connection", "close, X-Secret"),
            HTTPField("Keep-Alive", "timeout=5"),
            HTTPField("Proxy-Connection", "keep-alive"),
            HTTPField("TE", "trailers"),
            HTTPField("Trailer", "X-Sum"),
            HTTPField("Transfer-Encoding", "chunked"),
            HTTPField("Upgrade", "websocket"),
            HTTPField("x-secret", "1"),
            HTTPField("Content-Type", "text/plain"),
            HTTPField("Proxy-Authorization", "stays (end to end per RFC 9110)"),
            HTTPField("Tex", "not TE"),
        ]
        #expect(
            fields.removingHopByHop() == [
                HTTPField("Host", "a"),
                HTTPField("Content-Type", "text/plain"),
                HTTPField("Proxy-Authorization", "stays (end to end per RFC 9110)"),
                HTTPField("Tex", "not TE"),
            ]
        )
    }

    @Test func removingHopByHopKeepsOrderAndIsCaseInsensitive() {
        let fields = [
            HTTPField("A", "1"),
            HTTPField("CONNECTION", "b"),
            HTTPField("B", "2"),
            HTTPField("KEEP-ALIVE", "x"),
            HTTPField("C", "3"),
            HTTPField("te", "trailers"),
        ]
        #expect(fields.removingHopByHop() == [HTTPField("A", "1"), HTTPField("C", "3")])
        #expect([HTTPField("A", "1")].removingHopByHop() == [HTTPField("A", "1")])
    }
}
