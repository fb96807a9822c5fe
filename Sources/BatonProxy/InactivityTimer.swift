import NIOCore

/// Fires once when nothing happened for `timeout`: HAProxy's notion of `timeout client`,
/// `timeout server` and `timeout tunnel`. It is cheap on the request path: touching it is one
/// clock read, and arming or cancelling it reuses the check already scheduled on the event loop
/// whenever that check is due no later than the new deadline (the check re-arms itself for the
/// time remaining), so a keep-alive connection schedules about one task per timeout period
/// rather than several per request.
final class InactivityTimer {
    private let eventLoop: any EventLoop
    private var timeout: TimeAmount?
    private var lastActivity = NIODeadline.now()
    private var scheduled: Scheduled<Void>?
    private var scheduledDeadline: NIODeadline?
    private var onExpiry: (() -> Void)?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Starts (or restarts) watching with `timeout`; nil disables the timer (infinite).
    /// `onExpiry` is dropped on expiry or `cancel()`, so it may capture its owner strongly.
    func arm(_ timeout: TimeAmount?, onExpiry: @escaping () -> Void) {
        guard let timeout else {
            cancel()
            return
        }
        self.timeout = timeout
        self.onExpiry = onExpiry
        lastActivity = .now()
        let deadline = lastActivity + timeout
        if let scheduledDeadline, scheduledDeadline <= deadline { return }
        scheduled?.cancel()
        schedule(at: deadline)
    }

    func touch() {
        if timeout != nil { lastActivity = .now() }
    }

    /// Stops watching. A check already scheduled stays and finds nothing to do, unless the
    /// timer is being torn down (`dropScheduledCheck`), which is when its owner goes away.
    func cancel(dropScheduledCheck: Bool = false) {
        timeout = nil
        onExpiry = nil
        if dropScheduledCheck {
            scheduled?.cancel()
            scheduled = nil
            scheduledDeadline = nil
        }
    }


    private func schedule(at deadline: NIODeadline) {
        scheduledDeadline = deadline
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            check()
        }
    }

    private func check() {
        scheduled = nil
        scheduledDeadline = nil
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
