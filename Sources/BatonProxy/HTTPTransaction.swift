import BatonBalancing
import BatonHTTP1
import BatonObservability
import BatonRules
import NIOCore

/// One request and its response, driven from routing to completion: it routes the request,
/// answers locally or gets a server connection (retrying, redispatching, queueing), forwards
/// the request, relays the response to its `TransactionClient`, and logs once. It knows no
/// client protocol: an HTTP/1 connection feeds it today, one HTTP/2 stream each later. Its
/// decisions come from two pure state machines, `HTTPTransactionStateMachine` (messages,
/// keep-alive, failures) and `ServerConnectStateMachine` (attempts, retries, queue).
final class HTTPTransaction {
    /// The request as rules leave it; what the server receives.
    var request: HTTPRequestHead
    /// The request line as received, for the log's `%r` (the fields are not kept: the request
    /// stays the only owner of its field array, so rules edit it in place).
    let receivedRequestLine: RequestLine
    let requestFraming: HTTPBodyFraming
    let generation: ProxyGeneration
    let frontend: FrontendRuntime
    /// Chosen by routing (`use_backend`, `default_backend`).
    var backend: BackendRuntime?
    let connection: ClientConnection
    let pool: UpstreamPool
    let isUpgrade: Bool
    /// Whether an idle server connection may be reused (`http-reuse safe`: not for the first
    /// request of a client connection).
    let mayReuseIdleConnection: Bool
    var record: TransactionLogRecord
    let startedAt: NIODeadline

    /// The client side; strong, and cleared when the transaction ends, which breaks the cycle
    /// with the client side's reference to its current transaction.
    var client: (any TransactionClient)?
    /// The transaction's rules: progress of both messages, keep-alive, failures.
    var state: HTTPTransactionStateMachine
    var connect: ServerConnectStateMachine?
    /// The transaction has ended (or became a tunnel): it has let go of its client side.
    var isOver: Bool { client == nil }

    // Server side.
    var server: ServerState?
    var upstream: UpstreamConnection?
    var retryTask: Scheduled<Void>?
    var connectStartedAt: NIODeadline?
    var requestSentAt: NIODeadline?
    var outgoingRequestFraming: OutgoingFraming = .none
    /// Request body bytes that arrived before the server connection was ready.
    var pendingBody: [ByteBuffer] = []
    var pendingBodyBytes = 0
    var requestTrailers: [HTTPField] = []

    var isMonitorRequest = false
    /// `txn.`/`req.`/`res.` variables of `set-var`.
    var variables = VariableStore()
    /// The response head while `http-response` rules read and edit it.
    var response: HTTPResponseHead?
    /// `unique-id`, made on first use.
    var generatedUniqueID: String?
    /// Stick counters: the connection's, plus those `http-request track-sc*` adds.
    var trackedCounters: TrackedCounters
    /// The request's fields for the server when persistence rules changed them.
    var forwardedFields: [HTTPField]?
    /// The server the request's persistence cookie designates, if usable.
    var persistentServer: ServerState?
    /// `%hr`/`%hs`: the frontend's capture slots, filled as the messages arrive.
    var requestCaptures: [String?] = []
    var responseCaptures: [String?] = []
    /// The server a `use-server` rule named, when persistence named none.
    var serverFromRules: ServerState?
    /// The two persistence characters of `%ts`, with `cookie`.
    var cookieFlags: (client: CookieRules.ClientFlag, server: CookieRules.ServerFlag)?
    /// Counted in the backend's current sessions until released.
    private var holdsBackendSlot = false

    init(request: HTTPRequestHead, framing: HTTPBodyFraming, client: any TransactionClient,
         generation: ProxyGeneration, frontend: FrontendRuntime, connection: ClientConnection,
         pool: UpstreamPool, mayReuseIdleConnection: Bool, record: TransactionLogRecord,
         startedAt: NIODeadline, keepClientOpen: Bool) {
        let backend = frontend.defaultBackend
        self.request = request
        self.receivedRequestLine = RequestLine(method: request.method, target: request.target, version: request.version)
        self.trackedCounters = connection.trackedCounters
        self.requestFraming = framing
        self.client = client
        self.generation = generation
        self.frontend = frontend
        self.backend = backend
        self.connection = connection
        self.pool = pool
        self.mayReuseIdleConnection = mayReuseIdleConnection
        self.record = record
        self.startedAt = startedAt
        self.isUpgrade = MessageRewriting.isUpgradeRequest(request)
        // `http-reuse never` shares no server connection: each closes after its exchange.
        let serverSideClose = frontend.config.httpConnectionMode != .keepAlive
            || (backend?.config.httpConnectionMode ?? .keepAlive) != .keepAlive
            || backend?.config.httpReuse == .never
        self.state = HTTPTransactionStateMachine(keepClientOpen: keepClientOpen, serverSideClose: serverSideClose)
    }

