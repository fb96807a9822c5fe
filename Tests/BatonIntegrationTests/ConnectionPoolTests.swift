import Foundation
import Testing

/// The idle pool of server connections: kept for reuse, closed once idle past 5 s (HAProxy's
/// default `pool-purge-delay`).
@Suite("Server connection pool")
struct ConnectionPoolTests {
    @Test("an idle server connection stays open for reuse, then is closed after about 5 s")
    func idleConnectionExpires() async throws {
        let upstream = try await TestUpstream.start { _ in .text("pooled") }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                server app1 127.0.0.1:\(upstream.port)
            """, listening: [port])
        let response = try await rawGet(port: port, "/once")
        #expect(response.status == 200)
        // Measured from when the server wrote its answer, which is before the connection went
        // idle in Baton's pool: a busy test process can only make the measured times longer.
        // The server marks the time when its write completes, which a loaded machine may
        // report after Baton already relayed the response.
        #expect(await eventually(timeout: .seconds(5)) { upstream.respondedAt(0) != nil })
        let answered = try #require(upstream.respondedAt(0))
        // The client is gone; the server connection waits in the pool.
        try await Task.sleep(for: .seconds(3))
        if ContinuousClock.now - answered < .milliseconds(4500) {
            #expect(upstream.openConnectionCount == 1, "the idle server connection was not kept")
        }
        #expect(await eventually(timeout: .seconds(15)) { upstream.openConnectionCount == 0 },
                "the idle server connection is still open")
        #expect(ContinuousClock.now - answered >= .milliseconds(4500), "closed before the pool delay")
        #expect(upstream.connectionCount == 1)
        await baton.stop()
    }
}
