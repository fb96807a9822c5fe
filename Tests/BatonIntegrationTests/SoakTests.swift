import Foundation
import Testing

// Soak: hundreds of thousands of connections through one real Baton, to catch what costs a
// little per connection and so shows only in bulk. A retain cycle between the session handlers
// and their `ChannelHandlerContext` once leaked about 3 KB per closed connection; no other test
// opens more than a few hundred connections, so none saw it.
//
// Each test runs its connections in batches (`Plan`) from `clientThreads` plain threads
// (blocking POSIX sockets: a debug-built client must cost far less than the debug-built proxy
// it measures). Every connection's answer is checked: status, body, and that the connection
// ends as it should. The first 10,000 connections are the warm-up (event loops, allocator
// arenas, buffers): Baton's resident size after them is the baseline. At the end Baton's
// resident size must be within `residentGrowthBound` of the baseline, and the fastest of the
// last batches at least `minimumRateRatio` as fast as the fastest of the first ones after the
// warm-up. Fastest, not average: other load on the machine only ever slows a batch down, for a
// while, where a leak or a growing structure slows every late batch.
//
// Who closes first. On loopback 200,000 connections in a minute or two would exhaust the
// 28,232 ephemeral ports (`net.ipv4.ip_local_port_range` 32768-60999) if the client's side of
// each ended in TIME_WAIT, which is the side that closes first. So Baton closes first wherever
// it does by itself: every short request says `Connection: close` (Baton answers and closes),
// errors and timeouts close, and a keep-alive connection's last request says `Connection:
// close`. The client reads to end of stream (which also checks that Baton closed) and then
// closes with a reset (SO_LINGER {1, 0}): by then Baton's socket is closed and the reset only
// ends what the kernel keeps of it, which would otherwise sit in TIME_WAIT for a minute, on
// Baton's listening port. The server treats Baton's server connections the same way
// (`SoakUpstream`). Without the resets a run would leave some 280,000 TIME_WAIT sockets (more
// than `net.ipv4.tcp_max_tw_buckets`, 131,072) and /proc/net/tcp, which `BatonProcess.start`
// reads to see Baton listening, would take seconds to read in the tests that follow. Only
// upgraded connections (2 %) end with the client's FIN, as a WebSocket client ends them; the
// few thousand TIME_WAITs they leave are harmless, and their ports reusable after a second
// anyway (`net.ipv4.tcp_tw_reuse` = 2, the default: loopback only).
//
// Server connections. The short connections' server side uses `option http-server-close`: one
// server connection per request, closed by Baton after it. Baton's memory then does not depend
// on how many idle server connections its pool happens to keep when it is measured
// (`http-reuse safe` never gives the first request of a client connection an idle one, so with
// one request per client connection that number follows the rate of the last seconds, not the
// number of connections so far). A keep-alive connection starts with a monitor-uri request, so
// that its proxied requests may share idle connections, whose number then stays near the
// number of concurrent clients.

/// Soak tests: Baton's memory and speed stay flat over hundreds of thousands of connections.
@Suite("Soak", .serialized)
struct SoakTests {
    static let clientThreads = 16
    /// Over the 190,000 connections after the baseline, a leak of 3 KB per connection would add
    /// about 570 MB (120 MB over the keep-alive test's 40,000), and one of 50 bytes per
    /// connection still about 9.5 MB. Without a leak the resident size (about 25 MiB, debug
    /// build) moved by at most 0.1 MiB after the baseline in every run; 8 MiB leaves room for
    /// allocator fragmentation and still catches anything from about 45 bytes per connection up
    /// (about 210 in the keep-alive test). A leak confined to the rarest paths (the 0.5 % of
    /// timeouts, the 1 % of idle closes) would stay under it.
    static let residentGrowthBound = 8 * MiB
    /// A per-connection cost that grows (a list scanned per connection, a table never pruned)
    /// slows the end of the run. The rates compared are those of the first and last windows of
    /// `rateWindow` batches (30,000 and 15,000 connections, 15 to 30 s), not of single batches:
    /// on a shared two-core machine the rate of one 10,000-connection batch (about 6 s) swings
    /// by more than 20 % between neighbours; a slowdown that comes from accumulated state
    /// does not come and go.
    static let minimumRateRatio = 0.8