    var requestHasBody: Bool {
        switch requestFraming {
        case .none, .contentLength(0): return false
        default: return true
        }
    }

    var allocator: ByteBufferAllocator { .dataPlane }

    /// Request body bytes held while the server side is not ready before client reads pause.
    static let pendingLimit = 64 * 1024

    /// Whether the client side should stop reading request bytes for now.
    var holdsBackRequestBody: Bool {
        if let upstream { return !upstream.isWritable }
        return pendingBodyBytes >= Self.pendingLimit
    }

    // MARK: - Routing

    /// `option http-buffer-request`: the head is held until the body is complete or the
    /// buffer is full, so that rules can read `req.body`.
    var waitsForBody = false
    /// `set-log-level`: nil keeps the frontend's level; "silent" suppresses the line.
    var logLevelOverride: String?

    /// Starts the request, or, with `option http-buffer-request` and a body on its way, waits
    /// for the body first (HAProxy's `wait-for-body` of the frontend).
    func start() {
        if frontend.config.httpBufferRequest, requestHasBody, !state.requestComplete,
           pendingBodyBytes < generation.maxHeadBytes {
            waitsForBody = true
            // A client waiting for `100 Continue` gets it from Baton, as HAProxy answers it
            // when it waits for the body; the server is not asked again.
            if request.fields.contains(where: { $0.hasName("expect") && $0.value.lowercased() == "100-continue" }) {
                request.fields.removeAll { $0.hasName("expect") }
                client?.sendInterimResponse(HTTPResponseHead(version: .http1_1, status: 100, reason: "Continue",
                                                             fields: []), of: self)
                client?.flush()
            }
            return
        }
        route()
    }

    /// The body arrived (or filled the buffer): the request goes on.
    func bodyBuffered() {
        guard waitsForBody else { return }
        waitsForBody = false
        route()
    }

    /// Decides where the request goes and starts it on its way.
    func route() {
        frontend.counters.requestReceived()
        if !trackedCounters.isEmpty { trackedCounters.countRequest() }
        if let uri = frontend.config.monitorURI, MessageRewriting.matchesMonitorURI(request.target, uri) {
            record.backendName = frontend.name
            isMonitorRequest = true
            respondLocally(frontend.monitorResponse, error: nil)
            return
        }
        if !frontend.config.requestCaptures.isEmpty {
            requestCaptures = HTTPTransaction.captures(frontend.config.requestCaptures, from: request.fields)
        }
        if let format = frontend.config.uniqueIDFormat {
            let id = format.evaluate(self)
            generatedUniqueID = id
            if let header = frontend.config.uniqueIDHeader { request.fields.append(HTTPField(header, id)) }
        }
        if runRequestRules(frontend.rules, errorPages: frontend.errorPages) {
            record.backendName = frontend.name
            return
        }
        guard let backend = chooseBackend() else {
            backend = nil
            fail(state.noBackend())
            return
        }
        self.backend = backend
        record.backendName = backend.name
        state.serverSideClose = frontend.config.httpConnectionMode != .keepAlive
            || backend.config.httpConnectionMode != .keepAlive || backend.config.httpReuse == .never
        backend.counters.requestReceived()
        // The backend's concurrent count (`%bc`, `scur`) covers the transaction until it ends.
        backend.counters.sessionStarted()
        holdsBackendSlot = true
        if backend.config.location != frontend.config.location,
           runRequestRules(backend.rules, errorPages: backend.errorPages) {
            return
        }
        applyPersistence(of: backend)
        if persistentServer == nil, !backend.rules.server.isEmpty {
            serverFromRules = backend.serverChosenByRules(for: self)
        }
        connectStartedAt = .now()
        record.queueTime = 0
        var machine = backend.makeConnectStateMachine()
        let first = machine.start()
        connect = machine
        perform(first)
    }

