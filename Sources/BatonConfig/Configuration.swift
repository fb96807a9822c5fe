import BatonCore
import BatonRules

/// The whole configuration, immutable once built by `ConfigurationLoader`.
/// Every `frontend`, `backend` and `listen` section becomes one `Proxy`, as in HAProxy: a `listen`
/// has both capabilities and is its own default backend.
public struct Configuration: Sendable {
    public var global: GlobalSettings
    public var proxies: [Proxy]
    /// `userlist` sections by name.
    public var userlists: [String: Userlist]

    public init(global: GlobalSettings = GlobalSettings(), proxies: [Proxy] = [], userlists: [String: Userlist] = [:]) {
        self.global = global
        self.proxies = proxies
        self.userlists = userlists
    }

    public var frontends: [Proxy] { proxies.filter { $0.capabilities.contains(.frontend) } }
    public var backends: [Proxy] { proxies.filter { $0.capabilities.contains(.backend) } }

    /// The first proxy of that name. A frontend and a backend may share a name; use
    /// `proxy(named:with:)` to tell them apart.
    public func proxy(named name: String) -> Proxy? { proxies.first { $0.name == name } }

    /// The proxy of that name with `capability` (names are unique per capability).
    public func proxy(named name: String, with capability: ProxyCapabilities) -> Proxy? {
        proxies.first { $0.name == name && $0.capabilities.isSuperset(of: capability) }
    }

    /// The backend (or listen) a `default_backend`/`use_backend` name refers to.
    public func backend(named name: String) -> Proxy? { proxy(named: name, with: .backend) }

    public func frontend(named name: String) -> Proxy? { proxy(named: name, with: .frontend) }
}

/// The `global` section.
public struct GlobalSettings: Sendable, Equatable {
    /// `maxconn`: concurrent client connections for the whole process.
    public var maxConnections: Int?
    /// `nbthread`: event loop threads; nil means one per core, as HAProxy does.
    public var threadCount: Int?
    /// `log` lines of the global section; proxies that say `log global` use these.
    public var logTargets: [LogTarget] = []
    /// `log-send-hostname [NAME]`: nil when absent; `.some(nil)` means the system's host name.
    public var logSendHostname: String??
    /// `log-tag`: the syslog tag, the program name by default.
    public var logTag: String?
    public var pidFile: String?
    public var daemon: Bool = false
    public var user: String?
    public var group: String?
    public var chroot: String?
    /// `tune.http.maxhdr`: header slots of HAProxy's HTTP parser, 1...32767 (default 101). One slot holds the
    /// end of the header section, so a request or response may have one field line fewer.
    public var httpMaxHeaders: Int = GlobalSettings.defaultHTTPMaxHeaders

    public static let defaultHTTPMaxHeaders = 101
    /// `tune.bufsize`: HAProxy's buffer size; with `tune.maxrewrite` it bounds a message head
    /// (`maxHeadBytes`). Baton's buffers otherwise grow as needed (see docs/differences.md).
    public var bufferSize: Int?
    /// `tune.maxrewrite`: the part of a buffer HAProxy reserves for header rewrites.
    public var maxRewrite: Int?
    /// `ulimit-n`: the file descriptor limit set at start.
    public var fileDescriptorLimit: Int?
    /// `hard-stop-after`: the longest a soft-stop waits for connections before closing them.
    public var hardStopAfter: Duration?
    /// `spread-checks`: a percentage of jitter between health checks (no checks yet).
    public var spreadChecks: Int?

    /// The largest message head (start line, fields, final CRLF) Baton takes: HAProxy's buffer
    /// size less its rewrite reserve, 16384 - 1024 by default. The reserve defaults to 1024 and
    /// is at most half the buffer, as in HAProxy.
    public var maxHeadBytes: Int {
        let size = bufferSize ?? 16384
        let reserve = min(maxRewrite ?? 1024, size / 2)
        return size - reserve
    }

    public init() {}
}

public enum ProxyMode: String, Sendable, Hashable {
    case http
    case tcp
}

