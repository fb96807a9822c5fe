import Foundation
import NIOCore
import NIOPosix

/// One header field exactly as an origin received it: the name's case kept, the value's bytes (OWS around it
/// removed, nothing decoded), so that obs-text such as a lone 0xE9 can be compared byte for byte.
struct RecordedField: Sendable, Equatable, CustomStringConvertible {
    var name: String
    var value: [UInt8]

    init(_ name: String, _ value: [UInt8]) {
        self.name = name
        self.value = value
    }

    init(_ name: String, _ value: String) {
        self.init(name, Array(value.utf8))
    }

    var valueText: String { String(decoding: value, as: UTF8.self) }

    var description: String {
        let shown = value.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
            ? valueText : value.map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0) }.joined()
        return "\(name): \(shown)"
    }
}

/// A request as it reached a `RecordingOrigin`, before any interpretation.
struct RecordedRequest: Sendable, Equatable, CustomStringConvertible {
    var method: String
    var target: String
    var version: String
    /// Header fields in the order received.
    var fields: [RecordedField]
    /// The body, chunked framing removed.
    var body: [UInt8]
    /// Trailer fields of a chunked body.
    var trailers: [RecordedField] = []
    /// The request line and header section exactly as received, final CRLF included.
    var rawHead: [UInt8]

    func values(_ name: String) -> [[UInt8]] {
        fields.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    var description: String {
        "\(method) \(target) \(version) \(fields) body=\(body.count) bytes"
    }
}

/// An HTTP/1.1 origin server on 127.0.0.1 (kernel-chosen port) that records every request exactly as it arrived
/// (raw bytes, no HTTP library in between) and answers each with one fixed response: `200`, the
/// `extraResponseFields` given at start, a short text body naming the origin, keep-alive unless the request said
/// `Connection: close`. A CONNECT gets a bare `200` and the connection then carries nothing the origin looks at.
final class RecordingOrigin: @unchecked Sendable {
    let name: String
    /// Fields added to every non-CONNECT response, after content-type and content-length.
    let extraResponseFields: [(name: String, value: String)]
    private(set) var port: UInt16 = 0
    private var channel: Channel?
    private let lock = NSLock()
    private var _requests: [RecordedRequest] = []

    var host: String { "127.0.0.1" }
    /// `127.0.0.1:PORT`, as a `server` line wants it.
    var address: String { "\(host):\(port)" }

    /// Every request received so far, in arrival order.
    var requests: [RecordedRequest] { lock.withLock { _requests } }

    /// Returns the requests received so far and forgets them.
    func takeRequests() -> [RecordedRequest] {
        lock.withLock {
            defer { _requests.removeAll() }
            return _requests
        }
    }

    /// The body of every non-CONNECT response.
    var responseBody: String { "origin \(name)\n" }

    private init(name: String, extraResponseFields: [(name: String, value: String)]) {
        self.name = name
        self.extraResponseFields = extraResponseFields
    }

    static func start(name: String = "origin",
                      extraResponseFields: [(name: String, value: String)] = []) async throws -> RecordingOrigin {
        let origin = RecordingOrigin(name: name, extraResponseFields: extraResponseFields)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RecordingOriginHandler(origin: origin))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        origin.channel = channel
        origin.port = UInt16(channel.localAddress!.port!)
        return origin
    }

    func stop() async {
        try? await channel?.close()
    }

    deinit {
        channel?.close(promise: nil)
    }

    fileprivate func record(_ request: RecordedRequest) {
        lock.withLock { _requests.append(request) }
    }
}

