import NIOCore
import Synchronization

/// Sits on a listening channel and stops accepting while the process (`global maxconn`) or the
/// frontend (`maxconn`) is at its limit, as HAProxy does: new connections then wait in the
/// kernel's backlog instead of being refused, and accepting resumes when one closes.
final class AcceptLimiter: ChannelDuplexHandler, @unchecked Sendable {
    // @unchecked: `pendingRead` and `context` are only touched on the listener's event loop.
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    typealias OutboundIn = Never

    let eventLoop: any EventLoop
    private let isAtLimit: @Sendable () -> Bool
    private var pendingRead = false
    /// Mirrors `pendingRead` for other threads, so a closing connection only wakes the
    /// listener's loop when accepting is actually paused.
    private let paused = Atomic<Bool>(false)
    private var context: ChannelHandlerContext?

    private let countAccepted: @Sendable () -> Void

    /// `countAccepted` runs for each accepted connection on the listener's loop, before the
    /// next `read`, so the limit check always sees it.
    init(eventLoop: any EventLoop, isAtLimit: @escaping @Sendable () -> Bool,
         countAccepted: @escaping @Sendable () -> Void) {
        self.eventLoop = eventLoop
        self.isAtLimit = isAtLimit
        self.countAccepted = countAccepted
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        countAccepted()
        context.fireChannelRead(data)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func read(context: ChannelHandlerContext) {
        if isAtLimit() {
            pendingRead = true
            paused.store(true, ordering: .relaxed)
            return
        }
        pendingRead = false
        context.read()
    }

    /// Called from any thread when a connection closed.
    func connectionClosed() {
        guard paused.load(ordering: .relaxed) else { return }
        eventLoop.execute {
            guard self.pendingRead, let context = self.context, !self.isAtLimit() else { return }
            self.pendingRead = false
            self.paused.store(false, ordering: .relaxed)
            context.read()
        }
    }
}