    /// `cookie`: the request's persistence cookie may designate the server.
    func applyPersistence(of backend: BackendRuntime) {
        guard let rules = backend.cookieRules else { return }
        let decision = rules.inspectRequest(request.fields)
        forwardedFields = decision.rewrittenFields
        var flag = CookieRules.ClientFlag.none
        if let value = decision.serverValue {
            if let server = backend.serversByCookie[value] {
                if server.isAvailable {
                    persistentServer = server
                    flag = .valid
                } else {
                    flag = .down
                }
            } else {
                flag = .invalid
            }
        }
        cookieFlags = (flag, .none)
    }

    /// The log's termination state with the persistence characters filled in.
    func applyCookieFlags() {
        guard let flags = cookieFlags else { return }
        let state = Array(record.terminationState)
        guard state.count == 4 else { return }
        record.terminationState = String([state[0], state[1], flags.client.rawValue, flags.server.rawValue])
    }

    // MARK: - Request from the client side

    func requestBody(_ piece: ByteBuffer) {
        guard state.forwardsRequestBody else { return }
        if let upstream {
            // Sending counts as server-side activity for `timeout server`.
            upstream.idleTimer.touch()
            if let framed = BodyWriter.frame(piece, as: outgoingRequestFraming, allocator: allocator) {
                upstream.write(framed)
            }
        } else {
            pendingBody.append(piece)
            pendingBodyBytes += piece.readableBytes
            if waitsForBody, pendingBodyBytes >= generation.maxHeadBytes { bodyBuffered() }
        }
    }

    func requestEnded(trailers: [HTTPField]) {
        let forwarding = state.forwardsRequestBody
        requestTrailers = trailers
        let completion = state.requestEnded()
        if forwarding, let upstream {
            if let end = BodyWriter.end(as: outgoingRequestFraming, trailers: trailers, allocator: allocator) {
                upstream.write(end)
            }
            upstream.flush()
            requestSentAt = .now()
        }
        carryOut(completion)
        if waitsForBody { bodyBuffered() }
    }

    func requestMalformed(_ error: HTTPParserError) {
        fail(state.requestMalformed(status: error.requestStatus))
    }

    /// The client half-closed: mid-request that ends the transaction; otherwise the response
    /// still goes out.
    func clientInputClosed() {
        if let failure = state.clientInputClosed() {
            fail(failure)
            return
        }
        // `option abortonclose`: a request still waiting for a server connection (queued or
        // connecting) is dropped rather than sent to a server for nobody.
        if backend?.config.abortOnClose == true, !isOver, connect != nil, upstream == nil {
            let phase: TransactionError.Phase = server == nil ? .queue : .connect
            fail(.abort(.init(.aborted, .client, phase)))
        }
    }

    /// The client connection is gone.
    func clientClosed() {
        end(logging: state.clientClosed())
    }

    /// `timeout client` struck. Returns true when the transaction goes on (the client had
    /// nothing to do while the server works), so the client side watches again.
    func clientTimedOut() -> Bool {
        switch state.clientTimedOut() {
        case .keepWaiting:
            return true
        case .fail(let failure):
            fail(failure)
            return false
        }
    }

    /// Soft-stop: this transaction is the connection's last.
    func stopAfterThisTransaction() {
        state.stopAfterThisTransaction()
    }

    // MARK: - Local responses

    /// Answers the request with a response Baton made (monitor-uri, http-request return).
    func respondLocally(_ response: PreparedResponse, error: TransactionError?) {
        record.status = response.status
        record.terminationState = error.httpTerminationState
        record.responseTime = -1
        let completion = state.respondedLocally(requestHasPendingBody: requestHasBody)
        client?.sendPreparedResponse(response.bytes, of: self)
        if completion == .none { client?.flush() }
        carryOut(completion)
    }

    // MARK: - Ending

