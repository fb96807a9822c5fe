import BatonBalancing
import BatonHTTP1
import BatonObservability
import NIOCore

/// One request and its response, from the request head to the end of the response: where it is
/// going, what has been forwarded, and the timings its log line reports.
final class HTTPTransaction {
    let request: HTTPRequestHead
    let requestFraming: HTTPBodyFraming
    let backend: BackendRuntime?
    let isUpgrade: Bool
    var record: TransactionLogRecord
    let startedAt: NIODeadline

    /// The transaction's rules: progress of both messages, keep-alive, failures.
    var state: HTTPTransactionStateMachine

    // Server side.
    var server: ServerState?
    var upstream: UpstreamConnection?
    var attempts = 0
    var retryTask: Scheduled<Void>?
    var connectStartedAt: NIODeadline?
    var requestSentAt: NIODeadline?
    var outgoingRequestFraming: OutgoingFraming = .none
    /// Request body bytes that arrived before the server connection was ready.
    var pendingBody: [ByteBuffer] = []
    var pendingBodyBytes = 0
    var requestTrailers: [HTTPField] = []

    // Response side.
    var outgoingResponseFraming: OutgoingFraming = .none
    var isMonitorRequest = false
    /// Counted in the backend's current sessions until released.
    var holdsBackendSlot = false

    init(request: HTTPRequestHead, framing: HTTPBodyFraming, backend: BackendRuntime?,
         record: TransactionLogRecord, startedAt: NIODeadline, state: HTTPTransactionStateMachine) {
        self.request = request
        self.requestFraming = framing
        self.backend = backend
        self.record = record
        self.startedAt = startedAt
        self.state = state
        self.isUpgrade = MessageRewriting.isUpgradeRequest(request)
    }

    /// Ends this transaction's share of the backend's current sessions, once.
    func releaseBackendSlot() {
        guard holdsBackendSlot else { return }
        holdsBackendSlot = false
        backend?.counters.sessionEnded()
    }

    var requestHasBody: Bool {
        switch requestFraming {
        case .none, .contentLength(0): return false
        default: return true
        }
    }

    /// Milliseconds from `start` to `end`, for log timers.
    static func milliseconds(from start: NIODeadline, to end: NIODeadline = .now()) -> Int64 {
        max(0, (end - start).nanoseconds / 1_000_000)
    }
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
