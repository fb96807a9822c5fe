import Testing
@testable import BatonConfig

@Suite("log lines and targets")
struct LogTargetTests {
    func target(_ line: String, resolver: HostResolver = .numericOnly) -> LogTarget? {
        load("global\n  log \(line)\n", resolver: resolver).configuration?.global.logTargets.first
    }

    @Test func destinations() {
        #expect(target("stdout local0")?.destination == .stdout)
        #expect(target("fd@1 local0")?.destination == .stdout)
        #expect(target("stderr local0")?.destination == .stderr)
        #expect(target("/dev/log local0")?.destination == .unixDatagram(path: "/dev/log"))
        #expect(target("unix@/run/log.sock local0")?.destination == .unixDatagram(path: "/run/log.sock"))
        #expect(target("udp@10.0.0.1:5140 local0")?.destination == .udp(host: "10.0.0.1", port: 5140))
        #expect(target("udp4@127.0.0.1 local0")?.destination == .udp(host: "127.0.0.1", port: 514))
        #expect(target("udp6@[::1]:1514 local0")?.destination == .udp(host: "::1", port: 1514))
        #expect(target("10.0.0.2 local0")?.destination == .udp(host: "10.0.0.2", port: 514))
        #expect(target("10.0.0.3:1514 local0")?.destination == .udp(host: "10.0.0.3", port: 1514))
        let resolver = HostResolver { $0 == "logs.example" ? "192.0.2.7" : nil }
        #expect(target("logs.example:601 local0", resolver: resolver)?.destination == .udp(host: "192.0.2.7", port: 601))
    }

    @Test func optionsAndLevels() {
        #expect(target("stderr len 4096 format rfc5424 daemon warning")
            == LogTarget(destination: .stderr, facility: .daemon, level: .warning, format: .rfc5424, maxLength: 4096))
        #expect(target("stdout local7")
            == LogTarget(destination: .stdout, facility: .local7, level: nil, minimumLevel: nil, format: .automatic,
                         maxLength: 1024))
        #expect(target("stdout format rfc3164 local7")?.format == .rfc3164)
    }

    @Test func badLines() {
        let result = load("""
            global
                log stdout format foo local0
                log stdout format short local0
                log stdout len x local0
                log stdout len 70 local0
                log stdout local0 foo
                log stdout local0 info bar
                log stdout local0 info err extra
                log udp@:x local0
                log foo@bar local0
                log 1.2.3.4:99999 local0
                log stdout foo
                log stdout
                log tcp@1.2.3.4:514 local0
                log nosuch.host local0
                log stdout sample 1:2 local0
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : log : unknown log format 'foo'",
            "config : parsing [t.cfg:3] : log : log format 'short' is not supported by Baton yet.",
            "config : parsing [t.cfg:4] : log : invalid log length 'x', must be between 80 and 65535",
            "config : parsing [t.cfg:5] : log : invalid log length '70', must be between 80 and 65535",
            "config : parsing [t.cfg:6] : log : unknown optional log level 'foo'",
            "config : parsing [t.cfg:7] : log : unknown optional minimum log level 'bar'",
            "config : parsing [t.cfg:8] : log : cannot handle unexpected argument 'extra'",
            "config : parsing [t.cfg:9] : log : invalid character 'x' in port number 'x' in 'udp@:x'",
            "config : parsing [t.cfg:10] : log : invalid address: 'foo@bar' in 'foo@bar'",
            "config : parsing [t.cfg:11] : log : invalid port '99999'",
            "config : parsing [t.cfg:12] : log : unknown log facility 'foo'",
            "config : parsing [t.cfg:13] : log : expects <address> and <facility> as arguments",
            "config : parsing [t.cfg:14] : log : log target 'tcp@1.2.3.4:514' is not supported by Baton yet.",
            "config : parsing [t.cfg:15] : log : invalid address: 'nosuch.host' in 'nosuch.host'",
            "config : parsing [t.cfg:16] : log : 'sample' is not supported by Baton yet.",
        ])
    }

    @Test func proxiesUseGlobalTargetsAndTheirOwn() throws {
        let result = load("""
            defaults
                log global
                timeout client 5s
            frontend fe
                bind :80
                log 10.0.0.9 local2
            frontend quiet
                bind :81
                no log
            frontend bad
                bind :82
                log
            global
                log stdout local0
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:12] : log : expects <address> and <facility> or global as arguments",
        ])
        let loader = ConfigurationLoader(environment: [:], resolver: .numericOnly)
        let good = loader.load(sources: [("t.cfg", """
            global
                log stdout local0
            defaults
                log global
                timeout client 5s
            frontend fe
                bind :80
                log 10.0.0.9 local2
            frontend quiet
                bind :81
                no log
            """)])
        let configuration = try #require(good.configuration)
        #expect(configuration.proxy(named: "fe")?.logTargets == [
            LogTarget(destination: .stdout, facility: .local0),
            LogTarget(destination: .udp(host: "10.0.0.9", port: 514), facility: .local2),
        ])
        #expect(configuration.proxy(named: "quiet")?.logTargets == [])
    }
}
