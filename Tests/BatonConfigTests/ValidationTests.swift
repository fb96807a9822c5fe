import BatonRules
import Testing
@testable import BatonConfig

@Suite("validation after parsing")
struct ValidationTests {
    @Test func frontendWithoutBindWarns() {
        let result = load("frontend fe\n  timeout client 5s\nlisten li\n  timeout client 5s\n")
        #expect(result.warnings == [
            "config : parsing [t.cfg:1] : frontend 'fe' has no 'bind' directive. Please declare it as a backend if this was intended.",
            "config : parsing [t.cfg:3] : listen 'li' has no 'bind' directive. Please declare it as a backend if this was intended.",
        ])
        #expect(result.configuration != nil)
    }

    @Test func defaultBackendMustExistAndMatchModes() {
        let result = load("""
            frontend fe
                mode http
                bind :80
                default_backend nope
            frontend fe2
                mode http
                bind :81
                default_backend be
            frontend fe3
                bind :82
                default_backend fe
            listen self
                bind :83
                default_backend self
            backend be
                mode tcp
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:4] : Proxy 'fe': unable to find required default_backend: 'nope'.",
            "config : parsing [t.cfg:8] : http frontend 'fe2' (t.cfg:5) tries to use incompatible tcp backend 'be' (t.cfg:15) as its default backend (see 'mode').",
            "config : parsing [t.cfg:11] : Proxy 'fe3': unable to find required default_backend: 'fe'.",
            "config : parsing [t.cfg:14] : Proxy 'self': loop detected for default_backend: 'self'.",
        ])
        #expect(result.configuration == nil)
    }

    @Test func tcpFrontendMayUseAnHTTPBackend() {
        let result = load("frontend fe\n  bind :80\n  timeout client 1s\n  default_backend be\nbackend be\n  mode http\n")
        #expect(result.diagnostics.isEmpty)
    }

    @Test func httpFrontendWithoutBackendOrServerlessBackendIsFine() {
        let result = load("frontend fe\n  mode http\n  bind :80\n  timeout client 1s\nbackend empty\n  mode http\n")
        #expect(result.diagnostics.isEmpty)
        #expect(result.configuration?.proxy(named: "fe")?.effectiveDefaultBackend == nil)
    }

    @Test func httpLogFallsBackToTCPLogInTCPMode() throws {
        let result = load("frontend fe\n  bind :80\n  timeout client 1s\n  option httplog\nfrontend fs\n  bind :81\n  timeout client 1s\n  option httpslog\n")
        #expect(result.warnings == [
            "config : parsing [t.cfg:4] : 'option httplog' not usable with frontend 'fe' (needs 'mode http'). Falling back to 'option tcplog'.",
            "config : log format ignored for frontend 'fe' since it has no log address.",
            "config : parsing [t.cfg:8] : 'option httpslog' not usable with frontend 'fs' (needs 'mode http'). Falling back to 'option tcplog'.",
            "config : log format ignored for frontend 'fs' since it has no log address.",
        ])
        #expect(result.configuration?.proxy(named: "fe")?.logFormat == .tcplog)
    }

    @Test func missingTimeoutsWarnLikeHAProxy() {
        let result = load("""
            frontend fe
                bind :80
            backend be
                server s1 10.0.0.1:80
            backend tunnel
                timeout connect 1s
                timeout tunnel 1h
                server s1 10.0.0.1:80
            backend idle
            """)
        #expect(result.warnings == [
            "config : parsing [t.cfg:1] : missing timeouts for frontend 'fe'.\n   | While not properly invalid, you will certainly encounter various problems\n   | with such a configuration. To fix this, please ensure that all following\n   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.",
            "config : parsing [t.cfg:3] : missing timeouts for backend 'be'.\n   | While not properly invalid, you will certainly encounter various problems\n   | with such a configuration. To fix this, please ensure that all following\n   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.",
        ])
    }

    @Test func zeroTimeoutMeansUnset() {
        let result = load("defaults\n  timeout client 5s\nfrontend fe\n  bind :80\n  timeout client 0\n")
        #expect(result.configuration?.proxies.first?.timeouts.client == nil)
        #expect(result.warnings.count == 1)
    }

    @Test func defaultBackendOverServersWarns() {
        let result = load("""
            listen li
                bind :80
                timeout client 1s
                timeout connect 1s
                timeout server 1s
                server s 10.0.0.1:80
                default_backend be
            backend be
            """)
        #expect(result.warnings == [
            "config : parsing [t.cfg:7] : In proxy 'li', the 'default_backend' rule always has precedence over the servers, which will never be used.",
        ])
    }

    @Test func httpSettingsOfTCPProxiesAreIgnoredWithWarnings() throws {
        let result = load("""
            defaults
                option forwardfor
                timeout client 1s
            frontend fe
                bind :80
                monitor-uri /health
                http-request return status 200
            frontend web
                mode http
                bind :81
            """)
        #expect(result.warnings == [
            "config : parsing [t.cfg:4] : 'monitor-uri' statement ignored for frontend 'fe' as it requires HTTP mode.",
            "config : parsing [t.cfg:4] : 'http-request' rules ignored for frontend 'fe' as they require HTTP mode.",
            "config : parsing [t.cfg:4] : 'option forwardfor' ignored for frontend 'fe' as it requires HTTP mode.",
        ])
        let configuration = try #require(result.configuration)
        #expect(configuration.proxy(named: "fe")?.forwardFor == nil)
        #expect(configuration.proxy(named: "fe")?.monitorURI == nil)
        #expect(configuration.proxy(named: "fe")?.httpRequestRules == [])
        #expect(configuration.proxy(named: "web")?.forwardFor == ForwardFor())
    }
}
