import BatonBalancing
import BatonConfig
import BatonHTTP1
import BatonObservability
import NIOCore
import NIOPosix

/// `mode tcp`: a bidirectional byte relay between a client and a server, with backpressure
/// (reading from one side pauses while the other cannot take more) and half-close (a FIN is
/// passed on, and the other direction keeps flowing until it closes too).
final class TCPSession: ChannelDuplexHandler, UpstreamReceiver {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let generation: ProxyGeneration
    let frontend: FrontendRuntime
    let connection: ClientConnection
    /// Cleared in `handlerRemoved`: the context holds this handler strongly.
    var context: ChannelHandlerContext?
    var eventLoop: (any EventLoop)!
    var upstream: UpstreamConnection?
    var server: ServerState?
    var pending: [ByteBuffer] = []
    var pendingBytes = 0
    var pendingRead = false
    var clientInputClosed = false
    var serverInputClosed = false
    var connectAttempts: ServerConnectStateMachine?
    var connectTime: Int64 = -1
    /// Why the session ended, when not normally (the first cause seen is the one logged).
    var ending: TransactionError?
    var finished = false
    var clientTimer: InactivityTimer!

    init(generation: ProxyGeneration, frontend: FrontendRuntime, connection: ClientConnection) {
        self.generation = generation
        self.frontend = frontend
        self.connection = connection
    }

