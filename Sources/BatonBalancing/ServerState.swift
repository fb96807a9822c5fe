import BatonConfig
import Synchronization

/// Live state of one server, shared by every event loop: connection counts and whether it may
/// take traffic. Lives apart from the immutable `Server` config so that a reload can carry it to
/// the next generation, and so health checks and the runtime API can change it later.
/// Everything is atomic: the request path never takes a lock.
public final class ServerState: Sendable {
    public let config: Server
    /// Position in the backend's `server` lines, from 0; `first` and hashing follow it.
    public let index: Int
    private let current = Atomic<Int>(0)
    private let cumulative = Atomic<Int>(0)
    private let maintenance: Atomic<Bool>

    public init(config: Server, index: Int) {
        self.config = config
        self.index = index
        self.maintenance = Atomic(config.disabled)
    }

    public var name: String { config.name }
    public var weight: Int { config.weight }

    /// Connections currently assigned to this server (HAProxy's `scur`).
    public var currentConnections: Int { current.load(ordering: .relaxed) }
    /// Connections assigned since start (HAProxy's `stot`).
    public var totalConnections: Int { cumulative.load(ordering: .relaxed) }

    /// Whether the server is in maintenance (`disabled`, or later set by the runtime API).
    public var isInMaintenance: Bool { maintenance.load(ordering: .relaxed) }
    public func setMaintenance(_ value: Bool) { maintenance.store(value, ordering: .relaxed) }

    /// Whether the balancer may pick it: up, not in maintenance, weight above zero, below maxconn.
    public var isUsable: Bool {
        guard !isInMaintenance, weight > 0 else { return false }
        if let limit = config.maxConnections, limit > 0, currentConnections >= limit { return false }
        return true
    }

    /// Whether the server can take traffic at all, ignoring its maxconn.
    public var isAvailable: Bool { !isInMaintenance && weight > 0 }

    public func connectionStarted() {
        current.add(1, ordering: .relaxed)
        cumulative.add(1, ordering: .relaxed)
    }

    public func connectionEnded() {
        current.subtract(1, ordering: .relaxed)
    }
}
