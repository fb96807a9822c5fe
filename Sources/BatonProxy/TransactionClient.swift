import BatonHTTP1
import NIOCore

/// The client side of a transaction as the transaction sees it, whatever the protocol: an
/// HTTP/1 connection today (`HTTP1ClientConnection`), an HTTP/2 stream later. The transaction
/// hands it protocol-neutral response parts; the client side frames them for its protocol.
/// Both live on the same event loop, so calls are direct.
protocol TransactionClient: AnyObject {
    /// The client's loop: the transaction's server connection is opened on it.
    var eventLoop: any EventLoop { get }

    /// An interim (1xx) response head; sent on only to clients that understand it.
    func sendInterimResponse(_ head: HTTPResponseHead, of transaction: HTTPTransaction)

    /// The final response head (or a 101 when `upgrade`). Returns whether the client
    /// connection may stay open after this response: false when only closing it can delimit
    /// the body for this client.
    func sendResponseHead(_ head: HTTPResponseHead, framing: HTTPBodyFraming, upgrade: Bool,
                          of transaction: HTTPTransaction) -> Bool
    func sendResponseBody(_ piece: ByteBuffer, of transaction: HTTPTransaction)
    func sendResponseEnd(trailers: [HTTPField], of transaction: HTTPTransaction)
    /// A whole response Baton made (monitor-uri, `http-request return`, error pages).
    func sendPreparedResponse(_ bytes: ByteBuffer, of transaction: HTTPTransaction)
    func flush()

    /// Whether the client can take more response bytes; server reads pause while it cannot.
    var acceptsResponseData: Bool { get }
    /// The transaction can take request body bytes again (its server side drained).
    func requestBodyCanFlow()

    /// Both messages are complete and logged: serve the next request or close (`keepOpen`).
    func transactionFinished(_ transaction: HTTPTransaction, keepOpen: Bool)
    /// The transaction failed and is logged: close once what was written has gone out.
    func transactionFailed(_ transaction: HTTPTransaction)
    /// The server switched protocols: relay raw bytes between the client and `upstream`.
    func switchToTunnel(_ transaction: HTTPTransaction, upstream: UpstreamConnection)
}
