import NIOCore

/// The direction-independent part of the parsers: the cumulation buffer, header-section scanning, body framing
/// (Content-Length, chunked, until-close) and the state between messages. Request and response parsers add
/// start-line parsing and the framing rules of their direction.
struct MessageDecoder: Sendable {
    enum BodyState: Sendable {
        case length(remaining: UInt64)
        case chunkSizeLine
        case chunkData(remaining: UInt64)
        case chunkDataEnd
        case trailers
        case untilClose
    }

    enum Phase: Sendable {
        /// Waiting for (or in the middle of) a header section.
        case awaitingHead
        /// A head without body was delivered; `.end` is next.
        case endPending
        case body(BodyState)
        /// No more messages: the connection became a tunnel, or an until-close body ended.
        case stopped
        case failed(HTTPParserError)
    }

    static let maxChunkSizeLineBytes = 4096

    private(set) var buffer = ByteBuffer()
    var phase: Phase = .awaitingHead
    private(set) var eof = false
    /// After the current message's `.end`, stop instead of waiting for another message.
    private var stopAfterEnd = false
    private var headScanner: HeadScanner
    private var trailerScanner: HeadScanner
    private var chunkLineScanned = 0

    init(maxHeadBytes: Int, maxStartLineBytes: Int, startLineError: HTTPParserError, maxFields: Int) {
        self.headScanner = HeadScanner(
            maxBytes: maxHeadBytes,
            maxStartLineBytes: maxStartLineBytes,
            startLineError: startLineError,
            hasStartLine: true,
            maxFields: maxFields
        )
        self.trailerScanner = HeadScanner(
            maxBytes: maxHeadBytes,
            maxStartLineBytes: .max,
            startLineError: .headersTooLarge,
            hasStartLine: false,
            maxFields: maxFields
        )
    }

    // MARK: Input

    mutating func append(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        if self.buffer.readableBytes == 0 {
            // The common case: everything so far was consumed; adopt the received buffer without copying.
            self.buffer = bytes
            return
        }
        if self.buffer.readerIndex > 0 && self.buffer.readerIndex >= self.buffer.readableBytes {
            self.buffer.discardReadBytes()
        }
        self.buffer.writeImmutableBuffer(bytes)
    }

    /// Drops the buffer once everything in it was consumed, so that a connection between
    /// messages holds no buffer of its own (the next read brings a new one).
    mutating func releaseDrainedBuffer() {
        if self.buffer.readableBytes == 0 && self.buffer.capacity > 0 {
            self.buffer = ByteBuffer()
        }
    }

    mutating func markEndOfInput() {
        self.eof = true
    }

    mutating func takeRemainingBytes() -> ByteBuffer {
        let remaining = self.buffer
        self.buffer = ByteBuffer()
        self.headScanner.reset()
        self.trailerScanner.reset()
        self.chunkLineScanned = 0
        return remaining
    }

    var isIdle: Bool {
        if case .awaitingHead = self.phase, self.buffer.readableBytes == 0 { return true }
        return false
    }

    // MARK: Heads

    /// The length of the complete header section at the start of the buffer, or nil if more bytes are needed.
    /// At end of input, a partial section is `.truncated`.
    mutating func findHead() throws(HTTPParserError) -> Int? {
        if let length = try self.headScanner.scan(&self.buffer) { return length }
        if self.eof {
            let readable = self.buffer.readableBytes
            // A lone CR may be the start of an ignorable empty line; anything else is a cut message.
            if readable > 1 || (readable == 1 && self.buffer.getInteger(at: self.buffer.readerIndex, as: UInt8.self) != ASCII.cr) {
                throw .truncated
            }
        }
        return nil
    }

    /// Number of complete lines of the section found by `findHead` (start line included).
    var headLineCount: Int { self.headScanner.lineCount }

    /// Runs `parse` over the `length` bytes of the header section found by `findHead`, then consumes them.
    mutating func consumeHead<R>(
        length: Int,
        _ parse: (UnsafeRawBufferPointer) throws(HTTPParserError) -> R
    ) throws(HTTPParserError) -> R {
        let result: Result<R, HTTPParserError> = self.buffer.withUnsafeReadableBytes { p in
            Result { () throws(HTTPParserError) -> R in
                try parse(UnsafeRawBufferPointer(rebasing: p[0..<length]))
            }
        }
        let value = try result.get()
        self.buffer.moveReaderIndex(forwardBy: length)
        self.headScanner.reset()
        return value
    }

    /// Enters the body phase for the head just delivered.
    mutating func beginBody(_ framing: HTTPBodyFraming, stopAfterEnd: Bool) {
        self.stopAfterEnd = stopAfterEnd
        switch framing {
        case .none, .contentLength(0):
            self.phase = .endPending
        case .contentLength(let length):
            self.phase = .body(.length(remaining: length))
        case .chunked:
            self.phase = .body(.chunkSizeLine)
        case .untilClose:
            self.stopAfterEnd = true
            self.phase = .body(.untilClose)
        }
    }

    // MARK: Bodies

