import BatonBalancing
import BatonConfig
import BatonHTTP1
import BatonObservability
import BatonRules
import NIOCore

/// The handler on an HTTP/1 client connection: the HTTP/1 side of the protocol only. It parses
/// requests one at a time (pipelined ones wait in the parser) and feeds each, as
/// protocol-neutral parts, to an `HTTPTransaction`; it frames what the transaction sends back
/// for this client; between requests it watches `timeout http-request`/`http-keep-alive`;
/// after a 101 it relays bytes. Reading pauses while the other side cannot take more.
final class HTTP1ClientConnection: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let generation: ProxyGeneration
    let frontend: FrontendRuntime
    let pool: UpstreamPool
    let connection: ClientConnection
    let registry: SessionRegistry
    /// Set while the handler is in the pipeline. Cleared in `handlerRemoved`: the context holds
    /// this handler strongly, so keeping it after removal would keep both alive forever.
    var context: ChannelHandlerContext?
    /// The channel's loop, kept after the context is gone for late callbacks.
    let eventLoop: any EventLoop
    var allocator: ByteBufferAllocator { .dataPlane }

    var parser: HTTPRequestParser
    /// The transaction in progress; it holds this connection until it ends.
    var transaction: HTTPTransaction?
    /// How the current response's body is framed for this client.
    var responseFraming: OutgoingFraming = .none
    /// After a 101 the connection relays raw bytes with this server connection.
    var tunnel: UpstreamConnection?
    /// The transaction that switched protocols, logged when the tunnel ends.
    var tunnelTransaction: HTTPTransaction?
    var tunnelServerClosed = false
    var requestCount = 0
    var closing = false
    var pendingRead = false
    var clientInputClosed = false
    /// The connection's one timer: `timeout http-request`/`http-keep-alive` while waiting for
    /// a request head, `timeout client` (or `timeout tunnel`) during a transaction or tunnel.
    /// The two never run at once, and one timer keeps one scheduled check per connection.
    let timer: InactivityTimer
    /// Whether client activity restarts the timer: it does for `timeout client`, not for the
    /// head wait (`timeout http-request` bounds the whole head, however it trickles in).
    var timerCountsActivity = false
    var idleSince = NIODeadline.now()
    var requestStartedAt: (deadline: NIODeadline, wallMicroseconds: Int64)?

    init(generation: ProxyGeneration, frontend: FrontendRuntime, pool: UpstreamPool,
         connection: ClientConnection, registry: SessionRegistry, eventLoop: any EventLoop) {
        self.generation = generation
        self.frontend = frontend
        self.pool = pool
        self.connection = connection
        self.registry = registry
        self.eventLoop = eventLoop
        self.timer = InactivityTimer(eventLoop: eventLoop)
        let limit = generation.maxHeadBytes
        self.parser = HTTPRequestParser(maxHeadBytes: limit, maxRequestLineBytes: min(8192, limit),
                                        maxFields: generation.maxHeaderFields)
    }

    /// Between requests with nothing received: soft-stop may close it.
    var isIdle: Bool { transaction == nil && tunnel == nil && requestStartedAt == nil }

    var timeouts: Timeouts { frontend.config.timeouts }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        registry.table(for: context.eventLoop)?.add(self)
        waitForRequest()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.cancel()
        registry.table(for: context.eventLoop)?.remove(self)
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        connection.bytesIn += bytes.readableBytes
        if timerCountsActivity { timer.touch() }
        if let tunnel {
            tunnel.write(bytes)
            return
        }
        if closing { return }
        if transaction == nil && requestStartedAt == nil {
            requestStartedAt = (.now(), WallClock.microseconds())
            if requestCount > 0 {
                // The keep-alive wait is over; the head must now arrive within http-request.
                armHeadTimer(RequestWait.headTimeout(timeouts, requestsServed: requestCount, headStarted: true))
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
        timer.cancel()
        registry.table(for: context.eventLoop)?.remove(self)
        if tunnel != nil || tunnelTransaction != nil {
            endTunnel(tunnelServerClosed ? nil : .init(.aborted, .client, .data))
        }
        if let transaction {
            self.transaction = nil
            transaction.clientClosed()
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
            // Mid-request this ends the transaction; otherwise the response still goes out,
            // then the connection closes.
            transaction.clientInputClosed()
        } else if requestStartedAt != nil {
            // A partial head and then FIN: HAProxy answers 400 to what it could not parse.
            respondWithoutTransaction(status: 400, error: .init(.aborted, .client, .request))
        } else {
            closeClient()
        }
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
        if !transaction.state.requestComplete { return transaction.holdsBackRequestBody }
        // Waiting for the response: keep reading (to see the client leave), but do not hoard
        // pipelined requests.
        return parser.bufferedBytes >= HTTPTransaction.pendingLimit
    }

    func resumeClientReadsIfNeeded() {
        guard pendingRead, !shouldPauseClientReads else { return }
        pendingRead = false
        context?.read()
    }

    // MARK: - Writing to the client

    func write(_ bytes: ByteBuffer) {
        connection.bytesOut += bytes.readableBytes
        if timerCountsActivity { timer.touch() }
        context?.write(wrapOutboundOut(bytes), promise: nil)
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
        armHeadTimer(RequestWait.headTimeout(timeouts, requestsServed: requestCount, headStarted: false))
    }

    func armHeadTimer(_ wait: RequestWait) {
        timerCountsActivity = false
        timer.arm(wait.timeout?.timeAmount) { [self] in
            guard self.transaction == nil, !self.closing else { return }
            switch wait.onExpiry {
            case .respond(let status, let error):
                self.respondWithoutTransaction(status: status, error: error)
            case .closeSilently:
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
                parser.releaseDrainedBuffer()
                resumeClientReadsIfNeeded()
                return
            }
            switch event {
            case .head(let head, let framing):
                startTransaction(head: head, framing: framing)
            case .body(let piece):
                transaction?.requestBody(piece)
            case .end(let trailers):
                transaction?.requestEnded(trailers: trailers)
            }
        }
    }

    func startTransaction(head: HTTPRequestHead, framing: HTTPBodyFraming) {
        requestCount += 1
        let started = requestStartedAt ?? (.now(), WallClock.microseconds())
        var record = connection.logRecord(requestDateMicroseconds: started.wallMicroseconds,
                                          frontendName: frontend.name,
                                          backendName: frontend.defaultBackend?.name ?? frontend.name)
        record.idleTime = HTTPTransaction.milliseconds(from: idleSince, to: started.deadline)
        record.requestHeadTime = HTTPTransaction.milliseconds(from: started.deadline)
        let keepOpen = frontend.config.httpConnectionMode != .close
            && MessageRewriting.clientWantsKeepAlive(head) && !generation.isStopping
        let transaction = HTTPTransaction(
            request: head, framing: framing, client: self, generation: generation, frontend: frontend,
            connection: connection, pool: pool, mayReuseIdleConnection: requestCount > 1,
            record: record, startedAt: started.deadline, keepClientOpen: keepOpen)
        self.transaction = transaction
        responseFraming = .none
        armClientTimer(timeouts.client) { [self] in self.clientTimedOut() }
        transaction.start()
    }

    /// Watches client inactivity (`timeout client`, `tunnel`, `client-fin`).
    func armClientTimer(_ timeout: Duration?, onExpiry: @escaping () -> Void) {
        timerCountsActivity = true
        timer.arm(timeout?.timeAmount, onExpiry: onExpiry)
    }

    func clientTimedOut() {
        guard let transaction else {
            closeClient()
            return
        }
        if transaction.clientTimedOut() {
            armClientTimer(timeouts.client) { [self] in self.clientTimedOut() }
        }
    }

    func requestParseFailed(_ error: HTTPParserError) {
        if let transaction {
            transaction.requestMalformed(error)
            return
        }
        respondWithoutTransaction(status: error.requestStatus, error: .init(.invalidMessage, .client, .request))
    }

    /// Answers with an error page and closes, when no transaction could start: a malformed or
    /// incomplete head, or a timeout while waiting for it. Logged with `<BADREQ>`.
    func respondWithoutTransaction(status: Int, error: TransactionError) {
        let bytes = ErrorPages.addingConnectionClose(to: frontend.errorPages.response(for: status))
        var record = connection.logRecord(
            requestDateMicroseconds: requestStartedAt?.wallMicroseconds ?? WallClock.microseconds(),
            frontendName: frontend.name, backendName: frontend.name)
        record.requestHeadTime = -1
        if let started = requestStartedAt {
            record.activeTime = HTTPTransaction.milliseconds(from: started.deadline)
        }
        record.requestLine = "<BADREQ>"
        record.status = status
        record.terminationState = error.httpTerminationState
        record.bytesToClient += Int64(bytes.readableBytes)
        frontend.counters.responseSent(status: status)
        write(bytes)
        // `option dontlognull`: a probe that connected and sent nothing is answered, not logged.
        if !frontend.skipsLog(bytesFromClient: connection.bytesIn) {
            frontend.logTransaction(record, request: nil, backend: frontend.defaultBackend, generation: generation)
        }
        closeClientAfterFlush()
    }
}

