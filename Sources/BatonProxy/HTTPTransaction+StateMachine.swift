/// The rules of one HTTP transaction, kept apart from the handler that does the I/O: when the
/// transaction is finished, whether the client and server connections may be kept, and what a
/// failure or a timeout turns into (an error response, or cutting the client off) with which
/// HAProxy termination flags. It is a plain value, driven by events, tested without sockets;
/// `HTTPTransaction` performs what it returns.
struct HTTPTransactionStateMachine: Equatable {
    enum RequestState: Equatable {
        /// The head arrived; body bytes may still be on their way.
        case receiving
        case complete
        /// The answer came before the body ended; the rest is not forwarded and the client
        /// connection closes after the response.
        case abandoned
    }

    enum ResponseState: Equatable {
        case waiting
        case streaming
        case complete
    }

    /// What to do once an event has been applied.
    enum Completion: Equatable {
        /// The transaction goes on.
        case none
        /// Both messages are done: log, release the server connection (back to the pool when
        /// `reuseServer`), then wait for the next request or close the client.
        case finish(keepClientOpen: Bool, reuseServer: Bool)
    }

    /// How a failure ends the transaction.
    enum Failure: Equatable {
        /// Answer with this status (an error page) and close the client connection.
        case respond(status: Int, error: TransactionError)
        /// Too late for a status: close the client connection so it sees the truncation.
        case abort(TransactionError)

        var error: TransactionError {
            switch self {
            case .respond(_, let error), .abort(let error): return error
            }
        }
    }

    enum ClientTimeoutDecision: Equatable {
        /// The client has nothing to do while the server works: `timeout server` governs.
        case keepWaiting
        case fail(Failure)
    }

    enum ServerFailure: Equatable {
        case invalidResponse
        case closed
        case timedOut
    }

    private(set) var request: RequestState = .receiving
    private(set) var response: ResponseState = .waiting
    /// Whether the client connection may serve another request after this one.
    private(set) var keepClientOpen: Bool
    /// Whether the server connection may return to the pool (the mode allows it, the server
    /// allowed it, and nothing was left half-done).
    private(set) var serverReusable = false
    /// The response was made by Baton itself.
    private(set) var isLocal = false
    private(set) var headForwarded = false
    /// `option http-server-close` / `httpclose`: never reuse the server connection.
    /// Settled once routing has chosen the backend.
    var serverSideClose: Bool

    init(keepClientOpen: Bool, serverSideClose: Bool) {
        self.keepClientOpen = keepClientOpen
        self.serverSideClose = serverSideClose
    }

    var requestComplete: Bool { request != .receiving }
    var responseStarted: Bool { response != .waiting }
    var responseComplete: Bool { response == .complete }
    /// Whether request body pieces should still go to the server.
    var forwardsRequestBody: Bool { request == .receiving && !isLocal }

    // MARK: - Request side

    mutating func requestEnded() -> Completion {
        if request == .receiving { request = .complete }
        return completionIfDone()
    }

    // MARK: - Local responses

    /// Baton answered by itself. A body still on its way is read and dropped, and the
    /// connection closes after it unless it has already arrived.
    mutating func respondedLocally(requestHasPendingBody: Bool) -> Completion {
        isLocal = true
        response = .complete
        serverReusable = false
        if request == .receiving && requestHasPendingBody {
            keepClientOpen = false
            // Nothing more to wait for: the client connection closes after the answer.
            request = .abandoned
        }
        return completionIfDone()
    }

    // MARK: - Response side

    /// A final response head arrived. `clientMayStayOpen` is false when its body can only be
    /// delimited by closing the client connection.
    mutating func responseHeadReceived(serverAllowsReuse: Bool, clientMayStayOpen: Bool) {
        response = .streaming
        serverReusable = serverAllowsReuse && !serverSideClose
        if !clientMayStayOpen { keepClientOpen = false }
    }

    /// The response body was delimited by the server closing: its connection cannot be reused.
    mutating func responseDelimitedByClose() {
        serverReusable = false
    }

    mutating func responseEnded() -> Completion {
        response = .complete
        if request == .receiving {
            // The server answered before the request body was complete: stop forwarding it,
            // and close both connections once the response is out.
            request = .abandoned
            keepClientOpen = false
            serverReusable = false
        }
        return completionIfDone()
    }

    // MARK: - Failures and timeouts

    mutating func serverFailed(_ failure: ServerFailure) -> Failure {
        serverReusable = false
        keepClientOpen = false
        if responseStarted {
            return .abort(.init(failure == .timedOut ? .timedOut : .aborted, .server, .data))
        }
        switch failure {
        case .timedOut: return .respond(status: 504, error: .init(.timedOut, .server, .responseHeaders))
        case .invalidResponse: return .respond(status: 502, error: .init(.invalidMessage, .server, .responseHeaders))
        case .closed: return .respond(status: 502, error: .init(.aborted, .server, .responseHeaders))
        }
    }

    /// No server connection could be had: every attempt failed (after `retries`), no server
    /// was usable, or `timeout queue` expired; `error` says which (`ServerConnectStateMachine`).
    mutating func serverConnectionFailed(_ error: TransactionError) -> Failure {
        serverReusable = false
        keepClientOpen = false
        return .respond(status: 503, error: error)
    }

    /// No backend to route to.
    mutating func noBackend() -> Failure {
        serverReusable = false
        keepClientOpen = false
        return .respond(status: 503, error: .init(.blockedByProxy, .client, .request))
    }

    /// The request head went to a server: from now on the server is expected to act, and
    /// `timeout server` governs a body that stalls, as in HAProxy.
    mutating func requestHeadForwarded() {
        headForwarded = true
    }

    /// The request body turned out malformed after the head was accepted.
    mutating func requestMalformed(status: Int) -> Failure {
        serverReusable = false
        keepClientOpen = false
        return responseStarted ? .abort(.init(.invalidMessage, .client, .data))
            : .respond(status: status, error: .init(.invalidMessage, .client, .request))
    }

    /// `timeout client` expired.
    mutating func clientTimedOut() -> ClientTimeoutDecision {
        if !responseStarted && (request != .receiving || headForwarded) { return .keepWaiting }
        serverReusable = false
        keepClientOpen = false
        if request == .receiving && !responseStarted {
            // The client stopped sending its body.
            return .fail(.respond(status: 408, error: .init(.timedOut, .client, .data)))
        }
        return .fail(.abort(.init(.timedOut, .client, .data)))
    }

    /// The client closed its sending side. Mid-request that ends the transaction; once the
    /// request is complete the response still goes out, and the connection closes after it.
    mutating func clientInputClosed() -> Failure? {
        keepClientOpen = false
        if request == .receiving {
            serverReusable = false
            return .abort(.init(.aborted, .client, responseStarted ? .data : .responseHeaders))
        }
        return nil
    }

    /// The client connection is gone: what the log reports.
    mutating func clientClosed() -> TransactionError {
        serverReusable = false
        keepClientOpen = false
        return .init(.aborted, .client, responseStarted ? .data : .responseHeaders)
    }

    /// Soft-stop: finish this transaction, then close.
    mutating func stopAfterThisTransaction() {
        keepClientOpen = false
    }

    private func completionIfDone() -> Completion {
        guard request != .receiving, response == .complete else { return .none }
        let reuse = serverReusable && request == .complete && !isLocal
        return .finish(keepClientOpen: keepClientOpen, reuseServer: reuse)
    }
}