    /// The next event after a head: body pieces and `.end`. Must not be called in `.awaitingHead`.
    mutating func nextBodyEvent<Head>() throws(HTTPParserError) -> HTTPParserEvent<Head>? {
        switch self.phase {
        case .endPending:
            self.finishMessage()
            return .end(trailers: [])
        case .body(let state):
            return try self.nextBodyEvent(state)
        case .stopped, .awaitingHead:
            return nil
        case .failed(let error):
            throw error
        }
    }

    private mutating func finishMessage() {
        self.phase = self.stopAfterEnd ? .stopped : .awaitingHead
        self.stopAfterEnd = false
    }

    /// Slices up to `remaining` bytes off the buffer; nil if it is empty.
    private mutating func readPayload(upTo remaining: UInt64) -> ByteBuffer? {
        let readable = self.buffer.readableBytes
        guard readable > 0 else { return nil }
        let count = remaining < UInt64(readable) ? Int(remaining) : readable
        return self.buffer.readSlice(length: count)
    }

    private mutating func nextBodyEvent<Head>(_ start: BodyState) throws(HTTPParserError) -> HTTPParserEvent<Head>? {
        var state = start
        while true {
            switch state {
            case .length(let remaining):
                if remaining == 0 {
                    self.finishMessage()
                    return .end(trailers: [])
                }
                guard let piece = self.readPayload(upTo: remaining) else {
                    return try self.needMore(state)
                }
                self.phase = .body(.length(remaining: remaining - UInt64(piece.readableBytes)))
                return .body(piece)

            case .untilClose:
                if let piece = self.readPayload(upTo: .max) {
                    return .body(piece)
                }
                if self.eof {
                    self.finishMessage()
                    return .end(trailers: [])
                }
                return nil

            case .chunkSizeLine:
                guard let size = try self.readChunkSizeLine() else { return try self.needMore(state) }
                state = size == 0 ? .trailers : .chunkData(remaining: size)

            case .chunkData(let remaining):
                guard let piece = self.readPayload(upTo: remaining) else { return try self.needMore(state) }
                let left = remaining - UInt64(piece.readableBytes)
                self.phase = .body(left == 0 ? .chunkDataEnd : .chunkData(remaining: left))
                return .body(piece)

            case .chunkDataEnd:
                let readable = self.buffer.readableBytes
                let index = self.buffer.readerIndex
                if readable >= 1 && self.buffer.getInteger(at: index, as: UInt8.self) != ASCII.cr {
                    throw .badMessage("chunk data not followed by CRLF")
                }
                guard readable >= 2 else { return try self.needMore(state) }
                guard self.buffer.getInteger(at: index + 1, as: UInt8.self) == ASCII.lf else {
                    throw .badMessage("chunk data not followed by CRLF")
                }
                self.buffer.moveReaderIndex(forwardBy: 2)
                state = .chunkSizeLine

            case .trailers:
                guard let length = try self.trailerScanner.scan(&self.buffer) else { return try self.needMore(state) }
                let capacity = self.trailerScanner.lineCount
                let result: Result<[HTTPField], HTTPParserError> = self.buffer.withUnsafeReadableBytes { p in
                    Result { () throws(HTTPParserError) -> [HTTPField] in
                        var facts = FramingFacts()
                        return try FieldParser.parseFields(
                            UnsafeRawBufferPointer(rebasing: p[0..<length]),
                            from: 0,
                            capacity: capacity,
                            facts: &facts,
                            collectFacts: false
                        )
                    }
                }
                let trailers = try result.get()
                self.buffer.moveReaderIndex(forwardBy: length)
                self.trailerScanner.reset()
                self.finishMessage()
                return .end(trailers: trailers)
            }
        }
    }

    /// Records where the body stopped for lack of bytes; a message cut by end of input is `.truncated`.
    private mutating func needMore<Head>(_ state: BodyState) throws(HTTPParserError) -> HTTPParserEvent<Head>? {
        if self.eof { throw .truncated }
        self.phase = .body(state)
        return nil
    }

    /// chunk-size [ chunk-ext ] CRLF (RFC 9112 section 7.1). Returns the size once the whole line is buffered.
    private mutating func readChunkSizeLine() throws(HTTPParserError) -> UInt64? {
        let readable = self.buffer.readableBytes
        let limit = min(readable, Self.maxChunkSizeLineBytes)
        let scanFrom = self.chunkLineScanned
        let result: Result<(size: UInt64, length: Int)?, HTTPParserError> = self.buffer.withUnsafeReadableBytes { p in
            Result { () throws(HTTPParserError) -> (size: UInt64, length: Int)? in
                guard let lf = ASCII.find(ASCII.lf, in: p, from: scanFrom, to: limit) else { return nil }
                guard lf > 0 && p[lf - 1] == ASCII.cr else { throw .badMessage("bare LF in chunk size line") }
                let size = try ChunkSizeLine.parse(p, end: lf - 1)
                return (size, lf + 1)
            }
        }
        guard let (size, length) = try result.get() else {
            if readable >= Self.maxChunkSizeLineBytes { throw .badMessage("chunk size line too long") }
            self.chunkLineScanned = limit
            return nil
        }
        self.buffer.moveReaderIndex(forwardBy: length)
        self.chunkLineScanned = 0
        return size
    }
}
