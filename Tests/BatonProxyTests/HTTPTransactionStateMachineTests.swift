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
            #expect(machine.serverFailed(failure) == .respond(status: status, termination: flags))
            #expect(!machine.keepClientOpen)
        }
    }

    @Test func serverFailuresDuringTheResponseCutTheClientOff() {
        var machine = Machine(keepClientOpen: true, serverSideClose: false)
        _ = machine.requestEnded()
        machine.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(machine.serverFailed(.closed) == .abort(termination: "SD--"))
        var slow = Machine(keepClientOpen: true, serverSideClose: false)
        slow.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(slow.serverFailed(.timedOut) == .abort(termination: "sD--"))
    }

    @Test func clientTimeoutDependsOnWhoIsExpectedToAct() {
        var waitingForServer = Machine(keepClientOpen: true, serverSideClose: false)
        _ = waitingForServer.requestEnded()
        #expect(waitingForServer.clientTimedOut() == .keepWaiting)

        var stalledUpload = Machine(keepClientOpen: true, serverSideClose: false)
        #expect(stalledUpload.clientTimedOut() == .fail(.respond(status: 408, termination: "cD--")))

        var slowReader = Machine(keepClientOpen: true, serverSideClose: false)
        _ = slowReader.requestEnded()
        slowReader.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(slowReader.clientTimedOut() == .fail(.abort(termination: "cD--")))
    }

    @Test func clientHalfCloseEndsOnlyAnIncompleteRequest() {
        var midRequest = Machine(keepClientOpen: true, serverSideClose: false)
        #expect(midRequest.clientInputClosed() == .abort(termination: "CH--"))

        var complete = Machine(keepClientOpen: true, serverSideClose: false)
        _ = complete.requestEnded()
        #expect(complete.clientInputClosed() == nil)
        complete.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(complete.responseEnded() == .finish(keepClientOpen: false, reuseServer: true))
    }

    @Test func noServerIs503WithFlagsSayingWhy() {
        var refused = Machine(keepClientOpen: true, serverSideClose: false)
        _ = refused.requestEnded()
        #expect(refused.noServerAvailable(.refused) == .respond(status: 503, termination: "SC--"))
        var timedOut = Machine(keepClientOpen: true, serverSideClose: false)
        #expect(timedOut.noServerAvailable(.connectTimedOut) == .respond(status: 503, termination: "sC--"))
        var queued = Machine(keepClientOpen: true, serverSideClose: false)
        #expect(queued.noServerAvailable(.queueTimedOut) == .respond(status: 503, termination: "sQ--"))
    }

    @Test func aStalledBodyIsTheServersTimeoutOnceTheHeadWentOut() {
        var machine = Machine(keepClientOpen: true, serverSideClose: false)
        machine.requestHeadForwarded()
        #expect(machine.clientTimedOut() == .keepWaiting)
        #expect(machine.serverFailed(.timedOut) == .respond(status: 504, termination: "sH--"))
    }

    @Test func malformedBodyIsAStatusUntilTheResponseStarts() {
        var early = Machine(keepClientOpen: true, serverSideClose: false)
        #expect(early.requestMalformed(status: 400) == .respond(status: 400, termination: "PR--"))
        var late = Machine(keepClientOpen: true, serverSideClose: false)
        late.responseHeadReceived(serverAllowsReuse: true, clientMayStayOpen: true)
        #expect(late.requestMalformed(status: 400) == .abort(termination: "PD--"))
    }
}
