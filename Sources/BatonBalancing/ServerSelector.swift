import BatonConfig
import Synchronization

/// Picks a server for each new connection or request of one backend, following its `balance`
/// algorithm. Built once per configuration generation from the backend's servers; shared by all
/// event loops and lock-free. Active servers are used while any is usable; backups only when none
/// is, the first usable backup in declaration order, as HAProxy does without `option allbackups`.
public final class ServerSelector: Sendable {
    public let algorithm: BalanceAlgorithm
    public let servers: [ServerState]
    let active: ServerGroup
    let backups: ServerGroup

    public init(algorithm: BalanceAlgorithm, servers: [ServerState]) {
        self.algorithm = algorithm
        self.servers = servers
        self.active = ServerGroup(servers.filter { !$0.config.backup })
        self.backups = ServerGroup(servers.filter { $0.config.backup })
    }

    /// The server for a request from a client whose address hashes to `sourceHash`, skipping
    /// `excluded` (a server that just failed, for `option redispatch`). Nil when none is usable.
    public func select(sourceHash: UInt64 = 0, excluding excluded: ServerState? = nil) -> ServerState? {
        if let server = select(in: active, sourceHash: sourceHash, excluding: excluded) { return server }
        return backups.members.first { $0.isUsable && $0 !== excluded }
    }

    /// Whether some server could take traffic once a connection slot frees up (queueing makes
    /// sense), as opposed to none being available at all (503 at once).
    public var hasAvailableServer: Bool {
        servers.contains { $0.isAvailable }
    }

    private func select(in group: ServerGroup, sourceHash: UInt64, excluding excluded: ServerState?) -> ServerState? {
        guard !group.members.isEmpty else { return nil }
        switch algorithm {
        case .roundRobin, .staticRoundRobin:
            return group.nextInSchedule(excluding: excluded)
        case .leastConnections:
            return LeastConnections.pick(from: group, excluding: excluded)
        case .first:
            return group.members.first { $0.isUsable && $0 !== excluded }
        case .source:
            return SourceHash.pick(from: group, hash: sourceHash, excluding: excluded)
        case .random:
            return RandomChoice.pick(from: group, excluding: excluded)
        }
    }
}

/// The active or the backup servers of a backend, with their weighted round-robin schedule.
final class ServerGroup: Sendable {
    let members: [ServerState]
    /// Indexes into `members`, each server appearing `weight` times, spread out smoothly.
    let schedule: [Int]
    private let cursor = Atomic<Int>(0)

    init(_ members: [ServerState]) {
        self.members = members
        self.schedule = WeightedSchedule.smooth(weights: members.map(\.weight))
    }

    /// The next usable server in the schedule, trying each slot at most once.
    func nextInSchedule(excluding excluded: ServerState?) -> ServerState? {
        guard !schedule.isEmpty else { return nil }
        let start = cursor.add(1, ordering: .relaxed).oldValue
        for offset in 0..<schedule.count {
            let slot = (start &+ offset) % schedule.count
            let server = members[schedule[slot < 0 ? slot + schedule.count : slot]]
            if server.isUsable && server !== excluded {
                if offset > 0 { cursor.add(offset, ordering: .relaxed) }
                return server
            }
        }
        return nil
    }

    /// A rotating start so that ties are broken fairly.
    func nextStart() -> Int {
        cursor.add(1, ordering: .relaxed).oldValue & Int.max
    }
}