public struct ProxyCapabilities: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let frontend = ProxyCapabilities(rawValue: 1)
    public static let backend = ProxyCapabilities(rawValue: 2)
    public static let listen: ProxyCapabilities = [.frontend, .backend]
}

/// One `frontend`, `backend` or `listen` section, with its `defaults` already applied.
public struct Proxy: Sendable {
    public var name: String
    public var location: SourceLocation
    public var capabilities: ProxyCapabilities
    public var mode: ProxyMode = .tcp

    // Frontend side.
    public var binds: [Bind] = []
    /// `default_backend`; for a `listen` section the proxy itself is used when this is nil.
    public var defaultBackend: String?
    public var defaultBackendLocation: SourceLocation?
    /// `maxconn`: concurrent connections this frontend accepts.
    public var maxConnections: Int?
    public var monitorURI: String?
    /// `use_backend` rules, in order; the first whose condition holds picks the backend.
    public var backendSwitchingRules: [BackendSwitchingRule] = []
    public var logTargets: [LogTarget] = []
    public var logFormat: ProxyLogFormat?
    /// `unique-id-format`: the transaction's unique ID (`%ID`, `unique-id`).
    public var uniqueIDFormat: LogFormat?
    /// `unique-id-header`: the request field that carries the unique ID to the server.
    public var uniqueIDHeader: String?
    /// `option dontlognull`: connections on which the client sent nothing are not logged.
    public var dontLogNull: Bool = false
    /// `option log-separate-errors`: transactions that failed are logged at level `err`.
    public var logSeparateErrors: Bool = false
    /// `option clitcpka` (or `tcpka`): SO_KEEPALIVE on client connections.
    public var clientTCPKeepAlive: Bool = false

    // Both sides.
    /// `acl` lines by name (lines with one name are ORed).
    public var acls: [String: ACL] = [:]
    /// `http-request` rules, in order.
    public var httpRequestRules: [HTTPRule] = []
    /// `http-response` rules, in order.
    public var httpResponseRules: [HTTPRule] = []
    /// `redirect` lines, evaluated after the `http-request` rules, as in HAProxy.
    public var redirectRules: [HTTPRule] = []
    /// `tcp-request connection` (and `session`) rules, run when a connection is accepted.
    public var tcpRequestConnectionRules: [TCPRule] = []
    /// `tcp-request content` rules, run before routing (and before `http-request` in HTTP mode).
    public var tcpRequestContentRules: [TCPRule] = []
    /// `tcp-request inspect-delay`.
    public var inspectDelay: Duration?
    /// `capture request header NAME len N`, then `http-request capture` slots: what `%hr` shows.
    public var requestCaptures: [CaptureSlot] = []
    /// `capture response header NAME len N`: what `%hs` shows.
    public var responseCaptures: [CaptureSlot] = []
    /// `use-server` rules, in order: the first whose condition holds picks the server, when
    /// it is usable and persistence did not already pick one.
    public var serverRules: [ServerRule] = []
    /// `stick-table`: the table this proxy declares, named after it.
    public var stickTable: StickTableDefinition?
    public var timeouts = Timeouts()
    public var forwardFor: ForwardFor?
    /// `option originalto`: the destination address the client connected to, in a header.
    public var originalTo: OriginalTo?
    /// `option http-buffer-request`: wait for the whole request body before choosing a server
    /// (stored for the rules engine).
    public var httpBufferRequest: Bool = false
    public var httpConnectionMode: HTTPConnectionMode = .keepAlive
    public var errorFiles: [Int: ErrorFile] = [:]

    // Backend side.
    public var servers: [Server] = []
    public var balance: BalanceAlgorithm = .roundRobin
    /// `retries`: further connection attempts after the first fails (HAProxy's default is 3).
    public var retries: Int = 3
    /// `option redispatch`: the last retry may go to another server.
    public var redispatch: Bool = false
    /// `option srvtcpka` (or `tcpka`): SO_KEEPALIVE on server connections.
    public var serverTCPKeepAlive: Bool = false
    /// `option abortonclose`: a request whose client closed is dropped while still queued or
    /// connecting.
    public var abortOnClose: Bool = false
    /// `fullconn`: the load at which servers with `minconn` reach their `maxconn`; Baton has no
    /// `minconn` (refused), so it has no effect.
    public var fullConnections: Int?
    /// `option prefer-last-server`: a client's next request goes to its previous server.
    public var preferLastServer: Bool = false
    /// `http-reuse`: how idle server connections are shared.
    public var httpReuse: HTTPReuse = .safe
    /// `cookie NAME ...`: cookie-based persistence.
    public var cookie: CookiePersistence?

