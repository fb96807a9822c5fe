import NIOCore

/// Incremental, strict HTTP/1.1 request parser (RFC 9112). A pure state machine: feed it bytes with `append`,
/// pull events with `next` until it returns nil, and call `endOfInput` when the client closed its sending side.
///
/// Every message produces `.head`, zero or more `.body` pieces (slices of the appended buffers, chunked framing
/// removed), then `.end`. Parsing is lazy: nothing beyond the current event is consumed, so after a CONNECT or
/// an upgrade request the caller can stop and take the following bytes raw with `takeRemainingBytes`.
/// Anything ambiguous is refused; once an error was thrown, every call throws it again.
public struct HTTPRequestParser: Sendable {
    private var decoder: MessageDecoder

    /// - Parameters:
    ///   - maxHeadBytes: the largest header section, request line and final CRLF included (else `.headersTooLarge`).
    ///   - maxRequestLineBytes: the largest request line, CRLF excluded (else `.uriTooLong`).
    ///   - maxFields: the most field lines in the header section, and in a trailer section (else `.badMessage`,
    ///     a 400, as HAProxy answers past `tune.http.maxhdr`).
    public init(maxHeadBytes: Int = 15360, maxRequestLineBytes: Int = 8192, maxFields: Int = defaultMaxFields) {
        self.decoder = MessageDecoder(
            maxHeadBytes: maxHeadBytes,
            maxStartLineBytes: maxRequestLineBytes,
            startLineError: .uriTooLong,
            maxFields: maxFields
        )
    }

    /// HAProxy's default `tune.http.maxhdr` is 101 header slots, one of which its parser takes for the end of the
    /// section: 100 field lines are accepted, 101 are refused.
    public static let defaultMaxFields = 100

    /// The field-line limit for a `tune.http.maxhdr` value (1...32767).
    public static func maxFields(forMaxHeaderSlots slots: Int) -> Int {
        max(slots - 1, 0)
    }

    /// Appends received bytes. Nothing is copied when everything appended before was consumed.
    public mutating func append(_ bytes: ByteBuffer) {
        self.decoder.append(bytes)
    }

    /// The next event, or nil when more bytes are needed.
    public mutating func next() throws(HTTPParserError) -> HTTPParserEvent<HTTPRequestHead>? {
        do throws(HTTPParserError) {
            guard case .awaitingHead = self.decoder.phase else {
                return try self.decoder.nextBodyEvent()
            }
            guard let length = try self.decoder.findHead() else { return nil }
            let lineCount = self.decoder.headLineCount
            let (head, framing) = try self.decoder.consumeHead(length: length) {
                (p) throws(HTTPParserError) -> (HTTPRequestHead, HTTPBodyFraming) in
                try RequestHeadParser.parse(p, fieldCapacity: lineCount - 1)
            }
            self.decoder.beginBody(framing, stopAfterEnd: false)
            return .head(head, framing)
        } catch {
            self.decoder.phase = .failed(error)
            throw error
        }
    }

    /// The client closed its sending side. Returns the next event as `next()` would, knowing that no more bytes
    /// will come: throws `.truncated` if a message is incomplete, nil when idle. Later calls to `next()` keep
    /// returning any further buffered events.
    public mutating func endOfInput() throws(HTTPParserError) -> HTTPParserEvent<HTTPRequestHead>? {
        self.decoder.markEndOfInput()
        return try self.next()
    }

    /// Removes and returns the bytes buffered but not yet consumed, e.g. the first tunnel bytes after a CONNECT.
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

/// request-line = method SP request-target SP HTTP-version CRLF, then field lines.
enum RequestHeadParser {
    static func parse(
        _ p: UnsafeRawBufferPointer,
        fieldCapacity: Int
    ) throws(HTTPParserError) -> (HTTPRequestHead, HTTPBodyFraming) {
        // The section ends with CRLF, so every scan below stops before its end.
        var i = 0
        while ASCII.isTchar(p[i]) { i += 1 }
        guard i > 0, p[i] == ASCII.sp else { throw .badMessage("invalid method") }
        let methodBytes = 0..<i
        let method = ASCII.string(p, 0, i)
        i += 1

        // request-target: visible ASCII only (no SP, CTL, DEL or non-ASCII bytes).
        let targetStart = i
        ASCII.skipPrintable(p, &i, end: p.count, minimum: 0x21)
        while p[i] > 0x20 && p[i] < 0x7F { i += 1 }
        guard i > targetStart else { throw .badMessage("empty request target") }
        guard p[i] == ASCII.sp else { throw .badMessage("invalid request target") }
        let targetBytes = targetStart..<i
        let target = ASCII.string(p, targetStart, i)
        i += 1

        guard let version = HTTPVersionBytes.parse(p, at: i), i + 10 <= p.count,
            p[i + 8] == ASCII.cr, p[i + 9] == ASCII.lf
        else {
            throw .badMessage("invalid or unsupported HTTP version")
        }
        i += 10

        var facts = FramingFacts()
        let fields = try FieldParser.parseFields(p, from: i, capacity: fieldCapacity, facts: &facts, collectFacts: true)
        try facts.validate(version: version)

        if facts.hostCount > 1 { throw .badMessage("more than one Host field") }
        if facts.hostCount == 0 && version == .http1_1 { throw .badMessage("missing Host field") }
        try RequestTarget.validate(p, method: methodBytes, target: targetBytes, host: facts.hostValue)

        let framing: HTTPBodyFraming
        if facts.chunked {
            framing = .chunked
        } else if let length = facts.contentLength {
            framing = .contentLength(length)
        } else {
            framing = .none
        }
        return (HTTPRequestHead(method: method, target: target, version: version, fields: fields), framing)
    }
}

/// "HTTP/1.0" and "HTTP/1.1", the only versions accepted.
enum HTTPVersionBytes {
    @inline(__always)
    static func parse(_ p: UnsafeRawBufferPointer, at i: Int) -> HTTPVersion? {
        guard i + 8 <= p.count else { return nil }
        // The eight bytes read as a big-endian number, so that they compare with the literals below.
        let word = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        if word == 0x4854_5450_2F31_2E31 { return .http1_1 }  // "HTTP/1.1"
        if word == 0x4854_5450_2F31_2E30 { return .http1_0 }  // "HTTP/1.0"
        return nil
    }
}
