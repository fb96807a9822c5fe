import BatonConfig
import BatonHTTP1

/// How a message's body is sent on to the other side.
enum OutgoingFraming: Equatable {
    case none
    case contentLength
    case chunked
    /// Sent raw and ended by closing the connection.
    case untilClose
}

/// The pure rules for rewriting heads between client and server (RFC 9110 section 7.6.1 and
/// RFC 9112), and for deciding whether each side's connection may stay open. No I/O here.
enum MessageRewriting {
    /// Whether the client asked to keep its connection open after this request.
    static func clientWantsKeepAlive(_ request: HTTPRequestHead) -> Bool {
        if request.version == .http1_1 { return !request.fields.connectionHasToken("close") }
        return request.fields.connectionHasToken("keep-alive")
    }

    /// Whether the request asks to switch protocols (WebSocket and the like).
    static func isUpgradeRequest(_ request: HTTPRequestHead) -> Bool {
        request.version == .http1_1 && request.fields.connectionHasToken("upgrade")
            && request.fields.contains(name: "upgrade")
    }

    /// The head sent to the server: hop-by-hop fields removed (but not the fields a Connection
    /// token names, as with HAProxy), framing restated, HAProxy's `option forwardfor` applied, and
    /// `Connection: close` when the server side will not be kept.
    static func serverRequestHead(
        for request: HTTPRequestHead,
        framing: HTTPBodyFraming,
        forwardFor: ForwardFor?,
        clientAddress: String?,
        clientAddressBytes: [UInt8]?,
        closeServerSide: Bool,
        upgrade: Bool
    ) -> (HTTPRequestHead, OutgoingFraming) {
        var fields = request.fields.removingHopByHopKeepingNominated()
        fields.removeAll(named: "content-length")
        if acceptsTrailers(request) {
            // TE is hop-by-hop, but its "trailers" token speaks for the whole chain (gRPC relies
            // on it); HAProxy passes it on the same way.
            fields.append(HTTPField("te", "trailers"))
        }
        var outgoing: OutgoingFraming
        switch framing {
        case .none:
            outgoing = .none
        case .contentLength(let length):
            fields.append(HTTPField("content-length", String(length)))
            outgoing = .contentLength
        case .chunked:
            fields.append(HTTPField("transfer-encoding", "chunked"))
            outgoing = .chunked
        case .untilClose:
            outgoing = .untilClose
        }
        if let forwardFor, let clientAddress {
            let excluded = forwardFor.except.map { network in
                clientAddressBytes.map(network.contains) ?? false
            } ?? false
            let present = forwardFor.ifNone && fields.contains(name: forwardFor.headerName)
            if !excluded && !present {
                fields.append(HTTPField(forwardFor.headerName, clientAddress))
            }
        }
        if upgrade {
            for value in request.fields.values(named: "upgrade") {
                fields.append(HTTPField("upgrade", value))
            }
            fields.append(HTTPField("connection", "upgrade"))
        } else if closeServerSide {
            fields.append(HTTPField("connection", "close"))
        }
        let head = HTTPRequestHead(method: request.method, target: request.target,
                                   version: .http1_1, fields: fields)
        return (head, outgoing)
    }

    /// `option originalto`: the address the client connected to, unless it lies in `except`.
    /// Nothing is added for a Unix socket (no address).
    static func addOriginalTo(_ originalTo: OriginalTo, to head: inout HTTPRequestHead, destination: String?,
                              destinationBytes: [UInt8]?) {
        guard let destination, let bytes = destinationBytes else { return }
        if let except = originalTo.except, except.contains(bytes) { return }
        head.fields.append(HTTPField(originalTo.headerName, destination))
    }

    /// Whether the client's TE field lists `trailers`.
    static func acceptsTrailers(_ request: HTTPRequestHead) -> Bool {
        for value in request.fields.values(named: "te") {
            for element in value.split(separator: ",") {
                let token = element.split(separator: ";").first.map { $0.trimmingASCIISpaces() } ?? ""
                if token.lowercased() == "trailers" { return true }
            }
        }
        return false
    }

    /// Whether the server allows reusing its connection after this response.
    static func serverAllowsReuse(_ response: HTTPResponseHead) -> Bool {
        if response.version == .http1_1 { return !response.fields.connectionHasToken("close") }
        return response.fields.connectionHasToken("keep-alive")
    }

    /// The head sent to the client and how its body is framed. `keepClientOpen` is the decision
    /// taken so far; it turns false when the body can only be delimited by closing.
    static func clientResponseHead(
        for response: HTTPResponseHead,
        framing: HTTPBodyFraming,
        clientVersion: HTTPVersion,
        keepClientOpen: Bool,
        upgrade: Bool
    ) -> (head: HTTPResponseHead, framing: OutgoingFraming, keepClientOpen: Bool) {
        var fields = response.fields.removingHopByHop()
        fields.removeAll(named: "content-length")
        var keepOpen = keepClientOpen
        var outgoing: OutgoingFraming
        switch framing {
        case .none:
            outgoing = .none
            // A HEAD or 304 response keeps the length the server stated.
            for value in response.fields.values(named: "content-length").prefix(1) {
                fields.append(HTTPField("content-length", value))
            }
        case .contentLength(let length):
            fields.append(HTTPField("content-length", String(length)))
            outgoing = .contentLength
        case .chunked:
            if clientVersion == .http1_1 {
                fields.append(HTTPField("transfer-encoding", "chunked"))
                outgoing = .chunked
            } else {
                outgoing = .untilClose
                keepOpen = false
            }
        case .untilClose:
            outgoing = .untilClose
            keepOpen = false
        }
        if upgrade {
            for value in response.fields.values(named: "upgrade") {
                fields.append(HTTPField("upgrade", value))
            }
            fields.append(HTTPField("connection", "upgrade"))
        } else if !keepOpen {
            fields.append(HTTPField("connection", "close"))
        } else if clientVersion == .http1_0 {
            fields.append(HTTPField("connection", "keep-alive"))
        }
        let head = HTTPResponseHead(version: .http1_1, status: response.status,
                                    reason: response.reason, fields: fields)
        return (head, outgoing, keepOpen)
    }

    /// The path of a request target, for `monitor-uri` (which HAProxy compares with the whole
    /// URI as received).
    static func matchesMonitorURI(_ target: String, _ uri: String) -> Bool {
        target == uri
    }
}

extension Substring {
    func trimmingASCIISpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