    public init(name: String, location: SourceLocation, capabilities: ProxyCapabilities) {
        self.name = name
        self.location = location
        self.capabilities = capabilities
    }

    /// The backend a request to this frontend goes to when no rule picks one.
    public var effectiveDefaultBackend: String? {
        if let defaultBackend { return defaultBackend }
        return capabilities.contains(.backend) ? name : nil
    }
}

/// One `bind` line's address. Settings after the address arrive with TLS in a later issue.
public struct Bind: Sendable, Hashable {
    public enum Address: Sendable, Hashable {
        /// `ip:port`, `*:port`, `:port`, `:::port`, `ipv4@...`, `ipv6@...`. `host` is nil for
        /// all addresses; `family` says which wildcard or which family a name resolves to.
        case inet(host: String?, port: Int, family: AddressFamily)
        /// `unix@path` or a plain path starting with `/`.
        case unix(path: String)
        /// `fd@N`: an already-listening socket inherited from the parent process.
        case inheritedDescriptor(Int32)
    }

    public var address: Address
    /// The text as written, for logs and messages.
    public var text: String
    public var location: SourceLocation
    /// `name`: the listener's name (stats and logs).
    public var name: String?
    /// `backlog`: the listen queue length (default: the frontend's maxconn, else 1024).
    public var backlog: Int?
    /// `maxconn`: connections this listener accepts at once.
    public var maxConnections: Int?
    /// `v6only` (true) or `v4v6` (false): whether an IPv6 socket also takes IPv4 clients.
    public var ipv6Only: Bool?
    /// `mode`, `user`/`uid`, `group`/`gid` of a Unix socket's file.
    public var socketMode: UInt32?
    public var socketUser: String?
    public var socketGroup: String?
    /// `accept-proxy`: every connection starts with a PROXY protocol v1 or v2 header.
    public var acceptProxy: Bool = false

    public init(address: Address, text: String, location: SourceLocation) {
        self.address = address
        self.text = text
        self.location = location
    }
}

public enum AddressFamily: Sendable, Hashable {
    case unspecified
    case ipv4
    case ipv6
}

/// A `server` line.
public struct Server: Sendable, Hashable {
    public var name: String
    /// The host as written (a name or a literal address).
    public var host: String
    /// The numeric address the host resolved to when the configuration was loaded.
    public var resolvedAddress: String
    /// 0: the port the client connected to (no port given, as HAProxy allows).
    public var port: Int
    public var weight: Int = 1
    public var maxConnections: Int?
    public var backup: Bool = false
    public var disabled: Bool = false
    /// `cookie VALUE`: the value of the backend's persistence cookie that designates it.
    public var cookie: String?
    /// `send-proxy` / `send-proxy-v2`: a PROXY protocol header starts every connection.
    public var sendProxyV1: Bool = false
    public var sendProxyV2: Bool = false
    /// The PROXY protocol version sent, if any: v2 when both are asked for, as in HAProxy.
    public var sendProxy: ProxyProtocolVersion? { sendProxyV2 ? .v2 : sendProxyV1 ? .v1 : nil }
    public var location: SourceLocation

    public init(name: String, host: String, resolvedAddress: String, port: Int, location: SourceLocation) {
        self.name = name
        self.host = host
        self.resolvedAddress = resolvedAddress
        self.port = port
        self.location = location
    }
}

public enum BalanceAlgorithm: String, Sendable, Hashable, CaseIterable {
    case roundRobin = "roundrobin"
    case staticRoundRobin = "static-rr"
    case leastConnections = "leastconn"
    case first = "first"
    case source = "source"
    case random = "random"
}

