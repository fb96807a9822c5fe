import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Stopping Baton with signals, as an init system or an operator does.
@Suite("Signals")
struct SignalTests {
    static func config(port: UInt16, upstream: UInt16) -> String {
        """
        \(httpDefaults())
        listen web
            bind 127.0.0.1:\(port)
            server app1 127.0.0.1:\(upstream)
        """
    }

    @Test("SIGUSR1 soft-stops: new connections are refused, the request in flight finishes with 200, exit 0")
    func softStop() async throws {
        let upstream = try await TestUpstream.start { request in
            request.uri == "/slow" ? .delay(.milliseconds(2500), .text("finished")) : .text("quick")
        }
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port), listening: [port])
        let slow = try startCurl("http://127.0.0.1:\(port)/slow")
        try #require(await upstream.waitForRequests(1), "the slow request did not reach the server")
        baton.send(SIGUSR1)
        #expect(await eventually(timeout: .seconds(2)) { connectionRefused(port: port) },
                "Baton still accepts connections after SIGUSR1")
        // Until the server has answered, the request is in flight and Baton must still run
        // (on a loaded machine the refusal check above may outlast the slow request).
        if upstream.respondedAt(0) == nil {
            #expect(baton.exitStatus == nil, "Baton exited with a request in flight")
        }
        let result = await slow.result()
        #expect(result.status == 200, "\(result)")
        #expect(result.bodyText == "finished")
        #expect(await baton.waitForExit(timeout: .seconds(5)) == .exited(0))
    }

    @Test("SIGTERM and SIGINT stop at once, closing open connections", arguments: [SIGTERM, SIGINT])
    func hardStop(signal: Int32) async throws {
        let upstream = try await TestUpstream.start { request in
            request.uri == "/hold" ? .hold : .text("quick")
        }
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port), listening: [port])
        let idle = try RawClient(port: port)
        try await idle.send("GET /quick HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await idle.readResponse().status == 200)
        let busy = try RawClient(port: port)
        try await busy.send("GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
        try #require(await upstream.waitForRequests(2))

        let signalled = ContinuousClock.now
        baton.send(signal)
        let status = await baton.waitForExit(timeout: .seconds(3))
        let elapsed = ContinuousClock.now - signalled
        // A clean exit, or death by that very signal (what HAProxy 2.6 does); not a crash or a hang.
        #expect(status == .exited(0) || status == .signaled(signal), "\(status.map(String.init(describing:)) ?? "still running") after \(elapsed); stderr: \(baton.stderr)")
        #expect(elapsed < .seconds(5), "took \(elapsed) to stop")
        #expect(try await idle.waitForClose(timeout: .seconds(1)).closed)
        #expect(try await busy.waitForClose(timeout: .seconds(1)).closed)
        #expect(connectionRefused(port: port))
    }
}
