import NIOCore

/// The HTTP sessions open on each event loop, so that soft-stop can close the ones idling
/// between requests. One table per loop, touched only on that loop: no lock.
final class SessionRegistry: Sendable {
    private let tables: [NIOLoopBoundBox<SessionTable>]
    private let byLoop: [ObjectIdentifier: NIOLoopBoundBox<SessionTable>]

    init(group: any EventLoopGroup) {
        var byLoop: [ObjectIdentifier: NIOLoopBoundBox<SessionTable>] = [:]
        for loop in group.makeIterator() {
            byLoop[ObjectIdentifier(loop)] = .makeBoxSendingValue(SessionTable(), eventLoop: loop)
        }
        self.byLoop = byLoop
        self.tables = Array(byLoop.values)
    }

    /// Must be called on `eventLoop`.
    func table(for eventLoop: any EventLoop) -> SessionTable? {
        byLoop[ObjectIdentifier(eventLoop)]?.value
    }

    func closeIdleSessions() {
        for bound in tables {
            bound.eventLoop.execute { bound.value.closeIdle() }
        }
    }

    func closeAll() {
        for bound in tables {
            bound.eventLoop.execute { bound.value.closeAll() }
        }
    }
}

final class SessionTable {
    private var sessions: [ObjectIdentifier: HTTP1ClientConnection] = [:]

    func add(_ session: HTTP1ClientConnection) { sessions[ObjectIdentifier(session)] = session }
    func remove(_ session: HTTP1ClientConnection) { sessions[ObjectIdentifier(session)] = nil }

    func closeIdle() {
        for session in sessions.values where session.isIdle { session.closeClient() }
    }

    func closeAll() {
        for session in sessions.values { session.closeClient() }
    }
}