/// `timeout ...` settings; nil means "not set", which HAProxy treats as infinite
/// (and warns about for client, server and connect).
public struct Timeouts: Sendable, Hashable {
    public var connect: Duration?
    public var client: Duration?
    public var server: Duration?
    public var httpRequest: Duration?
    public var httpKeepAlive: Duration?
    public var queue: Duration?
    public var tunnel: Duration?
    public var clientFin: Duration?
    public var serverFin: Duration?
    /// `timeout tarpit`: how long `http-request tarpit` holds a request (the connect timeout
    /// when unset, as in HAProxy).
    public var tarpit: Duration?

    public init() {}
}

/// `option forwardfor [except NET] [header NAME] [if-none]`.
public struct ForwardFor: Sendable, Hashable {
    public var except: IPNetwork?
    public var headerName: String = "X-Forwarded-For"
    public var ifNone: Bool = false

    public init() {}
}

/// `option originalto [except NET] [header NAME]`.
public struct OriginalTo: Sendable, Hashable {
    public var except: IPNetwork?
    public var headerName: String = "X-Original-To"

    public init() {}
}

/// `http-reuse never|safe|aggressive|always`.
public enum HTTPReuse: String, Sendable, Hashable, CaseIterable {
    /// No idle connection is shared: each server connection closes after its exchange.
    case never
    /// The first request of a client connection gets a connection of its own.
    case safe
    /// A first request may take an idle connection that has already been reused once.
    case aggressive
    /// Any request may take any idle connection.
    case always
}

/// `cookie NAME insert|rewrite|prefix [indirect] [nocache] ...`.
public struct CookiePersistence: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable {
        /// Baton adds the cookie to responses for clients that have no valid one.
        case insert
        /// The server sets the cookie; Baton replaces its value with the server's.
        case rewrite
        /// The server's own cookie is prefixed with the server's value and `~`.
        case prefix
    }

    public var name: String
    /// nil: the cookie only designates a server; nothing is added or changed.
    public var mode: Mode?
    public var indirect = false
    public var noCache = false
    public var postOnly = false
    public var preserve = false
    public var httpOnly = false
    public var secure = false
    public var domains: [String] = []
    public var attributes: [String] = []

    public init(name: String, mode: Mode?) {
        self.name = name
        self.mode = mode
    }
}

public enum ProxyProtocolVersion: Sendable, Hashable {
    case v1
    case v2
}

/// An address with a prefix length, as in `except 10.0.0.0/8`.
public struct IPNetwork: Sendable, Hashable {
    /// Address bytes: 4 for IPv4, 16 for IPv6.
    public var address: [UInt8]
    public var prefixLength: Int

    public init(address: [UInt8], prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Whether `candidate` (4 or 16 bytes) lies in this network. An IPv4-mapped IPv6 address
    /// matches an IPv4 network.
    public func contains(_ candidate: [UInt8]) -> Bool {
        var bytes = candidate
        if address.count == 4, bytes.count == 16,
           bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            bytes = Array(bytes[12..<16])
        }
        guard bytes.count == address.count else { return false }
        var remaining = prefixLength
        for i in 0..<bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask: UInt8 = bits == 8 ? 0xff : ~(0xff >> UInt8(bits))
            if bytes[i] & mask != address[i] & mask { return false }
            remaining -= bits
        }
        return true
    }
}

public enum HTTPConnectionMode: Sendable, Hashable {
    /// `option http-keep-alive` (the default).
    case keepAlive
    /// `option http-server-close`: keep-alive to the client, close towards the server.
    case serverClose
    /// `option httpclose`: close both sides after each transaction.
    case close
}

/// `errorfile CODE FILE`: the file holds a complete HTTP response, sent as it is.
public struct ErrorFile: Sendable, Hashable {
    public var status: Int
    public var path: String
    public var contents: [UInt8]

    public init(status: Int, path: String, contents: [UInt8]) {
        self.status = status
        self.path = path
        self.contents = contents
    }
}

public enum ProxyLogFormat: Sendable, Hashable {
    case tcplog
    case httplog
    case httpslog
    /// `log-format STRING`.
    case custom(LogFormat)
}
