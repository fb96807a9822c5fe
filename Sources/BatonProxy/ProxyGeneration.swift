import BatonBalancing
import BatonConfig
import BatonHTTP1
import BatonObservability
import BatonRules
import NIOCore
import Synchronization

/// Everything the data plane reads, compiled once from a `Configuration`: frontends with their
/// backend resolved, backends with their server selectors and addresses, prepared responses.
/// Immutable and shared by every event loop; a reload builds a new generation.
public final class ProxyGeneration: Sendable {
    public let configuration: Configuration
    public let frontends: [FrontendRuntime]
    public let backends: [String: BackendRuntime]
    /// `stick-table`s by the name of the proxy declaring them.
    public let stickTables: [String: StickTable]
    /// Connections open across the whole process (`%ac`), and `global maxconn`.
    let processConnections = Atomic<Int>(0)
    /// The field lines a request or response head (or trailer section) may have: `tune.http.maxhdr` less the
    /// slot HAProxy's parser takes for the end of the section.
    let maxHeaderFields: Int
    /// `tune.bufsize` less `tune.maxrewrite`: the largest request or response head.
    let maxHeadBytes: Int

    /// `makeLogger` opens the log targets of one proxy; it is called once per proxy that logs.
    public init(configuration: Configuration,
                makeLogger: ([LogTarget]) -> LogDispatcher?) throws {
        self.configuration = configuration
        self.maxHeaderFields = HTTPRequestParser.maxFields(forMaxHeaderSlots: configuration.global.httpMaxHeaders)
        self.maxHeadBytes = configuration.global.maxHeadBytes
        var backends: [String: BackendRuntime] = [:]
        for proxy in configuration.backends {
            backends[proxy.name] = try BackendRuntime(config: proxy, maxHeadBytes: configuration.global.maxHeadBytes)
        }
        self.backends = backends
        var tables: [String: StickTable] = [:]
        for proxy in configuration.proxies {
            if let definition = proxy.stickTable { tables[proxy.name] = StickTable(definition: definition) }
        }
        self.stickTables = tables
        self.frontends = configuration.frontends.map { proxy in
            FrontendRuntime(config: proxy,
                            defaultBackend: proxy.effectiveDefaultBackend.flatMap { backends[$0] },
                            backends: backends,
                            logger: proxy.logTargets.isEmpty ? nil : makeLogger(proxy.logTargets))
        }
    }

    private let stopping = Atomic<Bool>(false)

    public var currentConnections: Int { processConnections.load(ordering: .relaxed) }

    /// Set by soft-stop: sessions close instead of waiting for another request.
    var isStopping: Bool { stopping.load(ordering: .relaxed) }
    func beginStopping() { stopping.store(true, ordering: .relaxed) }

    func connectionOpened() { processConnections.add(1, ordering: .relaxed) }
    func connectionClosed() { processConnections.subtract(1, ordering: .relaxed) }
}

/// One frontend (or the frontend half of a `listen`), ready for traffic.
public final class FrontendRuntime: Sendable {
    public let config: Proxy
    public let defaultBackend: BackendRuntime?
    public let counters = ProxyCounters()
    let errorPages: ErrorPages
    let monitorResponse: PreparedResponse
    /// `use_backend` rules with their named backends resolved.
    let switchingRules: [CompiledSwitchingRule]
    /// The frontend's request and response rules, shared by reference.
    let rules: ProxyRules
    let logger: LogDispatcher?

    init(config: Proxy, defaultBackend: BackendRuntime?, backends: [String: BackendRuntime], logger: LogDispatcher?) {
        self.config = config
        self.defaultBackend = defaultBackend
        self.errorPages = ErrorPages(errorFiles: config.errorFiles)
        self.monitorResponse = PreparedResponse(status: 200, bytes: errorPages.response(for: 200))
        self.rules = ProxyRules(config)
        self.switchingRules = config.backendSwitchingRules.compactMap { rule in
            switch rule.target {
            case .named(let name):
                // Validation made sure the backend exists.
                return backends[name].map { CompiledSwitchingRule(target: .resolved($0), condition: rule.condition) }
            case .dynamic(let format):
                return CompiledSwitchingRule(target: .dynamic(format), condition: rule.condition)
            }
        }
        self.logger = logger
    }

    var name: String { config.name }

    /// Without `option httplog`/`tcplog`, HAProxy logs each connection as it is accepted.
    func logConnection(_ connection: ClientConnection, channel: any Channel) {
        guard let logger, config.logFormat == nil else { return }
        let local = channel.localAddress
        let localText = connection.localAddress.map { "\($0):\(connection.localPort)" }
            ?? local.map { "\($0.ipAddress ?? "unix"):\($0.port ?? 0)" } ?? "-"
        let modeName = config.mode == .http ? "HTTP" : "TCP"
        logger.log("Connect from \(connection.clientAddress):\(connection.clientPort) to \(localText) (\(name)/\(modeName))",
                   level: .info)
    }
}

/// One backend (or the backend half of a `listen`), ready for traffic.
public final class BackendRuntime: Sendable {
    public let config: Proxy
    public let selector: ServerSelector
    public let counters = ProxyCounters()
    /// Socket addresses, indexed like `selector.servers`.
    let addresses: [SocketAddress]
    let errorPages: ErrorPages
    let retryPolicy: RetryPolicy
    /// `cookie`: the persistence rules, and the server each cookie value designates.
    let cookieRules: CookieRules?
    let serversByCookie: [String: ServerState]

    /// The largest response head (`tune.bufsize` less `tune.maxrewrite`).
    let maxHeadBytes: Int

    /// The backend's request and response rules, shared by reference.
    let rules: ProxyRules

    init(config: Proxy, maxHeadBytes: Int = 15360) throws {
        self.config = config
        self.rules = ProxyRules(config)
        self.maxHeadBytes = maxHeadBytes
        let states = config.servers.enumerated().map { ServerState(config: $1, index: $0) }
        self.selector = ServerSelector(algorithm: config.balance, servers: states)
        self.addresses = try config.servers.map {
            try SocketAddress(ipAddress: $0.resolvedAddress, port: $0.port)
        }
        self.errorPages = ErrorPages(errorFiles: config.errorFiles)
        self.cookieRules = config.cookie.map(CookieRules.init(config:))
        var byCookie: [String: ServerState] = [:]
        for server in selector.servers {
            if let value = server.config.cookie, byCookie[value] == nil { byCookie[value] = server }
        }
        self.serversByCookie = byCookie
        self.retryPolicy = RetryPolicy(retries: config.retries, redispatch: config.redispatch,
                                       connectTimeout: config.timeouts.connect?.timeAmount,
                                       hasAlternative: config.servers.count > 1)
    }

    var name: String { config.name }

    func address(of server: ServerState) -> SocketAddress { addresses[server.index] }

    /// Where to connect for `client`: a server without a port takes the port the client
    /// connected to.
    func address(of server: ServerState, for client: ClientConnection) -> SocketAddress {
        guard server.config.port == 0,
              let address = try? SocketAddress(ipAddress: server.config.resolvedAddress, port: client.localPort) else {
            return addresses[server.index]
        }
        return address
    }
}
