import Synchronization

/// Counters of one frontend or backend, kept from the first day so that the stats page, the
/// runtime API and Prometheus can read them later. Atomics only: no lock on the request path.
public final class ProxyCounters: Sendable {
    private let current = Atomic<Int>(0)
    private let cumulative = Atomic<Int>(0)
    private let requests = Atomic<Int>(0)
    private let responses5xx = Atomic<Int>(0)
    private let denied = Atomic<Int>(0)
    private let deniedConnections = Atomic<Int>(0)
    private let bytesIn = Atomic<Int>(0)
    private let bytesOut = Atomic<Int>(0)

    public init() {}

    /// HAProxy's `scur` and `stot`.
    public var currentSessions: Int { current.load(ordering: .relaxed) }
    public var totalSessions: Int { cumulative.load(ordering: .relaxed) }
    public var totalRequests: Int { requests.load(ordering: .relaxed) }
    public var serverErrorResponses: Int { responses5xx.load(ordering: .relaxed) }
    public var totalBytesIn: Int { bytesIn.load(ordering: .relaxed) }
    public var totalBytesOut: Int { bytesOut.load(ordering: .relaxed) }

    /// Counts a new session and returns the number now open.
    @discardableResult
    public func sessionStarted() -> Int {
        cumulative.add(1, ordering: .relaxed)
        return current.add(1, ordering: .relaxed).newValue
    }

    public func sessionEnded() { current.subtract(1, ordering: .relaxed) }

    public func requestReceived() { requests.add(1, ordering: .relaxed) }

    /// A request refused by `http-request deny` or `tarpit` (`dreq`).
    public func requestDenied() { denied.add(1, ordering: .relaxed) }
    public var deniedRequests: Int { denied.load(ordering: .relaxed) }

    /// A connection refused by `tcp-request connection|content reject` (`dcon`).
    public func connectionDenied() { deniedConnections.add(1, ordering: .relaxed) }
    public var deniedConnectionCount: Int { deniedConnections.load(ordering: .relaxed) }

    public func responseSent(status: Int) {
        if status >= 500 { responses5xx.add(1, ordering: .relaxed) }
    }

    public func transferred(in received: Int, out sent: Int) {
        if received > 0 { bytesIn.add(received, ordering: .relaxed) }
        if sent > 0 { bytesOut.add(sent, ordering: .relaxed) }
    }
}
