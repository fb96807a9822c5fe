import BatonConfig
import Testing

@testable import BatonBalancing

private func makeServers(_ specs: [(String, Int, Bool)], maxconn: Int? = nil) -> [ServerState] {
    specs.enumerated().map { index, spec in
        var server = Server(name: spec.0, host: "127.0.0.1", resolvedAddress: "127.0.0.1",
                            port: 8000 + index, location: .init(file: "t.cfg", line: index + 1))
        server.weight = spec.1
        server.backup = spec.2
        server.maxConnections = maxconn
        return ServerState(config: server, index: index)
    }
}

private func tally(_ selector: ServerSelector, picks: Int, hash: (Int) -> UInt64 = { _ in 0 }) -> [String: Int] {
    var counts: [String: Int] = [:]
    for i in 0..<picks {
        if let server = selector.select(sourceHash: hash(i)) { counts[server.name, default: 0] += 1 }
    }
    return counts
}

@Suite struct ServerSelectorTests {
    @Test func roundRobinFollowsWeights() {
        let selector = ServerSelector(algorithm: .roundRobin,
                                      servers: makeServers([("a", 1, false), ("b", 3, false)]))
        #expect(tally(selector, picks: 400) == ["a": 100, "b": 300])
    }

    @Test func smoothScheduleInterleaves() {
        #expect(WeightedSchedule.smooth(weights: [5, 1, 1]) == [0, 0, 1, 0, 2, 0, 0])
        #expect(WeightedSchedule.smooth(weights: [2, 2]) == [0, 1])
        #expect(WeightedSchedule.smooth(weights: [0, 0]) == [])
    }

    @Test func staticRoundRobinAlternatesEqualServers() {
        let selector = ServerSelector(algorithm: .staticRoundRobin,
                                      servers: makeServers([("a", 1, false), ("b", 1, false), ("c", 1, false)]))
        let names = (0..<6).compactMap { _ in selector.select()?.name }
        #expect(names == ["a", "b", "c", "a", "b", "c"])
    }

    @Test func maintenanceAndZeroWeightAreSkipped() {
        let servers = makeServers([("a", 1, false), ("b", 0, false), ("c", 1, false)])
        servers[0].setMaintenance(true)
        let selector = ServerSelector(algorithm: .roundRobin, servers: servers)
        #expect(tally(selector, picks: 10) == ["c": 10])
    }

    @Test func backupOnlyWhenNoActiveServerIsUsable() {
        let servers = makeServers([("a", 1, false), ("bk1", 1, true), ("bk2", 1, true)])
        let selector = ServerSelector(algorithm: .roundRobin, servers: servers)
        #expect(tally(selector, picks: 4) == ["a": 4])
        servers[0].setMaintenance(true)
        #expect(tally(selector, picks: 4) == ["bk1": 4])
        servers[1].setMaintenance(true)
        #expect(tally(selector, picks: 4) == ["bk2": 4])
        servers[2].setMaintenance(true)
        #expect(selector.select() == nil)
        #expect(!selector.hasAvailableServer)
    }

    @Test func leastConnectionsPrefersIdleServer() {
        let servers = makeServers([("a", 1, false), ("b", 1, false)])
        let selector = ServerSelector(algorithm: .leastConnections, servers: servers)
        servers[0].connectionStarted()
        servers[0].connectionStarted()
        #expect(selector.select()?.name == "b")
        servers[1].connectionStarted()
        #expect(selector.select()?.name == "b")
        servers[1].connectionStarted()
        servers[1].connectionStarted()
        #expect(selector.select()?.name == "a")
        // Equal load: ties are shared, not always the first.
        servers[0].connectionEnded(); servers[0].connectionEnded()
        servers[1].connectionEnded(); servers[1].connectionEnded(); servers[1].connectionEnded()
        #expect(Set(tally(selector, picks: 10).keys) == ["a", "b"])
    }

    @Test func firstFillsServersInOrderUpToMaxconn() {
        let servers = makeServers([("a", 1, false), ("b", 1, false)], maxconn: 2)
        let selector = ServerSelector(algorithm: .first, servers: servers)
        #expect(selector.select()?.name == "a")
        servers[0].connectionStarted(); servers[0].connectionStarted()
        #expect(selector.select()?.name == "b")
        servers[1].connectionStarted(); servers[1].connectionStarted()
        #expect(selector.select() == nil)
        #expect(selector.hasAvailableServer)
    }

    @Test func sourceKeepsAClientOnOneServerAndSpreadsClients() {
        let selector = ServerSelector(algorithm: .source,
                                      servers: makeServers([("a", 1, false), ("b", 1, false), ("c", 1, false)]))
        let client = ServerSelector.sourceHash(addressBytes: [10, 0, 0, 7])
        let first = selector.select(sourceHash: client)
        for _ in 0..<20 { #expect(selector.select(sourceHash: client) === first) }
        let spread = tally(selector, picks: 300) { i in
            ServerSelector.sourceHash(addressBytes: [10, 0, UInt8(i / 256), UInt8(i % 256)])
        }
        #expect(spread.count == 3)
        #expect(spread.values.allSatisfy { $0 > 50 })
    }

    @Test func randomUsesEveryServerAndRespectsWeights() {
        let selector = ServerSelector(algorithm: .random,
                                      servers: makeServers([("a", 1, false), ("b", 4, false)]))
        let counts = tally(selector, picks: 2000)
        #expect(counts["a", default: 0] > 100)
        #expect(counts["b", default: 0] > counts["a", default: 0] * 2)
    }

    @Test func redispatchExcludesTheFailedServer() {
        let servers = makeServers([("a", 1, false), ("b", 1, false)])
        for algorithm in BalanceAlgorithm.allCases {
            let selector = ServerSelector(algorithm: algorithm, servers: servers)
            for _ in 0..<5 { #expect(selector.select(excluding: servers[0])?.name == "b") }
        }
    }
}
