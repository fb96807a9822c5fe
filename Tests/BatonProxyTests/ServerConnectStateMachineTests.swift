import NIOCore
import Testing

@testable import BatonProxy

private typealias Connect = ServerConnectStateMachine

private func machine(retries: Int = 3, redispatch: Bool = false, connectTimeout: TimeAmount? = .seconds(5),
                     hasAlternative: Bool = true, queueTimeout: TimeAmount? = .seconds(2)) -> Connect {
    Connect(policy: RetryPolicy(retries: retries, redispatch: redispatch, connectTimeout: connectTimeout,
                                hasAlternative: hasAlternative),
            queueTimeout: queueTimeout)
}

/// The clock is a value the tests move by hand.
private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

@Suite struct ServerConnectStateMachineTests {
    @Test func theFirstAttemptGoesWhereTheBalancerSays() {
        var connect = machine()
        #expect(connect.start() == .connect(.balancer))
    }

    @Test func refusedAttemptsRetryTheSameServerAfterTheTurnAroundDelay() {
        var connect = machine(retries: 2, connectTimeout: .milliseconds(300))
        _ = connect.start()
        #expect(connect.connectFailed(timedOut: false) == .connectAfter(.milliseconds(300), .sameServer))
        #expect(connect.connectFailed(timedOut: false) == .connectAfter(.milliseconds(300), .sameServer))
        #expect(connect.connectFailed(timedOut: false) == .fail(.init(.refused, .server, .connect)))
        #expect(connect.retries == 2)
        #expect(connect.finished)
    }

    @Test func aConnectTimeoutRetriesAtOnceAndGivesUpAsATimeout() {
        var connect = machine(retries: 1)
        _ = connect.start()
        #expect(connect.connectFailed(timedOut: true) == .connect(.sameServer))
        let last = connect.connectFailed(timedOut: true)
        #expect(last == .fail(.init(.timedOut, .server, .connect)))
        if case .fail(let error) = last { #expect(error.httpTerminationState == "sC--") }
    }

    @Test func redispatchMovesOnlyTheLastRetry() {
        var connect = machine(retries: 2, redispatch: true, connectTimeout: .seconds(5))
        _ = connect.start()
        #expect(connect.connectFailed(timedOut: false) == .connectAfter(.seconds(1), .sameServer))
        #expect(connect.connectFailed(timedOut: false) == .connectAfter(.seconds(1), .anotherServer))
    }

    @Test func redispatchNeedsAnotherServer() {
        var connect = machine(retries: 1, redispatch: true, hasAlternative: false)
        _ = connect.start()
        #expect(connect.connectFailed(timedOut: false) == .connectAfter(.seconds(1), .sameServer))
    }

    @Test func noUsableServerFailsAtOnce() {
        var connect = machine()
        _ = connect.start()
        #expect(connect.noServerFree(anyUsable: false, now: t0) == .fail(.init(.refused, .server, .connect)))
    }

    @Test func busyServersQueueUntilTimeoutQueue() {
        var connect = machine(queueTimeout: .seconds(2))
        _ = connect.start()
        let wait = Connect.Action.waitInQueue(recheckAfter: Connect.queueRecheckInterval)
        #expect(connect.noServerFree(anyUsable: true, now: t0) == wait)
        #expect(connect.noServerFree(anyUsable: true, now: t0 + .milliseconds(1999)) == wait)
        #expect(connect.queueTimeMilliseconds == 1999)
        #expect(connect.noServerFree(anyUsable: true, now: t0 + .seconds(2)) == .fail(.init(.timedOut, .server, .queue)))
        #expect(connect.queueTimeMilliseconds == 2000)
    }

    @Test func aServerFoundInTheQueueEndsTheWait() {
        var connect = machine(queueTimeout: .seconds(2))
        _ = connect.start()
        _ = connect.noServerFree(anyUsable: true, now: t0)
        connect.serverPicked(now: t0 + .milliseconds(40))
        #expect(connect.queueTimeMilliseconds == 40)
        // A later wait starts its own clock.
        #expect(connect.noServerFree(anyUsable: true, now: t0 + .seconds(10)) == .waitInQueue(recheckAfter: Connect.queueRecheckInterval))
    }

    @Test func withoutAQueueTimeoutTheWaitIsUnbounded() {
        var connect = machine(queueTimeout: nil)
        _ = connect.start()
        _ = connect.noServerFree(anyUsable: true, now: t0)
        #expect(connect.noServerFree(anyUsable: true, now: t0 + .seconds(86_400)) == .waitInQueue(recheckAfter: Connect.queueRecheckInterval))
    }
}