    /// How a test's connections are cut into batches: the first `warmUpBatches` (10,000
    /// connections) warm Baton up and end with the baseline resident size; the rate reference
    /// is the window of `rateWindow` batches after them, compared with the last window.
    struct Plan {
        var label: String
        var total: Int
        var batchSize: Int
        var warmUpBatches: Int
        var rateWindow: Int

        var batches: Int { total / batchSize }
        var warmUpConnections: Int { warmUpBatches * batchSize }
    }

    static let shortPlan = Plan(label: "short", total: 200_000, batchSize: 10_000, warmUpBatches: 1, rateWindow: 3)
    static let keepAlivePlan = Plan(label: "keep-alive", total: 50_000, batchSize: 5_000, warmUpBatches: 2, rateWindow: 3)

    // MARK: - Baton and its server

    struct Ports: Sendable {
        /// monitor-uri, the server, upgrades, malformed requests.
        var web: UInt16
        /// A backend whose only server refuses connections (503).
        var noServer: UInt16
        /// `timeout http-request 100ms` (408).
        var slow: UInt16
        /// `timeout http-keep-alive 100ms`: an idle kept-alive connection is closed silently.
        var idle: UInt16
    }

    /// Timeouts are short only on the frontends that test them, so that no request on the
    /// others can time out because a client thread waited for a core. `serverClose`: one
    /// server connection per request (see the top of the file).
    static func config(_ ports: Ports, upstream: UInt16, deadPort: UInt16, serverClose: Bool) -> String {
        """
        \(httpDefaults("    timeout tunnel 30s"))
        frontend web
            bind 127.0.0.1:\(ports.web)
            monitor-uri /health
            default_backend app
        frontend nosrv
            bind 127.0.0.1:\(ports.noServer)
            default_backend dead
        frontend slow
            bind 127.0.0.1:\(ports.slow)
            timeout http-request 100ms
            default_backend app
        frontend idle
            bind 127.0.0.1:\(ports.idle)
            timeout http-keep-alive 100ms
            default_backend app
        backend app
        \(serverClose ? "    option http-server-close" : "")
            server app1 127.0.0.1:\(upstream)
        backend dead
            retries 0
            server dead1 127.0.0.1:\(deadPort)
        """
    }

    static func startBaton(serverClose: Bool) async throws -> (BatonProcess, SoakUpstream, Ports) {
        let upstream = try await SoakUpstream.start()
        let ports = Ports(web: freePort(), noServer: freePort(), slow: freePort(), idle: freePort())
        let baton = try await BatonProcess.start(
            config: config(ports, upstream: upstream.port, deadPort: freePort(), serverClose: serverClose),
            listening: [ports.web, ports.noServer, ports.slow, ports.idle])
        return (baton, upstream, ports)
    }

    // MARK: - Requests and the answers they must get

    static let monitorPage = Array(ErrorStatusTests.page(200, "OK", "Service ready.").utf8)
    static let page400 = Array(ErrorStatusTests.page(400, "Bad request", "Your browser sent an invalid request.").utf8)
    static let page408 = Array(ErrorStatusTests.page408.utf8)
    static let page503 = Array(ErrorStatusTests.page503.utf8)

