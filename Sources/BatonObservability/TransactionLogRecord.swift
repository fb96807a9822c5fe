/// Everything a traffic log line says about one HTTP transaction or one TCP session, gathered by
/// the data plane and formatted by `LogLineFormatter` into HAProxy's exact default formats.
/// Timers are milliseconds, -1 when the phase never happened (HAProxy prints -1 then).
public struct TransactionLogRecord: Sendable, Hashable {
    public var clientAddress: String
    public var clientPort: Int
    /// When the connection was accepted (tcplog `%t`), in microseconds since the Unix epoch.
    public var acceptDateMicroseconds: Int64
    /// When the first byte of this request arrived (httplog `%tr`), microseconds since the epoch.
    public var requestDateMicroseconds: Int64
    public var frontendName: String
    public var backendName: String
    public var serverName: String

    /// `%TR`: time to receive the whole request head, after the first byte.
    public var requestHeadTime: Int64 = -1
    /// `%Tw`: time spent waiting in queues.
    public var queueTime: Int64 = -1
    /// `%Tc`: time to establish the connection to the server.
    public var connectTime: Int64 = -1
    /// `%Tr`: time for the server to send the response head after the request was sent.
    public var responseTime: Int64 = -1
    /// `%Ta`: active time of the request, from the first byte to the end of the response.
    public var activeTime: Int64 = -1
    /// `%Tt`: total session time (tcplog), accept to close.
    public var totalTime: Int64 = -1
    /// `%Th`: handshake time; `%Ti`: idle time before the request (0 for a new connection).
    public var handshakeTime: Int64 = 0
    public var idleTime: Int64 = 0

    /// `%ST`: the status sent to the client; -1 when none was.
    public var status: Int = -1
    /// `%B`: bytes sent to the client (headers included for HTTP).
    public var bytesToClient: Int64 = 0
    /// `%U`: bytes received from the client.
    public var bytesFromClient: Int64 = 0
    /// `%ts`/`%tsc`: two (tcp) or four (http) characters of termination state, e.g. "----", "SC--", "cD".
    public var terminationState: String = "----"

    /// `%ac/%fc/%bc/%sc/%rc`: process, frontend, backend and server connections, and retries.
    public var processConnections: Int = 0
    public var frontendConnections: Int = 0
    public var backendConnections: Int = 0
    public var serverConnections: Int = 0
    public var retries: Int = 0
    /// `%sq/%bq`: server and backend queue lengths.
    public var serverQueue: Int = 0
    public var backendQueue: Int = 0

    /// `%r`: the request line, e.g. `GET /path HTTP/1.1`; "<BADREQ>" for an unparsable request.
    public var requestLine: String = ""
    /// `%ID`: the unique ID `unique-id-format` made, empty without one.
    public var uniqueID: String = ""
    /// `%fi:%fp`: the address and port the client connected to.
    public var frontendAddress: String = "-"
    public var frontendPort: Int = 0
    /// `%si:%sp`: the server's address and port, when one was chosen.
    public var serverAddress: String = "-"
    public var serverPort: Int = 0
    /// `%rt`: the request's number.
    public var requestCounter: Int = 0

    /// `%hr`: one value per `capture request header` of the frontend, in declaration order; nil
    /// when the header was absent. Empty when the frontend captures nothing (then `%hr` prints
    /// nothing at all). Values are already cut to the capture's `len`.
    public var requestCaptures: [String?] = []
    /// `%hs`: the same for `capture response header`.
    public var responseCaptures: [String?] = []

    public init(clientAddress: String, clientPort: Int, acceptDateMicroseconds: Int64,
                requestDateMicroseconds: Int64, frontendName: String, backendName: String,
                serverName: String) {
        self.clientAddress = clientAddress
        self.clientPort = clientPort
        self.acceptDateMicroseconds = acceptDateMicroseconds
        self.requestDateMicroseconds = requestDateMicroseconds
        self.frontendName = frontendName
        self.backendName = backendName
        self.serverName = serverName
    }
}
