import Testing

@testable import BatonProxy

@Suite struct TransactionErrorTests {
    @Test func flagsFollowHAProxysTable() {
        let cases: [(TransactionError, String, String)] = [
            (.init(.aborted, .client, .data), "CD--", "CD"),
            (.init(.aborted, .client, .responseHeaders), "CH--", "CH"),
            (.init(.timedOut, .client, .request), "cR--", "cR"),
            (.init(.timedOut, .client, .data), "cD--", "cD"),
            (.init(.aborted, .server, .responseHeaders), "SH--", "SH"),
            (.init(.timedOut, .server, .responseHeaders), "sH--", "sH"),
            (.init(.refused, .server, .connect), "SC--", "SC"),
            (.init(.timedOut, .server, .connect), "sC--", "sC"),
            (.init(.timedOut, .server, .queue), "sQ--", "sQ"),
            (.init(.invalidMessage, .client, .request), "PR--", "PR"),
            (.init(.invalidMessage, .server, .responseHeaders), "PH--", "PH"),
            (.init(.localResponse, .client, .request), "LR--", "LR"),
            (.init(.blockedByProxy, .client, .connect), "PC--", "PC"),
        ]
        for (error, http, tcp) in cases {
            #expect(error.httpTerminationState == http)
            #expect(error.tcpTerminationState == tcp)
        }
        let normal: TransactionError? = nil
        #expect(normal.httpTerminationState == "----")
        #expect(normal.tcpTerminationState == "--")
    }

    @Test func countersTellRequestResponseAndConnectionErrorsApart() {
        #expect(TransactionError(.invalidMessage, .client, .request).isRequestError)
        #expect(!TransactionError(.invalidMessage, .client, .request).isResponseError)
        #expect(TransactionError(.invalidMessage, .server, .responseHeaders).isResponseError)
        #expect(TransactionError(.refused, .server, .connect).isConnectionError)
        #expect(TransactionError(.refused, .server, .connect).isRetryableConnectFailure)
        #expect(!TransactionError(.timedOut, .server, .queue).isRetryableConnectFailure)
        #expect(TransactionError(.aborted, .client, .data).isClientAbort)
        #expect(TransactionError(.aborted, .server, .data).isServerAbort)
    }
}
