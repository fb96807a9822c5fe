import NIOCore

/// Fires once when nothing happened for `timeout`, HAProxy's notion of `timeout client`,
/// `timeout server` and `timeout tunnel`. Touching it is one clock read: the scheduled check
/// re-arms itself for the remaining time instead of being cancelled on every byte.
final class InactivityTimer {
    private let eventLoop: any EventLoop
    private var timeout: TimeAmount?
    private var lastActivity = NIODeadline.now()
    private var scheduled: Scheduled<Void>?
    private var onExpiry: (() -> Void)?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Starts (or restarts) watching with `timeout`; nil disables the timer (infinite).
    func arm(_ timeout: TimeAmount?, onExpiry: @escaping () -> Void) {
        cancel()
        guard let timeout else { return }
        self.timeout = timeout
        self.onExpiry = onExpiry
        lastActivity = .now()
        schedule(at: lastActivity + timeout)
    }

    func touch() {
        if timeout != nil { lastActivity = .now() }
    }

    func cancel() {
        scheduled?.cancel()
        scheduled = nil
        timeout = nil
        onExpiry = nil
    }

    var isArmed: Bool { timeout != nil }

    private func schedule(at deadline: NIODeadline) {
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.check()
        }
    }

    private func check() {
        guard let timeout else { return }
        let deadline = lastActivity + timeout
        if deadline > .now() {
            schedule(at: deadline)
            return
        }
        let action = onExpiry
        cancel()
        action?()
    }
}

extension Duration {
    /// The same span as NIO's `TimeAmount`.
    var timeAmount: TimeAmount { .nanoseconds(wholeNanosecondsForNIO) }

    private var wholeNanosecondsForNIO: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        return ns + attoseconds / 1_000_000_000
    }
}
