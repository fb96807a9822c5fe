import Foundation
import Testing

/// How each `balance` algorithm spreads requests over real servers. Every request is a new
/// client connection, and each server answers with its name.
@Suite("Load balancing")
struct BalancingTests {
    /// A frontend and a backend with the given `balance` line and one `server` line per entry.
    static func config(port: UInt16, balance: String, servers: [(TestUpstream, String)]) -> String {
        let lines = servers.map { "    server \($0.0.name) 127.0.0.1:\($0.0.port) \($0.1)" }.joined(separator: "\n")
        return """
            \(httpDefaults())
            frontend web
                bind 127.0.0.1:\(port)
                default_backend app
            backend app
                balance \(balance)
            \(lines)
            """
    }

    /// The server names that answered `count` requests, in order.
    static func answers(port: UInt16, count: Int, path: String = "/", source: String? = nil) async throws -> [String] {
        var names: [String] = []
        for _ in 0..<count {
            let response = try await rawGet(port: port, path, source: source)
            guard response.status == 200, let name = response.header("X-Server") else {
                throw RawClientError(description: "unexpected response \(response)")
            }
            names.append(name)
        }
        return names
    }

    static func tally(_ names: [String]) -> [String: Int] {
        names.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    static func upstreams(_ names: String...) async throws -> [TestUpstream] {
        var result: [TestUpstream] = []
        for name in names { result.append(try await TestUpstream.named(name)) }
        return result
    }

    @Test("roundrobin: 30 requests over 3 servers, 10 each, in rotation")
    func roundRobin() async throws {
        let servers = try await Self.upstreams("a", "b", "c")
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, balance: "roundrobin", servers: servers.map { ($0, "") }), listening: [port])
        let names = try await Self.answers(port: port, count: 30)
        #expect(Self.tally(names) == ["a": 10, "b": 10, "c": 10])
        for start in stride(from: 0, to: 30, by: 3) {
            #expect(Set(names[start..<(start + 3)]).count == 3, "not in rotation: \(names)")
        }
        await baton.stop()
    }

    @Test("roundrobin with weights 1:2:3: 60 requests split 10:20:30")
    func weightedRoundRobin() async throws {
        let servers = try await Self.upstreams("a", "b", "c")
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, balance: "roundrobin",
                                servers: [(servers[0], "weight 1"), (servers[1], "weight 2"), (servers[2], "weight 3")]),
            listening: [port])
        let names = try await Self.answers(port: port, count: 60)
        #expect(Self.tally(names) == ["a": 10, "b": 20, "c": 30])
        await baton.stop()
    }

    @Test("static-rr with weights 1:2: 30 requests split 10:20")
    func staticRoundRobin() async throws {
        let servers = try await Self.upstreams("a", "b")
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, balance: "static-rr", servers: [(servers[0], "weight 1"), (servers[1], "weight 2")]),
            listening: [port])
        let names = try await Self.answers(port: port, count: 30)
        #expect(Self.tally(names) == ["a": 10, "b": 20])
        await baton.stop()
    }

    @Test("leastconn: while one server holds a slow request, new requests go to the other")
    func leastConnections() async throws {
        var servers: [TestUpstream] = []
        for name in ["a", "b"] {
            servers.append(try await TestUpstream.start(name: name) { request in
                let answer = UpstreamAction.text(name, headers: [("X-Server", name)])
                return request.uri == "/slow" ? .delay(.seconds(6), answer) : answer
            })
        }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, balance: "leastconn", servers: servers.map { ($0, "") }), listening: [port])
        let slow = try startCurl("http://127.0.0.1:\(port)/slow")
        #expect(await eventually { servers.contains { $0.requestCount == 1 } }, "the slow request reached no server")
        let busy = try #require(servers.first { $0.requestCount == 1 })
        let idle = try #require(servers.first { $0 !== busy })
        let names = try await Self.answers(port: port, count: 10)
        #expect(names == Array(repeating: idle.name, count: 10), "busy server \(busy.name) got some: \(names)")
        let slowResult = await slow.result()
        #expect(slowResult.status == 200)
        #expect(slowResult.bodyText == busy.name)
        await baton.stop()
    }

    @Test("first: the first server takes everything until its maxconn is reached")
    func first() async throws {
        var servers: [TestUpstream] = []
        for name in ["a", "b", "c"] {
            servers.append(try await TestUpstream.start(name: name) { request in
                let answer = UpstreamAction.text(name, headers: [("X-Server", name)])
                return request.uri == "/slow" ? .delay(.seconds(6), answer) : answer
            })
        }
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, balance: "first",
                                servers: [(servers[0], "maxconn 1"), (servers[1], "maxconn 1"), (servers[2], "maxconn 1")]),
            listening: [port])
        let sequential = try await Self.answers(port: port, count: 10)
        #expect(sequential == Array(repeating: "a", count: 10))
        // "a" is full while it serves the slow request: the next one goes to "b".
        let slow = try startCurl("http://127.0.0.1:\(port)/slow")
        #expect(await eventually { servers[0].requests.contains { $0.uri == "/slow" } }, "the slow request did not reach a")
        let overflow = try await Self.answers(port: port, count: 3)
        #expect(overflow == ["b", "b", "b"])
        #expect(await slow.result().status == 200)
        await baton.stop()
    }

    @Test("source: one client address always gets the same server; many addresses spread")
    func source() async throws {
        let servers = try await Self.upstreams("a", "b", "c")
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, balance: "source", servers: servers.map { ($0, "") }), listening: [port])
        let fromOne = try await Self.answers(port: port, count: 30, source: "127.0.0.1")
        #expect(Set(fromOne).count == 1, "127.0.0.1 was sent to \(Self.tally(fromOne))")
        var chosen: [String: String] = [:]
        for host in 2...31 {
            let address = "127.0.0.\(host)"
            let names = try await Self.answers(port: port, count: 2, source: address)
            #expect(names[0] == names[1], "\(address) got \(names)")
            chosen[address] = names[0]
        }
        #expect(Set(chosen.values).count > 1, "30 client addresses all went to \(Set(chosen.values))")
        await baton.stop()
    }

    @Test("random: 30 requests use every server")
    func random() async throws {
        let servers = try await Self.upstreams("a", "b", "c")
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, balance: "random", servers: servers.map { ($0, "") }), listening: [port])
        let names = try await Self.answers(port: port, count: 30)
        #expect(Set(names) == ["a", "b", "c"], "\(Self.tally(names))")
        await baton.stop()
    }

    @Test("server maxconn: an excess request waits in the queue and is served when the slot frees")
    func queued() async throws {
        let upstream = try await TestUpstream.start(name: "q") { request in
            request.uri == "/slow" ? .delay(.milliseconds(600), .text("slow")) : .text("queued")
        }
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                timeout queue 5s
                server app1 127.0.0.1:\(upstream.port) maxconn 1
            """, listening: [port])
        let slow = try startCurl("http://127.0.0.1:\(port)/slow")
        try #require(await upstream.waitForRequests(1))
        let response = try await rawGet(port: port, "/next")
        #expect(response.status == 200)
        #expect(response.bodyText == "queued")
        #expect(await slow.result().status == 200)
        let requests = upstream.requests
        try #require(requests.map(\.uri) == ["/slow", "/next"])
        // The server never had both at once: /next arrived after /slow was answered.
        let slowAnswered = try #require(upstream.respondedAt(0))
        #expect(requests[1].receivedAt >= slowAnswered,
                "/next reached the server \(slowAnswered - requests[1].receivedAt) before /slow was answered")
        await baton.stop()
    }

    @Test("backup servers get traffic only when no active server is up")
    func backup() async throws {
        let servers = try await Self.upstreams("a", "spare")
        let port = freePort()
        let baton = try await BatonProcess.start(
            config: Self.config(port: port, balance: "roundrobin", servers: [(servers[0], ""), (servers[1], "backup")]),
            listening: [port])
        #expect(try await Self.answers(port: port, count: 6) == Array(repeating: "a", count: 6))
        await baton.stop()

        let port2 = freePort()
        let baton2 = try await BatonProcess.start(
            config: Self.config(port: port2, balance: "roundrobin", servers: [(servers[0], "disabled"), (servers[1], "backup")]),
            listening: [port2])
        #expect(try await Self.answers(port: port2, count: 6) == Array(repeating: "spare", count: 6))
        await baton2.stop()
    }
}
