import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The soak tests' server: a real HTTP/1.1 server (SwiftNIO's request decoder) on 127.0.0.1,
/// like `TestUpstream`, except that it keeps no record of each request. `TestUpstream` stores
/// every request it gets, which over the soak tests' 300,000 would grow this process by
/// hundreds of MiB and slow the very server whose speed the tests' rates include.
///
/// Every request gets `200` with the body `SoakUpstream.body` (and `Connection: close` when the
/// request says so); a request for `SoakUpstream.upgradePath` gets `101 Switching Protocols`,
/// and from then on the connection echoes every byte and closes when the other side has closed.
///
/// Apart from upgraded connections, the server never closes first: Baton closes the connections
/// it no longer wants (after a `Connection: close` exchange, or from its idle pool), and the
/// server answers that close with a reset (SO_LINGER {1, 0}), which ends Baton's closed socket
/// at once instead of leaving it in TIME_WAIT (see `SoakTests` on TIME_WAIT). An upgraded
/// connection closes with a FIN: Baton has only half-closed it and still reads.
final class SoakUpstream: @unchecked Sendable {
    static let body = Array("soak-ok\n".utf8)
    static let upgradePath = "/ws"

    private(set) var port: UInt16 = 0
    private var channel: Channel?
    private let lock = NSLock()
    private var _requests = 0

    /// Complete requests received (an upgrade request included).
    var requestCount: Int { lock.withLock { _requests } }

    fileprivate func countRequest() {
        lock.withLock { _requests += 1 }
    }

    static func start() async throws -> SoakUpstream {
        let upstream = SoakUpstream()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                _ = (channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
                    try sync.addHandler(SoakUpstreamHandler(upstream: upstream))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        upstream.channel = channel
        upstream.port = UInt16(channel.localAddress!.port!)
        return upstream
    }

    func stop() async {
        try? await channel?.close()
    }

    deinit {
        channel?.close(promise: nil)
    }
}

/// Answers each request once it is complete, with bytes prepared once (no HTTP encoder).
private final class SoakUpstreamHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    private static let okResponse = ByteBuffer(bytes: Array(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(SoakUpstream.body.count)\r\n\r\n".utf8)
        + SoakUpstream.body)
    private static let okClosingResponse = ByteBuffer(bytes: Array(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(SoakUpstream.body.count)\r\nConnection: close\r\n\r\n".utf8)
        + SoakUpstream.body)
    private static let switchingResponse = ByteBuffer(string:
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")

    private let upstream: SoakUpstream
    private var keepAlive = true
    private var upgrade = false

    init(upstream: SoakUpstream) { self.upstream = upstream }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            keepAlive = head.isKeepAlive
            upgrade = head.uri == SoakUpstream.upgradePath
        case .body:
            break
        case .end:
            upstream.countRequest()
            if upgrade {
                switchToEcho(context: context)
            } else {
                // No close after `Connection: close`: Baton closes, and gets a reset back.
                context.writeAndFlush(wrapOutboundOut(keepAlive ? Self.okResponse : Self.okClosingResponse), promise: nil)
            }
        }
    }

    /// 101, then raw bytes: the decoder goes (handing on any bytes after the head) and
    /// `RawEchoHandler` sends everything back.
    private func switchToEcho(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(Self.switchingResponse), promise: nil)
        _ = (context.channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 0, l_linger: 0))
        let pipeline = context.pipeline.syncOperations
        do {
            try pipeline.addHandler(RawEchoHandler())
            _ = pipeline.removeHandler(context: context)
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            _ = pipeline.removeHandler(decoder)
        } catch {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
