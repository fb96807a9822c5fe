import BatonBalancing
import BatonHTTP1
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// What an upstream connection reports to the session that currently uses it. Both live on the
/// same event loop, so calls are direct.
protocol UpstreamReceiver: AnyObject {
    /// A parsed response event (HTTP) or raw bytes (`mode tcp` and tunnels).
    func upstream(_ connection: UpstreamConnection, received event: HTTPParserEvent<HTTPResponseHead>)
    func upstream(_ connection: UpstreamConnection, receivedRaw bytes: ByteBuffer)
    /// The server sent its FIN (raw mode): half-close towards the client.
    func upstreamInputClosed(_ connection: UpstreamConnection)
    /// The end of a read burst: time to flush what was written to the client.
    func upstreamReadComplete(_ connection: UpstreamConnection)
    func upstream(_ connection: UpstreamConnection, failed failure: UpstreamFailure)
    func upstreamWritabilityChanged(_ connection: UpstreamConnection)
    /// Whether the client can take more bytes; reads from the server pause while it cannot.
    var acceptsUpstreamData: Bool { get }
}

/// How a server connection failed: the transaction state machine's own vocabulary, so the
/// handler passes it on unchanged.
typealias UpstreamFailure = HTTPTransactionStateMachine.ServerFailure

/// The handler on a server channel: parses responses (or relays raw bytes), pauses reading while
/// the client is slow, and knows whether it can go back to the idle pool.
final class UpstreamConnection: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Mode {
        case http
        case raw
    }

    let server: ServerState
    private(set) var context: ChannelHandlerContext?
    /// The session using this connection; strong, and cleared whenever the connection is released
    /// or closes (weak references would put every retain of the session on a slow path).
    var receiver: (any UpstreamReceiver)?
    var mode: Mode
    var parser: HTTPResponseParser
    private var pendingRead = false
    private var pool: UpstreamPool?
    /// When the connection last went idle in the pool (the pool's sweep closes old ones).
    private(set) var idleSince = NIODeadline.now()
    private var inputClosed = false
    /// A reset or another socket error, as opposed to a clean close.
    private var sawError = false
    let idleTimer: InactivityTimer

    /// - Parameter maxHeaderFields: the field lines a response head may have (`tune.http.maxhdr`).
    init(server: ServerState, mode: Mode, eventLoop: any EventLoop, maxHeadBytes: Int = 15360,
         maxHeaderFields: Int = HTTPRequestParser.defaultMaxFields) {
        self.server = server
        self.mode = mode
        self.parser = HTTPResponseParser(maxHeadBytes: maxHeadBytes, maxStatusLineBytes: min(8192, maxHeadBytes),
                                         maxFields: maxHeaderFields)
        self.idleTimer = InactivityTimer(eventLoop: eventLoop)
    }

    var channel: (any Channel)? { context?.channel }
    var isWritable: Bool { context?.channel.isWritable ?? false }
    /// Whether the connection itself can carry another exchange (the protocol-level decision
    /// is the transaction's).
    var isReusable: Bool {
        (context?.channel.isActive ?? false) && !inputClosed && !sawError && !carriesClientIdentity
    }
    /// It began with a PROXY protocol header naming one client: it is never pooled for others.
    var carriesClientIdentity = false
    /// Exchanges carried so far (`http-reuse aggressive` only hands a first request a
    /// connection that has carried more than one).
    private(set) var exchanges = 0

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer.cancel()
        // The context holds this handler strongly: keeping it would keep both alive forever.
        self.context = nil
        receiver = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        idleTimer.touch()
        guard let receiver else {
            // An idle pooled connection must stay silent; anything else means it is unusable.
            closeDiscarding()
            return
        }
        switch mode {
        case .raw:
            receiver.upstream(self, receivedRaw: bytes)
        case .http:
            parser.append(bytes)
            drainParser()
        }
    }

    /// Hands parsed events to the receiver until the parser needs more bytes, the response ended
    /// (the next one needs a new `expectResponse`), or the receiver let go of this connection.
    func drainParser() {
        while mode == .http, let receiver {
            let event: HTTPParserEvent<HTTPResponseHead>?
            do {
                event = try parser.next()
            } catch {
                receiver.upstream(self, failed: .invalidResponse)
                return
            }
            guard let event else {
                parser.releaseDrainedBuffer()
                return
            }
            receiver.upstream(self, received: event)
            if case .end = event, self.receiver == nil || awaitingNextRequest {
                parser.releaseDrainedBuffer()
                return
            }
        }
    }

    /// The server sent its FIN or closed: a close-delimited body ends here; a response still
    /// expected was cut short.
    private func httpInputEnded(_ receiver: any UpstreamReceiver) {
        do {
            if let last = try parser.endOfInput() {
                receiver.upstream(self, received: last)
            }
        } catch {
            receiver.upstream(self, failed: .closed)
            return
        }
        if self.receiver != nil, !awaitingNextRequest {
            self.receiver?.upstream(self, failed: .closed)
        }
    }

    /// True between the end of a final response and the next `expectResponse`.
    var awaitingNextRequest = false

    func channelReadComplete(context: ChannelHandlerContext) {
        receiver?.upstreamReadComplete(self)
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer.cancel()
        leavePool()
        if let receiver {
            switch mode {
            case .raw where !sawError:
                // A clean close ends the server's direction like a FIN would.
                if !inputClosed {
                    inputClosed = true
                    receiver.upstreamInputClosed(self)
                }
                self.receiver?.upstream(self, failed: .closed)
            case .raw:
                receiver.upstream(self, failed: .closed)
            case .http:
                httpInputEnded(receiver)
            }
        }
        receiver = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            inputClosed = true
            if mode == .raw {
                receiver?.upstreamInputClosed(self)
            } else if let receiver {
                httpInputEnded(receiver)
            } else {
                close()
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        receiver?.upstreamWritabilityChanged(self)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        sawError = true
        context.close(promise: nil)
    }

    // MARK: - Backpressure

    func read(context: ChannelHandlerContext) {
        if let receiver, !receiver.acceptsUpstreamData {
            pendingRead = true
            return
        }
        pendingRead = false
        context.read()
    }

    /// Reading is held back because the client cannot take more.
    var isPausedForClient: Bool { pendingRead }

    /// Called when the client drained its buffer.
    func resumeReadsIfNeeded() {
        guard pendingRead, let context, receiver?.acceptsUpstreamData ?? true else { return }
        pendingRead = false
        context.read()
    }

    // MARK: - Use by sessions

    func write(_ bytes: ByteBuffer) {
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    func writeAndFlush(_ bytes: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    /// Starts a new exchange: the next response answers a request with this method.
    func beginExchange(method: String, receiver: any UpstreamReceiver) {
        self.receiver = receiver
        exchanges += 1
        awaitingNextRequest = false
        parser.expectResponse(toMethod: method)
    }

    func close() {
        guard let context else { return }
        receiver = nil
        context.close(promise: nil)
    }

    /// Closes with a reset rather than a FIN, for an HTTP connection Baton gives up between or
    /// after exchanges (idle, not reusable, or failed), as HAProxy does with server
    /// connections: nothing is in flight that a reset could cut, and no TIME_WAIT is left on
    /// Baton's side holding one of its local ports. With one server connection per client
    /// connection, thousands of those made every `connect()` search longer for a free port.
    func closeDiscarding() {
        guard let context else { return }
        // On the channel's own loop the option is set at once, before the close below.
        _ = (context.channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        close()
    }

    /// Passes a FIN on to the server once everything written before has gone out.
    func closeOutput() {
        context?.closeAfterPendingWrites(mode: .output)
    }

    /// Called by the pool when the connection goes idle in it.
    func enterPool(_ pool: UpstreamPool) {
        receiver = nil
        self.pool = pool
        idleSince = .now()
        idleTimer.cancel()
        resumeReadsIfNeeded()
    }

    /// The pool handed this connection out (it already dropped it from its lists).
    func takenFromPool() {
        pool = nil
    }

    func leavePool() {
        if let pool {
            self.pool = nil
            pool.remove(self)
        }
    }
}
