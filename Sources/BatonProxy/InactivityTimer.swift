import NIOCore

/// Fires once when nothing happened for `timeout`: HAProxy's notion of `timeout client`,
/// `timeout server` and `timeout tunnel`. It is cheap on the request path: touching it is one
/// clock read, and it sits in its event loop's `TimerWheel`, where arming and cancelling cost
/// O(1) and leave nothing scheduled behind. When its wheel deadline comes it checks the last
/// activity and moves itself to the time remaining, so a busy connection is re-filed about
/// once per timeout period rather than on every request.
final class InactivityTimer {
    private let eventLoop: any EventLoop
    private var wheel: TimerWheel?
    private var timeout: TimeAmount?
    private var lastActivity = NIODeadline.now()
    private var onExpiry: (() -> Void)?

    // The wheel's bookkeeping: this timer's place in one slot's list.
    var isLinked = false
    var wheelSlot = 0
    var wheelDeadline = NIODeadline.uptimeNanoseconds(0)
    var nextInSlot: InactivityTimer?
    unowned(unsafe) var previousInSlot: InactivityTimer?

    /// `wheel` defaults to the event loop thread's own (tests pass one of theirs).
    init(eventLoop: any EventLoop, wheel: TimerWheel? = nil) {
        self.eventLoop = eventLoop
        self.wheel = wheel
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
        let wheel = self.wheel ?? TimerWheel.current(for: eventLoop)
        self.wheel = wheel
        // Filed no later than the new deadline: the check there moves it on if needed.
        if isLinked {
            if wheelDeadline <= deadline { return }
            wheel.remove(self)
        }
        wheel.insert(self, deadline: deadline)
    }

    func touch() {
        if timeout != nil { lastActivity = .now() }
    }

    /// Stops watching and leaves the wheel.
    func cancel() {
        timeout = nil
        onExpiry = nil
        if isLinked { wheel?.remove(self) }
    }

    /// Called by the wheel when the filed deadline has come (`now`: the wheel's time).
    func wheelFired(now: NIODeadline) {
        guard let timeout, let wheel else { return }
        let deadline = lastActivity + timeout
        if deadline > now {
            wheel.insert(self, deadline: deadline)
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
