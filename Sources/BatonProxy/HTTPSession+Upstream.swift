import BatonBalancing
import BatonHTTP1
import NIOCore
import NIOPosix

extension HTTPSession {
    // MARK: - Connecting, with retries and redispatch

    /// Picks a server (or keeps the one already tried) and gets a connection to it: an idle one
    /// from this loop's pool when `http-reuse safe` allows, or a new one.
    func connectToServer(_ transaction: HTTPTransaction, excluding failed: ServerState?) {
        guard let backend = transaction.backend, self.transaction === transaction else { return }
        let server: ServerState
        if let previous = transaction.server, failed == nil {
            server = previous
        } else {
            transaction.server?.connectionEnded()
            transaction.server = nil
            guard let picked = backend.pickServer(for: connection, excluding: failed)
            else {
                waitInQueue(transaction, backend: backend)
                return
            }
            server = picked
            server.connectionStarted()
            transaction.server = server
        }
        transaction.record.serverName = server.name
        transaction.record.serverConnections = server.currentConnections

        // http-reuse safe: only requests after the first may share an idle connection.
        if requestCount > 1, let idle = pool.take(for: server) {
            transaction.record.connectTime = 0
            attach(idle, to: transaction)
            return
        }
        UpstreamConnector.connect(to: server, of: backend, mode: .http, on: eventLoop) { [self] outcome in
            switch outcome {
            case .connected(let upstream, let milliseconds):
                guard self.transaction === transaction, transaction.server === server else {
                    upstream.close()
                    return
                }
                transaction.record.connectTime = milliseconds
                self.attach(upstream, to: transaction)
            case .failed(let timedOut):
                self.connectFailed(transaction, server: server, timedOut: timedOut)
            }
        }
    }

