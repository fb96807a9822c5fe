import BatonBalancing
import BatonConfig
import BatonRules

/// What `tcp-request` rules and TCP-mode routing see of a connection: addresses, proxies,
/// variables and tracked counters, no HTTP message. Made only when such rules exist.
final class ConnectionRuleSubject: RuleSubject {
    let connection: ClientConnection
    let frontend: FrontendRuntime
    let generation: ProxyGeneration
    var variables = VariableStore()

    init(connection: ClientConnection, frontend: FrontendRuntime, generation: ProxyGeneration) {
        self.connection = connection
        self.frontend = frontend
        self.generation = generation
    }

    var clientAddress: IPAddress? { connection.clientIPAddress }
    var clientPort: Int? { connection.clientPort }
    var frontendAddress: IPAddress? { connection.localIPAddress }
    var frontendPort: Int? { connection.localPort }
    var frontendName: String { frontend.name }
    var backendName: String? { nil }
    var serverName: String? { nil }
    var isFirstRequest: Bool { true }

    func usableServers(backend name: String?) -> Int? {
        name.flatMap { generation.backends[$0] }.map { $0.selector.servers.filter(\.isUsable).count }
    }

    func backendConnections(backend name: String?) -> Int? {
        name.flatMap { generation.backends[$0] }?.counters.currentSessions
    }

    var sessionVariables: VariableStore {
        get { connection.sessionVariables }
        set { connection.sessionVariables = newValue }
    }

    var trackedCounters: TrackedCounters {
        get { connection.trackedCounters }
        set { connection.trackedCounters = newValue }
    }

    func stickTable(named name: String) -> StickTable? { generation.stickTables[name] }
}

extension ClientConnection {
    /// The addresses as rules see them (`src`, `dst`).
    var clientIPAddress: IPAddress? { clientAddressBytes.flatMap { IPAddress(bytes: $0) } }
    var localIPAddress: IPAddress? { localAddressBytes.flatMap { IPAddress(bytes: $0) } }
}

/// A proxy's rules, held once by reference so that running them copies nothing per request.
final class ProxyRules: Sendable {
    let tcpContent: [TCPRule]
    let httpRequest: [HTTPRule]
    let redirect: [HTTPRule]
    let httpResponse: [HTTPRule]
    let server: [ServerRule]
    /// Whether any request-side rule exists (most proxies have none).
    let hasRequestRules: Bool

    init(_ proxy: Proxy) {
        tcpContent = proxy.tcpRequestContentRules
        httpRequest = proxy.httpRequestRules
        redirect = proxy.redirectRules
        httpResponse = proxy.httpResponseRules
        server = proxy.serverRules
        hasRequestRules = !tcpContent.isEmpty || !httpRequest.isEmpty || !redirect.isEmpty
    }
}

extension BackendRuntime {
    /// `use-server`: the first rule whose condition holds names the server, used when it is
    /// usable (HAProxy's `process_server_rules`).
    func serverChosenByRules(for subject: any RuleSubject) -> ServerState? {
        for rule in rules.server {
            if let condition = rule.condition, !condition.isSatisfied(by: subject) { continue }
            guard let server = selector.servers.first(where: { $0.name == rule.server }), server.isUsable else {
                continue
            }
            return server
        }
        return nil
    }
}

extension FrontendRuntime {
    /// The frontend's one routing decision, for HTTP transactions and TCP sessions alike: the
    /// first `use_backend` whose condition holds (a dynamic name matching no backend falls
    /// through to the next rule, as in HAProxy), else `default_backend`.
    func chooseBackend(for subject: any RuleSubject, in generation: ProxyGeneration) -> BackendRuntime? {
        for rule in switchingRules {
            if let condition = rule.condition, !condition.isSatisfied(by: subject) { continue }
            switch rule.target {
            case .resolved(let backend):
                return backend
            case .dynamic(let format):
                if let backend = generation.backends[format.evaluate(subject)] { return backend }
            }
        }
        return defaultBackend
    }
}
