import BatonConfig
import BatonRules
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Connections open on one listener, for `bind ... maxconn`.
final class ListenerConnections: Sendable {
    private let count = Atomic<Int>(0)
    var current: Int { count.load(ordering: .relaxed) }
    func opened() { count.add(1, ordering: .relaxed) }
    func closed() { count.subtract(1, ordering: .relaxed) }
}

struct SocketFileError: Error, CustomStringConvertible {
    var path: String
    var operation: String
    var errno: Int32
    var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
}

/// A listener that could not be opened, with the `bind` line it came from.
public struct ListenerError: Error, CustomStringConvertible {
    public var bind: Bind
    public var proxyName: String
    public var reason: String

    public var description: String {
        "Starting proxy \(proxyName): cannot bind socket (\(reason)) for [\(bind.text)] at [\(bind.location)]"
    }
}

/// Runs one configuration generation: opens every `bind`, accepts connections on the event loop
/// group and hands each to an HTTP or TCP session. Soft-stop closes the listeners and lets
/// sessions finish what is in flight.
public final class ProxyServer: Sendable {
    public let generation: ProxyGeneration
    let group: any EventLoopGroup
    let pools: UpstreamPools
    let sessions: SessionRegistry
    private let listeners = Mutex<[any Channel]>([])
    /// One per `bind`, indexed like `generation.frontends` and their binds; fixed at init so
    /// that a closing connection reads it without a lock.
    private let limiters: [[AcceptLimiter]]
    /// Connections open per `bind` line's listener (for `bind ... maxconn`), indexed likewise.
    private let listenerConnections: [[ListenerConnections]]
    private let stopping = Atomic<Bool>(false)

    public init(generation: ProxyGeneration, group: any EventLoopGroup) {
        self.generation = generation
        self.group = group
        self.pools = UpstreamPools(group: group)
        self.sessions = SessionRegistry(group: group)
        let globalLimit = generation.configuration.global.maxConnections
        let listenerConnections = generation.frontends.map { frontend in
            frontend.config.binds.map { _ in ListenerConnections() }
        }
        self.listenerConnections = listenerConnections
        self.limiters = generation.frontends.enumerated().map { frontendIndex, frontend in
            let frontendLimit = frontend.config.maxConnections
            return frontend.config.binds.enumerated().map { bindIndex, bind in
                let listener = listenerConnections[frontendIndex][bindIndex]
                let listenerLimit = bind.maxConnections
                let isAtLimit: @Sendable () -> Bool = {
                    if let globalLimit, generation.currentConnections >= globalLimit { return true }
                    if let frontendLimit, frontend.counters.currentSessions >= frontendLimit { return true }
                    if let listenerLimit, listener.current >= listenerLimit { return true }
                    return false
                }
                let countAccepted: @Sendable () -> Void = {
                    generation.connectionOpened()
                    frontend.counters.sessionStarted()
                    listener.opened()
                }
                return AcceptLimiter(eventLoop: group.next(), isAtLimit: isAtLimit, countAccepted: countAccepted)
            }
        }
    }

    static let initialReceiveBufferSize = 1024

