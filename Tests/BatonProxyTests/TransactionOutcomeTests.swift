import Testing

@testable import BatonProxy

/// Every way a transaction ends other than by a timeout (those are `TimeoutOutcomeTests`), one
/// row each: the events in order and what follows, as the client and the log see it.
@Suite struct TransactionOutcomeTests {
    typealias Machine = HTTPTransactionStateMachine

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var keepClientOpen = true
        var serverSideClose = false
        var run: @Sendable (inout Machine) -> String
        var expected: String
        var testDescription: String { name }
    }

    static func finish(_ completion: Machine.Completion) -> String {
        switch completion {
        case .none: return "goes on"
        case .finish(let keepClient, let reuseServer):
            return "finish, client \(keepClient ? "kept" : "closed"), server \(reuseServer ? "reused" : "closed")"
        }
    }

    static let rows: [Row] = [
        Row(name: "request, then a reusable response", run: { m in
            _ = m.requestEnded()
            m.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
            return finish(m.responseEnded())
        }, expected: "finish, client kept, server reused"),
        Row(name: "the client asked to close", keepClientOpen: false, run: { m in
            _ = m.requestEnded()
            m.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
            return finish(m.responseEnded())
        }, expected: "finish, client closed, server reused"),
        Row(name: "http-server-close", serverSideClose: true, run: { m in
            _ = m.requestEnded()
            m.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
            return finish(m.responseEnded())
        }, expected: "finish, client kept, server closed"),
        Row(name: "the server said Connection: close", run: { m in
            _ = m.requestEnded()
            m.responseHeadReceived(serverAllowsReuse: false, clientMayStayOpen: true)
            return finish(m.responseEnded())
        }, expected: "finish, client kept, server closed"),
        Row(name: "a body only closing can delimit for this client", run: { m in
            _ = m.requestEnded()
            m.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: false)
            return finish(m.responseEnded())
        }, expected: "finish, client closed, server reused"),
        Row(name: "the response ends before the request body", run: { m in
            m.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
            return finish(m.responseEnded())
        }, expected: "finish, client closed, server closed"),
        Row(name: "a local answer to a request without body", run: { m in
            let answered = finish(m.respondedLocally(requestHasPendingBody: false))
            return answered + "; then " + finish(m.requestEnded())
        }, expected: "goes on; then finish, client kept, server closed"),
        Row(name: "a local answer while a body is on its way", run: { m in
            finish(m.respondedLocally(requestHasPendingBody: true))
        }, expected: "finish, client closed, server closed"),
        Row(name: "the server closes before its response head", run: { m in
            _ = m.requestEnded()
            return m.serverFailed(.closed).seen
        }, expected: "502 SH--"),
        Row(name: "the server sends an invalid response", run: { m in
            _ = m.requestEnded()
            return m.serverFailed(.invalidResponse).seen
        }, expected: "502 PH--"),
        Row(name: "the server closes in the middle of the body", run: { m in
            _ = m.requestEnded()
            m.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
            return m.serverFailed(.closed).seen
        }, expected: "abort SD--"),
        Row(name: "the client half-closes in the middle of its request", run: { m in
            m.clientInputClosed()?.seen ?? "goes on"
        }, expected: "abort CH--"),
        Row(name: "the client half-closes after its request", run: { m in
            _ = m.requestEnded()
            let halfClosed = m.clientInputClosed()?.seen ?? "goes on"
            m.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
            return halfClosed + "; then " + finish(m.responseEnded())
        }, expected: "goes on; then finish, client closed, server reused"),
        Row(name: "the client leaves while waiting for the response", run: { m in
            _ = m.requestEnded()
            return m.clientClosed().httpTerminationState
        }, expected: "CH--"),
        Row(name: "the client leaves during the response", run: { m in
            _ = m.requestEnded()
            m.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
            return m.clientClosed().httpTerminationState
        }, expected: "CD--"),
        Row(name: "a malformed request body before the response", run: { m in
            m.requestMalformed(status: 400).seen
        }, expected: "400 PR--"),
        Row(name: "a malformed request body after the response started", run: { m in
            m.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
            return m.requestMalformed(status: 400).seen
        }, expected: "abort PD--"),
        Row(name: "no backend to route to", run: { m in
            m.noBackend().seen
        }, expected: "503 PR--"),
        Row(name: "every connection attempt refused", run: { m in
            m.serverConnectionFailed(.init(.refused, .server, .connect)).seen
        }, expected: "503 SC--"),
        Row(name: "soft-stop during a transaction", run: { m in
            m.stopAfterThisTransaction()
            _ = m.requestEnded()
            m.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
            return finish(m.responseEnded())
        }, expected: "finish, client closed, server reused"),
    ]

    @Test(arguments: rows)
    func outcome(_ row: Row) {
        var machine = Machine(keepClientOpen: row.keepClientOpen, serverSideClose: row.serverSideClose)
        #expect(row.run(&machine) == row.expected)
    }
}
