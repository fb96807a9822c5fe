import BatonBalancing
import NIOCore

/// Idle keep-alive connections to servers, one pool per event loop so that taking and returning
/// a connection needs no lock and a client always gets a server channel on its own loop.
/// Reuse follows HAProxy's `http-reuse safe`: the first request of a client connection gets a
/// connection of its own; later ones may take any idle connection to the chosen server.
final class UpstreamPool {
    /// How long an idle connection is kept (HAProxy's `pool-purge-delay` default).
    static let idleLifetime: TimeAmount = .seconds(5)

    private var idle: [ObjectIdentifier: [UpstreamConnection]] = [:]
    /// Idle connections handed out per server, in the current and the previous sweep interval.
    private var reuses: [ObjectIdentifier: (current: Int, previous: Int)] = [:]
    /// One sweep per pool closes connections idle past `idleLifetime`, instead of a timer per
    /// connection scheduled and cancelled on every request.
    private var sweep: Scheduled<Void>?
    private let eventLoop: (any EventLoop)?

    init(eventLoop: (any EventLoop)? = nil) {
        self.eventLoop = eventLoop
    }

    /// The most recently returned idle connection to `server`, if any is still open. With
    /// `provenOnly` (`http-reuse aggressive` for a first request), only one that has already
    /// been reused.
    func take(for server: ServerState, provenOnly: Bool = false) -> UpstreamConnection? {
        let key = ObjectIdentifier(server)
        if provenOnly {
            guard let index = idle[key]?.lastIndex(where: { $0.exchanges > 1 }),
                  let connection = idle[key]?.remove(at: index) else { return nil }
            connection.takenFromPool()
            if connection.isReusable {
                reuses[key, default: (0, 0)].current += 1
                return connection
            }
            connection.closeDiscarding()
            return nil
        }
        // Popped in place: copying the list out of the dictionary would copy its storage.
        while let connection = idle[key]?.popLast() {
            connection.takenFromPool()
            if connection.isReusable {
                reuses[key, default: (0, 0)].current += 1
                return connection
            }
            // Half-closed or failed while idle: never handed out, and not left open either.
            connection.closeDiscarding()
        }
        return nil
    }

    /// Idle connections kept per server even when none is reused.
    static let minimumIdlePerServer = 4

    func putBack(_ connection: UpstreamConnection) {
        let key = ObjectIdentifier(connection.server)
        // Keep about as many idle connections as are being reused, or as many as are in use:
        // enough for the next wave of requests, without piling up one per client when every
        // client comes once (`http-reuse safe` never gives a first request an idle connection,
        // so one request per client connection would otherwise leave `rate x 5 s` connections
        // idle). HAProxy's purge similarly trims the idle list to the estimated need.
        let reused = reuses[key].map { $0.current + $0.previous } ?? 0
        let limit = max(Self.minimumIdlePerServer, connection.server.currentConnections, reused)
        if let count = idle[key]?.count, count >= limit, let oldest = idle[key]?.first {
            idle[key]?.removeFirst()
            oldest.takenFromPool()
            oldest.closeDiscarding()
        }
        idle[key, default: []].append(connection)
        connection.enterPool(self)
        if sweep == nil { scheduleSweep() }
    }

    private func scheduleSweep() {
        guard let eventLoop else { return }
        sweep = eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [self] in
            self.sweep = nil
            self.closeExpired()
            self.startReuseInterval()
            if !self.idle.isEmpty { self.scheduleSweep() }
        }
    }

    /// Closes the connections idle for longer than `idleLifetime` (oldest first in each list).
    func closeExpired(now: NIODeadline = .now()) {
        var expired: [UpstreamConnection] = []
        for (key, list) in idle {
            let keep = list.filter { now - $0.idleSince < Self.idleLifetime }
            if keep.count != list.count {
                expired += list.filter { now - $0.idleSince >= Self.idleLifetime }
                idle[key] = keep.isEmpty ? nil : keep
            }
        }
        for connection in expired { connection.closeDiscarding() }
    }

    /// Moves the reuse counts on by one interval (the sweep's second).
    private func startReuseInterval() {
        for (key, counts) in reuses {
            reuses[key] = counts.current == 0 && counts.previous == 0 ? nil : (0, counts.current)
        }
    }

    /// Called when an idle connection closed or expired.
    func remove(_ connection: UpstreamConnection) {
        let key = ObjectIdentifier(connection.server)
        idle[key]?.removeAll { $0 === connection }
    }

    func closeAll() {
        let all = idle.values.flatMap { $0 }
        idle.removeAll()
        sweep?.cancel()
        sweep = nil
        for connection in all { connection.closeDiscarding() }
    }

}

/// The pools of every event loop of the group, found from a channel's loop without a lock:
/// the map is built before the first connection and never changes.
final class UpstreamPools: Sendable {
    private let pools: [ObjectIdentifier: NIOLoopBoundBox<UpstreamPool>]

    init(group: any EventLoopGroup) {
        var pools: [ObjectIdentifier: NIOLoopBoundBox<UpstreamPool>] = [:]
        for loop in group.makeIterator() {
            pools[ObjectIdentifier(loop)] = .makeBoxSendingValue(UpstreamPool(eventLoop: loop), eventLoop: loop)
        }
        self.pools = pools
    }

    /// The pool of `eventLoop`; must be called on that loop.
    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        if let bound = pools[ObjectIdentifier(eventLoop)] { return bound.value }
        return UpstreamPool()
    }

    func closeAll() {
        for bound in pools.values {
            bound.eventLoop.execute { bound.value.closeAll() }
        }
    }
}
