import Testing
@testable import BatonConfig

/// Configurations haproxy 2.6 accepts: same-named frontend and backend, keywords in a section
/// where they have no effect (warnings), and the options, `default-server`, `cookie`, global
/// tunables and `bind` settings Baton implements. Messages are haproxy 2.6's.
@Suite("haproxy 2.6 acceptance")
struct HAProxyAcceptanceTests {
    // MARK: Same name, different capabilities

    @Test func aFrontendAndABackendMayShareAName() throws {
        let result = load("""
            defaults
            \(quietTimeouts)
                mode http
            frontend app
                bind :8080
                default_backend app
            backend app
                server s1 127.0.0.1:8000
            """)
        #expect(result.alerts == [])
        #expect(result.warnings == [])
        let configuration = try #require(result.configuration)
        #expect(configuration.proxies.count == 2)
        #expect(configuration.backend(named: "app")?.servers.map(\.name) == ["s1"])
        #expect(configuration.frontend(named: "app")?.binds.count == 1)
        #expect(configuration.frontend(named: "app")?.effectiveDefaultBackend == "app")
    }

    @Test func proxiesSharingACapabilityMayNotShareAName() {
        let result = load("""
            backend b
            backend b
            listen l
            frontend l
            frontend f
            listen f
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : backend 'b' has the same name as backend 'b' declared at t.cfg:1.",
            "config : parsing [t.cfg:4] : frontend 'l' has the same name as listen 'l' declared at t.cfg:3.",
            "config : parsing [t.cfg:6] : listen 'f' has the same name as frontend 'f' declared at t.cfg:5.",
        ])
    }

    @Test func aListenNamingItselfIsStillALoop() {
        let result = load("listen l\n  bind :80\n  default_backend l\n")
        #expect(result.alerts == ["config : parsing [t.cfg:3] : Proxy 'l': loop detected for default_backend: 'l'."])
    }

    // MARK: Keywords where they have no effect

    @Test func frontendSettingsInABackendAreIgnoredWithAWarning() throws {
        let result = load("""
            backend b
                option dontlognull
                option clitcpka
                option log-separate-errors
                option tcplog
                bind :80
                timeout client-fin 5s
                option tcpka
            """)
        #expect(result.alerts == [])
        #expect(result.warnings == [
            "config : parsing [t.cfg:2] : 'dontlognull' ignored because backend 'b' has no frontend capability.",
            "config : parsing [t.cfg:3] : 'clitcpka' ignored because backend 'b' has no frontend capability.",
            "config : parsing [t.cfg:4] : 'log-separate-errors' ignored because backend 'b' has no frontend capability.",
            "config : parsing [t.cfg:5] : backend 'b' : 'option tcplog' directive is ignored in backends.",
            "config : parsing [t.cfg:6] : 'bind' ignored because backend 'b' has no frontend capability.",
            "config : parsing [t.cfg:7] : 'timeout client-fin' will be ignored because backend 'b' has no frontend capability",
        ])
        let backend = try #require(result.configuration?.proxies.first)
        #expect(!backend.dontLogNull && backend.binds.isEmpty && backend.logFormat == nil)
    }

    @Test func backendSettingsInAFrontendAreIgnoredWithAWarning() throws {
        let result = load("""
            frontend f
                bind :80
                option srvtcpka
                option abortonclose
                http-reuse never
                cookie SRV insert
                option prefer-last-server
                timeout queue 5s
                default-server weight 2
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:9] : 'default-server' not allowed because frontend 'f' has no backend capability.",
        ])
        #expect(result.warnings.filter { $0.contains("capability") } == [
            "config : parsing [t.cfg:3] : 'srvtcpka' ignored because frontend 'f' has no backend capability.",
            "config : parsing [t.cfg:4] : 'abortonclose' ignored because frontend 'f' has no backend capability.",
            "config : parsing [t.cfg:5] : 'http-reuse' ignored because frontend 'f' has no backend capability.",
            "config : parsing [t.cfg:6] : 'cookie' ignored because frontend 'f' has no backend capability.",
            "config : parsing [t.cfg:7] : 'prefer-last-server' ignored because frontend 'f' has no backend capability.",
            "config : parsing [t.cfg:8] : 'timeout queue' will be ignored because frontend 'f' has no backend capability",
        ])
    }

    // MARK: Options

    @Test func booleanOptions() throws {
        let result = load("""
            defaults
                mode http
                option dontlognull
                option tcpka
                option abortonclose
                option http-buffer-request
                option log-separate-errors
                option prefer-last-server
            frontend f
                bind :80
                no option dontlognull
            backend b
                no option srvtcpka
                no option abortonclose
                no option prefer-last-server
            listen l
                bind :81
                no option clitcpka
                no option http-buffer-request
            """)
        #expect(result.alerts == [])
        let configuration = try #require(result.configuration)
        let f = try #require(configuration.frontend(named: "f"))
        #expect(!f.dontLogNull && f.clientTCPKeepAlive && f.logSeparateErrors && f.httpBufferRequest)
        let b = try #require(configuration.backend(named: "b"))
        #expect(!b.serverTCPKeepAlive && !b.abortOnClose && b.httpBufferRequest && !b.preferLastServer)
        let l = try #require(configuration.proxy(named: "l"))
        #expect(l.dontLogNull && !l.clientTCPKeepAlive && l.serverTCPKeepAlive && l.abortOnClose && !l.httpBufferRequest)
        #expect(l.preferLastServer)
    }

    @Test func optionErrors() {
        #expect(alerts(in: "defaults",
                       "option dontlognull x",
                       "option tcpka x",
                       "no option tcpka",
                       "option http-buffer-request x",
                       "option abortonclose x",
                       "option originalto except",
                       "option originalto header",
                       "option originalto foo",
                       "no option originalto",
                       "option http-reuse") == [
            "config : parsing [t.cfg:2] : 'option dontlognull' cannot handle unexpected argument 'x'.",
            "config : parsing [t.cfg:3] : 'option tcpka' cannot handle unexpected argument 'x'.",
            "config : parsing [t.cfg:4] : negation/default is not supported for option 'tcpka'.",
            "config : parsing [t.cfg:5] : 'option http-buffer-request' cannot handle unexpected argument 'x'.",
            "config : parsing [t.cfg:6] : 'option abortonclose' cannot handle unexpected argument 'x'.",
            "config : parsing [t.cfg:7] : 'option originalto except' expects <address>[/mask] as argument.",
            "config : parsing [t.cfg:8] : 'option originalto header' expects <header_name> as argument.",
            "config : parsing [t.cfg:9] : 'option originalto' only supports optional values: 'except' and 'header'.",
            "config : parsing [t.cfg:10] : negation/default is not supported for option 'originalto'.",
            "config : parsing [t.cfg:11] : unknown option 'http-reuse'.",
        ])
    }

    @Test func originalTo() throws {
        let result = load("""
            defaults
                mode http
            frontend f
                bind :80
                option originalto
            backend b
                option originalto except 10.0.0.0/8 header X-Dest
            """)
        #expect(result.alerts == [])
        let configuration = try #require(result.configuration)
        #expect(configuration.frontend(named: "f")?.originalTo == OriginalTo())
        let b = try #require(configuration.backend(named: "b")?.originalTo)
        #expect(b.headerName == "X-Dest" && b.except == IPNetwork(address: [10, 0, 0, 0], prefixLength: 8))
    }

    @Test func httpSettingsOfATCPProxyAreDroppedWithHAProxysWarnings() throws {
        let result = load("""
            backend b
                mode tcp
                option originalto
                option http-buffer-request
                cookie SRV insert
                server s 127.0.0.1:80 cookie a
            """)
        #expect(result.alerts == [])
        #expect(result.warnings.filter { !$0.contains("missing timeouts") } == [
            "config : parsing [t.cfg:1] : 'option originalto' ignored for backend 'b' as it requires HTTP mode.",
            "config : parsing [t.cfg:1] : 'option http-buffer-request' ignored for backend 'b' as it requires HTTP mode.",
            "config : parsing [t.cfg:1] : cookie will be ignored for backend 'b' (needs 'mode http').",
            "config : parsing [t.cfg:6] : backend 'b' : ignoring cookie for server 's' as HTTP mode is disabled.",
        ])
        let b = try #require(result.configuration?.proxies.first)
        #expect(b.originalTo == nil && !b.httpBufferRequest && b.cookie == nil && b.servers[0].cookie == nil)
    }

    @Test func httpReuse() throws {
        let result = load("""
            defaults
                http-reuse always
            backend a
            backend b
                http-reuse never
            backend c
                http-reuse
            backend d
                http-reuse sometimes
            backend e
                http-reuse never x
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:7] : 'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.",
            "config : parsing [t.cfg:9] : 'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.",
            "config : parsing [t.cfg:11] : 'http-reuse never' cannot handle unexpected argument 'x'.",
        ])
        let parsed = load("defaults\n  http-reuse always\nbackend a\nbackend b\n  http-reuse never\nbackend c\n")
        let configuration = try #require(parsed.configuration)
        #expect(configuration.backend(named: "a")?.httpReuse == .always)
        #expect(configuration.backend(named: "b")?.httpReuse == .never)
        #expect(Proxy(name: "x", location: .init(file: "f", line: 1), capabilities: .backend).httpReuse == .safe)
    }

    // MARK: cookie

    @Test func cookieSettings() throws {
        let result = load("""
            defaults
                mode http
                cookie SRV insert indirect nocache httponly secure domain .example.com attr SameSite=Lax
            backend a
            backend b
                cookie JSESSIONID prefix
            backend c
                cookie SRV rewrite
            backend d
                cookie SRV
            backend e
                cookie SRV insert postonly preserve domain abc
            """)
        #expect(result.alerts == [])
        #expect(result.warnings == [
            "config : parsing [t.cfg:12] : domain 'abc' contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3).",
        ])
        let configuration = try #require(result.configuration)
        var expected = CookiePersistence(name: "SRV", mode: .insert)
        expected.indirect = true
        expected.noCache = true
        expected.httpOnly = true
        expected.secure = true
        expected.domains = [".example.com"]
        expected.attributes = ["SameSite=Lax"]
        #expect(configuration.backend(named: "a")?.cookie == expected)
        #expect(configuration.backend(named: "b")?.cookie == CookiePersistence(name: "JSESSIONID", mode: .prefix))
        #expect(configuration.backend(named: "c")?.cookie?.mode == .rewrite)
        let passive = try #require(configuration.backend(named: "d")?.cookie)
        #expect(passive.mode == nil && passive.name == "SRV")
        let e = try #require(configuration.backend(named: "e")?.cookie)
        #expect(e.postOnly && e.preserve && e.domains == ["abc"])
    }

    @Test func cookieErrors() {
        #expect(alerts(in: "backend b",
                       "cookie",
                       "cookie SRV foo",
                       "cookie SRV insert rewrite",
                       "cookie SRV rewrite indirect",
                       "cookie SRV rewrite preserve",
                       "cookie SRV insert domain",
                       "cookie SRV insert attr",
                       "cookie SRV insert attr a;b",
                       "cookie SRV insert maxidle 1h",
                       "cookie SRV insert maxlife 1h",
                       "cookie SRV insert dynamic") == [
            "config : parsing [t.cfg:2] : 'cookie' expects <cookie_name> as argument.",
            "config : parsing [t.cfg:3] : 'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.",
            "config : parsing [t.cfg:4] : cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.",
            "config : parsing [t.cfg:5] : cookie 'rewrite' and 'indirect' modes are incompatible.",
            "config : parsing [t.cfg:6] : cookie 'preserve' requires at least 'insert' or 'indirect'.",
            "config : parsing [t.cfg:7] : 'domain' expects <domain> as argument.",
            "config : parsing [t.cfg:8] : 'attr' expects <value> as argument.",
            "config : parsing [t.cfg:9] : character '%x3B' is not permitted in attribute value.",
            "config : parsing [t.cfg:10] : 'cookie maxidle' is not supported by Baton yet.",
            "config : parsing [t.cfg:11] : 'cookie maxlife' is not supported by Baton yet.",
            "config : parsing [t.cfg:12] : 'cookie dynamic' is not supported by Baton yet.",
        ])
    }

    // MARK: default-server and server settings

    @Test func defaultServerAppliesToTheServerLinesThatFollow() throws {
        let result = load("""
            defaults
                mode http
                default-server maxconn 50 send-proxy
            backend b
                server s0 127.0.0.1:80
                default-server weight 10 backup
                server s1 127.0.0.1:81
                server s2 127.0.0.1:82 weight 20 no-backup maxconn 5 cookie two no-send-proxy send-proxy-v2
                default-server disabled cookie dflt
                server s3 127.0.0.1:83 enabled
            backend c
                server c0 127.0.0.1:80
            """)
        #expect(result.alerts == [])
        let servers = try #require(result.configuration?.backend(named: "b")?.servers)
        #expect(servers.map(\.name) == ["s0", "s1", "s2", "s3"])
        #expect(servers.map(\.weight) == [1, 10, 20, 10])
        #expect(servers.map(\.maxConnections) == [50, 50, 5, 50])
        #expect(servers.map(\.backup) == [false, true, false, true])
        #expect(servers.map(\.disabled) == [false, false, false, false])
        #expect(servers.map(\.cookie) == [nil, nil, "two", "dflt"])
        #expect(servers.map(\.sendProxy) == [.v1, .v1, .v2, .v1])
        #expect(servers.map(\.port) == [80, 81, 82, 83])
        let other = try #require(result.configuration?.backend(named: "c")?.servers.first)
        #expect(other.maxConnections == 50 && other.sendProxy == .v1 && other.weight == 1)
    }

    @Test func defaultServerRefusesWhatServerRefuses() {
        #expect(alerts(in: "backend b",
                       "default-server check",
                       "default-server inter 2s",
                       "default-server weight 300",
                       "default-server weight",
                       "default-server foo",
                       "server s 127.0.0.1:80 cookie") == [
            "config : parsing [t.cfg:2] : 'default-server' option 'check' is not supported by Baton yet.",
            "config : parsing [t.cfg:3] : 'default-server' option 'inter' is not supported by Baton yet.",
            "config : parsing [t.cfg:4] : 'default-server' : weight of server default-server is not within 0 and 256 (300).",
            "config : parsing [t.cfg:5] : 'default-server' : 'weight' expects an integer argument.",
            "config : parsing [t.cfg:6] : 'default-server' : unknown keyword 'foo'; did you mean 'tfo' maybe ?",
            "config : parsing [t.cfg:7] : 'server b/s' : 'cookie' expects <value> as argument.",
        ])
    }

    @Test func serversWithoutAPortUseTheClientsDestinationPort() throws {
        let result = load("backend b\n  server s1 127.0.0.1\n  server s2 127.0.0.1:\n  server s3 127.0.0.1:0\n")
        #expect(result.alerts == [])
        #expect(result.configuration?.proxies.first?.servers.map(\.port) == [0, 0, 0])
    }

    @Test func fullconn() throws {
        #expect(load("backend b\n  fullconn 100\n").configuration?.proxies.first?.fullConnections == 100)
        #expect(alerts(in: "backend b", "fullconn", "fullconn x", "fullconn 100 2") == [
            "config : parsing [t.cfg:2] : 'fullconn' expects an integer argument.",
            "config : parsing [t.cfg:3] : 'fullconn' expects an integer argument.",
            "config : parsing [t.cfg:4] : 'fullconn' cannot handle unexpected argument '2'.",
        ])
        #expect(load("frontend f\n  bind :80\n  fullconn 10\n").warnings.contains(
            "config : parsing [t.cfg:3] : 'fullconn' ignored because frontend 'f' has no backend capability. Maybe you want 'maxconn' instead ?"))
        #expect(alerts(in: "backend b", "server s 127.0.0.1:80 minconn 10") == [
            "config : parsing [t.cfg:2] : 'server b/s' option 'minconn' is not supported by Baton yet.",
        ])
    }

    // MARK: global

    @Test func globalTunables() throws {
        let result = load("""
            global
                tune.bufsize 32768
                tune.maxrewrite 1024
                ulimit-n 100000
                hard-stop-after 30s
                spread-checks 5
            """)
        #expect(result.alerts == [])
        let global = try #require(result.configuration?.global)
        #expect(global.bufferSize == 32768 && global.maxRewrite == 1024 && global.fileDescriptorLimit == 100000)
        #expect(global.hardStopAfter == .seconds(30) && global.spreadChecks == 5)
        #expect(global.maxHeadBytes == 32768 - 1024)
        #expect(GlobalSettings().maxHeadBytes == 15360)
        var small = GlobalSettings()
        small.bufferSize = 1000
        #expect(small.maxHeadBytes == 500, "the rewrite reserve is at most half the buffer")
    }

    @Test func globalErrors() {
        #expect(alerts(in: "global",
                       "nbproc 2",
                       "tune.bufsize x",
                       "tune.bufsize 0",
                       "tune.maxrewrite",
                       "ulimit-n 10",
                       "ulimit-n 20",
                       "hard-stop-after",
                       "hard-stop-after 10x",
                       "spread-checks 51",
                       "spread-checks 5",
                       "server-state-file /var/lib/haproxy/state",
                       "tune.ssl.default-dh-param 2048") == [
            "config : parsing [t.cfg:2] : nbproc is not supported any more since HAProxy 2.5. Threads will automatically be used on multi-processor machines if available.",
            "config : parsing [t.cfg:3] : 'tune.bufsize' expects a positive integer argument.",
            "config : parsing [t.cfg:4] : 'tune.bufsize' expects a positive integer argument.",
            "config : parsing [t.cfg:5] : 'tune.maxrewrite' expects an integer argument.",
            "config : parsing [t.cfg:7] : 'ulimit-n' already specified. Continuing.",
            "config : parsing [t.cfg:8] : 'hard-stop-after' expects <time> as argument.",
            "config : parsing [t.cfg:9] : unexpected character 'x' in argument to <hard-stop-after>.",
            "config : parsing [t.cfg:10] : 'spread-checks' needs a positive value in range 0..50.",
            "config : parsing [t.cfg:11] : spread-checks already specified. Continuing.",
            "config : parsing [t.cfg:12] : 'server-state-file' is not supported by Baton yet.",
            "config : parsing [t.cfg:13] : 'tune.ssl.default-dh-param' is not supported by Baton yet.",
        ])
        #expect(alerts(in: "backend b", "load-server-state-from-file global") == [
            "config : parsing [t.cfg:2] : 'load-server-state-from-file' is not supported by Baton yet.",
        ])
    }

    // MARK: bind settings

    @Test func bindSettings() throws {
        let result = load("""
            frontend f
                bind 127.0.0.1:80,127.0.0.1:81 name web backlog 50 maxconn 10 v6only accept-proxy
                bind :::82 v4v6
                bind /run/baton.sock mode 660 user root group root
                bind /run/other.sock uid 0 gid 0 maxconn 0 backlog 0
            """)
        #expect(result.alerts == [])
        let binds = try #require(result.configuration?.proxies.first?.binds)
        #expect(binds.count == 5)
        #expect(binds[0].name == "web" && binds[1].name == "web")
        #expect(binds[0].backlog == 50 && binds[1].maxConnections == 10 && binds[0].ipv6Only == true)
        #expect(binds[0].acceptProxy && !binds[2].acceptProxy)
        #expect(binds[2].ipv6Only == false && binds[2].name == nil)
        #expect(binds[3].socketMode == 0o660 && binds[3].socketUser == "root" && binds[3].socketGroup == "root")
        #expect(binds[4].socketUser == "0" && binds[4].maxConnections == nil && binds[4].backlog == nil)
    }

    @Test func bindErrors() {
        #expect(alerts(in: "frontend f",
                       "bind :80 name",
                       "bind :80 backlog",
                       "bind :80 maxconn",
                       "bind :80 maxconn many",
                       "bind :80 mode",
                       "bind :80 mode 999",
                       "bind :80 user nosuchuser-baton",
                       "bind :80 group nosuchgroup-baton",
                       "bind :80 transparent",
                       "bind :80 interface lo",
                       "bind :80 defer-accept",
                       "bind :80 tfo",
                       "bind :80 process 1",
                       "bind :80 thread 1",
                       "bind :80 ssl crt /x.pem") == [
            "config : parsing [t.cfg:2] : 'bind :80' in section 'frontend' : 'name' : missing name",
            "config : parsing [t.cfg:3] : 'bind :80' in section 'frontend' : 'backlog' : missing value",
            "config : parsing [t.cfg:4] : 'bind :80' in section 'frontend' : 'maxconn' : missing value",
            "config : parsing [t.cfg:5] : 'bind :80' in section 'frontend' : 'maxconn' : invalid value 'many' (integer expected)",
            "config : parsing [t.cfg:6] : 'bind :80' in section 'frontend' : 'mode' : missing or invalid mode '' (octal integer expected)",
            "config : parsing [t.cfg:7] : 'bind :80' in section 'frontend' : 'mode' : missing or invalid mode '999' (octal integer expected)",
            "config : parsing [t.cfg:8] : 'bind :80' in section 'frontend' : 'user' : unknown user name 'nosuchuser-baton'",
            "config : parsing [t.cfg:9] : 'bind :80' in section 'frontend' : 'group' : unknown group name 'nosuchgroup-baton'",
            "config : parsing [t.cfg:10] : 'bind' option 'transparent' is not supported by Baton yet.",
            "config : parsing [t.cfg:11] : 'bind' option 'interface' is not supported by Baton yet.",
            "config : parsing [t.cfg:12] : 'bind' option 'defer-accept' is not supported by Baton yet.",
            "config : parsing [t.cfg:13] : 'bind' option 'tfo' is not supported by Baton yet.",
            "config : parsing [t.cfg:14] : 'bind' option 'process' is not supported by Baton yet.",
            "config : parsing [t.cfg:15] : 'bind' option 'thread' is not supported by Baton yet.",
            "config : parsing [t.cfg:16] : 'bind' option 'ssl' is not supported by Baton yet.",
        ])
    }
}
