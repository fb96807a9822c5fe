import Testing

@testable import BatonProxy

private typealias Machine = HTTPTransactionStateMachine

@Suite struct HTTPTransactionStateMachineTests {
    @Test func aPlainExchangeKeepsBothConnections() {
        var machine = Machine(keepClientOpen: true, serverSideClose: false)
        #expect(machine.forwardsRequestBody)
        #expect(machine.requestEnded() == .none)
        machine.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(machine.responseEnded() == .finish(keepClientOpen: true, reuseServer: true))
    }

    @Test func theOrderOfTheTwoEndsDoesNotMatterWhenTheRequestEndsFirst() {
        var machine = Machine(keepClientOpen: true, serverSideClose: false)
        machine.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(machine.requestEnded() == .none)
        #expect(machine.responseEnded() == .finish(keepClientOpen: true, reuseServer: true))
    }

    @Test func anEarlyResponseAbandonsTheRequestBodyAndClosesBothSides() {
        var machine = Machine(keepClientOpen: true, serverSideClose: false)
        machine.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(machine.responseEnded() == .finish(keepClientOpen: false, reuseServer: false))
        #expect(!machine.forwardsRequestBody)
        #expect(machine.request == .abandoned)
    }

    @Test func serverCloseModesNeverReuseTheServerConnection() {
        var machine = Machine(keepClientOpen: true, serverSideClose: true)
        _ = machine.requestEnded()
        machine.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(machine.responseEnded() == .finish(keepClientOpen: true, reuseServer: false))
    }

    @Test func aServerThatAsksToCloseIsNotReused() {
        var machine = Machine(keepClientOpen: true, serverSideClose: false)
        _ = machine.requestEnded()
        machine.responseHeadReceived(serverAllowsReuse: false, clientMayStayOpen: true)
        #expect(machine.responseEnded() == .finish(keepClientOpen: true, reuseServer: false))
    }

    @Test func aCloseDelimitedResponseClosesTheClient() {
        var machine = Machine(keepClientOpen: true, serverSideClose: false)
        _ = machine.requestEnded()
        machine.responseHeadReceived(serverAllowsReuse: false, clientMayStayOpen: false)
        #expect(machine.responseEnded() == .finish(keepClientOpen: false, reuseServer: false))
    }

    @Test func localResponseWithoutBodyWaitsForTheRequestEnd() {
        var machine = Machine(keepClientOpen: true, serverSideClose: false)
        #expect(machine.respondedLocally(requestHasPendingBody: false) == .none)
        #expect(!machine.forwardsRequestBody)
        #expect(machine.requestEnded() == .finish(keepClientOpen: true, reuseServer: false))
    }

    @Test func localResponseWithAPendingBodyClosesTheClient() {
        var machine = Machine(keepClientOpen: true, serverSideClose: false)
        #expect(machine.respondedLocally(requestHasPendingBody: true) == .finish(keepClientOpen: false, reuseServer: false))
    }

    @Test func serverFailuresBeforeTheResponseBecomeStatuses() {
        for (failure, status, flags) in [(Machine.ServerFailure.timedOut, 504, "sH--"),
                                         (.invalidResponse, 502, "PH--"), (.closed, 502, "SH--")] {
            var machine = Machine(keepClientOpen: true, serverSideClose: false)
            _ = machine.requestEnded()
            #expect(machine.serverFailed(failure).seen == "\(status) \(flags)")
            #expect(!machine.keepClientOpen)
        }
    }

    @Test func serverFailuresDuringTheResponseCutTheClientOff() {
        var machine = Machine(keepClientOpen: true, serverSideClose: false)
        _ = machine.requestEnded()
        machine.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(machine.serverFailed(.closed).seen == "abort SD--")
        var slow = Machine(keepClientOpen: true, serverSideClose: false)
        slow.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(slow.serverFailed(.timedOut).seen == "abort sD--")
    }

    @Test func clientTimeoutDependsOnWhoIsExpectedToAct() {
        var waitingForServer = Machine(keepClientOpen: true, serverSideClose: false)
        _ = waitingForServer.requestEnded()
        #expect(waitingForServer.clientTimedOut() == .keepWaiting)

        var stalledUpload = Machine(keepClientOpen: true, serverSideClose: false)
        #expect(stalledUpload.clientTimedOut().seen == "408 cD--")

        var slowReader = Machine(keepClientOpen: true, serverSideClose: false)
        _ = slowReader.requestEnded()
        slowReader.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(slowReader.clientTimedOut().seen == "abort cD--")
    }

    @Test func clientHalfCloseEndsOnlyAnIncompleteRequest() {
        var midRequest = Machine(keepClientOpen: true, serverSideClose: false)
        #expect(midRequest.clientInputClosed()?.seen == "abort CH--")

        var complete = Machine(keepClientOpen: true, serverSideClose: false)
        _ = complete.requestEnded()
        #expect(complete.clientInputClosed() == nil)
        complete.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(complete.responseEnded() == .finish(keepClientOpen: false, reuseServer: true))
    }

    @Test func noServerConnectionIs503() {
        var machine = Machine(keepClientOpen: true, serverSideClose: false)
        _ = machine.requestEnded()
        let error = TransactionError(.refused, .server, .connect)
        #expect(machine.serverConnectionFailed(error) == .respond(status: 503, error: error))
        #expect(!machine.keepClientOpen)
    }

    @Test func aStalledBodyIsTheServersTimeoutOnceTheHeadWentOut() {
        var machine = Machine(keepClientOpen: true, serverSideClose: false)
        machine.requestHeadForwarded()
        #expect(machine.clientTimedOut() == .keepWaiting)
        #expect(machine.serverFailed(.timedOut).seen == "504 sH--")
    }

    @Test func malformedBodyIsAStatusUntilTheResponseStarts() {
        var early = Machine(keepClientOpen: true, serverSideClose: false)
        #expect(early.requestMalformed(status: 400).seen == "400 PR--")
        var late = Machine(keepClientOpen: true, serverSideClose: false)
        late.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(late.requestMalformed(status: 400).seen == "abort PD--")
    }
}

extension HTTPTransactionStateMachine.Failure {
    /// The outcome as the client and the log see it: "504 sH--" (an error page with that
    /// status), or "abort SD--" (the client connection cut).
    var seen: String {
        switch self {
        case .respond(let status, let error): return "\(status) \(error.httpTerminationState)"
        case .abort(let error): return "abort \(error.httpTerminationState)"
        }
    }
}

extension HTTPTransactionStateMachine.ClientTimeoutDecision {
    var seen: String {
        switch self {
        case .keepWaiting: return "keep waiting"
        case .fail(let failure): return failure.seen
        }
    }
}