/// Parses requests off one connection with `OriginRequestParser` and answers them in order.
private final class RecordingOriginHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let origin: RecordingOrigin
    private var parser = OriginRequestParser()
    private var tunnel = false

    init(origin: RecordingOrigin) { self.origin = origin }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !tunnel else { return }
        var buffer = unwrapInboundIn(data)
        parser.append(buffer.readBytes(length: buffer.readableBytes) ?? [])
        while true {
            switch parser.next() {
            case .needMore:
                return
            case .invalid:
                context.close(promise: nil)
                return
            case .request(let request):
                origin.record(request)
                if request.method == "CONNECT" {
                    tunnel = true
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n")), promise: nil)
                    return
                }
                let close = request.values("connection").contains { value in
                    String(decoding: value, as: UTF8.self).lowercased().split(separator: ",")
                        .contains { $0.trimmingCharacters(in: .whitespaces) == "close" }
                } || request.version == "HTTP/1.0"
                let body = origin.responseBody
                var response = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: \(body.utf8.count)\r\n"
                for field in origin.extraResponseFields { response += "\(field.name): \(field.value)\r\n" }
                if close { response += "connection: close\r\n" }
                response += "\r\n"
                if request.method != "HEAD" { response += body }
                let written = context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response)))
                if close {
                    written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                    return
                }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// A deliberately simple HTTP/1.1 request reader for the origin: CRLF lines, Content-Length or chunked bodies.
/// It assumes the proxy in front sends valid messages (that is what is being compared, not checked here).
struct OriginRequestParser {
    enum Outcome {
        case needMore
        case request(RecordedRequest)
        case invalid
    }

    private var bytes: [UInt8] = []

    mutating func append(_ more: [UInt8]) {
        bytes += more
    }

    mutating func next() -> Outcome {
        guard let headEnd = Self.find([13, 10, 13, 10], in: bytes, from: 0) else { return .needMore }
        let rawHead = Array(bytes[0..<(headEnd + 4)])
        var lines = Self.split(Array(bytes[0..<headEnd]))
        guard !lines.isEmpty else { return .invalid }
        let requestLine = String(decoding: lines.removeFirst(), as: UTF8.self).split(separator: " ", omittingEmptySubsequences: false)
        guard requestLine.count == 3 else { return .invalid }
        var fields: [RecordedField] = []
        for line in lines {
            guard let field = Self.field(line) else { return .invalid }
            fields.append(field)
        }
        var request = RecordedRequest(method: String(requestLine[0]), target: String(requestLine[1]),
                                      version: String(requestLine[2]), fields: fields, body: [], rawHead: rawHead)
        var offset = headEnd + 4
        let transferEncoding = request.values("transfer-encoding").map { String(decoding: $0, as: UTF8.self).lowercased() }
        if transferEncoding.contains(where: { $0.contains("chunked") }) {
            while true {
                guard let lineEnd = Self.find([13, 10], in: bytes, from: offset) else { return .needMore }
                let sizeText = String(decoding: bytes[offset..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return .invalid }
                offset = lineEnd + 2
                if size == 0 {
                    while true {
                        guard let end = Self.find([13, 10], in: bytes, from: offset) else { return .needMore }
                        if end == offset {
                            offset += 2
                            break
                        }
                        guard let trailer = Self.field(Array(bytes[offset..<end])) else { return .invalid }
                        request.trailers.append(trailer)
                        offset = end + 2
                    }
                    break
                }
                guard bytes.count >= offset + size + 2 else { return .needMore }
                request.body += bytes[offset..<(offset + size)]
                offset += size + 2
            }
        } else if let length = request.values("content-length").first.flatMap({ Int(String(decoding: $0, as: UTF8.self)) }) {
            guard bytes.count >= offset + length else { return .needMore }
            request.body = Array(bytes[offset..<(offset + length)])
            offset += length
        }
        bytes.removeFirst(offset)
        return .request(request)
    }

    private static func field(_ line: [UInt8]) -> RecordedField? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        var start = colon + 1
        var end = line.count
        while start < end && (line[start] == 0x20 || line[start] == 0x09) { start += 1 }
        while end > start && (line[end - 1] == 0x20 || line[end - 1] == 0x09) { end -= 1 }
        return RecordedField(String(decoding: line[0..<colon], as: UTF8.self), Array(line[start..<end]))
    }

    private static func split(_ head: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = 0
        while let end = find([13, 10], in: head, from: start) {
            lines.append(Array(head[start..<end]))
            start = end + 2
        }
        lines.append(Array(head[start...]))
        return lines
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