    /// Chosen when the session starts, by the frontend's routing.
    var backend: BackendRuntime?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        eventLoop = context.eventLoop
        clientTimer = InactivityTimer(eventLoop: context.eventLoop)
        armClientTimeout()
        if frontend.config.tcpRequestContentRules.isEmpty && frontend.switchingRules.isEmpty {
            backend = frontend.defaultBackend
        } else {
            let subject = ConnectionRuleSubject(connection: connection, frontend: frontend, generation: generation)
            if frontend.config.tcpRequestContentRules.run(subject) == .reject {
                frontend.counters.connectionDenied()
                ending = .init(.blockedByProxy, .client, .request)
                finish()
                return
            }
            backend = frontend.chooseBackend(for: subject, in: generation)
        }
        guard let backend else {
            ending = .init(.blockedByProxy, .client, .connect)
            finish()
            return
        }
        backend.counters.sessionStarted()
        var machine = backend.makeConnectStateMachine()
        let first = machine.start()
        connectAttempts = machine
        perform(first)
    }

    /// Carries out what `ServerConnectStateMachine` decided (shared with HTTP transactions).
    func perform(_ action: ServerConnectStateMachine.Action) {
        guard !finished else { return }
        switch action {
        case .connect(let choice):
            connect(choice)
        case .connectAfter(let delay, let choice):
            eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in self.connect(choice) }
        case .waitInQueue(let recheckAfter):
            eventLoop.assumeIsolated().scheduleTask(in: recheckAfter) { [self] in self.connect(.balancer) }
        case .fail(let error):
            ending = error
            finish()
        }
    }

    func connect(_ choice: ServerConnectStateMachine.Choice) {
        guard !finished, let backend else { return }
        let server: ServerState
        switch backend.takeServer(choice, replacing: self.server, for: connection) {
        case .same(let same):
            server = same
        case .picked(let picked):
            server = picked
            self.server = picked
            connectAttempts?.serverPicked(now: .now())
        case .noneFree(let anyUsable):
            self.server = nil
            if let action = connectAttempts?.noServerFree(anyUsable: anyUsable, now: .now()) { perform(action) }
            return
        }
        UpstreamConnector.connect(to: server, of: backend, mode: .raw, for: connection, on: eventLoop) { [self] outcome in
            switch outcome {
            case .connected(let upstream, let milliseconds):
                guard !self.finished else {
                    upstream.close()
                    return
                }
                self.connectTime = milliseconds
                self.attach(upstream)
            case .failed(let timedOut):
                guard !self.finished, var machine = self.connectAttempts else { return }
                let action = machine.connectFailed(timedOut: timedOut)
                self.connectAttempts = machine
                self.perform(action)
            }
        }
    }

    func attach(_ upstream: UpstreamConnection) {
        self.upstream = upstream
        upstream.receiver = self
        for piece in pending { upstream.write(piece) }
        pending.removeAll()
        pendingBytes = 0
        upstream.flush()
        if clientInputClosed { upstream.closeOutput() }
        armServerTimeout(upstream)
        resumeClientReadsIfNeeded()
    }

    /// Inactivity timers for each side. A side held back by the other's backpressure is not
    /// idle, so its timer starts over instead of firing.
    func armClientTimeout() {
        let timeouts = frontend.config.timeouts
        clientTimer.arm((timeouts.tunnel ?? timeouts.client)?.timeAmount) { [self] in
            if self.pendingRead { self.armClientTimeout() } else { self.timedOut(clientSide: true) }
        }
    }

    func armServerTimeout(_ upstream: UpstreamConnection) {
        let timeouts = backend?.config.timeouts
        upstream.idleTimer.arm((timeouts?.tunnel ?? timeouts?.server)?.timeAmount) { [self, upstream] in
            if upstream.isPausedForClient { self.armServerTimeout(upstream) } else { self.timedOut(clientSide: false) }
        }
    }

    // MARK: - Client side

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        // The client's direction already ended (its timeout struck): nothing more goes on.
        if clientInputClosed { return }
        connection.bytesIn += bytes.readableBytes
        clientTimer.touch()
        if let upstream {
            upstream.idleTimer.touch()
            upstream.write(bytes)
        } else {
            pending.append(bytes)
            pendingBytes += bytes.readableBytes
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        upstream?.flush()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, case .inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        clientInputClosed = true
        upstream?.closeOutput()
        // Waiting for the server to finish now: `timeout server-fin` when set.
        if let upstream, let fin = backend?.config.timeouts.serverFin {
            upstream.idleTimer.arm(fin.timeAmount) { [self] in self.timedOut(clientSide: false) }
        }
        if serverInputClosed || upstream == nil && server == nil { finish() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        clientTimer.cancel()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            if ending == nil && !(clientInputClosed && serverInputClosed) { ending = .init(.aborted, .client, .data) }
            finish()
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if shouldPauseClientReads {
            pendingRead = true
            return
        }
        pendingRead = false
        context.read()
    }

    var shouldPauseClientReads: Bool {
        if let upstream { return !upstream.isWritable }
        return pendingBytes >= HTTPTransaction.pendingLimit
    }

    func resumeClientReadsIfNeeded() {
        guard pendingRead, !shouldPauseClientReads else { return }
        pendingRead = false
        context?.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        upstream?.resumeReadsIfNeeded()
        context.fireChannelWritabilityChanged()
    }

    // MARK: - UpstreamReceiver

    var acceptsUpstreamData: Bool { context?.channel.isWritable ?? false }

    func upstream(_ connection: UpstreamConnection, received event: HTTPParserEvent<HTTPResponseHead>) {}

    func upstream(_ connection: UpstreamConnection, receivedRaw bytes: ByteBuffer) {
        if serverInputClosed { return }
        self.connection.bytesOut += bytes.readableBytes
        clientTimer.touch()
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    func upstreamInputClosed(_ connection: UpstreamConnection) {
        serverInputClosed = true
        context?.closeAfterPendingWrites(mode: .output)
        // Waiting for the client to finish now: `timeout client-fin` when set.
        if let fin = frontend.config.timeouts.clientFin {
            clientTimer.arm(fin.timeAmount) { [self] in self.timedOut(clientSide: true) }
        }
        if clientInputClosed { finish() }
    }

    func upstreamReadComplete(_ connection: UpstreamConnection) {
        context?.flush()
    }

    func upstream(_ connection: UpstreamConnection, failed failure: UpstreamFailure) {
        if !finished {
            if ending == nil && !(clientInputClosed && serverInputClosed) {
                ending = .init(failure.isTimeout ? .timedOut : .aborted, .server, .data)
            }
            finish()
        }
    }

    func upstreamWritabilityChanged(_ connection: UpstreamConnection) {
        resumeClientReadsIfNeeded()
    }

    /// A side stayed idle past its timeout. As HAProxy does, that ends only that side's
    /// direction (a FIN goes to the other side); the session ends once both directions have.
    func timedOut(clientSide: Bool) {
        guard !finished else { return }
        if ending == nil { ending = .init(.timedOut, clientSide ? .client : .server, .data) }
        if clientSide {
            clientTimer.cancel()
            guard !clientInputClosed, let upstream, !serverInputClosed else { return finish() }
            clientInputClosed = true
            upstream.closeOutput()
        } else {
            upstream?.idleTimer.cancel()
            guard !serverInputClosed, !clientInputClosed else { return finish() }
            serverInputClosed = true
            context?.closeAfterPendingWrites(mode: .output)
        }
    }

    // MARK: - End

    func finish() {
        guard !finished else { return }
        finished = true
        if connectAttempts != nil { backend?.counters.sessionEnded() }
        clientTimer.cancel()
        if let upstream {
            self.upstream = nil
            upstream.idleTimer.cancel()
            upstream.close()
        }
        server?.connectionEnded()
        context?.closeAfterPendingWrites()
        log()
    }

    func log() {
        guard let logger = frontend.logger, frontend.config.logFormat != nil,
              !frontend.skipsLog(bytesFromClient: connection.bytesIn) else { return }
        var record = connection.logRecord(requestDateMicroseconds: connection.acceptedAtWallMicroseconds,
                                          frontendName: frontend.name,
                                          backendName: backend?.name ?? frontend.name,
                                          serverName: server?.name ?? "<NOSRV>")
        record.queueTime = server == nil ? -1 : 0
        record.connectTime = connectTime
        record.totalTime = HTTPTransaction.milliseconds(from: connection.acceptedAt)
        record.bytesToClient = Int64(connection.bytesOut)
        record.bytesFromClient = Int64(connection.bytesIn)
        record.terminationState = ending.tcpTerminationState
        record.retries = connectAttempts?.retries ?? 0
        record.processConnections = generation.currentConnections
        record.frontendConnections = frontend.counters.currentSessions
        record.backendConnections = backend?.counters.currentSessions ?? 0
        record.serverConnections = server?.currentConnections ?? 0
        logger.log(bytes: LogLineFormatter.tcplogBytes(record, options: logger.lineOptions),
                   level: frontend.logLevel(for: record))
    }
}
