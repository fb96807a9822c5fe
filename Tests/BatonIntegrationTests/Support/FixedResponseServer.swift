import Foundation
import NIOCore
import NIOPosix

/// A minimal HTTP server on any local address (`::1` included, which `TestUpstream` does not
/// listen on): it reads a request head, records its request line, answers `200` with its
/// name as the body and `Connection: close`, then closes.
final class FixedResponseServer: @unchecked Sendable {
    let name: String
    private(set) var port: UInt16 = 0
    private var channel: Channel?
    private let lock = NSLock()
    private var _requestLines: [String] = []

    var requestLines: [String] { lock.withLock { _requestLines } }

    private init(name: String) { self.name = name }

    static func start(name: String, host: String) async throws -> FixedResponseServer {
        let server = FixedResponseServer(name: name)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FixedResponseHandler(server: server))
                }
            }
            .bind(host: host, port: 0).get()
        server.channel = channel
        server.port = UInt16(channel.localAddress!.port!)
        return server
    }

    fileprivate func record(_ line: String) {
        lock.withLock { _requestLines.append(line) }
    }

    deinit {
        channel?.close(promise: nil)
    }
}

private final class FixedResponseHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let server: FixedResponseServer
    private var received: [UInt8] = []
    private var answered = false

    init(server: FixedResponseServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        guard !answered, let end = received.firstRange(of: [13, 10, 13, 10]) else { return }
        answered = true
        let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
        server.record(head.components(separatedBy: "\r\n").first ?? "")
        let body = server.name
        let response = "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\nContent-Type: text/plain\r\n"
            + "X-Server: \(server.name)\r\nConnection: close\r\n\r\n\(body)"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
