import BatonConfig
import NIOCore
import Testing

@testable import BatonProxy

/// Every timeout a transaction can meet, one row each, and what the client and the log see:
/// the status of the error page (or the connection cut, or closed silently) and HAProxy's
/// termination flags. Driven through the pure state machines with a hand-moved clock.
@Suite struct TimeoutOutcomeTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var seen: @Sendable () -> String
        var expected: String
        var testDescription: String { name }
    }

    static let t0 = NIODeadline.uptimeNanoseconds(5_000_000_000)

    static func transaction(requestComplete: Bool = true) -> HTTPTransactionStateMachine {
        var machine = HTTPTransactionStateMachine(keepClientOpen: true, serverSideClose: false)
        if requestComplete { _ = machine.requestEnded() }
        return machine
    }

    static func connecting(retries: Int = 0) -> ServerConnectStateMachine {
        ServerConnectStateMachine(
            policy: RetryPolicy(retries: retries, redispatch: false, connectTimeout: .seconds(1), hasAlternative: false),
            queueTimeout: .seconds(1))
    }

    /// What the transaction answers when getting a server connection ends with `action`.
    static func outcome(_ action: ServerConnectStateMachine.Action) -> String {
        guard case .fail(let error) = action else { return "goes on: \(action)" }
        var machine = transaction()
        return machine.serverConnectionFailed(error).seen
    }

    static func headWait(_ timeouts: Timeouts, served: Int, started: Bool) -> String {
        let wait = RequestWait.headTimeout(timeouts, requestsServed: served, headStarted: started)
        let after = wait.timeout.map { "after \($0)" } ?? "never"
        switch wait.onExpiry {
        case .respond(let status, let error): return "\(after): \(status) \(error.httpTerminationState)"
        case .closeSilently: return "\(after): close silently"
        }
    }

    static var timeouts: Timeouts {
        var timeouts = Timeouts()
        timeouts.client = .seconds(30)
        timeouts.httpRequest = .seconds(5)
        timeouts.httpKeepAlive = .seconds(2)
        return timeouts
    }

    static let rows: [Row] = [
        Row(name: "timeout connect on the last attempt", seen: {
            var connect = connecting(retries: 0)
            _ = connect.start()
            return outcome(connect.connectFailed(timedOut: true))
        }, expected: "503 sC--"),
        Row(name: "connection refused on every attempt", seen: {
            var connect = connecting(retries: 1)
            _ = connect.start()
            _ = connect.connectFailed(timedOut: false)
            return outcome(connect.connectFailed(timedOut: false))
        }, expected: "503 SC--"),
        Row(name: "timeout queue with every server at maxconn", seen: {
            var connect = connecting()
            _ = connect.start()
            _ = connect.noServerFree(anyUsable: true, now: t0)
            return outcome(connect.noServerFree(anyUsable: true, now: t0 + .seconds(1)))
        }, expected: "503 sQ--"),
        Row(name: "timeout server before the response head", seen: {
            var machine = transaction()
            return machine.serverFailed(.timedOut).seen
        }, expected: "504 sH--"),
        Row(name: "timeout server during the response body", seen: {
            var machine = transaction()
            machine.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
            return machine.serverFailed(.timedOut).seen
        }, expected: "abort sD--"),
        Row(name: "timeout client while the request body stalls", seen: {
            var machine = transaction(requestComplete: false)
            return machine.clientTimedOut().seen
        }, expected: "408 cD--"),
        Row(name: "timeout client while the server works", seen: {
            var machine = transaction()
            return machine.clientTimedOut().seen
        }, expected: "keep waiting"),
        Row(name: "timeout client with a client too slow to read the response", seen: {
            var machine = transaction()
            machine.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
            return machine.clientTimedOut().seen
        }, expected: "abort cD--"),
        Row(name: "timeout http-request before the first request head", seen: {
            headWait(timeouts, served: 0, started: false)
        }, expected: "after 5.0 seconds: 408 cR--"),
        Row(name: "timeout http-keep-alive between requests", seen: {
            headWait(timeouts, served: 1, started: false)
        }, expected: "after 2.0 seconds: close silently"),
        Row(name: "timeout http-request once a later head has started", seen: {
            headWait(timeouts, served: 1, started: true)
        }, expected: "after 5.0 seconds: 408 cR--"),
        Row(name: "timeout client stands in for an unset http-request", seen: {
            var timeouts = Timeouts()
            timeouts.client = .seconds(30)
            return headWait(timeouts, served: 0, started: false)
        }, expected: "after 30.0 seconds: 408 cR--"),
    ]

    @Test(arguments: rows)
    func timeoutOutcome(_ row: Row) {
        #expect(row.seen() == row.expected)
    }
}