/// Per-connection facts shared by the HTTP and TCP sessions: the client's address, accept time,
/// byte counts, and the connection counters to release at close.
final class ClientConnection {
    let clientAddress: String
    let clientPort: Int
    let clientAddressBytes: [UInt8]?
    /// The address and port the client connected to (`dst`, `%fi`, `option originalto`); nil
    /// for a Unix socket.
    let localAddress: String?
    let localPort: Int
    let localAddressBytes: [UInt8]?
    /// `sess.` variables: they live as long as the client connection.
    var sessionVariables = VariableStore()
    /// Stick counters tracked by `tcp-request connection` rules, released when it closes.
    var trackedCounters = TrackedCounters()
    let acceptedAt: NIODeadline
    let acceptedAtWallMicroseconds: Int64
    var bytesIn = 0
    var bytesOut = 0
    /// The server of the connection's previous request (`option prefer-last-server`).
    var lastServer: ServerState?

    init(remote: SocketAddress?, local: SocketAddress? = nil) {
        self.acceptedAt = .now()
        self.acceptedAtWallMicroseconds = WallClock.microseconds()
        (clientAddress, clientPort, clientAddressBytes) = Self.parts(of: remote)
        let (localText, port, localBytes) = Self.parts(of: local)
        localAddress = localBytes == nil ? nil : localText
        localPort = port
        localAddressBytes = localBytes
    }

    /// Addresses given by a PROXY protocol header instead of the socket's.
    init(client: (address: String, port: Int, bytes: [UInt8]?), local: (address: String, port: Int, bytes: [UInt8])) {
        self.acceptedAt = .now()
        self.acceptedAtWallMicroseconds = WallClock.microseconds()
        (clientAddress, clientPort, clientAddressBytes) = client
        (localAddress, localPort, localAddressBytes) = local
    }

    /// Text, port and raw bytes of an IP address; "unix" and no bytes otherwise.
    static func parts(of address: SocketAddress?) -> (String, Int, [UInt8]?) {
        switch address {
        case .v4(let inet)?:
            return (address?.ipAddress ?? "-", address?.port ?? 0,
                    withUnsafeBytes(of: inet.address.sin_addr.s_addr) { Array($0) })
        case .v6(let inet)?:
            return (address?.ipAddress ?? "-", address?.port ?? 0,
                    withUnsafeBytes(of: inet.address.sin6_addr) { Array($0) })
        case .unixDomainSocket?, nil:
            return ("unix", 0, nil)
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
