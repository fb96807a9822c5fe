import NIOCore

/// One header field as received, name case preserved.
///
/// A field value may carry obs-text (bytes 0x80 to 0xFF, RFC 9110 section 5.5) that is not valid UTF-8, such as
/// a lone Latin-1 0xE9. A Swift String cannot hold such bytes, so the field then keeps them in `rawValue`, and
/// `value` is a readable copy with U+FFFD in their place: the bytes serialized (and so forwarded) are always
/// `rawValue`'s, exactly as received. Assigning `value` drops `rawValue`.
public struct HTTPField: Sendable, Hashable {
    public var name: String
    /// The value as text. For a value that was not valid UTF-8, a copy with U+FFFD replacing the invalid bytes
    /// (see `rawValue`).
    public var value: String {
        get { self.text }
        set {
            self.text = newValue
            self.rawValue = nil
        }
    }
    @usableFromInline var text: String
    /// The value's bytes as received, kept only when they are not valid UTF-8; nil otherwise (then `value`'s UTF-8
    /// is the value's bytes).
    public private(set) var rawValue: [UInt8]?

    public init(_ name: String, _ value: String) {
        self.name = name
        self.text = value
        self.rawValue = nil
    }

    /// A field whose value is `bytes` exactly: as a String when they are valid UTF-8, else kept raw.
    public init(_ name: String, valueBytes bytes: some Collection<UInt8>) {
        self.name = name
        let text = String(decoding: bytes, as: UTF8.self)
        self.text = text
        self.rawValue = text.utf8.elementsEqual(bytes) ? nil : Array(bytes)
    }

    /// The value's bytes as they are serialized.
    public var valueBytes: [UInt8] { self.rawValue ?? Array(self.text.utf8) }

    /// How many bytes the value takes when serialized.
    @inlinable
    public var valueByteCount: Int { self.rawValue?.count ?? self.text.utf8.count }
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
