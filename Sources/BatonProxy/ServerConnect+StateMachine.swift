import NIOCore

/// Getting a server connection for one HTTP transaction or TCP session, as HAProxy does: the
/// balancer's choice first; after a failed attempt a retry on the same server after the
/// turn-around delay, the last one redispatched to another server with `option redispatch`;
/// while every server is at its `maxconn`, waiting in the queue until `timeout queue`; and
/// the error each way of giving up becomes. A plain value driven by events, with the time
/// passed in, so it is tested without sockets or clocks; the owner picks servers and connects.
struct ServerConnectStateMachine: Equatable {
    /// Which server the next attempt goes to.
    enum Choice: Equatable {
        /// Whichever the balancer picks.
        case balancer
        /// The server of the failed attempt again.
        case sameServer
        /// Redispatch: the balancer's choice among the others (the failed one if it is alone).
        case anotherServer
    }

    enum Action: Equatable {
        /// Pick a server as `Choice` says and connect to it now.
        case connect(Choice)
        /// Wait (HAProxy's turn-around delay), then pick and connect.
        case connectAfter(TimeAmount, Choice)
        /// Every usable server is at its maxconn: look again after this delay.
        case waitInQueue(recheckAfter: TimeAmount)
        /// Give up: answer (or end the TCP session) with this error.
        case fail(TransactionError)
    }

    /// How often a queued stream looks for a free server slot.
    static let queueRecheckInterval: TimeAmount = .milliseconds(2)

    let policy: RetryPolicy
    /// `timeout queue` (HAProxy falls back to `timeout connect`); nil waits forever.
    let queueTimeout: TimeAmount?
    private(set) var failedAttempts = 0
    private(set) var queuedAt: NIODeadline?
    private(set) var queueTimeMilliseconds: Int64 = 0
    private(set) var finished = false

    init(policy: RetryPolicy, queueTimeout: TimeAmount?) {
        self.policy = policy
        self.queueTimeout = queueTimeout
    }

    /// `%rc`: retries made, at most `retries`.
    var retries: Int { min(failedAttempts, policy.retries) }

    mutating func start() -> Action { .connect(.balancer) }

    /// The owner found no server for the attempt: none usable at all (`anyUsable` false), or
    /// every usable one at its maxconn.
    mutating func noServerFree(anyUsable: Bool, now: NIODeadline) -> Action {
        guard anyUsable else { return fail(.init(.refused, .server, .connect)) }
        let since = queuedAt ?? now
        queuedAt = since
        queueTimeMilliseconds = Self.milliseconds(now - since)
        if let queueTimeout, now - since >= queueTimeout {
            return fail(.init(.timedOut, .server, .queue))
        }
        return .waitInQueue(recheckAfter: Self.queueRecheckInterval)
    }

    /// A server was picked: the time spent queued so far is final.
    mutating func serverPicked(now: NIODeadline) {
        if let queuedAt { queueTimeMilliseconds = Self.milliseconds(now - queuedAt) }
        queuedAt = nil
    }

    /// The attempt failed: refused or reset (`timedOut` false), or `timeout connect` struck.
    mutating func connectFailed(timedOut: Bool) -> Action {
        failedAttempts += 1
        switch policy.decide(failedAttempts: failedAttempts, timedOut: timedOut) {
        case .giveUp:
            return fail(.init(timedOut ? .timedOut : .refused, .server, .connect))
        case .retrySameServer(let delay):
            return delay == .zero ? .connect(.sameServer) : .connectAfter(delay, .sameServer)
        case .redispatch(let delay):
            return delay == .zero ? .connect(.anotherServer) : .connectAfter(delay, .anotherServer)
        }
    }

    private mutating func fail(_ error: TransactionError) -> Action {
        finished = true
        return .fail(error)
    }

    static func milliseconds(_ amount: TimeAmount) -> Int64 { max(0, amount.nanoseconds / 1_000_000) }
}
