import BatonRules
import BatonCore
import Testing
@testable import BatonConfig

@Suite("a complete configuration")
struct CompleteConfigurationTests {
    static let text = """
        # Baton example
        global
            maxconn 2000
            log stdout format raw local0

        defaults
            mode http
            log global
            option httplog
            option forwardfor except 127.0.0.0/8 header X-Client-IP if-none
            option http-server-close
            option redispatch
            retries 2
            timeout connect 5s
            timeout client 30s
            timeout server 30s
            timeout http-request 10s

        frontend www
            bind :8080
            bind 127.0.0.1:8443
            maxconn 500
            monitor-uri /healthz
            http-request return status 200 content-type "text/plain" string "pong"
            default_backend app

        backend app
            balance leastconn
            option httpclose
            server a1 10.0.0.1:8000 weight 2
            server a2 10.0.0.2:8000 backup

        listen stats_like
            mode tcp
            bind :9000
            option tcplog
            server db 10.0.0.3:5432 maxconn 10
        """

    @Test func producesTheExactModel() throws {
        let result = load(Self.text)
        // As in HAProxy, the tcp listen section ignores the forwardfor option it inherits.
        #expect(result.lines == [
            "[WARNING] config : parsing [t.cfg:33] : 'option forwardfor' ignored for listen 'stats_like' as it requires HTTP mode.",
        ])
        let configuration = try #require(result.configuration)

        var global = GlobalSettings()
        global.maxConnections = 2000
        global.logTargets = [LogTarget(destination: .stdout, facility: .local0, format: .raw)]
        #expect(configuration.global == global)
        #expect(configuration.proxies.map(\.name) == ["www", "app", "stats_like"])
        #expect(configuration.frontends.map(\.name) == ["www", "stats_like"])
        #expect(configuration.backends.map(\.name) == ["app", "stats_like"])

        var forwardFor = ForwardFor()
        forwardFor.except = IPNetwork(address: [127, 0, 0, 0], prefixLength: 8)
        forwardFor.headerName = "X-Client-IP"
        forwardFor.ifNone = true

        let www = try #require(configuration.proxy(named: "www"))
        #expect(www.location == SourceLocation(file: "t.cfg", line: 19))
        #expect(www.capabilities == .frontend)
        #expect(www.mode == .http)
        #expect(www.binds == [
            Bind(address: .inet(host: nil, port: 8080, family: .unspecified), text: ":8080",
                 location: .init(file: "t.cfg", line: 20)),
            Bind(address: .inet(host: "127.0.0.1", port: 8443, family: .ipv4), text: "127.0.0.1:8443",
                 location: .init(file: "t.cfg", line: 21)),
        ])
        #expect(www.maxConnections == 500)
        #expect(www.monitorURI == "/healthz")
        #expect(www.httpRequestRules == [
            HTTPRule(action: .returnResponse(LocalResponse(status: 200, contentType: "text/plain", body: .text("pong"))),
                     condition: nil, location: .init(file: "t.cfg", line: 24)),
        ])
        #expect(www.defaultBackend == "app")
        #expect(www.defaultBackendLocation == SourceLocation(file: "t.cfg", line: 25))
        #expect(www.effectiveDefaultBackend == "app")
        #expect(www.logTargets == global.logTargets)
        #expect(www.logFormat == .httplog)
        var frontendTimeouts = Timeouts()
        frontendTimeouts.client = .seconds(30)
        frontendTimeouts.httpRequest = .seconds(10)
        #expect(www.timeouts == frontendTimeouts)
        #expect(www.forwardFor == forwardFor)
        #expect(www.httpConnectionMode == .serverClose)
        #expect(www.servers.isEmpty)

        let app = try #require(configuration.proxy(named: "app"))
        #expect(app.capabilities == .backend)
        #expect(app.mode == .http)
        #expect(app.balance == .leastConnections)
        #expect(app.retries == 2)
        #expect(app.redispatch)
        #expect(app.httpConnectionMode == .close)
        #expect(app.forwardFor == forwardFor)
        #expect(app.logFormat == nil)
        #expect(app.defaultBackend == nil)
        var backendTimeouts = Timeouts()
        backendTimeouts.connect = .seconds(5)
        backendTimeouts.server = .seconds(30)
        backendTimeouts.httpRequest = .seconds(10)
        #expect(app.timeouts == backendTimeouts)
        var a1 = Server(name: "a1", host: "10.0.0.1", resolvedAddress: "10.0.0.1", port: 8000,
                        location: .init(file: "t.cfg", line: 30))
        a1.weight = 2
        var a2 = Server(name: "a2", host: "10.0.0.2", resolvedAddress: "10.0.0.2", port: 8000,
                        location: .init(file: "t.cfg", line: 31))
        a2.backup = true
        #expect(app.servers == [a1, a2])

        let listen = try #require(configuration.proxy(named: "stats_like"))
        #expect(listen.capabilities == .listen)
        #expect(listen.mode == .tcp)
        #expect(listen.logFormat == .tcplog)
        #expect(listen.effectiveDefaultBackend == "stats_like")
        #expect(listen.servers.map(\.maxConnections) == [10])
        #expect(listen.forwardFor == nil)
        var listenTimeouts = frontendTimeouts
        listenTimeouts.connect = .seconds(5)
        listenTimeouts.server = .seconds(30)
        #expect(listen.timeouts == listenTimeouts)
    }

    @Test func collectsEveryError() {
        let result = load("""
            global
                nbthread zero
            defaults
                timeout connect soon
            frontend fe
                bind :80 ssl
                default_backend missing
            backend be
                server s1 1.2.3.4:x
                balance sideways
            """)
        #expect(result.configuration == nil)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : 'nbthread' passed a missing or unparsable integer value in 'zero'",
            "config : parsing [t.cfg:4] : unexpected character 's' in 'timeout connect'",
            "config : parsing [t.cfg:6] : 'bind' option 'ssl' is not supported by Baton yet.",
            "config : parsing [t.cfg:9] : 'server be/s1' : invalid character 'x' in port number 'x' in '1.2.3.4:x'",
            "config : parsing [t.cfg:10] : balance only supports 'roundrobin', 'static-rr', 'leastconn', 'first', 'source' and 'random' options.",
            "config : parsing [t.cfg:7] : Proxy 'fe': unable to find required default_backend: 'missing'.",
        ])
    }

    @Test func anEmptyConfigurationIsValid() throws {
        let result = load("# nothing\n\n")
        #expect(result.diagnostics.isEmpty)
        let configuration = try #require(result.configuration)
        #expect(configuration.proxies.isEmpty)
        #expect(configuration.global == GlobalSettings())
    }

    @Test func emptyWordsAreRefused() {
        let result = load("global\nlog-tag \"${NOPE}\"\n")
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : argument number 1 at position 12 is empty and marks the end of the argument list:\n  log-tag \"${NOPE}\"\n             ^\nAborting to prevent all subsequent arguments from being silently ignored. If this is caused by an environment variable expansion, please have a look at section 2.3 of the configuration manual to find solutions to address this.",
        ])
    }

    @Test func environmentVariablesReachKeywords() {
        let result = load("frontend fe\n  bind \":${PORT}\"\n  timeout client \"${T}\"\n",
                          environment: ["PORT": "8081", "T": "7s"])
        #expect(result.configuration?.proxies.first?.binds.map(\.address) == [.inet(host: nil, port: 8081, family: .unspecified)])
        #expect(result.configuration?.proxies.first?.timeouts.client == .seconds(7))
    }

    @Test func unterminatedQuoteIsReportedAndParsingGoesOn() {
        let result = load("frontend 'fe\nbackend be\n  balance nope\n")
        #expect(result.alerts == [
            "config : parsing [t.cfg:1] : unmatched quote at position 10:\n  frontend 'fe\n           ^",
            "config : parsing [t.cfg:3] : balance only supports 'roundrobin', 'static-rr', 'leastconn', 'first', 'source' and 'random' options.",
        ])
    }
}
