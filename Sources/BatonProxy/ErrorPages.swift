import BatonConfig
import NIOCore

/// The responses Baton generates itself (errors, `monitor-uri`, `http-request return`), built
/// once per configuration generation. The default bodies are HAProxy's, word for word; an
/// `errorfile` replaces one with the file's bytes, sent as they are.
public struct ErrorPages: Sendable {
    /// The proxy's own `errorfile` pages.
    private var custom: [Int: ByteBuffer]

    public init(errorFiles: [Int: ErrorFile] = [:]) {
        var custom: [Int: ByteBuffer] = [:]
        for (status, file) in errorFiles {
            custom[status] = ByteBuffer(bytes: file.contents)
        }
        self.custom = custom
    }

    /// The complete response for `status`: this proxy's `errorfile`, else `fallback`'s (the
    /// frontend's, when this is the backend, as HAProxy looks them up), else HAProxy's built-in
    /// page, else a generic page for a status HAProxy has no text for.
    public func response(for status: Int, fallback: ErrorPages? = nil) -> ByteBuffer {
        if let page = custom[status] ?? fallback?.custom[status] ?? Self.builtIn[status] { return page }
        return Self.render(status: status, reason: Self.reasonPhrase(status), message: "")
    }

    /// The same response announcing `connection: close`, for errors after which Baton closes
    /// the client connection (HAProxy's error path says so too). The field goes right after the
    /// status line, unless the page already has a Connection field.
    public func closingResponse(for status: Int, fallback: ErrorPages? = nil) -> ByteBuffer {
        Self.addingConnectionClose(to: response(for: status, fallback: fallback))
    }

    static func addingConnectionClose(to page: ByteBuffer) -> ByteBuffer {
        let bytes = page.readableBytesView
        guard let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return page }
        let headEnd = bytes.firstRange(of: Array("\r\n\r\n".utf8))?.lowerBound ?? bytes.endIndex
        let head = String(decoding: bytes[bytes.startIndex..<headEnd], as: UTF8.self).lowercased()
        if head.contains("\nconnection:") { return page }
        var result = ByteBuffer()
        result.reserveCapacity(page.readableBytes + 19)
        result.writeBytes(bytes[bytes.startIndex...lineEnd])
        result.writeString("connection: close\r\n")
        result.writeBytes(bytes[(lineEnd + 1)...])
        return result
    }

    static let builtIn: [Int: ByteBuffer] = {
        var pages: [Int: ByteBuffer] = [:]
        for (status, text) in defaultTexts {
            pages[status] = render(status: status, reason: text.reason, message: text.message)
        }
        return pages
    }()

    static func render(status: Int, reason: String, message: String) -> ByteBuffer {
        let body = "<html><body><h1>\(status) \(reason)</h1>\n\(message)\n</body></html>\n"
        let head = "HTTP/1.1 \(status) \(reason)\r\ncontent-length: \(body.utf8.count)\r\n"
            + "cache-control: no-cache\r\ncontent-type: text/html\r\n\r\n"
        return ByteBuffer(string: head + body)
    }

    static let defaultTexts: [Int: (reason: String, message: String)] = [
        200: ("OK", "Service ready."),
        400: ("Bad request", "Your browser sent an invalid request."),
        401: ("Unauthorized", "You need a valid user and password to access this content."),
        403: ("Forbidden", "Request forbidden by administrative rules."),
        404: ("Not Found", "The resource could not be found."),
        405: ("Method Not Allowed", "A request was made of a resource using a request method not supported by that resource"),
        407: ("Unauthorized", "You need a valid user and password to access this content."),
        408: ("Request Time-out", "Your browser didn't send a complete request in time."),
        410: ("Gone", "The resource is no longer available and will not be available again."),
        413: ("Payload Too Large", "The request entity exceeds the maximum allowed."),
        414: ("URI Too Long", "The URI sent by your browser is too long."),
        421: ("Misdirected Request", "Request sent to a non-authoritative server."),
        422: ("Unprocessable Content", "The server cannot process the contained instructions."),
        425: ("Too Early", "Your browser sent early data."),
        429: ("Too Many Requests", "You have sent too many requests in a given amount of time."),
        431: ("Request Header Fields Too Large", "Your browser sent a request header section that is too large."),
        500: ("Internal Server Error", "An internal server error occurred."),
        501: ("Not Implemented", "The server does not support the functionality required to fulfill the request."),
        502: ("Bad Gateway", "The server returned an invalid or incomplete response."),
        503: ("Service Unavailable", "No server is available to handle this request."),
        504: ("Gateway Time-out", "The server didn't respond in time."),
    ]

    /// Reason phrases for `http-request return` statuses.
    public static func reasonPhrase(_ status: Int) -> String {
        if let text = defaultTexts[status] { return text.reason }
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 409: return "Conflict"
        case 411: return "Length Required"
        case 412: return "Precondition Failed"
        case 415: return "Unsupported Media Type"
        case 416: return "Range Not Satisfiable"
        case 417: return "Expectation Failed"
        case 426: return "Upgrade Required"
        case 505: return "HTTP Version Not Supported"
        default: return "Other"
        }
    }
}

/// A response Baton answers with by itself, rendered once.
public struct PreparedResponse: Sendable {
    public var status: Int
    public var bytes: ByteBuffer

    public init(status: Int, bytes: ByteBuffer) {
        self.status = status
        self.bytes = bytes
    }
}
