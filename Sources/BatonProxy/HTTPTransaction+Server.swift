import BatonBalancing
import BatonConfig
import BatonHTTP1
import NIOCore

extension HTTPTransaction {
    // MARK: - Getting a server connection

    /// Carries out what `ServerConnectStateMachine` decided.
    func perform(_ action: ServerConnectStateMachine.Action) {
        guard let client else { return }
        switch action {
        case .connect(let choice):
            connectToServer(choice)
        case .connectAfter(let delay, let choice):
            retryTask = client.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
                self.retryTask = nil
                self.connectToServer(choice)
            }
        case .waitInQueue(let recheckAfter):
            retryTask = client.eventLoop.assumeIsolated().scheduleTask(in: recheckAfter) { [self] in
                self.retryTask = nil
                self.connectToServer(.balancer)
            }
        case .fail(let error):
            if error.phase == .queue, let connect { record.queueTime = connect.queueTimeMilliseconds }
            if error.phase == .connect { record.connectTime = -1 }
            fail(state.serverConnectionFailed(error))
        }
    }

    /// Picks a server as `choice` says and gets a connection to it: an idle one from this
    /// loop's pool when `http-reuse safe` allows, or a new one.
    func connectToServer(_ choice: ServerConnectStateMachine.Choice) {
        guard let backend, let client else { return }
        let server: ServerState
        switch backend.takeServer(choice, replacing: self.server, for: connection,
                                  persistent: persistentServer ?? serverFromRules ?? preferredServer(of: backend)) {
        case .same(let same):
            server = same
        case .picked(let picked):
            server = picked
            self.server = picked
            connect?.serverPicked(now: .now())
            if let connect { record.queueTime = connect.queueTimeMilliseconds }
        case .noneFree(let anyUsable):
            self.server = nil
            if let action = connect?.noServerFree(anyUsable: anyUsable, now: .now()) { perform(action) }
            return
        }
        record.serverName = server.name
        record.serverConnections = server.currentConnections
        record.serverAddress = server.config.resolvedAddress
        record.serverPort = server.config.port
        connection.lastServer = server

        if let idle = takeIdleConnection(to: server, reuse: backend.config.httpReuse) {
            record.connectTime = 0
            attach(idle)
            return
        }
        UpstreamConnector.connect(to: server, of: backend, mode: .http, maxHeaderFields: generation.maxHeaderFields,
                                  for: connection,
                                  on: client.eventLoop) { [self] outcome in
            switch outcome {
            case .connected(let upstream, let milliseconds):
                guard !self.isOver, self.server === server else {
                    upstream.close()
                    return
                }
                self.record.connectTime = milliseconds
                self.attach(upstream)
            case .failed(let timedOut):
                guard !self.isOver, self.server === server, var machine = self.connect else { return }
                let action = machine.connectFailed(timedOut: timedOut)
                self.connect = machine
                self.record.retries = machine.retries
                self.perform(action)
            }
        }
    }

    /// `option prefer-last-server`: the previous request's server when it can take this one
    /// now, for algorithms that do not pick by the client (`source` does already).
    func preferredServer(of backend: BackendRuntime) -> ServerState? {
        guard backend.config.preferLastServer, backend.config.balance != .source, let last = connection.lastServer,
              backend.selector.servers.contains(where: { $0 === last }), last.isUsable else { return nil }
        return last
    }

    /// An idle connection to `server` as `http-reuse` allows: never with `never`; with `safe`
    /// not for the first request of a client connection; with `aggressive` a first request only
    /// takes one already reused; with `always` any request takes any.
    func takeIdleConnection(to server: ServerState, reuse: HTTPReuse) -> UpstreamConnection? {
        switch reuse {
        case .never: return nil
        case .safe: return mayReuseIdleConnection ? pool.take(for: server) : nil
        case .aggressive: return pool.take(for: server, provenOnly: !mayReuseIdleConnection)
        case .always: return pool.take(for: server)
        }
    }

    /// The server connection is ready: send the head and whatever body arrived meanwhile.
    func attach(_ upstream: UpstreamConnection) {
        guard let backend else { return }
        self.upstream = upstream
        upstream.beginExchange(method: request.method, receiver: self)
        let forwardFor = backend.config.forwardFor ?? frontend.config.forwardFor
        var original = request
        if let forwardedFields { original.fields = forwardedFields }
        var (head, framing) = MessageRewriting.serverRequestHead(
            for: original, framing: requestFraming, forwardFor: forwardFor,
            clientAddress: connection.clientAddress, clientAddressBytes: connection.clientAddressBytes,
            closeServerSide: state.serverSideClose, upgrade: isUpgrade)
        if let originalTo = backend.config.originalTo ?? frontend.config.originalTo {
            MessageRewriting.addOriginalTo(originalTo, to: &head, destination: connection.localAddress,
                                           destinationBytes: connection.localAddressBytes)
        }
        outgoingRequestFraming = framing
        state.requestHeadForwarded()
        var buffer = allocator.buffer(capacity: 512)
        head.write(into: &buffer)
        upstream.write(buffer)
        for piece in pendingBody {
            if let framed = BodyWriter.frame(piece, as: framing, allocator: allocator) {
                upstream.write(framed)
            }
        }
        pendingBody.removeAll()
        pendingBodyBytes = 0
        if state.requestComplete {
            if let end = BodyWriter.end(as: framing, trailers: requestTrailers, allocator: allocator) {
                upstream.write(end)
            }
        }
        upstream.flush()
        requestSentAt = .now()
        armServerTimeout(upstream, backend: backend)
        client?.requestBodyCanFlow()
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
}

