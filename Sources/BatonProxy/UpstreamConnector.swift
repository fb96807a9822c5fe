import BatonBalancing
import BatonHTTP1
import NIOCore
import NIOPosix

/// Opens connections to servers: the one place a server channel is built. TLS to servers (SNI,
/// verification) will be added here, and the pool key will grow with it.
enum UpstreamConnector {
    enum Outcome {
        case connected(UpstreamConnection, milliseconds: Int64)
        /// `timedOut` tells a `timeout connect` expiry from a refusal (HAProxy's sC vs SC).
        case failed(timedOut: Bool)
    }

    /// Connects on `eventLoop`, which must be the caller's, so the client and server channels
    /// of a transaction share a loop; `completion` runs on that loop.
    static func connect(to server: ServerState, of backend: BackendRuntime, mode: UpstreamConnection.Mode,
                        maxHeaderFields: Int = HTTPRequestParser.defaultMaxFields,
                        for client: ClientConnection, on eventLoop: any EventLoop,
                        completion: @escaping (Outcome) -> Void) {
        let started = NIODeadline.now()
        let timeout = backend.config.timeouts.connect?.timeAmount ?? .seconds(3600)
        let keepAlive = backend.config.serverTCPKeepAlive
        let maxHeadBytes = backend.maxHeadBytes
        // `send-proxy[-v2]`: the connection starts with the client's addresses.
        let proxyHeader = server.config.sendProxy.map {
            ProxyProtocol.header($0, for: ProxyProtocol.endpoints(of: client))
        }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Set here rather than with `channelOption`, which applies each option
                    // through a chain of futures on every connection.
                    if let options = channel.syncOptions {
                        try options.setOption(.tcpOption(.tcp_nodelay), value: 1)
                        try options.setOption(.allowRemoteHalfClosure, value: true)
                        if keepAlive {
                            // `option srvtcpka`/`tcpka`.
                            try options.setOption(.socketOption(.so_keepalive), value: 1)
                        }
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        UpstreamConnection(server: server, mode: mode, eventLoop: channel.eventLoop,
                                           maxHeadBytes: maxHeadBytes, maxHeaderFields: maxHeaderFields))
                }
            }
            .connect(to: backend.address(of: server, for: client))
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard let upstream = try? channel.pipeline.syncOperations.handler(type: UpstreamConnection.self) else {
                        channel.close(promise: nil)
                        completion(.failed(timedOut: false))
                        return
                    }
                    if let proxyHeader {
                        // Written before anything the session sends; never shared with
                        // another client (see `UpstreamConnection.isReusable`).
                        upstream.carriesClientIdentity = true
                        upstream.write(channel.allocator.buffer(bytes: proxyHeader))
                    }
                    completion(.connected(upstream, milliseconds: HTTPTransaction.milliseconds(from: started)))
                case .failure(let error):
                    completion(.failed(timedOut: (error as? ChannelError) == .connectTimeout(timeout)))
                }
            }
    }
}

extension BackendRuntime {
    /// A connect state machine with this backend's `retries`, `redispatch` and `timeout queue`
    /// (HAProxy falls back to `timeout connect` for the queue).
    func makeConnectStateMachine() -> ServerConnectStateMachine {
        ServerConnectStateMachine(policy: retryPolicy,
                                  queueTimeout: (config.timeouts.queue ?? config.timeouts.connect)?.timeAmount)
    }

    enum ServerTaken {
        /// The server of the previous attempt, again.
        case same(ServerState)
        /// A server the balancer picked; it counts this connection now.
        case picked(ServerState)
        /// No server is free: none usable at all, or all at their maxconn.
        case noneFree(anyUsable: Bool)
    }

    /// The server for the next attempt as `choice` says: `current` again, or the balancer's
    /// pick (avoiding `current` on a redispatch), the connection's count moved from `current`
    /// to it.
    func takeServer(_ choice: ServerConnectStateMachine.Choice, replacing current: ServerState?,
                    for client: ClientConnection, persistent: ServerState? = nil) -> ServerTaken {
        if choice == .sameServer, let current { return .same(current) }
        current?.connectionEnded()
        if choice == .balancer, let persistent {
            // The request's persistence cookie names this server: it waits for a slot there
            // rather than going elsewhere (a redispatch, `.anotherServer`, does not come here).
            guard persistent.isUsable else { return .noneFree(anyUsable: true) }
            persistent.connectionStarted()
            return .picked(persistent)
        }
        guard let picked = pickServer(for: client, excluding: choice == .anotherServer ? current : nil) else {
            return .noneFree(anyUsable: selector.hasAvailableServer)
        }
        picked.connectionStarted()
        return .picked(picked)
    }

    /// The server for a new connection: the balancer's choice avoiding `failed` (a redispatch),
    /// or any usable one when only `failed` is left.
    func pickServer(for client: ClientConnection, excluding failed: ServerState?) -> ServerState? {
        let sourceHash = config.balance == .source ? client.sourceHash : 0
        if let server = selector.select(sourceHash: sourceHash, excluding: failed) { return server }
        return failed == nil ? nil : selector.select(sourceHash: sourceHash)
    }
}
