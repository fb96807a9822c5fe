import BatonConfig
import BatonHTTP1
import NIOCore

/// What the transaction sends back, framed for an HTTP/1 client.
extension HTTP1ClientConnection: TransactionClient {
    func sendInterimResponse(_ head: HTTPResponseHead, of transaction: HTTPTransaction) {
        // Interim responses (100 Continue, 103) go to HTTP/1.1 clients as they are.
        guard transaction.request.version == .http1_1 else { return }
        var buffer = allocator.buffer(capacity: 64)
        HTTPResponseHead(version: .http1_1, status: head.status, reason: head.reason,
                         fields: head.fields.removingHopByHop()).write(into: &buffer)
        send(buffer, of: transaction)
        context?.flush()
    }

    func sendResponseHead(_ head: HTTPResponseHead, framing: HTTPBodyFraming, upgrade: Bool,
                          of transaction: HTTPTransaction) -> Bool {
        let rewritten = MessageRewriting.clientResponseHead(
            for: head, framing: framing, clientVersion: transaction.request.version,
            keepClientOpen: transaction.state.keepClientOpen, upgrade: upgrade)
        responseFraming = rewritten.framing
        var buffer = allocator.buffer(capacity: 512)
        rewritten.head.write(into: &buffer)
        send(buffer, of: transaction)
        return rewritten.keepClientOpen
    }

    func sendResponseBody(_ piece: ByteBuffer, of transaction: HTTPTransaction) {
        if let framed = BodyWriter.frame(piece, as: responseFraming, allocator: allocator) {
            send(framed, of: transaction)
        }
    }

    func sendResponseEnd(trailers: [HTTPField], of transaction: HTTPTransaction) {
        if let end = BodyWriter.end(as: responseFraming, trailers: trailers, allocator: allocator) {
            send(end, of: transaction)
        }
    }

    func sendPreparedResponse(_ bytes: ByteBuffer, of transaction: HTTPTransaction) {
        send(bytes, of: transaction)
    }

    private func send(_ bytes: ByteBuffer, of transaction: HTTPTransaction) {
        transaction.record.bytesToClient += Int64(bytes.readableBytes)
        write(bytes)
    }

    func flush() {
        context?.flush()
    }

    var acceptsResponseData: Bool { context?.channel.isWritable ?? false }

    func requestBodyCanFlow() {
        resumeClientReadsIfNeeded()
    }

    func transactionFinished(_ transaction: HTTPTransaction, keepOpen: Bool) {
        guard self.transaction === transaction else { return }
        self.transaction = nil
        timer.cancel()
        if !keepOpen || clientInputClosed || closing || generation.isStopping {
            closeClientAfterFlush()
            return
        }
        context?.flush()
        waitForRequest()
        // Pipelined requests may already be buffered.
        processRequestEvents()
        resumeClientReadsIfNeeded()
    }

    func transactionFailed(_ transaction: HTTPTransaction) {
        if self.transaction === transaction { self.transaction = nil }
        // What was already relayed still goes out; the close then shows any truncation.
        closeClientAfterFlush()
    }
}

/// How long the wait for a request head may last and what its expiry does: HAProxy's
/// `timeout http-request` (falling back to `timeout client`) for a first request or a head
/// under way, answered with 408; `timeout http-keep-alive` between requests, ended silently.
struct RequestWait: Equatable {
    enum Expiry: Equatable {
        case respond(status: Int, error: TransactionError)
        case closeSilently
    }

    var timeout: Duration?
    var onExpiry: Expiry

    static func headTimeout(_ timeouts: Timeouts, requestsServed: Int, headStarted: Bool) -> RequestWait {
        let late = Expiry.respond(status: 408, error: .init(.timedOut, .client, .request))
        if requestsServed == 0 || headStarted {
            return RequestWait(timeout: timeouts.httpRequest ?? timeouts.client, onExpiry: late)
        }
        return RequestWait(timeout: timeouts.httpKeepAlive ?? timeouts.httpRequest ?? timeouts.client,
                           onExpiry: .closeSilently)
    }
}
