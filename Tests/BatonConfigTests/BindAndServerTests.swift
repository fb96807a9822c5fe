import Synchronization
import Testing
@testable import BatonConfig

@Suite("bind addresses")
struct BindTests {
    func binds(_ lines: String..., resolver: HostResolver = .numericOnly) -> [Bind.Address]? {
        let text = "frontend fe\n" + lines.map { "  bind \($0)" }.joined(separator: "\n")
        return load(text, resolver: resolver).configuration?.proxies.first?.binds.map(\.address)
    }

    @Test func addressForms() {
        #expect(binds(":80") == [.inet(host: nil, port: 80, family: .unspecified)])
        #expect(binds("*:8080") == [.inet(host: nil, port: 8080, family: .unspecified)])
        #expect(binds("127.0.0.1:81") == [.inet(host: "127.0.0.1", port: 81, family: .ipv4)])
        #expect(binds(":::82") == [.inet(host: nil, port: 82, family: .ipv6)])
        #expect(binds("[::1]:83") == [.inet(host: "::1", port: 83, family: .ipv6)])
        #expect(binds("::1:84") == [.inet(host: "::1", port: 84, family: .ipv6)])
        #expect(binds("ipv4@:85") == [.inet(host: nil, port: 85, family: .ipv4)])
        #expect(binds("ipv6@:86") == [.inet(host: nil, port: 86, family: .ipv6)])
        #expect(binds("0.0.0.0:87") == [.inet(host: nil, port: 87, family: .ipv4)])
        #expect(binds("unix@/run/baton.sock") == [.unix(path: "/run/baton.sock")])
        #expect(binds("/run/b2.sock") == [.unix(path: "/run/b2.sock")])
        #expect(binds("fd@3") == [.inheritedDescriptor(3)])
        #expect(binds(":90,127.0.0.1:91") == [.inet(host: nil, port: 90, family: .unspecified),
                                              .inet(host: "127.0.0.1", port: 91, family: .ipv4)])
        let resolver = HostResolver { $0 == "localhost" ? "127.0.0.1" : nil }
        #expect(binds("localhost:92", resolver: resolver) == [.inet(host: "127.0.0.1", port: 92, family: .ipv4)])
    }

    @Test func bindKeepsTextAndLocation() throws {
        let result = load("frontend fe\n  bind :80,:81\n")
        let binds = try #require(result.configuration?.proxies.first?.binds)
        #expect(binds.map(\.text) == [":80", ":81"])
        #expect(binds.map(\.location.description) == ["t.cfg:2", "t.cfg:2"])
    }

    @Test func badBinds() {
        let result = load("""
            frontend fe
                bind
                bind 1.2.3.4
                bind :99999
                bind :0
                bind 1.2.3.4:80-90
                bind foo:80
                bind fd@x
                bind :80 ssl crt /etc/ssl/site.pem
                bind :80 foo
                bind quic4@:443
                bind :80,
            backend be
                bind :80
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : 'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.",
            "config : parsing [t.cfg:3] : 'bind' : missing port specification in '1.2.3.4'",
            "config : parsing [t.cfg:4] : 'bind' : invalid port '99999'",
            "config : parsing [t.cfg:5] : 'bind' : invalid port '0'",
            "config : parsing [t.cfg:6] : 'bind' : port range '80-90' in '1.2.3.4:80-90' is not supported by Baton yet.",
            "config : parsing [t.cfg:7] : 'bind' : invalid address: 'foo' in 'foo:80'",
            "config : parsing [t.cfg:8] : 'bind' : file descriptor 'x' is not a valid integer in 'fd@x'",
            "config : parsing [t.cfg:9] : 'bind' option 'ssl' is not supported by Baton yet.",
            "config : parsing [t.cfg:10] : 'bind :80' in section 'frontend': unknown keyword 'foo'; did you mean 'tfo' maybe ?",
            "config : parsing [t.cfg:11] : 'bind' : address 'quic4@:443' is not supported by Baton yet.",
            "config : parsing [t.cfg:12] : 'bind' : missing port specification in ''",
        ])
        #expect(result.warnings.contains(
            "config : parsing [t.cfg:14] : 'bind' ignored because backend 'be' has no frontend capability."))
    }
}

@Suite("server lines")
struct ServerTests {
    @Test func serversResolveThroughTheInjectedResolver() throws {
        let asked = Mutex<[String]>([])
        let resolver = HostResolver { host in
            asked.withLock { $0.append(host) }
            return host == "app.internal" ? "10.0.0.2" : nil
        }
        let result = load("""
            backend be
                server s1 10.0.0.1:80
                server s2 app.internal:8080 weight 10 maxconn 100 backup disabled
                server s3 [::1]:81 weight 0
                server s4 ipv4@10.0.0.4:82 enabled
            """, resolver: resolver)
        #expect(result.alerts.isEmpty)
        let servers = try #require(result.configuration?.proxies.first?.servers)
        var s1 = Server(name: "s1", host: "10.0.0.1", resolvedAddress: "10.0.0.1", port: 80,
                        location: .init(file: "t.cfg", line: 2))
        s1.weight = 1
        var s2 = Server(name: "s2", host: "app.internal", resolvedAddress: "10.0.0.2", port: 8080,
                        location: .init(file: "t.cfg", line: 3))
        s2.weight = 10
        s2.maxConnections = 100
        s2.backup = true
        s2.disabled = true
        var s3 = Server(name: "s3", host: "::1", resolvedAddress: "::1", port: 81, location: .init(file: "t.cfg", line: 4))
        s3.weight = 0
        let s4 = Server(name: "s4", host: "10.0.0.4", resolvedAddress: "10.0.0.4", port: 82,
                        location: .init(file: "t.cfg", line: 5))
        #expect(servers == [s1, s2, s3, s4])
        #expect(asked.withLock { $0 } == ["app.internal"])
    }

    @Test func badServers() {
        let result = load("""
            backend be
                server s1 10.0.0.1:80
                server
                server s1
                server s2 nosuch.invalid:80
                server s3 1.2.3.4:+1x
                server s4 1.2.3.4:x
                server s5 1.2.3.4:80 weight
                server s6 1.2.3.4:80 weight 300
                server s7 1.2.3.4:80 check
                server s8 1.2.3.4:80 foo
                server s9 /var/run/app.sock
                server s10 1.2.3.4:+1
                server s1 1.2.3.4:81
                server s11 :80
                server s12 1.2.3.4:80 maxconn many
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:3] : 'server' expects <name> and <addr>[:<port>] as arguments.",
            "config : parsing [t.cfg:4] : 'server' expects <name> and <addr>[:<port>] as arguments.",
            "config : parsing [t.cfg:5] : 'server be/s2' : could not resolve address 'nosuch.invalid'.",
            "config : parsing [t.cfg:6] : 'server be/s3' : port '+1x' in '1.2.3.4:+1x' is not supported by Baton yet.",
            "config : parsing [t.cfg:7] : 'server be/s4' : invalid character 'x' in port number 'x' in '1.2.3.4:x'",
            "config : parsing [t.cfg:8] : 'server be/s5' : 'weight' expects an integer argument.",
            "config : parsing [t.cfg:9] : 'server be/s6' : weight of server s6 is not within 0 and 256 (300).",
            "config : parsing [t.cfg:10] : 'server be/s7' option 'check' is not supported by Baton yet.",
            "config : parsing [t.cfg:11] : 'server be/s8' : unknown keyword 'foo'; did you mean 'tfo' maybe ?",
            "config : parsing [t.cfg:12] : 'server be/s9' : address '/var/run/app.sock' is not supported by Baton yet.",
            "config : parsing [t.cfg:13] : 'server be/s10' : port '+1' in '1.2.3.4:+1' is not supported by Baton yet.",
            "config : parsing [t.cfg:14] : another server named 's1' was already defined at line 2, please use a distinct name.",
            "config : parsing [t.cfg:15] : 'server be/s11' : invalid address: '' in ':80'",
            "config : parsing [t.cfg:16] : 'server be/s12' : 'maxconn' expects an integer argument.",
        ])
    }

    @Test func numericOnlyResolver() {
        #expect(HostResolver.numericOnly.resolve("192.0.2.1") == "192.0.2.1")
        #expect(HostResolver.numericOnly.resolve("2001:db8::1") == "2001:db8::1")
        #expect(HostResolver.numericOnly.resolve("localhost") == nil)
    }

    @Test func systemResolverKeepsLiteralsAndResolvesLocalhost() {
        #expect(HostResolver.system.resolve("192.0.2.1") == "192.0.2.1")
        let localhost = HostResolver.system.resolve("localhost")
        #expect(localhost == "127.0.0.1" || localhost == "::1")
        #expect(HostResolver.system.resolve("no-such-host.invalid") == nil)
    }
}
