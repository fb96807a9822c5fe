import NIOCore

/// One header field as received, name case preserved.
public struct HTTPField: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}

public struct HTTPRequestHead: Sendable, Hashable {
    public var method: String
    public var target: String
    public var version: HTTPVersion
    public var fields: [HTTPField]

    public init(method: String, target: String, version: HTTPVersion, fields: [HTTPField]) {
        self.method = method
        self.target = target
        self.version = version
        self.fields = fields
    }
}

public struct HTTPResponseHead: Sendable, Hashable {
    public var version: HTTPVersion
    public var status: Int
    public var reason: String
    public var fields: [HTTPField]

    public init(version: HTTPVersion, status: Int, reason: String, fields: [HTTPField]) {
        self.version = version
        self.status = status
        self.reason = reason
        self.fields = fields
    }
}

/// How a message's body is delimited (RFC 9112 section 6).
public enum HTTPBodyFraming: Sendable, Hashable {
    case none
    case contentLength(UInt64)
    case chunked
    /// Responses only: the body ends when the server closes the connection.
    case untilClose
}

/// What a parser hands out, in order: a head, body pieces, then the end.
public enum HTTPParserEvent<Head: Sendable & Hashable>: Sendable, Hashable {
    case head(Head, HTTPBodyFraming)
    /// A piece of payload; chunked framing already removed.
    case body(ByteBuffer)
    /// The message is complete; trailer fields of a chunked body, if any.
    case end(trailers: [HTTPField])
}

/// Why a message was refused. Requests map to 400, 413, 414 or 431; responses to 502.
public enum HTTPParserError: Error, Sendable, Hashable {
    /// Malformed syntax or ambiguous framing; the reason is for logs only.
    case badMessage(String)
    /// The header section exceeded the limit.
    case headersTooLarge
    /// The request line exceeded the limit.
    case uriTooLong
    /// The peer closed before the message was complete.
    case truncated

    public var requestStatus: Int {
        switch self {
        case .badMessage, .truncated: return 400
        case .headersTooLarge: return 431
        case .uriTooLong: return 414
        }
    }
}
