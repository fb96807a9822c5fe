import Foundation
import NIOCore
import NIOPosix

/// An origin for `server ... send-proxy[-v2]`: it records the bytes that arrive before the first
/// HTTP request line (the PROXY header), then answers every request head with a small 200 and
/// closes.
final class ProxyHeaderOrigin: @unchecked Sendable {
    private(set) var port: UInt16 = 0
    private var channel: Channel?
    private let lock = NSLock()
    private var _connections: [[UInt8]] = []

    /// Everything each connection sent, in order of arrival.
    var connections: [[UInt8]] { lock.withLock { _connections } }

    static func start() async throws -> ProxyHeaderOrigin {
        let origin = ProxyHeaderOrigin()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let index = origin.lock.withLock { () -> Int in
                    origin._connections.append([])
                    return origin._connections.count - 1
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(origin: origin, index: index))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        origin.channel = channel
        origin.port = UInt16(channel.localAddress!.port!)
        return origin
    }

    /// The bytes of connection `index` before the request line (`GET `).
    func header(of index: Int) -> [UInt8] {
        let bytes = connections[index]
        let get = Array("GET ".utf8)
        guard bytes.count >= get.count else { return bytes }
        for start in 0...(bytes.count - get.count) where Array(bytes[start..<(start + get.count)]) == get {
            return Array(bytes[..<start])
        }
        return bytes
    }

    deinit { channel?.close(promise: nil) }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let origin: ProxyHeaderOrigin
        let index: Int
        var answered = false

        init(origin: ProxyHeaderOrigin, index: Int) {
            self.origin = origin
            self.index = index
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            let all = origin.lock.withLock { () -> [UInt8] in
                origin._connections[index] += bytes
                return origin._connections[index]
            }
            // The v2 signature itself holds CRLF CRLF: the head ends after the request line.
            let text = String(decoding: all, as: UTF8.self)
            guard !answered, let get = text.range(of: "GET "), text[get.upperBound...].contains("\r\n\r\n") else {
                return
            }
            answered = true
            let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
