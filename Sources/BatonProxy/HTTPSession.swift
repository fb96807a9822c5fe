import BatonBalancing
import BatonConfig
import BatonHTTP1
import BatonObservability
import NIOCore

/// The handler on an HTTP client connection: parses requests one at a time (pipelined ones wait
/// in the parser), runs each as an `HTTPTransaction` against a server connection on the same
/// event loop, and streams bodies both ways with backpressure: reading from one side pauses
/// while the other side cannot take more.
final class HTTPSession: ChannelDuplexHandler, UpstreamReceiver {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Request bytes held while the server side is not ready before reading from the client pauses.
    static let pendingLimit = 64 * 1024

    let generation: ProxyGeneration
    let frontend: FrontendRuntime
    let pool: UpstreamPool
    let connection: ClientConnection
    /// Set while the handler is in the pipeline. Cleared in `handlerRemoved`: the context holds
    /// this handler strongly, so keeping it after removal would keep both alive forever.
    var context: ChannelHandlerContext?
    /// The client channel's loop, kept after the context is gone for late callbacks to check.
    var eventLoop: (any EventLoop)!
    let allocator = ByteBufferAllocator()
    var parser = HTTPRequestParser()
    var transaction: HTTPTransaction?
    /// After a 101 response the session relays raw bytes with this server connection.
    var tunnel: UpstreamConnection?
    /// The transaction that switched protocols, logged when the tunnel ends.
    var tunnelTransaction: HTTPTransaction?
    var tunnelServerClosed = false
    var requestCount = 0
    var closing = false
    var pendingRead = false
    var clientInputClosed = false
    /// Watches `timeout http-request` / `http-keep-alive` while waiting for a request head.
    var headTimer: InactivityTimer!
    /// Watches `timeout client` (or `timeout tunnel`) during a transaction.
    var clientTimer: InactivityTimer!
    var idleSince = NIODeadline.now()
    var requestStartedAt: (deadline: NIODeadline, wallMicroseconds: Int64)?

    let registry: SessionRegistry

    init(generation: ProxyGeneration, frontend: FrontendRuntime, pool: UpstreamPool,
         connection: ClientConnection, registry: SessionRegistry) {
        self.generation = generation
        self.frontend = frontend
        self.pool = pool
        self.connection = connection
        self.registry = registry
    }

    /// Between requests with nothing received: soft-stop may close it.
    var isIdle: Bool { transaction == nil && tunnel == nil && requestStartedAt == nil }

    var timeouts: Timeouts { frontend.config.timeouts }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        eventLoop = context.eventLoop
        headTimer = InactivityTimer(eventLoop: context.eventLoop)
        clientTimer = InactivityTimer(eventLoop: context.eventLoop)
        registry.table(for: context.eventLoop)?.add(self)
        waitForRequest()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headTimer.cancel(dropScheduledCheck: true)
        clientTimer.cancel(dropScheduledCheck: true)
        registry.table(for: context.eventLoop)?.remove(self)
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        connection.bytesIn += bytes.readableBytes
        clientTimer.touch()
        if let tunnel {
            tunnel.write(bytes)
            return
        }
        if closing { return }
        if transaction == nil && requestStartedAt == nil {
            requestStartedAt = (.now(), WallClock.microseconds())
            if requestCount > 0 {
                // The keep-alive wait is over; the head must now arrive within http-request.
                armHeadTimer(timeouts.httpRequest ?? timeouts.client, sendTimeoutResponse: true)
            }
        }
        parser.append(bytes)
        processRequestEvents()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let upstream = tunnel ?? transaction?.upstream {
            upstream.flush()
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        headTimer.cancel(dropScheduledCheck: true)
        clientTimer.cancel(dropScheduledCheck: true)
        registry.table(for: context.eventLoop)?.remove(self)
        if tunnel != nil || tunnelTransaction != nil {
            endTunnel(termination: tunnelServerClosed ? "----" : "CD--")
        }
        if let transaction {
            transaction.record.terminationState = transaction.state.clientClosed()
            abortTransaction(transaction)
        }
        connection.closed(generation: generation, frontend: frontend)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, case .inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        clientInputClosed = true
        if tunnel != nil {
            tunnelClientClosedInput()
            return
        }
        if let transaction {
            // Mid-request this ends the transaction; otherwise the response still goes out.
            if let failure = transaction.state.clientInputClosed() { fail(transaction, failure) }
        } else {
            if requestStartedAt != nil {
                // A partial head and then FIN: HAProxy answers 400 to what it could not parse.
                respondWithError(status: 400, termination: "CR--", requestLine: "<BADREQ>")
            } else {
                closeClient()
            }
        }
        // Otherwise the request is complete: finish the response, then close.
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        (tunnel ?? transaction?.upstream)?.resumeReadsIfNeeded()
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closeClient()
    }

    // MARK: - Backpressure on the client side

    func read(context: ChannelHandlerContext) {
        if shouldPauseClientReads {
            pendingRead = true
            return
        }
        pendingRead = false
        context.read()
    }

