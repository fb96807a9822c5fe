import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A request as the upstream server received it.
struct UpstreamRequest: Sendable {
    var method: String
    var uri: String
    var version: String
    /// Header fields in order, as received.
    var headers: [(name: String, value: String)]
    /// The first `TestUpstream.storedBodyLimit` bytes of the body.
    var body: [UInt8]
    var bodyLength = 0
    /// Whether the whole body was the `Pattern` stream.
    var bodyMatchesPattern = true
    /// 1-based number of the connection it came on, in accept order.
    var connection: Int
    /// When its head arrived.
    var receivedAt: ContinuousClock.Instant = .now

    func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    func header(_ name: String) -> String? { values(name).first }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// What the upstream does with a complete request.
indirect enum UpstreamAction: Sendable {
    /// A response with a content-length body.
    case respond(status: Int = 200, headers: [(String, String)] = [], body: [UInt8] = [])
    /// A chunked response, one chunk per element, flushed separately.
    case chunked(status: Int = 200, headers: [(String, String)] = [], chunks: [String])
    /// A content-length response of `bytes` pattern bytes, produced as the client reads
    /// (only written while the connection is writable).
    case stream(bytes: Int)
    /// Waits, then does the other action.
    case delay(Duration, UpstreamAction)
    /// Closes the connection without a response.
    case close
    /// Writes bytes exactly as given (no HTTP framing), then closes if asked.
    case raw([UInt8], thenClose: Bool)
    /// Never answers.
    case hold
    /// `101 Switching Protocols`, then echoes every byte it receives.
    case upgradeEcho

    static func text(_ body: String, status: Int = 200, headers: [(String, String)] = []) -> UpstreamAction {
        .respond(status: status, headers: headers, body: Array(body.utf8))
    }

    /// The request as received, as the body: request line, each header line, empty line, body.
    static func echo(_ request: UpstreamRequest) -> UpstreamAction {
        var text = "\(request.method) \(request.uri) \(request.version)\n"
        for field in request.headers { text += "\(field.name): \(field.value)\n" }
        text += "\n"
        return .respond(headers: [("Content-Type", "text/plain")], body: Array(text.utf8) + request.body)
    }
}

typealias UpstreamBehaviour = @Sendable (UpstreamRequest) -> UpstreamAction

/// A real HTTP/1.1 server (SwiftNIO, NIOHTTP1) on 127.0.0.1 with a kernel-chosen port that
/// answers by a per-test behaviour and records what it saw.
final class TestUpstream: @unchecked Sendable {
    static let storedBodyLimit = 1 << 20

    let name: String
    private(set) var port: UInt16 = 0
    private let behaviour: UpstreamBehaviour
    private var serverChannel: Channel?
    private let lock = NSLock()
    private var _requests: [UpstreamRequest] = []
    private var _connections = 0
    private var _bodyBytesSent = 0
    private var children: [ObjectIdentifier: Channel] = [:]
    private var _respondedAt: [Int: ContinuousClock.Instant] = [:]

    /// Every complete request received, in order.
    var requests: [UpstreamRequest] { lock.withLock { _requests } }
    var requestCount: Int { lock.withLock { _requests.count } }
    /// TCP connections accepted so far.
    var connectionCount: Int { lock.withLock { _connections } }
    /// Response body bytes handed to the socket by `.stream`.
    var bodyBytesSent: Int { lock.withLock { _bodyBytesSent } }

    private init(name: String, behaviour: @escaping UpstreamBehaviour) {
        self.name = name
        self.behaviour = behaviour
    }

    /// Starts a server; `name` is what `.named` answers with (header `X-Server` and body).
    static func start(name: String = "upstream", host: String = "127.0.0.1", port: Int = 0,
                      _ behaviour: @escaping UpstreamBehaviour = { .echo($0) }) async throws -> TestUpstream {
        let upstream = TestUpstream(name: name, behaviour: behaviour)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                upstream.accepted(channel)
                let tap = RawTap()
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(tap)
                    try sync.addHandler(HTTPResponseEncoder())
                    try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
                    try sync.addHandler(UpstreamHTTPHandler(upstream: upstream, tap: tap))
                }
            }
            .bind(host: host, port: port).get()
        upstream.serverChannel = channel
        upstream.port = UInt16(channel.localAddress!.port!)
        return upstream
    }

    /// An upstream that answers every request with its name (body and `X-Server`).
    static func named(_ name: String) async throws -> TestUpstream {
        try await start(name: name) { _ in .text(name, headers: [("X-Server", name)]) }
    }

    deinit {
        serverChannel?.close(promise: nil)
        for child in children.values { child.close(promise: nil) }
    }

    func stop() async {
        try? await serverChannel?.close()
        let open = lock.withLock { Array(children.values) }
        for child in open { try? await child.close() }
    }

    func accepted(_ channel: Channel) {
        lock.withLock {
            _connections += 1
            children[ObjectIdentifier(channel)] = channel
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.lock.withLock { _ = self?.children.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    var connectionNumber: Int { lock.withLock { _connections } }

    /// Connections accepted and not closed yet.
    var openConnectionCount: Int { lock.withLock { children.count } }

    /// Records a complete request; returns what to do and the request's index.
    func record(_ request: UpstreamRequest) -> (UpstreamAction, Int) {
        let index = lock.withLock {
            _requests.append(request)
            return _requests.count - 1
        }
        return (behaviour(request), index)
    }

    func markResponded(_ index: Int) {
        lock.withLock { _respondedAt[index] = .now }
    }

    /// When the response to request `index` (0-based) had been written out.
    func respondedAt(_ index: Int) -> ContinuousClock.Instant? {
        lock.withLock { _respondedAt[index] }
    }

    func countSent(_ bytes: Int) {
        lock.withLock { _bodyBytesSent += bytes }
    }

    /// Waits until `count` requests have arrived.
    func waitForRequests(_ count: Int, timeout: Duration = .seconds(5)) async -> Bool {
        await eventually(timeout: timeout) { requestCount >= count }
    }
}

/// The first handler of the pipeline: lets the upstream write bytes below the HTTP encoder.
final class RawTap: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    fileprivate var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func writeRaw(_ bytes: [UInt8]) -> EventLoopFuture<Void> {
        guard let context else { return MultiThreadedEventLoopGroup.singleton.any().makeSucceededVoidFuture() }
        return context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)))
    }
}

/// Echoes raw bytes (after an upgrade, or for a TCP echo server).
final class RawEchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}
