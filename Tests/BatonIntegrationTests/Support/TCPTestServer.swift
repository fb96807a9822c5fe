import Foundation
import NIOCore
import NIOPosix

/// A raw TCP server on 127.0.0.1 for `mode tcp`: it echoes, or reads until the client's end of
/// stream and then answers with how many bytes it got (to see half-closes through the proxy).
final class TCPTestServer: @unchecked Sendable {
    enum Behaviour: Sendable {
        /// Sends back every byte; closes when the peer has closed its side.
        case echo
        /// Reads to end of stream, then writes `received N bytes\n` and closes.
        case replyAfterEndOfStream
    }

    private(set) var port: UInt16 = 0
    private var channel: Channel?
    private let lock = NSLock()
    private var _connections = 0

    var connectionCount: Int { lock.withLock { _connections } }

    static func start(_ behaviour: Behaviour) async throws -> TCPTestServer {
        let server = TCPTestServer()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                server.lock.withLock { server._connections += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    switch behaviour {
                    case .echo: try channel.pipeline.syncOperations.addHandler(RawEchoHandler())
                    case .replyAfterEndOfStream: try channel.pipeline.syncOperations.addHandler(CountingReplyHandler())
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        server.channel = channel
        server.port = UInt16(channel.localAddress!.port!)
        return server
    }

    deinit {
        channel?.close(promise: nil)
    }
}

final class CountingReplyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var received = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytes
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            let reply = ByteBuffer(string: "received \(received) bytes\n")
            context.writeAndFlush(wrapOutboundOut(reply)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
