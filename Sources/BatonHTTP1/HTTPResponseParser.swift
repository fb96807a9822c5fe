import NIOCore

/// Incremental, strict HTTP/1.1 response parser (RFC 9112), with the same API and strictness as
/// `HTTPRequestParser`.
///
/// Whether a response has a body depends on its request, so call `expectResponse(toMethod:)` once per request
/// sent, in order (pipelining is supported); a response that arrives with no request outstanding is an error.
///
/// - HEAD responses, 1xx, 204 and 304 have no body: `.head(_, .none)` is followed by `.end`.
/// - 1xx interim responses (100, 103, ...) are delivered as their own `.head` + `.end`; the parser then waits
///   for the final response to the same request.
/// - After a 101, or a 2xx to CONNECT, the connection is a tunnel: the parser delivers `.head` + `.end` and stops
///   (`next()` returns nil); take the bytes that followed with `takeRemainingBytes`.
/// - Without Content-Length or chunked framing, the body is `.untilClose`: it ends at `endOfInput()`, after
///   which the parser stops.
public struct HTTPResponseParser: Sendable {
    private enum RequestKind: Sendable {
        case head
        case connect
        case other
    }

    private var decoder: MessageDecoder
    private var expected: [RequestKind] = []

    /// - Parameters:
    ///   - maxHeadBytes: the largest header section, status line and final CRLF included (else `.headersTooLarge`).
    ///   - maxStatusLineBytes: the largest status line, CRLF excluded (else `.headersTooLarge`).
    ///   - maxFields: the most field lines in the header section, and in a trailer section (else `.badMessage`).
    public init(maxHeadBytes: Int = 15360, maxStatusLineBytes: Int = 8192,
                maxFields: Int = HTTPRequestParser.defaultMaxFields) {
        self.decoder = MessageDecoder(
            maxHeadBytes: maxHeadBytes,
            maxStartLineBytes: maxStatusLineBytes,
            startLineError: .headersTooLarge,
            maxFields: maxFields
        )
    }

    /// Announces a request sent on this connection; call once per request, in the order they were sent.
    /// The method is compared case-sensitively (RFC 9110 section 9.1).
    public mutating func expectResponse(toMethod method: String) {
        switch method {
        case "HEAD": self.expected.append(.head)
        case "CONNECT": self.expected.append(.connect)
        default: self.expected.append(.other)
        }
    }

    /// Requests announced whose final response head has not been parsed yet.
    public var pendingResponseCount: Int { self.expected.count }

    /// Appends received bytes. Nothing is copied when everything appended before was consumed.
    public mutating func append(_ bytes: ByteBuffer) {
        self.decoder.append(bytes)
    }

    /// The next event, or nil when more bytes are needed (or after a 101 / CONNECT tunnel / until-close end).
    public mutating func next() throws(HTTPParserError) -> HTTPParserEvent<HTTPResponseHead>? {
        do throws(HTTPParserError) {
            guard case .awaitingHead = self.decoder.phase else {
                return try self.decoder.nextBodyEvent()
            }
            guard let length = try self.decoder.findHead() else { return nil }
            guard let request = self.expected.first else {
                throw .badMessage("response without a request")
            }
            let lineCount = self.decoder.headLineCount
            let (head, facts) = try self.decoder.consumeHead(length: length) {
                (p) throws(HTTPParserError) -> (HTTPResponseHead, FramingFacts) in
                try ResponseHeadParser.parse(p, fieldCapacity: lineCount - 1)
            }
            let framing: HTTPBodyFraming
            var stop = false
            switch head.status {
            case 101:
                framing = .none
                stop = true
            case 100..<200, 204, 304:
                framing = .none
            case 200..<300 where request == .connect:
                framing = .none
                stop = true
            default:
                if request == .head {
                    framing = .none
                } else if facts.chunked {
                    framing = .chunked
                } else if let length = facts.contentLength {
                    framing = .contentLength(length)
                } else {
                    framing = .untilClose
                }
            }
            if head.status >= 200 || head.status == 101 {
                self.expected.removeFirst()
            }
            self.decoder.beginBody(framing, stopAfterEnd: stop)
            return .head(head, framing)
        } catch {
            self.decoder.phase = .failed(error)
            throw error
        }
    }

    /// The server closed its sending side. Returns the next event as `next()` would, knowing that no more bytes
    /// will come: `.end` for an until-close body, `.truncated` if a message is incomplete, nil when idle.
    public mutating func endOfInput() throws(HTTPParserError) -> HTTPParserEvent<HTTPResponseHead>? {
        self.decoder.markEndOfInput()
        return try self.next()
    }

    /// Removes and returns the bytes buffered but not yet consumed, e.g. the first tunnel bytes after a 101.
    public mutating func takeRemainingBytes() -> ByteBuffer {
        self.decoder.takeRemainingBytes()
    }

    /// Lets go of the input buffer when everything in it was consumed: an idle connection then
    /// holds no buffer.
    public mutating func releaseDrainedBuffer() {
        self.decoder.releaseDrainedBuffer()
    }

    /// Between messages, with nothing buffered.
    public var isIdle: Bool { self.decoder.isIdle }

    /// Bytes appended but not yet consumed (pipelined messages wait here); the proxy stops reading
    /// from the peer while this grows past its limit.
    public var bufferedBytes: Int { self.decoder.buffer.readableBytes }
}

/// status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF; the final SP may be missing too.
enum ResponseHeadParser {
    static func parse(
        _ p: UnsafeRawBufferPointer,
        fieldCapacity: Int
    ) throws(HTTPParserError) -> (HTTPResponseHead, FramingFacts) {
        guard let version = HTTPVersionBytes.parse(p, at: 0) else {
            throw .badMessage("invalid or unsupported HTTP version")
        }
        // "HTTP/1.1 200" is 12 bytes, and the section has at least a CRLF after it.
        guard p.count >= 14, p[8] == ASCII.sp,
            ASCII.isDigit(p[9]), ASCII.isDigit(p[10]), ASCII.isDigit(p[11])
        else {
            throw .badMessage("invalid status line")
        }
        let status = Int(p[9] &- ASCII.zero) * 100 + Int(p[10] &- ASCII.zero) * 10 + Int(p[11] &- ASCII.zero)
        guard (100...599).contains(status) else { throw .badMessage("invalid status code") }

        var i = 12
        var reason = ""
        if p[i] == ASCII.sp {
            i += 1
            let reasonStart = i
            // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
            while p[i] != ASCII.cr {
                guard ASCII.isFieldValueByte(p[i]) else { throw .badMessage("invalid reason phrase") }
                i += 1
            }
            if i > reasonStart {
                reason = String(decoding: UnsafeRawBufferPointer(rebasing: p[reasonStart..<i]), as: UTF8.self)
            }
        }
        guard p[i] == ASCII.cr, p[i + 1] == ASCII.lf else { throw .badMessage("invalid status line") }
        i += 2

        var facts = FramingFacts()
        let fields = try FieldParser.parseFields(p, from: i, capacity: fieldCapacity, facts: &facts, collectFacts: true)
        try facts.validate(version: version)
        return (HTTPResponseHead(version: version, status: status, reason: reason, fields: fields), facts)
    }
}
