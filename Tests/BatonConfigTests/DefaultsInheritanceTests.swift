import Testing
@testable import BatonConfig

@Suite("defaults sections, inheritance and section headers")
struct DefaultsInheritanceTests {
    @Test func proxiesTakeTheLastDefaultsSeen() throws {
        let result = load("""
            defaults
                mode http
                timeout client 1s
            frontend a
                bind :80
            defaults
                mode tcp
                timeout client 2s
            frontend b
                bind :81
            """)
        let configuration = try #require(result.configuration)
        #expect(configuration.proxy(named: "a")?.mode == .http)
        #expect(configuration.proxy(named: "a")?.timeouts.client == .seconds(1))
        #expect(configuration.proxy(named: "b")?.mode == .tcp)
        #expect(configuration.proxy(named: "b")?.timeouts.client == .seconds(2))
    }

    @Test func aNewDefaultsSectionStartsFromScratch() throws {
        let result = load("defaults\n  mode http\ndefaults\n  timeout client 1s\nfrontend f\n  bind :80\n")
        #expect(result.configuration?.proxy(named: "f")?.mode == .tcp)
    }

    @Test func namedDefaultsAndFrom() throws {
        let result = load("""
            defaults base
                mode http
                retries 5
                timeout connect 3s
                option forwardfor
            defaults tuned from base
                retries 7
                option http-server-close
            defaults other
                mode tcp
            backend b1 from base
            backend b2 from tuned
            backend b3
            defaults from tuned
            backend b4
            """)
        #expect(result.alerts.isEmpty)
        let configuration = try #require(result.configuration)
        let b1 = try #require(configuration.proxy(named: "b1"))
        #expect(b1.mode == .http)
        #expect(b1.retries == 5)
        #expect(b1.httpConnectionMode == .keepAlive)
        #expect(b1.forwardFor == ForwardFor())
        let b2 = try #require(configuration.proxy(named: "b2"))
        #expect(b2.mode == .http)
        #expect(b2.retries == 7)
        #expect(b2.timeouts.connect == .seconds(3))
        #expect(b2.httpConnectionMode == .serverClose)
        let b3 = try #require(configuration.proxy(named: "b3"))
        #expect(b3.mode == .tcp)
        #expect(b3.retries == 3)
        let b4 = try #require(configuration.proxy(named: "b4"))
        #expect(b4.retries == 7)
    }

    @Test func proxiesOverrideAndNegateInheritedSettings() throws {
        let result = load("""
            defaults
                mode http
                option redispatch
                option httpclose
                log 10.0.0.1 local0
                errorfile 503 /dev/null
            backend be
                no option redispatch
                no option httpclose
                no log
            backend keep
                no option http-server-close
            """)
        let configuration = try #require(result.configuration)
        let be = try #require(configuration.proxy(named: "be"))
        #expect(!be.redispatch)
        #expect(be.httpConnectionMode == .keepAlive)
        #expect(be.logTargets.isEmpty)
        #expect(be.errorFiles[503]?.path == "/dev/null")
        let keep = try #require(configuration.proxy(named: "keep"))
        #expect(keep.redispatch)
        #expect(keep.httpConnectionMode == .close)
        #expect(keep.logTargets.count == 1)
    }

    @Test func connectionModesAreLastOneWins() throws {
        let result = load("backend be\n  option httpclose\n  option http-keep-alive\n  option http-server-close\n")
        #expect(result.configuration?.proxies.first?.httpConnectionMode == .serverClose)
    }

    @Test func eachSideTakesOnlyItsSettings() throws {
        let result = load("""
            defaults
                timeout client 1s
                timeout server 2s
                maxconn 10
                default_backend be
                balance first
            frontend fe
                bind :80
            backend be
            """)
        let configuration = try #require(result.configuration)
        let fe = try #require(configuration.proxy(named: "fe"))
        #expect(fe.timeouts.server == nil)
        #expect(fe.balance == .roundRobin)
        #expect(fe.defaultBackend == "be")
        let be = try #require(configuration.proxy(named: "be"))
        #expect(be.timeouts.client == nil)
        #expect(be.maxConnections == nil)
        #expect(be.defaultBackend == nil)
        #expect(be.balance == .first)
    }

    @Test func defaultsOutliveFilesButSectionsDoNot() throws {
        let loader = ConfigurationLoader(environment: [:], resolver: .numericOnly)
        let result = loader.load(sources: [("a.cfg", "defaults\n  mode http\nfrontend fe\n  bind :80\n"),
                                           ("b.cfg", "  timeout client 5s\nbackend be\n")])
        #expect(result.alerts == ["config : parsing [b.cfg:1] : unknown keyword 'timeout' out of section."])
        let second = loader.load(sources: [("a.cfg", "defaults\n  mode http\n"), ("b.cfg", "backend be\n")])
        #expect(second.configuration?.proxy(named: "be")?.mode == .http)
    }

    @Test func headerErrors() {
        let result = load("""
            listen
            listen a/b
            listen c d e
            backend b x
            frontend f from nope
            defaults foo from x
            frontend dup
            frontend dup
            listen dup
            frontend f2 from
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:1] : 'listen' expects an <id> argument",
            "config : parsing [t.cfg:2] : character '/' is not permitted in 'listen' name 'a/b'.",
            "config : parsing [t.cfg:3] : please use the 'bind' keyword for listening addresses.",
            "config : parsing [t.cfg:4] : 'backend' cannot handle unexpected argument 'x'.",
            "config : parsing [t.cfg:5] : defaults section 'nope' not found for frontend 'f'.",
            "config : parsing [t.cfg:6] : defaults section 'x' not found for defaults 'foo'.",
            "config : parsing [t.cfg:8] : frontend 'dup' has the same name as frontend 'dup' declared at t.cfg:7.",
            "config : parsing [t.cfg:9] : listen 'dup' has the same name as frontend 'dup' declared at t.cfg:7.",
            "config : parsing [t.cfg:10] : please use the 'bind' keyword for listening addresses.",
        ])
    }

    @Test func proxyNamesMayUseDotsColonsDashesAndUnderscores() {
        let result = load("backend api.v1:blue-green_2\n")
        #expect(result.alerts.isEmpty)
        #expect(result.configuration?.proxies.first?.name == "api.v1:blue-green_2")
    }

    @Test func referencedDefaultsCannotBeRedefined() {
        let result = load("defaults d\nbackend b from d\ndefaults d\n")
        #expect(result.alerts == [
            "config : parsing [t.cfg:3] : defaults 'd' has the same name as another defaults section declared at t.cfg:1 which was explicitly referenced hence cannot be replaced. Please remove or rename one of the offending defaults section.",
        ])
    }

    @Test func unsupportedSectionsAreRefusedOnceAndSkipped() {
        let result = load("resolvers dns\n  nameserver ns1 10.0.0.53:53\n  hold valid 10s\nbackend be\n")
        #expect(result.alerts == ["config : parsing [t.cfg:1] : 'resolvers' section is not supported by Baton yet."])
    }
}