    /// Options of an accepted channel, set synchronously in its initializer: the bootstrap's
    /// `childChannelOption` applies each through a chain of futures, which was a sixth of the
    /// user CPU of a one-request connection.
    static func configureClientChannel(_ channel: any Channel, keepAlive: Bool) throws {
        guard let options = channel.syncOptions else { return }
        if keepAlive {
            // `option clitcpka`/`tcpka`: the system's keep-alive probes on idle connections
            // (meaningless on a Unix socket, where failing to set it is no error).
            try? options.setOption(.socketOption(.so_keepalive), value: 1)
        }
        try options.setOption(.tcpOption(.tcp_nodelay), value: 1)
        try options.setOption(.allowRemoteHalfClosure, value: true)
        // Each connection keeps its last receive buffer for the next read; starting it at
        // 1 KiB instead of 2 (most request heads fit) halves what an idle connection holds.
        // It doubles after a full read, up to 64 KiB, for bodies.
        try options.setOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(
            minimum: 64, initial: initialReceiveBufferSize, maximum: 65536))
    }

    public var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Opens every listener; on failure closes those already open and throws the first error.
    /// Blocks the calling thread, which must not be an event loop.
    public func start() throws {
        for (frontendIndex, frontend) in generation.frontends.enumerated() {
            for (bindIndex, bind) in frontend.config.binds.enumerated() {
                do {
                    let limiter = limiters[frontendIndex][bindIndex]
                    let channel = try open(bind, for: frontend, limiter: limiter,
                                           listener: listenerConnections[frontendIndex][bindIndex]).wait()
                    listeners.withLock { $0.append(channel) }
                    if case .unix(let path) = bind.address, Self.hasSocketFileSettings(bind) {
                        // As HAProxy: bound under a temporary name, given its mode and owner,
                        // then renamed, so no client ever finds the socket with other rights.
                        let temporary = Self.temporarySocketPath(for: path)
                        try Self.applySocketFileSettings(of: bind, path: temporary)
                        if rename(temporary, path) != 0 {
                            throw SocketFileError(path: path, operation: "rename", errno: errno)
                        }
                    }
                } catch {
                    closeListeners()
                    throw ListenerError(bind: bind, proxyName: frontend.name, reason: "\(error)")
                }
            }
        }
    }

    /// The listen queue length when `bind ... backlog` does not say.
    static let defaultBacklog = 1024

    private func open(_ bind: Bind, for frontend: FrontendRuntime, limiter: AcceptLimiter,
                      listener: ListenerConnections) throws -> EventLoopFuture<any Channel> {
        let generation = self.generation
        let limited = generation.configuration.global.maxConnections != nil
            || frontend.config.maxConnections != nil || bind.maxConnections != nil
        // The listening channel lives on the limiter's loop, so the limiter knows its loop
        // before any connection arrives.
        var bootstrap = ServerBootstrap(group: limiter.eventLoop, childGroup: group)
            .serverChannelOption(.backlog, value: Int32(clamping: bind.backlog ?? Self.defaultBacklog))
            // With a connection limit, accept one connection per read so the limit is exact.
            .serverChannelOption(.maxMessagesPerRead, value: limited ? UInt(1) : UInt(16))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(limiter)
                }
            }
            .childChannelInitializer { [self] channel in
                channel.closeFuture.whenComplete { _ in
                    generation.connectionClosed()
                    frontend.counters.sessionEnded()
                    listener.closed()
                    self.connectionClosed()
                }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.configureClientChannel(channel, keepAlive: frontend.config.clientTCPKeepAlive)
                    try self.startSession(on: channel, for: frontend, bind: bind)
                }
            }
        if let ipv6Only = bind.ipv6Only, case .inet(_, _, let family) = bind.address, family != .ipv4 {
            // `v6only`/`v4v6`: whether an IPv6 listener also takes IPv4 clients, whatever the
            // system's net.ipv6.bindv6only says.
            bootstrap = bootstrap.serverChannelOption(
                ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: ipv6Only ? 1 : 0)
        }
        switch bind.address {
        case .inet(let host, let port, let family):
            let address: SocketAddress
            switch (host, family) {
            case (let host?, _):
                address = try SocketAddress.makeAddressResolvingHost(host, port: port)
            case (nil, .ipv6):
                address = try SocketAddress(ipAddress: "::", port: port)
            case (nil, _):
                address = try SocketAddress(ipAddress: "0.0.0.0", port: port)
            }
            return bootstrap.bind(to: address)
        case .unix(let path):
            let bindPath = Self.hasSocketFileSettings(bind) ? Self.temporarySocketPath(for: path) : path
            return bootstrap.bind(unixDomainSocketPath: bindPath, cleanupExistingSocketFile: true)
        case .inheritedDescriptor(let descriptor):
            return bootstrap.withBoundSocket(descriptor)
        }
    }

    /// Puts the session handler for `frontend`'s mode on an accepted channel.
    /// With `accept-proxy`, the addresses come from the PROXY header read first.
    func startSession(on channel: any Channel, for frontend: FrontendRuntime, bind: Bind) throws {
        guard bind.acceptProxy else {
            let connection = ClientConnection(remote: channel.remoteAddress, local: channel.localAddress)
            try addSessionHandler(to: channel, for: frontend, connection: connection)
            return
        }
        let timeouts = frontend.config.timeouts
        let receiver = ProxyProtocolReceiver(eventLoop: channel.eventLoop,
                                             timeout: timeouts.httpRequest ?? timeouts.client) { [self] context, connection in
            try self.addSessionHandler(to: context.channel, for: frontend, connection: connection)
        }
        try channel.pipeline.syncOperations.addHandler(receiver)
    }

    func addSessionHandler(to channel: any Channel, for frontend: FrontendRuntime,
                           connection: ClientConnection) throws {
        // `tcp-request connection` rules: a rejected connection is closed at once, without a
        // log line, as HAProxy does. Counters they track last as long as the connection.
        if !frontend.config.tcpRequestConnectionRules.isEmpty {
            let subject = ConnectionRuleSubject(connection: connection, frontend: frontend, generation: generation)
            let verdict = frontend.config.tcpRequestConnectionRules.run(subject)
            if !connection.trackedCounters.isEmpty {
                channel.closeFuture.whenComplete { _ in connection.trackedCounters.releaseAll(byConnection: true) }
            }
            if verdict == .reject {
                frontend.counters.connectionDenied()
                channel.close(promise: nil)
                return
            }
        }
        frontend.logConnection(connection, channel: channel)
        switch frontend.config.mode {
        case .http:
            let session = HTTP1ClientConnection(
                generation: generation, frontend: frontend, pool: pools.pool(for: channel.eventLoop),
                connection: connection, registry: sessions, eventLoop: channel.eventLoop)
            try channel.pipeline.syncOperations.addHandler(session)
        case .tcp:
            try channel.pipeline.syncOperations.addHandler(
                TCPSession(generation: generation, frontend: frontend, connection: connection))
        }
    }

    static func hasSocketFileSettings(_ bind: Bind) -> Bool {
        bind.socketMode != nil || bind.socketUser != nil || bind.socketGroup != nil
    }

    /// Where a Unix socket with `mode`/`user`/`group` is bound before it is renamed into place.
    static func temporarySocketPath(for path: String) -> String { "\(path).\(getpid()).tmp" }

    /// `bind /path mode 660 user U group G`: the socket file's permissions and owner.
    static func applySocketFileSettings(of bind: Bind, path: String) throws {
        if let mode = bind.socketMode, chmod(path, mode_t(mode)) != 0 {
            throw SocketFileError(path: path, operation: "chmod", errno: errno)
        }
        guard bind.socketUser != nil || bind.socketGroup != nil else { return }
        let user = bind.socketUser.flatMap(SystemAccounts.userID).map { uid_t($0) } ?? uid_t.max
        let group = bind.socketGroup.flatMap(SystemAccounts.groupID).map { gid_t($0) } ?? gid_t.max
        if chown(path, user, group) != 0 {
            throw SocketFileError(path: path, operation: "chown", errno: errno)
        }
    }

    func connectionClosed() {
        for frontendLimiters in limiters {
            for limiter in frontendLimiters {
                limiter.connectionClosed()
            }
        }
    }

    private func closeListeners() {
        let channels = listeners.withLock { list -> [any Channel] in
            defer { list.removeAll() }
            return list
        }
        for channel in channels {
            try? channel.close().wait()
        }
    }

    /// Soft-stop (SIGUSR1, and later reloads): stop accepting, close idle client and server
    /// connections, let every transaction in flight finish; returns once no client is left.
    /// Blocks the calling thread, which must not be an event loop.
    /// `hardStopAfter` (global `hard-stop-after`) bounds the wait: whatever is still open then
    /// is closed.
    public func softStop(pollInterval: TimeAmount = .milliseconds(50), hardStopAfter: Duration? = nil) {
        let deadline = hardStopAfter.map { NIODeadline.now() + $0.timeAmount }
        stopping.store(true, ordering: .relaxed)
        generation.beginStopping()
        closeListeners()
        sessions.closeIdleSessions()
        pools.closeAll()
        while generation.currentConnections > 0 {
            if let deadline, NIODeadline.now() >= deadline {
                sessions.closeAll()
                break
            }
            usleep(UInt32(pollInterval.nanoseconds / 1000))
            sessions.closeIdleSessions()
        }
        pools.closeAll()
    }

    /// Hard stop (SIGTERM, SIGINT): close everything now.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        generation.beginStopping()
        closeListeners()
        sessions.closeAll()
        pools.closeAll()
    }
}
