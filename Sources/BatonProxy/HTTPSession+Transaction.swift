import BatonBalancing
import BatonConfig
import BatonHTTP1
import BatonObservability
import NIOCore

extension HTTPSession {
    // MARK: - Starting a transaction

    func startTransaction(head: HTTPRequestHead, framing: HTTPBodyFraming) {
        headTimer.cancel()
        requestCount += 1
        frontend.counters.requestReceived()
        let started = requestStartedAt ?? (.now(), WallClock.microseconds())
        let backend = frontend.defaultBackend
        var record = connection.logRecord(requestDateMicroseconds: started.wallMicroseconds,
                                          frontendName: frontend.name,
                                          backendName: backend?.name ?? frontend.name)
        record.idleTime = HTTPTransaction.milliseconds(from: idleSince, to: started.deadline)
        record.requestHeadTime = HTTPTransaction.milliseconds(from: started.deadline)
        let keepOpen = frontend.config.httpConnectionMode != .close
            && MessageRewriting.clientWantsKeepAlive(head) && !generation.isStopping
        let serverSideClose = frontend.config.httpConnectionMode != .keepAlive
            || (backend?.config.httpConnectionMode ?? .keepAlive) != .keepAlive
        let transaction = HTTPTransaction(
            request: head, framing: framing, backend: backend, record: record,
            startedAt: started.deadline,
            state: HTTPTransactionStateMachine(keepClientOpen: keepOpen, serverSideClose: serverSideClose))
        self.transaction = transaction
        clientTimer.arm(timeouts.client?.timeAmount) { [self] in
            self.clientTimedOut()
        }

        if let uri = frontend.config.monitorURI, MessageRewriting.matchesMonitorURI(head.target, uri) {
            transaction.record.backendName = frontend.name
            transaction.isMonitorRequest = true
            respondLocally(frontend.monitorResponse, in: transaction, termination: "----")
            return
        }
        if let prepared = frontend.returnResponse {
            transaction.record.backendName = frontend.name
            respondLocally(prepared, in: transaction, termination: "LR--")
            return
        }
        guard let backend else {
            respondLocally(errorResponse(503, transaction), in: transaction, termination: "PR--")
            return
        }
        backend.counters.requestReceived()
        // The backend's concurrent count (`%bc`, `scur`) covers the transaction until it ends.
        backend.counters.sessionStarted()
        transaction.holdsBackendSlot = true
        if let prepared = backend.returnResponse, backend.config.name != frontend.name {
            respondLocally(prepared, in: transaction, termination: "LR--")
            return
        }
        transaction.connectStartedAt = .now()
        transaction.record.queueTime = 0
        connectToServer(transaction, excluding: nil)
    }

    func errorResponse(_ status: Int, _ transaction: HTTPTransaction?) -> PreparedResponse {
        PreparedResponse(status: status, bytes: errorPage(status, transaction))
    }

    /// The backend's `errorfile` for `status`, else the frontend's, else the built-in page.
    func errorPage(_ status: Int, _ transaction: HTTPTransaction?) -> ByteBuffer {
        guard let backend = transaction?.backend else { return frontend.errorPages.response(for: status) }
        return backend.errorPages.response(for: status, fallback: frontend.errorPages)
    }

    // MARK: - Request body

    func forwardRequestBody(_ piece: ByteBuffer, in transaction: HTTPTransaction) {
        guard transaction.state.forwardsRequestBody else { return }
        if let upstream = transaction.upstream {
            // Sending counts as server-side activity for `timeout server`.
            upstream.idleTimer.touch()
            if let framed = BodyWriter.frame(piece, as: transaction.outgoingRequestFraming,
                                             allocator: allocator) {
                upstream.write(framed)
            }
        } else {
            transaction.pendingBody.append(piece)
            transaction.pendingBodyBytes += piece.readableBytes
        }
    }

    func requestEnded(_ transaction: HTTPTransaction, trailers: [HTTPField]) {
        let forwarding = transaction.state.forwardsRequestBody
        transaction.requestTrailers = trailers
        let completion = transaction.state.requestEnded()
        if forwarding, let upstream = transaction.upstream {
            if let end = BodyWriter.end(as: transaction.outgoingRequestFraming, trailers: trailers,
                                        allocator: allocator) {
                upstream.write(end)
            }
            upstream.flush()
            transaction.requestSentAt = .now()
        }
        carryOut(completion, for: transaction)
    }

    // MARK: - Local responses

    /// Answers the request with a response Baton made (monitor-uri, http-request return, 503).
    func respondLocally(_ response: PreparedResponse, in transaction: HTTPTransaction, termination: String) {
        transaction.record.status = response.status
        transaction.record.terminationState = termination
        transaction.record.responseTime = -1
        let completion = transaction.state.respondedLocally(requestHasPendingBody: transaction.requestHasBody)
        writeToClient(response.bytes)
        if completion == .none { flushClient() }
        carryOut(completion, for: transaction)
    }

    // MARK: - Failures