    static func request(_ path: String, close: Bool) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: soak.test\r\n\(close ? "Connection: close\r\n" : "")\r\n".utf8)
    }

    static let monitorClose = request("/health", close: true)
    static let monitorKeepAlive = request("/health", close: false)
    static let proxiedClose = request("/item", close: true)
    static let proxiedKeepAlive = request("/item", close: false)
    static let upgradeRequest = Array("GET \(SoakUpstream.upgradePath) HTTP/1.1\r\nHost: soak.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n".utf8)
    /// Requests Baton must refuse with 400: a field without a colon, white space before a
    /// colon, two different Content-Lengths, an unknown HTTP version.
    static let malformedRequests = [
        "GET /a HTTP/1.1\r\nHost: soak.test\r\nno colon here\r\n\r\n",
        "GET /b HTTP/1.1\r\nHost : soak.test\r\n\r\n",
        "POST /c HTTP/1.1\r\nHost: soak.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "GET /d HTTP/9.9\r\nHost: soak.test\r\n\r\n",
    ].map { Array($0.utf8) }
    /// A head that never ends.
    static let partialHead = Array("GET /partial HTTP/1.1\r\nHost: soak.test\r\n".utf8)

    /// One connection with a single exchange that Baton ends: sends `request` (nothing if
    /// empty), reads to end of stream, and checks the status and the whole body.
    static func closedExchange(port: UInt16, _ request: [UInt8], status: Int, body: [UInt8],
                               _ what: String, buffer: SoakBuffer) throws {
        let socket = try SoakSocket.connect(port: port)
        var ended = false
        defer { socket.close(reset: ended) }
        if !request.isEmpty { try socket.send(request) }
        try buffer.readToEnd(from: socket)
        ended = true
        guard let head = try SoakResponseHead(parsing: buffer.bytes) else {
            throw SoakFailure("\(what): closed before a whole response head (\(buffer.preview))")
        }
        guard head.status == status, head.contentLength == body.count, buffer.matches(body, from: head.length) else {
            throw SoakFailure("\(what): expected \(status) with a \(body.count)-byte body, got \(buffer.count) bytes: \(buffer.preview)")
        }
    }

    /// One request on a kept-alive connection: its response must be 200 with exactly `body`,
    /// and nothing may follow it.
    static func keptAliveExchange(_ socket: SoakSocket, _ request: [UInt8], body: [UInt8],
                                  _ what: String, buffer: SoakBuffer) throws {
        buffer.reset()
        try socket.send(request)
        let head = try buffer.readHead(from: socket)
        guard head.status == 200, head.contentLength == body.count else {
            throw SoakFailure("\(what): expected 200 with a \(body.count)-byte body: \(buffer.preview)")
        }
        try buffer.read(atLeast: head.length + body.count, from: socket)
        guard buffer.matches(body, from: head.length) else {
            throw SoakFailure("\(what): wrong body or bytes after it: \(buffer.preview)")
        }
    }

    /// Reads until Baton closes the connection, which must come with no further byte.
    static func expectEndOfStream(_ socket: SoakSocket, _ what: String, buffer: SoakBuffer) throws {
        let before = buffer.count
        try buffer.readToEnd(from: socket)
        guard buffer.count == before else {
            throw SoakFailure("\(what): \(buffer.count - before) bytes where the end of the connection was due: \(buffer.preview)")
        }
    }

    // MARK: - 200,000 short connections

    enum ShortKind {
        case monitor, proxied, malformed, noServer, timeout, upgrade
    }

    /// The mix, per 200 connections: 95 monitor-uri, 80 proxied, 10 malformed (400), 10 with no
    /// server (503), 4 upgrades, 1 timeout (408 after 100 ms, alternately with nothing sent and
    /// with half a head). monitor-uri, the cheapest for Baton, has the largest share, which keeps
    /// the test within a few minutes on two cores with a debug build. Multiplying by 73 (prime to
    /// 200) spreads each kind evenly over the numbers, so every batch has the same mix and
    /// concurrent connections differ.
    static func shortKind(_ index: Int) -> ShortKind {
        switch (index &* 73) % 200 {
        case 0: return .timeout
        case 1...4: return .upgrade
        case 5...14: return .malformed
        case 15...24: return .noServer
        case 25...119: return .monitor
        default: return .proxied
        }
    }

    static func shortConnection(_ index: Int, ports: Ports, buffer: SoakBuffer) throws {
        switch shortKind(index) {
        case .monitor:
            try closedExchange(port: ports.web, monitorClose, status: 200, body: monitorPage, "monitor-uri", buffer: buffer)
        case .proxied:
            try closedExchange(port: ports.web, proxiedClose, status: 200, body: SoakUpstream.body, "proxied", buffer: buffer)
        case .malformed:
            let request = malformedRequests[index % malformedRequests.count]
            try closedExchange(port: ports.web, request, status: 400, body: page400, "malformed", buffer: buffer)
        case .noServer:
            try closedExchange(port: ports.noServer, proxiedClose, status: 503, body: page503, "no server", buffer: buffer)
        case .timeout:
            let request = (index / 200) % 2 == 0 ? [] : partialHead
            try closedExchange(port: ports.slow, request, status: 408, body: page408,
                               request.isEmpty ? "silent client" : "half a head", buffer: buffer)
        case .upgrade:
            try upgradedConnection(index, port: ports.web, buffer: buffer)
        }
    }

    /// 101, then this connection's own bytes echoed through the tunnel; then the client's end
    /// of stream goes through to the server, whose close comes back as Baton's.
    static func upgradedConnection(_ index: Int, port: UInt16, buffer: SoakBuffer) throws {
        let socket = try SoakSocket.connect(port: port)
        defer { socket.close() }
        try socket.send(upgradeRequest)
        let head = try buffer.readHead(from: socket)
        guard head.status == 101, buffer.count == head.length else {
            throw SoakFailure("upgrade: expected 101 and nothing more: \(buffer.preview)")
        }
        let payload = Array("soak message \(index)\n".utf8)
        try socket.send(payload)
        try buffer.read(atLeast: head.length + payload.count, from: socket)
        guard buffer.matches(payload, from: head.length) else {
            throw SoakFailure("upgrade: the echo differs from what was sent: \(buffer.preview)")
        }
        socket.shutdownOutput()
        try expectEndOfStream(socket, "upgrade", buffer: buffer)
    }

    @Test("200,000 short connections (monitor-uri, proxied, 400, 503, 408, upgrades): memory and rate stay flat",
          .timeLimit(.minutes(6)))
    func shortConnections() async throws {
        let (baton, upstream, ports) = try await Self.startBaton(serverClose: true)
        let clean = try await Self.soak(Self.shortPlan, baton: baton) { index, buffer in
            try Self.shortConnection(index, ports: ports, buffer: buffer)
        }
        if clean {
            let forwarded = (0..<Self.shortPlan.total).count { [.proxied, .upgrade].contains(Self.shortKind($0)) }
            #expect(upstream.requestCount == forwarded, "the server got \(upstream.requestCount) requests, not \(forwarded)")
        }
        await baton.stop()
        await upstream.stop()
    }

    // MARK: - 50,000 keep-alive connections

    /// Three to five requests: monitor-uri first (see the top of the file), then proxied ones
    /// with a monitor-uri one now and then; the last says `Connection: close`. One connection in
    /// 100 instead makes one request on the `idle` frontend and stays open until Baton closes it
    /// silently after `timeout http-keep-alive` (a single request, so that no client thread's
    /// wait for a core can outlast the 100 ms between two requests).
    static func keepAliveConnection(_ index: Int, ports: Ports, buffer: SoakBuffer) throws {
        if index % 100 == 50 {
            let socket = try SoakSocket.connect(port: ports.idle)
            var ended = false
            defer { socket.close(reset: ended) }
            try keptAliveExchange(socket, proxiedKeepAlive, body: SoakUpstream.body, "idle: request", buffer: buffer)
            try expectEndOfStream(socket, "idle: after timeout http-keep-alive", buffer: buffer)
            ended = true
            return
        }
        let socket = try SoakSocket.connect(port: ports.web)
        var ended = false
        defer { socket.close(reset: ended) }
        let requests = keepAliveRequestCount(index)
        for number in 0..<requests {
            let last = number == requests - 1
            if isMonitorRequest(index, number) {
                try keptAliveExchange(socket, last ? monitorClose : monitorKeepAlive, body: monitorPage,
                                      "monitor-uri request \(number + 1) of \(requests)", buffer: buffer)
            } else {
                try keptAliveExchange(socket, last ? proxiedClose : proxiedKeepAlive, body: SoakUpstream.body,
                                      "proxied request \(number + 1) of \(requests)", buffer: buffer)
            }
        }
        try expectEndOfStream(socket, "after Connection: close", buffer: buffer)
        ended = true
    }

    static func keepAliveRequestCount(_ index: Int) -> Int { 3 + index % 3 }
    static func isMonitorRequest(_ index: Int, _ number: Int) -> Bool { number == 0 || (index + number) % 3 == 0 }

    @Test("50,000 keep-alive connections of 3 to 5 requests: memory and rate stay flat", .timeLimit(.minutes(6)))
    func keepAliveConnections() async throws {
        let (baton, upstream, ports) = try await Self.startBaton(serverClose: false)
        let clean = try await Self.soak(Self.keepAlivePlan, baton: baton) { index, buffer in
            try Self.keepAliveConnection(index, ports: ports, buffer: buffer)
        }
        if clean {
            let forwarded = (0..<Self.keepAlivePlan.total).reduce(0) { sum, index in
                index % 100 == 50 ? sum + 1
                    : sum + (0..<Self.keepAliveRequestCount(index)).count { !Self.isMonitorRequest(index, $0) }
            }
            #expect(upstream.requestCount == forwarded, "the server got \(upstream.requestCount) requests, not \(forwarded)")
        }
        await baton.stop()
        await upstream.stop()
    }

    // MARK: - The run and its verdict

    /// Runs `plan`'s connections and checks: every connection answered as expected, Baton still
    /// running, its memory flat and its rate kept; prints the figures for the test log. Returns
    /// whether every connection ran and succeeded.
    static func soak(_ plan: Plan, baton: BatonProcess,
                     connection: @escaping @Sendable (Int, SoakBuffer) throws -> Void) async throws -> Bool {
        let load = SoakLoad(threads: clientThreads, deadline: .now + .seconds(300))
        let started = ContinuousClock.now
        let batches = try await onThread {
            load.run(total: plan.total, batchSize: plan.batchSize, label: plan.label, baton: baton, connection: connection)
        }
        let elapsed = ContinuousClock.now - started
        let label = plan.label
        #expect(baton.exitStatus == nil, "Baton \(baton.exitStatus.map(String.init(describing:)) ?? ""); stderr: \(baton.stderr)")
        #expect(load.stopReason == nil, "\(label): \(load.stopReason ?? "") after \(batches.count) batches")
        #expect(load.failures == 0, """
            \(label): \(load.failures) of \(plan.total) connections did not get the expected answer; the first:
            \(load.failureSamples.joined(separator: "\n"))
            """)
        guard batches.count == plan.batches else {
            Issue.record("\(label): \(batches.count) of \(plan.batches) batches completed")
            return false
        }

        let baseline = batches[plan.warmUpBatches - 1].residentBytes
        let end = batches[batches.count - 1].residentBytes
        let reference = batches[plan.warmUpBatches..<(plan.warmUpBatches + plan.rateWindow)]
        let last = batches[(batches.count - plan.rateWindow)...]
        let (referenceRate, lastRate) = (fastestRate(reference), fastestRate(last))
        let (referenceCPU, lastCPU) = (cpuPerConnection(reference), cpuPerConnection(last))
        let window = "\(plan.rateWindow * plan.batchSize)"
        print("""
            soak \(label): \(plan.total) connections in \(elapsed); RSS after the first \(plan.warmUpConnections): \
            \(mebibytes(baseline)), at the end: \(mebibytes(end)) (\(end >= baseline ? "+" : "-")\(mebibytes(abs(end - baseline)))); \
            fastest batch of the first \(window) after the warm-up: \(Int(referenceRate))/s, of the last \(window): \(Int(lastRate))/s \
            (\(Int(lastRate / referenceRate * 100)) %); Baton CPU per connection \(referenceCPU) then \(lastCPU)
            """)
        fflush(nil)  // every stream: the test log shows progress as it happens
        #expect(baseline > 0 && end > 0, "Baton's resident size could not be read")
        #expect(end - baseline <= residentGrowthBound, """
            \(label): Baton's resident size grew from \(mebibytes(baseline)) after the first \(plan.warmUpConnections) \
            connections to \(mebibytes(end)) after \(plan.total): about \((end - baseline) / (plan.total - plan.warmUpConnections)) \
            bytes per connection
            """)
        #expect(lastRate >= minimumRateRatio * referenceRate, """
            \(label): the fastest batch of the last \(window) connections went at \(Int(lastRate))/s, under \
            \(Int(minimumRateRatio * 100)) % of the \(Int(referenceRate))/s of the fastest of the first \(window) after the \
            warm-up (Baton's CPU per connection: \
            \(referenceCPU), then \(lastCPU))
            """)
        return load.failures == 0 && load.stopReason == nil
    }

    /// The rate of the fastest batch.
    static func fastestRate(_ batches: ArraySlice<SoakLoad.Batch>) -> Double {
        batches.map { Double($0.connections) / $0.seconds }.max() ?? 0
    }

    static func cpuPerConnection(_ batches: ArraySlice<SoakLoad.Batch>) -> String {
        let seconds = batches.map(\.batonCPUSeconds).reduce(0, +)
        return String(format: "%.0f µs", seconds / Double(batches.map(\.connections).reduce(0, +)) * 1e6)
    }

    static func mebibytes(_ bytes: Int) -> String {
        String(format: "%.1f MiB", Double(bytes) / Double(MiB))
    }
}