    var shouldPauseClientReads: Bool {
        if let tunnel { return !tunnel.isWritable }
        guard let transaction else { return false }
        if !transaction.state.requestComplete {
            if let upstream = transaction.upstream { return !upstream.isWritable }
            return transaction.pendingBodyBytes >= Self.pendingLimit
        }
        // Waiting for the response: keep reading (to see the client leave), but do not hoard
        // pipelined requests.
        return parser.bufferedBytes >= Self.pendingLimit
    }

    func resumeClientReadsIfNeeded() {
        guard pendingRead, !shouldPauseClientReads else { return }
        pendingRead = false
        context?.read()
    }

    /// Whether the client can take more response bytes (reads from the server pause otherwise).
    var acceptsUpstreamData: Bool { context?.channel.isWritable ?? false }

    // MARK: - Writing to the client

    func writeToClient(_ bytes: ByteBuffer) {
        connection.bytesOut += bytes.readableBytes
        transaction?.record.bytesToClient += Int64(bytes.readableBytes)
        clientTimer.touch()
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    func flushClient() {
        context?.flush()
    }

    func closeClient() {
        guard let context, context.channel.isActive else { return }
        closing = true
        context.close(promise: nil)
    }

    /// Flushes what was written, then closes once it has gone out.
    func closeClientAfterFlush() {
        closing = true
        context?.closeAfterPendingWrites()
    }

    // MARK: - Waiting for requests

    /// Arms the right timer for the wait before the next request head.
    func waitForRequest() {
        idleSince = .now()
        requestStartedAt = nil
        clientTimer.cancel()
        if requestCount == 0 {
            armHeadTimer(timeouts.httpRequest ?? timeouts.client, sendTimeoutResponse: true)
        } else {
            armHeadTimer(timeouts.httpKeepAlive ?? timeouts.httpRequest ?? timeouts.client,
                         sendTimeoutResponse: false)
        }
    }

    func armHeadTimer(_ timeout: Duration?, sendTimeoutResponse: Bool) {
        headTimer.arm(timeout?.timeAmount) { [self] in
            guard self.transaction == nil, !self.closing else { return }
            if sendTimeoutResponse {
                self.respondWithError(status: 408, termination: "cR--", requestLine: "<BADREQ>")
            } else {
                self.closeClient()
            }
        }
    }

    /// Runs parser events until the parser needs bytes or the current transaction must wait.
    func processRequestEvents() {
        while !closing, tunnel == nil {
            if let transaction, transaction.state.requestComplete { return }
            let event: HTTPParserEvent<HTTPRequestHead>?
            do {
                event = try parser.next()
            } catch {
                requestParseFailed(error)
                return
            }
            guard let event else {
                resumeClientReadsIfNeeded()
                return
            }
            switch event {
            case .head(let head, let framing):
                startTransaction(head: head, framing: framing)
            case .body(let piece):
                if let transaction { forwardRequestBody(piece, in: transaction) }
            case .end(let trailers):
                if let transaction { requestEnded(transaction, trailers: trailers) }
            }
        }
    }

    func requestParseFailed(_ error: HTTPParserError) {
        if let transaction {
            fail(transaction, transaction.state.requestMalformed(status: error.requestStatus))
            return
        }
        respondWithError(status: error.requestStatus, termination: "PR--", requestLine: "<BADREQ>")
    }
}

/// Per-connection facts shared by the HTTP and TCP sessions: the client's address, accept time,
/// byte counts, and the connection counters to release at close.
final class ClientConnection {
    let clientAddress: String
    let clientPort: Int
    let clientAddressBytes: [UInt8]?
    let acceptedAt: NIODeadline
    let acceptedAtWallMicroseconds: Int64
    var bytesIn = 0
    var bytesOut = 0

    init(remote: SocketAddress?) {
        self.acceptedAt = .now()
        self.acceptedAtWallMicroseconds = WallClock.microseconds()
        switch remote {
        case .v4(let address)?:
            clientAddress = remote?.ipAddress ?? "-"
            clientPort = remote?.port ?? 0
            clientAddressBytes = withUnsafeBytes(of: address.address.sin_addr.s_addr) { Array($0) }
        case .v6(let address)?:
            clientAddress = remote?.ipAddress ?? "-"
            clientPort = remote?.port ?? 0
            clientAddressBytes = withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
        case .unixDomainSocket?, nil:
            clientAddress = "unix"
            clientPort = 0
            clientAddressBytes = nil
        }
    }

    /// The client address hashed for `balance source`, computed once per connection and only
    /// when a source-balanced backend asks.
    lazy var sourceHash: UInt64 = ServerSelector.sourceHash(addressBytes: clientAddressBytes ?? [])

    /// A log record with this connection's facts; the session fills in the rest.
    func logRecord(requestDateMicroseconds: Int64, frontendName: String, backendName: String,
                   serverName: String = "<NOSRV>") -> TransactionLogRecord {
        TransactionLogRecord(
            clientAddress: clientAddress, clientPort: clientPort,
            acceptDateMicroseconds: acceptedAtWallMicroseconds,
            requestDateMicroseconds: requestDateMicroseconds,
            frontendName: frontendName, backendName: backendName, serverName: serverName)
    }

    func closed(generation: ProxyGeneration, frontend: FrontendRuntime) {
        frontend.counters.transferred(in: bytesIn, out: bytesOut)
    }
}