    /// Carries out what the state machine decided about a failure: an error page when no
    /// response has started, else cutting the client off; either way the client closes.
    func fail(_ failure: HTTPTransactionStateMachine.Failure) {
        guard !isOver else { return }
        switch failure {
        case .respond(let status, let error):
            let page = ErrorPages.addingConnectionClose(to: errorPage(status))
            record.status = status
            frontend.counters.responseSent(status: status)
            client?.sendPreparedResponse(page, of: self)
            let client = self.client
            end(logging: error)
            client?.transactionFailed(self)
        case .abort(let error):
            let client = self.client
            end(logging: error)
            client?.transactionFailed(self)
        }
    }

    func carryOut(_ completion: HTTPTransactionStateMachine.Completion) {
        guard case .finish(let keepClientOpen, let reuseServer) = completion, !isOver else { return }
        frontend.counters.responseSent(status: record.status)
        backend?.counters.responseSent(status: record.status)
        let client = self.client
        end(logging: nil, reuseServer: reuseServer, log: !isMonitorRequest)
        client?.transactionFinished(self, keepOpen: keepClientOpen)
    }

    /// Releases everything the transaction holds and writes its log line, once. `error` nil
    /// keeps the termination state already recorded (normal, or a local response's).
    func end(logging error: TransactionError?, reuseServer: Bool = false, log: Bool = true) {
        guard !isOver else { return }
        client = nil
        if let error { record.terminationState = error.httpTerminationState }
        if !trackedCounters.isEmpty {
            if (400..<500).contains(record.status) { trackedCounters.countError() }
            trackedCounters.releaseAll(byConnection: false)
        }
        if let connect { record.retries = connect.retries }
        retryTask?.cancel()
        retryTask = nil
        releaseServerSide(reuse: reuseServer)
        record.activeTime = HTTPTransaction.milliseconds(from: startedAt)
        applyCookieFlags()
        // HAProxy does not log requests answered by monitor-uri.
        if log {
            record.uniqueID = generatedUniqueID ?? ""
            record.requestCaptures = requestCaptures
            record.responseCaptures = responseCaptures
            frontend.logTransaction(record, request: receivedRequestLine, backend: backend, generation: generation,
                                    levelOverride: logLevelOverride,
                                    subject: self)
        }
    }

    func releaseServerSide(reuse: Bool) {
        releaseBackendSlot()
        if let server {
            server.connectionEnded()
            self.server = nil
        }
        guard let upstream else { return }
        self.upstream = nil
        upstream.idleTimer.cancel()
        if reuse, upstream.isReusable {
            pool.putBack(upstream)
        } else {
            upstream.closeDiscarding()
        }
    }

    /// Ends this transaction's share of the backend's current sessions, once.
    func releaseBackendSlot() {
        guard holdsBackendSlot else { return }
        holdsBackendSlot = false
        backend?.counters.sessionEnded()
    }

    /// The backend's `errorfile` for `status`, else the frontend's, else the built-in page.
    func errorPage(_ status: Int) -> ByteBuffer {
        guard let backend else { return frontend.errorPages.response(for: status) }
        return backend.errorPages.response(for: status, fallback: frontend.errorPages)
    }

    /// Milliseconds from `start` to `end`, for log timers.
    static func milliseconds(from start: NIODeadline, to end: NIODeadline = .now()) -> Int64 {
        max(0, (end - start).nanoseconds / 1_000_000)
    }
}

extension ByteBufferAllocator {
    /// The data plane's allocator for the buffers it builds. A value of four function
    /// pointers: shared, rather than stored in every connection.
    static let dataPlane = ByteBufferAllocator()
}

/// Frames request or response body pieces for the side they go to.
enum BodyWriter {
    static func frame(_ piece: ByteBuffer, as framing: OutgoingFraming, allocator: ByteBufferAllocator) -> ByteBuffer? {
        switch framing {
        case .none:
            return nil
        case .contentLength, .untilClose:
            return piece
        case .chunked:
            guard piece.readableBytes > 0 else { return nil }
            var buffer = allocator.buffer(capacity: piece.readableBytes + 16)
            ChunkedEncoder.writeChunk(piece, into: &buffer)
            return buffer
        }
    }

    static func end(as framing: OutgoingFraming, trailers: [HTTPField], allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard framing == .chunked else { return nil }
        var buffer = allocator.buffer(capacity: 16)
        ChunkedEncoder.writeLastChunk(trailers: trailers, into: &buffer)
        return buffer
    }
}
