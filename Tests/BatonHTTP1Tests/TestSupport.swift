import NIOCore
import Testing

@testable import BatonHTTP1

typealias RequestEvent = HTTPParserEvent<HTTPRequestHead>
typealias ResponseEvent = HTTPParserEvent<HTTPResponseHead>

/// The error case without its log-only reason, for exact assertions.
enum ErrorKind: Error, Hashable, Sendable {
    case badMessage
    case headersTooLarge
    case uriTooLong
    case truncated
}

extension HTTPParserError {
    var kind: ErrorKind {
        switch self {
        case .badMessage: return .badMessage
        case .headersTooLarge: return .headersTooLarge
        case .uriTooLong: return .uriTooLong
        case .truncated: return .truncated
        }
    }
}

/// What both parsers have in common, so that the helpers below drive either.
protocol EventParser {
    associatedtype Head: Sendable & Hashable
    mutating func append(_ bytes: ByteBuffer)
    mutating func next() throws(HTTPParserError) -> HTTPParserEvent<Head>?
    mutating func endOfInput() throws(HTTPParserError) -> HTTPParserEvent<Head>?
}

extension HTTPRequestParser: EventParser {}
extension HTTPResponseParser: EventParser {}

func buffer(_ string: String) -> ByteBuffer { ByteBuffer(string: string) }

func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

/// Feeds `chunks` one at a time, draining events after each, then signals end of input if asked.
func drive<P: EventParser>(
    _ parser: inout P,
    _ chunks: [ByteBuffer],
    endOfInput: Bool = false
) throws(HTTPParserError) -> [HTTPParserEvent<P.Head>] {
    var events: [HTTPParserEvent<P.Head>] = []
    for chunk in chunks {
        parser.append(chunk)
        while let event = try parser.next() { events.append(event) }
    }
    if endOfInput, let event = try parser.endOfInput() {
        events.append(event)
        while let event = try parser.next() { events.append(event) }
    }
    return events
}

func parseRequests(
    _ raw: String,
    endOfInput: Bool = false,
    parser: HTTPRequestParser = HTTPRequestParser()
) throws(HTTPParserError) -> [RequestEvent] {
    var parser = parser
    return try drive(&parser, [buffer(raw)], endOfInput: endOfInput)
}

/// The error kind a request stream fails with, or nil if it parses.
func requestError(_ raw: String, endOfInput: Bool = false, parser: HTTPRequestParser = HTTPRequestParser()) -> ErrorKind? {
    requestError(bytes: Array(raw.utf8), endOfInput: endOfInput, parser: parser)
}

func requestError(bytes: [UInt8], endOfInput: Bool = false, parser: HTTPRequestParser = HTTPRequestParser()) -> ErrorKind? {
    var parser = parser
    do {
        _ = try drive(&parser, [buffer(bytes)], endOfInput: endOfInput)
        return nil
    } catch {
        return error.kind
    }
}

func responseParser(expecting methods: [String]) -> HTTPResponseParser {
    var parser = HTTPResponseParser()
    for method in methods { parser.expectResponse(toMethod: method) }
    return parser
}

func parseResponses(
    _ raw: String,
    methods: [String] = ["GET"],
    endOfInput: Bool = false
) throws(HTTPParserError) -> [ResponseEvent] {
    var parser = responseParser(expecting: methods)
    return try drive(&parser, [buffer(raw)], endOfInput: endOfInput)
}

func responseError(_ raw: String, methods: [String] = ["GET"], endOfInput: Bool = false) -> ErrorKind? {
    var parser = responseParser(expecting: methods)
    do {
        _ = try drive(&parser, [buffer(raw)], endOfInput: endOfInput)
        return nil
    } catch {
        return error.kind
    }
}

/// Merges consecutive `.body` events, so that streams fed in different splits compare equal.
func coalesced<Head>(_ events: [HTTPParserEvent<Head>]) -> [HTTPParserEvent<Head>] {
    var result: [HTTPParserEvent<Head>] = []
    for event in events {
        if case .body(let piece) = event, case .body(var previous)? = result.last {
            previous.writeImmutableBuffer(piece)
            result[result.count - 1] = .body(previous)
        } else {
            result.append(event)
        }
    }
    return result
}

/// All body bytes of the events, as a string.
func bodyString<Head>(_ events: [HTTPParserEvent<Head>]) -> String {
    var result = ""
    for case .body(let piece) in events { result += String(buffer: piece) }
    return result
}

func requestHead(_ event: RequestEvent?) -> (HTTPRequestHead, HTTPBodyFraming)? {
    if case .head(let head, let framing)? = event { return (head, framing) }
    return nil
}

func responseHead(_ event: ResponseEvent?) -> (HTTPResponseHead, HTTPBodyFraming)? {
    if case .head(let head, let framing)? = event { return (head, framing) }
    return nil
}

/// Deterministic PRNG (SplitMix64) for reproducible random splits.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Splits `bytes` into pieces: one byte each (`maxPiece == 1`) or random lengths in 1...maxPiece.
func split(_ bytes: [UInt8], maxPiece: Int, using rng: inout SplitMix64) -> [ByteBuffer] {
    var pieces: [ByteBuffer] = []
    var i = 0
    while i < bytes.count {
        let length = min(Int.random(in: 1...maxPiece, using: &rng), bytes.count - i)
        pieces.append(ByteBuffer(bytes: bytes[i..<(i + length)]))
        i += length
    }
    return pieces
}
