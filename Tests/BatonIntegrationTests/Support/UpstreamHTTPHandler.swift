import Foundation
import NIOCore
import NIOHTTP1

/// Serves one upstream connection: assembles requests, answers them one at a time in order
/// (so pipelined requests get ordered responses), as the upstream's behaviour says.
final class UpstreamHTTPHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let upstream: TestUpstream
    private let tap: RawTap
    private let connection: Int
    private var current: UpstreamRequest?
    private var currentKeepAlive = true
    private var queue: [(UpstreamRequest, keepAlive: Bool)] = []
    private var busy = false
    private var closed = false
    /// A `.stream` response in progress: bytes still to write, and the offset reached.
    private var streamRemaining = 0
    private var streamOffset = 0
    private var streamDone: (() -> Void)?

    init(upstream: TestUpstream, tap: RawTap) {
        self.upstream = upstream
        self.tap = tap
        self.connection = upstream.connectionNumber
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            current = UpstreamRequest(method: head.method.rawValue, uri: head.uri,
                                      version: "HTTP/\(head.version.major).\(head.version.minor)",
                                      headers: head.headers.map { ($0.name, $0.value) }, body: [],
                                      connection: connection)
            currentKeepAlive = head.isKeepAlive
            if head.headers["expect"].first?.lowercased() == "100-continue" && !busy && queue.isEmpty {
                _ = tap.writeRaw(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
            }
        case .body(let buffer):
            guard var request = current else { return }
            buffer.withUnsafeReadableBytes { bytes in
                if request.bodyMatchesPattern && !Pattern.matches(bytes, at: request.bodyLength) {
                    request.bodyMatchesPattern = false
                }
                let room = TestUpstream.storedBodyLimit - request.body.count
                if room > 0 { request.body.append(contentsOf: bytes.prefix(room)) }
            }
            request.bodyLength += buffer.readableBytes
            current = request
        case .end:
            guard let request = current else { return }
            current = nil
            queue.append((request, currentKeepAlive))
            processNext(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { continueStream(context: context) }
        context.fireChannelWritabilityChanged()
    }

    private func processNext(context: ChannelHandlerContext) {
        guard !busy, !closed, !queue.isEmpty else { return }
        let (request, keepAlive) = queue.removeFirst()
        busy = true
        let (action, index) = upstream.record(request)
        perform(action, request: request, keepAlive: keepAlive, context: context) { [self] in
            upstream.markResponded(index)
            busy = false
            if keepAlive {
                processNext(context: context)
            } else {
                context.close(promise: nil)
            }
        }
    }

    private func perform(_ action: UpstreamAction, request: UpstreamRequest, keepAlive: Bool,
                         context: ChannelHandlerContext, done: @escaping () -> Void) {
        guard !closed else { return }
        let isHead = request.method == "HEAD"
        switch action {
        case .respond(let status, let headers, let body):
            var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status))
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            if !head.headers.contains(name: "content-length") && !head.headers.contains(name: "transfer-encoding") {
                head.headers.add(name: "Content-Length", value: "\(body.count)")
            }
            if !keepAlive { head.headers.replaceOrAdd(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if !isHead && !body.isEmpty {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in done() }
        case .chunked(let status, let headers, let chunks):
            var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status))
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            head.headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
            context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
            writeChunks(chunks[...], context: context, done: done)
        case .stream(let bytes):
            var head = HTTPResponseHead(version: .http1_1, status: .ok)
            head.headers.add(name: "Content-Length", value: "\(bytes)")
            head.headers.add(name: "Content-Type", value: "application/octet-stream")
            context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
            streamRemaining = isHead ? 0 : bytes
            streamOffset = 0
            streamDone = { [self] in
                context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in done() }
            }
            continueStream(context: context)
        case .delay(let duration, let next):
            let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
            context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) { [self] in
                perform(next, request: request, keepAlive: keepAlive, context: context, done: done)
            }
        case .close:
            context.close(promise: nil)
        case .raw(let bytes, let thenClose):
            tap.writeRaw(bytes).assumeIsolated().whenComplete { _ in
                if thenClose { context.close(promise: nil) } else { done() }
            }
        case .hold:
            break
        case .upgradeEcho:
            let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
            _ = tap.writeRaw(Array(response.utf8))
            let pipeline = context.pipeline
            do {
                try pipeline.syncOperations.addHandler(RawEchoHandler())
                _ = pipeline.syncOperations.removeHandler(context: context)
                let encoder = try pipeline.syncOperations.handler(type: HTTPResponseEncoder.self)
                _ = pipeline.syncOperations.removeHandler(encoder)
                let decoder = try pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
                _ = pipeline.syncOperations.removeHandler(decoder)
            } catch {
                context.close(promise: nil)
            }
        }
    }

    private func writeChunks(_ chunks: ArraySlice<String>, context: ChannelHandlerContext, done: @escaping () -> Void) {
        guard let first = chunks.first else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in done() }
            return
        }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: first)))), promise: nil)
        // A pause between chunks, so that each one travels on its own.
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(10)) { [self] in
            writeChunks(chunks.dropFirst(), context: context, done: done)
        }
    }

    /// Writes pattern bytes while the channel accepts them; resumes on writability.
    private func continueStream(context: ChannelHandlerContext) {
        guard let finish = streamDone else { return }
        while streamRemaining > 0 && context.channel.isWritable {
            let count = min(64 * 1024, streamRemaining)
            let slice = Pattern.slice(at: streamOffset, count: count)
            streamOffset += count
            streamRemaining -= count
            upstream.countSent(count)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(slice))), promise: nil)
        }
        if streamRemaining == 0 {
            streamDone = nil
            finish()
        }
    }
}