    /// A connection attempt failed: retry the same server after a turn-around delay (1 s or the
    /// connect timeout, whichever is shorter, as HAProxy does), redispatching to another server
    /// on the last retry with `option redispatch`; after `retries`, answer 503.
    func connectFailed(_ transaction: HTTPTransaction, server: ServerState, timedOut: Bool) {
        guard self.transaction === transaction, let backend = transaction.backend else { return }
        transaction.attempts += 1
        transaction.record.retries = min(transaction.attempts, backend.config.retries)
        let delay: TimeAmount
        let excluded: ServerState?
        switch backend.retryPolicy.decide(failedAttempts: transaction.attempts, timedOut: timedOut) {
        case .giveUp:
            transaction.record.connectTime = -1
            fail(transaction, transaction.state.noServerAvailable(timedOut ? .connectTimedOut : .refused))
            return
        case .retrySameServer(let after):
            (delay, excluded) = (after, nil)
        case .redispatch(let after):
            (delay, excluded) = (after, server)
        }
        transaction.retryTask = eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            self.connectToServer(transaction, excluding: excluded)
        }
    }

    /// Every server is at its maxconn: wait for a slot until `timeout queue` (or `timeout
    /// connect`, HAProxy's fallback), then answer 503.
    func waitInQueue(_ transaction: HTTPTransaction, backend: BackendRuntime) {
        guard backend.selector.hasAvailableServer else {
            fail(transaction, transaction.state.noServerAvailable(.refused))
            return
        }
        let queuedAt = transaction.connectStartedAt ?? .now()
        let limit = (backend.config.timeouts.queue ?? backend.config.timeouts.connect)?.timeAmount ?? .seconds(3600)
        if NIODeadline.now() - queuedAt >= limit {
            transaction.record.queueTime = HTTPTransaction.milliseconds(from: queuedAt)
            fail(transaction, transaction.state.noServerAvailable(.queueTimedOut))
            return
        }
        transaction.retryTask = eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(2)) { [self] in
            transaction.record.queueTime = HTTPTransaction.milliseconds(from: queuedAt)
            self.connectToServer(transaction, excluding: nil)
        }
    }

    /// The server connection is ready: send the head and whatever body arrived meanwhile.
    func attach(_ upstream: UpstreamConnection, to transaction: HTTPTransaction) {
        guard let backend = transaction.backend else { return }
        transaction.upstream = upstream
        upstream.beginExchange(method: transaction.request.method, receiver: self)
        let forwardFor = backend.config.forwardFor ?? frontend.config.forwardFor
        let (head, framing) = MessageRewriting.serverRequestHead(
            for: transaction.request, framing: transaction.requestFraming, forwardFor: forwardFor,
            clientAddress: connection.clientAddress, clientAddressBytes: connection.clientAddressBytes,
            closeServerSide: transaction.state.serverSideClose, upgrade: transaction.isUpgrade)
        transaction.outgoingRequestFraming = framing
        transaction.state.requestHeadForwarded()
        var buffer = allocator.buffer(capacity: 512)
        head.write(into: &buffer)
        upstream.write(buffer)
        for piece in transaction.pendingBody {
            if let framed = BodyWriter.frame(piece, as: framing, allocator: allocator) {
                upstream.write(framed)
            }
        }
        transaction.pendingBody.removeAll()
        transaction.pendingBodyBytes = 0
        if transaction.state.requestComplete {
            if let end = BodyWriter.end(as: framing, trailers: transaction.requestTrailers,
                                        allocator: allocator) {
                upstream.write(end)
            }
        }
        upstream.flush()
        transaction.requestSentAt = .now()
        armServerTimeout(upstream, backend: backend)
        resumeClientReadsIfNeeded()
    }

    /// `timeout server`: the server stayed silent. Time spent paused because the client reads
    /// slowly is the client's, so the timer starts over then (`timeout client` covers it).
    func armServerTimeout(_ upstream: UpstreamConnection, backend: BackendRuntime) {
        upstream.idleTimer.arm(backend.config.timeouts.server?.timeAmount) { [self, upstream] in
            if upstream.isPausedForClient {
                self.armServerTimeout(upstream, backend: backend)
            } else {
                self.upstream(upstream, failed: .timedOut)
            }
        }
    }

    // MARK: - UpstreamReceiver

    func upstream(_ connection: UpstreamConnection, received event: HTTPParserEvent<HTTPResponseHead>) {
        guard let transaction, transaction.upstream === connection else { return }
        switch event {
        case .head(let head, let framing):
            responseHeadReceived(head, framing: framing, in: transaction, from: connection)
        case .body(let piece):
            if let framed = BodyWriter.frame(piece, as: transaction.outgoingResponseFraming,
                                             allocator: allocator) {
                writeToClient(framed)
            }
        case .end(let trailers):
            if transaction.state.responseStarted {
                if let end = BodyWriter.end(as: transaction.outgoingResponseFraming, trailers: trailers,
                                            allocator: allocator) {
                    writeToClient(end)
                }
                responseEnded(transaction, upstream: connection)
            }
            // The end of an interim (1xx) response: the final one follows.
        }
    }

    func responseHeadReceived(_ head: HTTPResponseHead, framing: HTTPBodyFraming,
                              in transaction: HTTPTransaction, from upstream: UpstreamConnection) {
        if head.status < 200 && head.status != 101 {
            // Interim responses (100 Continue, 103) go to HTTP/1.1 clients as they are.
            if transaction.request.version == .http1_1 {
                var buffer = allocator.buffer(capacity: 64)
                HTTPResponseHead(version: .http1_1, status: head.status, reason: head.reason,
                                 fields: head.fields.removingHopByHop()).write(into: &buffer)
                writeToClient(buffer)
                flushClient()
            }
            return
        }
        let switching = head.status == 101 && transaction.isUpgrade
        if head.status == 101 && !transaction.isUpgrade {
            self.upstream(upstream, failed: .invalidResponse)  // an unsolicited 101
            return
        }
        transaction.record.status = head.status
        if let sent = transaction.requestSentAt ?? transaction.connectStartedAt {
            transaction.record.responseTime = HTTPTransaction.milliseconds(from: sent)
        }
        let rewritten = MessageRewriting.clientResponseHead(
            for: head, framing: framing, clientVersion: transaction.request.version,
            keepClientOpen: transaction.state.keepClientOpen, upgrade: switching)
        transaction.state.responseHeadReceived(
            serverAllowsReuse: MessageRewriting.serverAllowsReuse(head) && framing != .untilClose,
            clientMayStayOpen: rewritten.keepClientOpen)
        transaction.outgoingResponseFraming = rewritten.framing
        var buffer = allocator.buffer(capacity: 512)
        rewritten.head.write(into: &buffer)
        writeToClient(buffer)
        if switching {
            startTunnel(transaction, upstream: upstream)
        }
    }

    func responseEnded(_ transaction: HTTPTransaction, upstream: UpstreamConnection) {
        upstream.awaitingNextRequest = true
        carryOut(transaction.state.responseEnded(), for: transaction)
    }

    func upstream(_ connection: UpstreamConnection, receivedRaw bytes: ByteBuffer) {
        guard tunnel === connection else { return }
        connection.idleTimer.touch()
        clientTimer.touch()
        self.connection.bytesOut += bytes.readableBytes
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    func upstreamInputClosed(_ connection: UpstreamConnection) {
        guard tunnel === connection else { return }
        tunnelServerClosed = true
        context?.closeAfterPendingWrites(mode: .output)
        // Waiting for the client to finish now: `timeout client-fin` when set.
        if let fin = timeouts.clientFin {
            clientTimer.arm(fin.timeAmount) { [self] in self.endTunnel(termination: "cD--") }
        }
        if clientInputClosed { endTunnel(termination: "----") }
    }

    func upstreamReadComplete(_ connection: UpstreamConnection) {
        flushClient()
    }

    func upstream(_ connection: UpstreamConnection, failed failure: UpstreamFailure) {
        if tunnel === connection {
            endTunnel(termination: failure.isTimeout ? "sD--" : (tunnelServerClosed ? "----" : "SD--"))
            return
        }
        guard let transaction, transaction.upstream === connection else { return }
        fail(transaction, transaction.state.serverFailed(failure))
    }

    func upstreamWritabilityChanged(_ connection: UpstreamConnection) {
        resumeClientReadsIfNeeded()
    }

    // MARK: - Tunnels (101 Switching Protocols)

    func startTunnel(_ transaction: HTTPTransaction, upstream: UpstreamConnection) {
        self.transaction = nil
        // Logged when the tunnel ends, as HAProxy does, with the whole duration.
        tunnelTransaction = transaction
        transaction.upstream = nil
        tunnel = upstream
        upstream.mode = .raw
        // Bytes that followed the 101 or the request head belong to the new protocol.
        let fromServer = upstream.parser.takeRemainingBytes()
        if fromServer.readableBytes > 0 { writeToClient(fromServer) }
        flushClient()
        let fromClient = parser.takeRemainingBytes()
        if fromClient.readableBytes > 0 { upstream.writeAndFlush(fromClient) }
        let backendTimeouts = transaction.backend?.config.timeouts
        let tunnelTimeout = (backendTimeouts?.tunnel ?? timeouts.tunnel)?.timeAmount
        clientTimer.arm(tunnelTimeout ?? timeouts.client?.timeAmount) { [self] in
            self.endTunnel(termination: "cD--")
        }
        upstream.idleTimer.arm(tunnelTimeout ?? backendTimeouts?.server?.timeAmount) { [self] in
            self.endTunnel(termination: "sD--")
        }
        if let server = transaction.server {
            // The server keeps counting this connection until the tunnel closes.
            upstream.channel?.closeFuture.whenComplete { _ in server.connectionEnded() }
            transaction.server = nil
        }
        resumeClientReadsIfNeeded()
        upstream.resumeReadsIfNeeded()
    }

    /// The client half-closed the tunnel: pass the FIN on and wait for the server to finish,
    /// under `timeout server-fin` when set.
    func tunnelClientClosedInput() {
        guard let tunnel else { return }
        tunnel.closeOutput()
        if let fin = tunnelTransaction?.backend?.config.timeouts.serverFin {
            tunnel.idleTimer.arm(fin.timeAmount) { [self] in self.endTunnel(termination: "sD--") }
        }
        if tunnelServerClosed { endTunnel(termination: "----") }
    }

    /// Closes both sides of the tunnel and writes its log line, once.
    func endTunnel(termination: String) {
        if let upstream = tunnel {
            tunnel = nil
            upstream.idleTimer.cancel(dropScheduledCheck: true)
            upstream.close()
        }
        if let transaction = tunnelTransaction {
            tunnelTransaction = nil
            transaction.releaseBackendSlot()
            transaction.record.terminationState = termination
            transaction.record.activeTime = HTTPTransaction.milliseconds(from: transaction.startedAt)
            emitLog(transaction.record, request: transaction.request)
        }
        closeClientAfterFlush()
    }
}

extension UpstreamFailure {
    var isTimeout: Bool { self == .timedOut }
}