// MARK: - UpstreamReceiver

extension HTTPTransaction: UpstreamReceiver {
    func upstream(_ connection: UpstreamConnection, received event: HTTPParserEvent<HTTPResponseHead>) {
        guard upstream === connection, let client else { return }
        switch event {
        case .head(let head, let framing):
            responseHeadReceived(head, framing: framing, from: connection, client: client)
        case .body(let piece):
            client.sendResponseBody(piece, of: self)
        case .end(let trailers):
            // The end of an interim (1xx) response: the final one follows.
            guard state.responseStarted else { return }
            client.sendResponseEnd(trailers: trailers, of: self)
            connection.awaitingNextRequest = true
            carryOut(state.responseEnded())
        }
    }

    private func responseHeadReceived(_ head: HTTPResponseHead, framing: HTTPBodyFraming,
                                      from upstream: UpstreamConnection, client: any TransactionClient) {
        if head.status < 200 && head.status != 101 {
            client.sendInterimResponse(head, of: self)
            return
        }
        if head.status == 101 && !isUpgrade {
            self.upstream(upstream, failed: .invalidResponse)  // an unsolicited 101
            return
        }
        let switching = head.status == 101
        record.status = head.status
        if !frontend.config.responseCaptures.isEmpty {
            responseCaptures = HTTPTransaction.captures(frontend.config.responseCaptures, from: head.fields)
        }
        var head = head
        // `http-response` rules first, then cookie persistence, as HAProxy's
        // http_process_res_common orders them.
        if !switching {
            guard let edited = applyResponseRules(to: head) else { return }
            head = edited
        }
        if let rules = backend?.cookieRules, let server, !switching {
            let (fields, flag) = rules.rewriteResponse(head.fields, status: head.status, serverCookie: server.config.cookie,
                                                       direct: server === persistentServer, method: request.method)
            head.fields = fields
            cookieFlags?.server = flag
        }
        if let sent = requestSentAt ?? connectStartedAt {
            record.responseTime = HTTPTransaction.milliseconds(from: sent)
        }
        // The state sees the head before it is written: the client side reads the keep-alive
        // decision taken so far.
        let serverAllowsReuse = MessageRewriting.serverAllowsReuse(head) && framing != .untilClose
        let clientMayStayOpen = client.sendResponseHead(head, framing: framing, upgrade: switching, of: self)
        state.responseHeadReceived(serverAllowsReuse: serverAllowsReuse, clientMayStayOpen: clientMayStayOpen)
        if switching {
            switchToTunnel(upstream, client: client)
        }
    }

    /// After a 101 the transaction hands its server connection to the client side, which
    /// relays bytes and logs the transaction when the tunnel ends, as HAProxy does.
    private func switchToTunnel(_ upstream: UpstreamConnection, client: any TransactionClient) {
        self.upstream = nil
        self.client = nil
        retryTask?.cancel()
        if let server {
            // The server keeps counting this connection until the tunnel closes.
            upstream.channel?.closeFuture.whenComplete { _ in server.connectionEnded() }
            self.server = nil
        }
        client.switchToTunnel(self, upstream: upstream)
    }

    func upstream(_ connection: UpstreamConnection, receivedRaw bytes: ByteBuffer) {}

    func upstreamInputClosed(_ connection: UpstreamConnection) {}

    func upstreamReadComplete(_ connection: UpstreamConnection) {
        client?.flush()
    }

    func upstream(_ connection: UpstreamConnection, failed failure: UpstreamFailure) {
        guard !isOver, upstream === connection else { return }
        fail(state.serverFailed(failure))
    }

    func upstreamWritabilityChanged(_ connection: UpstreamConnection) {
        client?.requestBodyCanFlow()
    }

    var acceptsUpstreamData: Bool { client?.acceptsResponseData ?? false }

    /// Ends the transaction's share of the backend once the tunnel it became is over.
    func tunnelEnded(_ error: TransactionError?) {
        releaseBackendSlot()
        record.terminationState = error.httpTerminationState
        record.activeTime = HTTPTransaction.milliseconds(from: startedAt)
        applyCookieFlags()
        frontend.logTransaction(record, request: receivedRequestLine, backend: backend, generation: generation)
    }
}

extension UpstreamFailure {
    var isTimeout: Bool { self == .timedOut }
}
