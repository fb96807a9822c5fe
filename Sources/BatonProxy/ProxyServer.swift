import BatonConfig
import BatonRules
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

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
    private let stopping = Atomic<Bool>(false)

    public init(generation: ProxyGeneration, group: any EventLoopGroup) {
        self.generation = generation
        self.group = group
        self.pools = UpstreamPools(group: group)
        self.sessions = SessionRegistry(group: group)
        let globalLimit = generation.configuration.global.maxConnections
        self.limiters = generation.frontends.map { frontend in
            let frontendLimit = frontend.config.maxConnections
            let isAtLimit: @Sendable () -> Bool = {
                if let globalLimit, generation.currentConnections >= globalLimit { return true }
                if let frontendLimit, frontend.counters.currentSessions >= frontendLimit { return true }
                return false
            }
            let countAccepted: @Sendable () -> Void = {
                generation.connectionOpened()
                frontend.counters.sessionStarted()
            }
            return frontend.config.binds.map { _ in
                AcceptLimiter(eventLoop: group.next(), isAtLimit: isAtLimit, countAccepted: countAccepted)
            }
        }
    }

    static let initialReceiveBufferSize = 1024

    /// Options of an accepted channel, set synchronously in its initializer: the bootstrap's
    /// `childChannelOption` applies each through a chain of futures, which was a sixth of the
    /// user CPU of a one-request connection.
    static func configureClientChannel(_ channel: any Channel) throws {
        guard let options = channel.syncOptions else { return }
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
                    let channel = try open(bind, for: frontend, limiter: limiter).wait()
                    listeners.withLock { $0.append(channel) }
                } catch {
                    closeListeners()
                    throw ListenerError(bind: bind, proxyName: frontend.name, reason: "\(error)")
                }
            }
        }
    }

    private func open(_ bind: Bind, for frontend: FrontendRuntime,
                      limiter: AcceptLimiter) throws -> EventLoopFuture<any Channel> {
        let generation = self.generation
        let pools = self.pools
        let sessions = self.sessions
        let limited = generation.configuration.global.maxConnections != nil
            || frontend.config.maxConnections != nil
        // The listening channel lives on the limiter's loop, so the limiter knows its loop
        // before any connection arrives.
        let bootstrap = ServerBootstrap(group: limiter.eventLoop, childGroup: group)
            .serverChannelOption(.backlog, value: 1024)
            // With a connection limit, accept one connection per read so the limit is exact.
            .serverChannelOption(.maxMessagesPerRead, value: limited ? UInt(1) : UInt(16))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(limiter)
                }
            }
            .childChannelInitializer { [self] channel in
                let connection = ClientConnection(remote: channel.remoteAddress, local: channel.localAddress)
                channel.closeFuture.whenComplete { _ in
                    generation.connectionClosed()
                    frontend.counters.sessionEnded()
                    self.connectionClosed()
                    if !connection.trackedCounters.isEmpty { connection.trackedCounters.releaseAll(byConnection: true) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.configureClientChannel(channel)
                    // `tcp-request connection` rules: a rejected connection is closed at once,
                    // without a log line, as HAProxy does.
                    if !frontend.config.tcpRequestConnectionRules.isEmpty {
                        let subject = ConnectionRuleSubject(connection: connection, frontend: frontend,
                                                            generation: generation)
                        if frontend.config.tcpRequestConnectionRules.run(subject) == .reject {
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
            return bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
        case .inheritedDescriptor(let descriptor):
            return bootstrap.withBoundSocket(descriptor)
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
    public func softStop(pollInterval: TimeAmount = .milliseconds(50)) {
        stopping.store(true, ordering: .relaxed)
        generation.beginStopping()
        closeListeners()
        sessions.closeIdleSessions()
        pools.closeAll()
        while generation.currentConnections > 0 {
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
