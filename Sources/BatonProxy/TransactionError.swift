/// Why a transaction (or a TCP session) ended other than normally, in HAProxy's terms: what
/// happened, on whose side, and in which phase. It is the one error type of the data plane:
/// the termination-state flags of the logs (`CD`, `SH`, `sC`, `PR`...), the status of an error
/// response, retry decisions and the error counters of the stats all derive from it.
struct TransactionError: Error, Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        /// The peer closed or reset its connection.
        case aborted
        /// A timeout struck while this side was expected to act.
        case timedOut
        /// A connection to a server was refused or failed, or no server could take it.
        case refused
        /// The peer sent something Baton will not forward (a malformed or ambiguous message).
        case invalidMessage
        /// Baton answered by itself (`http-request return` and the like).
        case localResponse
        /// Baton refused to go on: no backend to route to, a rule denied it.
        case blockedByProxy
    }

    /// Whose action (or inaction) ended the stream.
    enum Side: Hashable, Sendable {
        case client
        case server
    }

    /// How far the stream had got: HAProxy's second termination character.
    enum Phase: Hashable, Sendable {
        /// Waiting for the client's request (head or body): `R`.
        case request
        /// Waiting in the queue for a server slot: `Q`.
        case queue
        /// Connecting to a server: `C`.
        case connect
        /// Waiting for the server's response head: `H`.
        case responseHeaders
        /// Transferring data (a response body, a tunnel, a TCP session): `D`.
        case data
        /// Held by `tarpit` before the answer.
        case tarpit
    }

    var kind: Kind
    var side: Side
    var phase: Phase

    init(_ kind: Kind, _ side: Side, _ phase: Phase) {
        self.kind = kind
        self.side = side
        self.phase = phase
    }

    /// HAProxy's first termination character: who or what ended the stream.
    var causeFlag: Character {
        switch kind {
        case .timedOut: return side == .client ? "c" : "s"
        case .aborted, .refused: return side == .client ? "C" : "S"
        // HAProxy blames the proxy for refusing an invalid message, whichever side sent it.
        case .invalidMessage, .blockedByProxy: return "P"
        case .localResponse: return "L"
        }
    }

    /// HAProxy's second termination character: the phase the stream was in.
    var phaseFlag: Character {
        switch phase {
        case .request: return "R"
        case .queue: return "Q"
        case .connect: return "C"
        case .responseHeaders: return "H"
        case .data: return "D"
        case .tarpit: return "T"
        }
    }

    /// The four characters of `%tsc` for HTTP (no persistence cookie: `--` after the two flags).
    var httpTerminationState: String { String([causeFlag, phaseFlag, "-", "-"]) }

    /// The two characters of `%ts` for TCP sessions.
    var tcpTerminationState: String { String([causeFlag, phaseFlag]) }

    /// A failed connection attempt that another attempt may fix (HAProxy's `retries` apply).
    var isRetryableConnectFailure: Bool {
        phase == .connect && side == .server && (kind == .refused || kind == .timedOut)
    }

    /// HAProxy's `cli_abrt` and `srv_abrt` stats counters: data transfers cut by one side.
    var isClientAbort: Bool { side == .client && kind == .aborted || side == .client && kind == .timedOut && phase == .data }
    var isServerAbort: Bool { side == .server && (kind == .aborted || kind == .timedOut) && phase == .data }

    /// HAProxy's `ereq` (request errors) and `eresp` (response errors) stats counters.
    var isRequestError: Bool { kind == .invalidMessage && side == .client }
    var isResponseError: Bool {
        side == .server && phase == .responseHeaders && kind != .localResponse
    }

    /// HAProxy's `econ`: a connection to a server could not be established.
    var isConnectionError: Bool { side == .server && phase == .connect }

    static let normalHTTPTermination = "----"
    static let normalTCPTermination = "--"
}

extension Optional where Wrapped == TransactionError {
    var httpTerminationState: String { self?.httpTerminationState ?? TransactionError.normalHTTPTermination }
    var tcpTerminationState: String { self?.tcpTerminationState ?? TransactionError.normalTCPTermination }
}
