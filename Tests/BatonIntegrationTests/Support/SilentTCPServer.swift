import Foundation
import NIOCore
import NIOPosix

/// A TCP server on 127.0.0.1 that never writes: it accepts, keeps what each connection sends
/// and when that connection ended, and stays open when its peer half-closes (it never closes a
/// connection itself). With `halfCloseOnAccept` it shuts its own write side as soon as it
/// accepts (the peer reads end of stream) and goes on reading.
final class SilentTCPServer: @unchecked Sendable {
    struct Connection: Sendable {
        var acceptedAt: ContinuousClock.Instant
        /// Every byte received.
        var received: [UInt8] = []
        /// When the peer's end of stream, a reset or the end of the connection was first seen.
        var endedAt: ContinuousClock.Instant?
        /// The connection ended with an error (a reset) rather than an end of stream.
        var reset = false
        /// With `halfCloseOnAccept`: when the server shut its write side (taken just before).
        var outputClosedAt: ContinuousClock.Instant?

        var receivedText: String { String(decoding: received, as: UTF8.self) }
    }

    private(set) var port: UInt16 = 0
    private var channel: Channel?
    private let lock = NSLock()
    private var _connections: [Connection] = []
    private var children: [Channel] = []

    /// Connections in accept order.
    var connections: [Connection] { lock.withLock { _connections } }

    func connection(_ index: Int) -> Connection? {
        lock.withLock { index < _connections.count ? _connections[index] : nil }
    }

    static func start(halfCloseOnAccept: Bool = false) async throws -> SilentTCPServer {
        let server = SilentTCPServer()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                let index = server.lock.withLock {
                    server._connections.append(Connection(acceptedAt: .now))
                    server.children.append(channel)
                    return server._connections.count - 1
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        SilentHandler(server: server, index: index, halfCloseOnAccept: halfCloseOnAccept))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        server.channel = channel
        server.port = UInt16(channel.localAddress!.port!)
        return server
    }

    fileprivate func update(_ index: Int, _ change: (inout Connection) -> Void) {
        lock.withLock { change(&_connections[index]) }
    }

    /// Waits until connection `index` (0-based) has been accepted and `condition` holds for it.
    func waitFor(_ index: Int = 0, timeout: Duration = .seconds(5), _ condition: @escaping (Connection) -> Bool) async -> Bool {
        await eventually(timeout: timeout) { connection(index).map(condition) ?? false }
    }

    func stop() async {
        try? await channel?.close()
        for child in lock.withLock({ children }) { try? await child.close() }
    }

    deinit {
        channel?.close(promise: nil)
        for child in children { child.close(promise: nil) }
    }
}

private final class SilentHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let server: SilentTCPServer
    private let index: Int
    private let halfCloseOnAccept: Bool

    init(server: SilentTCPServer, index: Int, halfCloseOnAccept: Bool) {
        self.server = server
        self.index = index
        self.halfCloseOnAccept = halfCloseOnAccept
    }

    func channelActive(context: ChannelHandlerContext) {
        if halfCloseOnAccept {
            let now = ContinuousClock.now
            server.update(index) { $0.outputClosedAt = now }
            context.close(mode: .output, promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(buffer: unwrapInboundIn(data))
        server.update(index) { $0.received.append(contentsOf: bytes) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            markEnded(reset: false)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        markEnded(reset: true)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markEnded(reset: false)
        context.fireChannelInactive()
    }

    private func markEnded(reset: Bool) {
        let now = ContinuousClock.now
        server.update(index) { connection in
            if connection.endedAt == nil {
                connection.endedAt = now
                connection.reset = reset
            }
        }
    }
}