    /// Carries out what the state machine decided about a failure.
    func fail(_ transaction: HTTPTransaction, _ failure: HTTPTransactionStateMachine.Failure) {
        switch failure {
        case .respond(let status, let termination):
            respondWithError(status: status, termination: termination, requestLine: nil)
        case .abort(let termination):
            transaction.record.terminationState = termination
            abortTransaction(transaction)
            // What was already relayed still goes out; the close then shows the truncation.
            closeClientAfterFlush()
        }
    }

    /// Answers with an error page and closes: a malformed request, a timeout while receiving it,
    /// a server that failed before responding. A transaction under way is ended first (its server
    /// connection is not reused) and logged once, with this status.
    func respondWithError(status: Int, termination: String, requestLine: String?) {
        let current = transaction
        let bytes = ErrorPages.addingConnectionClose(to: errorPage(status, current))
        var record: TransactionLogRecord
        if let current {
            current.retryTask?.cancel()
            releaseServerSide(current, reuse: false)
            record = current.record
            record.activeTime = HTTPTransaction.milliseconds(from: current.startedAt)
        } else {
            record = connection.logRecord(
                requestDateMicroseconds: requestStartedAt?.wallMicroseconds ?? WallClock.microseconds(),
                frontendName: frontend.name, backendName: frontend.name)
            record.requestHeadTime = -1
            if let started = requestStartedAt {
                record.activeTime = HTTPTransaction.milliseconds(from: started.deadline)
            }
        }
        if let requestLine { record.requestLine = requestLine }
        record.status = status
        record.terminationState = termination
        record.bytesToClient += Int64(bytes.readableBytes)
        transaction = nil
        frontend.counters.responseSent(status: status)
        connection.bytesOut += bytes.readableBytes
        context?.write(wrapOutboundOut(bytes), promise: nil)
        emitLog(record, request: current?.request)
        closeClientAfterFlush()
    }

    func clientTimedOut() {
        guard let transaction else {
            closeClient()
            return
        }
        switch transaction.state.clientTimedOut() {
        case .keepWaiting:
            clientTimer.arm(timeouts.client?.timeAmount) { [self] in self.clientTimedOut() }
        case .fail(let failure):
            fail(transaction, failure)
        }
    }

    // MARK: - Finishing

    func carryOut(_ completion: HTTPTransactionStateMachine.Completion, for transaction: HTTPTransaction) {
        guard case .finish(let keepClientOpen, let reuseServer) = completion else { return }
        finishTransaction(transaction, keepClientOpen: keepClientOpen, reuseServer: reuseServer)
    }

    /// Both messages are complete: release the server connection, log, and either wait for the
    /// next request or close.
    func finishTransaction(_ transaction: HTTPTransaction, keepClientOpen: Bool, reuseServer: Bool) {
        guard self.transaction === transaction else { return }
        self.transaction = nil
        clientTimer.cancel()
        releaseServerSide(transaction, reuse: reuseServer)
        transaction.record.activeTime = HTTPTransaction.milliseconds(from: transaction.startedAt)
        frontend.counters.responseSent(status: transaction.record.status)
        transaction.backend?.counters.responseSent(status: transaction.record.status)
        // HAProxy does not log requests answered by monitor-uri.
        if !transaction.isMonitorRequest { emitLog(transaction.record, request: transaction.request) }
        if !keepClientOpen || clientInputClosed || closing || generation.isStopping {
            closeClientAfterFlush()
            return
        }
        flushClient()
        waitForRequest()
        // Pipelined requests may already be buffered.
        processRequestEvents()
        resumeClientReadsIfNeeded()
    }

    /// Ends a transaction early (its log line carries the termination flags already set).
    func abortTransaction(_ transaction: HTTPTransaction) {
        guard self.transaction === transaction else { return }
        self.transaction = nil
        transaction.retryTask?.cancel()
        releaseServerSide(transaction, reuse: false)
        transaction.record.activeTime = HTTPTransaction.milliseconds(from: transaction.startedAt)
        emitLog(transaction.record, request: transaction.request)
    }

    func releaseServerSide(_ transaction: HTTPTransaction, reuse: Bool) {
        transaction.releaseBackendSlot()
        if let server = transaction.server {
            server.connectionEnded()
            transaction.server = nil
        }
        guard let upstream = transaction.upstream else { return }
        transaction.upstream = nil
        upstream.idleTimer.cancel()
        if reuse, upstream.isReusable {
            pool.putBack(upstream)
        } else {
            upstream.close()
        }
    }

    func emitLog(_ record: TransactionLogRecord, request: HTTPRequestHead? = nil) {
        guard let logger = frontend.logger else { return }
        var record = record
        if let request, record.requestLine.isEmpty {
            // Built only when a line is written: most of the per-request cost of logging.
            record.requestLine = "\(request.method) \(request.target) \(request.version)"
        }
        record.processConnections = generation.currentConnections
        record.frontendConnections = frontend.counters.currentSessions
        if let backend = frontend.defaultBackend {
            record.backendConnections = backend.counters.currentSessions
        }
        // Without a log format HAProxy logs the connection at accept only.
        guard let format = frontend.config.logFormat else { return }
        logger.log(bytes: LogLineFormatter.bytes(record, format: format, options: logger.lineOptions),
                   level: .info)
    }
}
