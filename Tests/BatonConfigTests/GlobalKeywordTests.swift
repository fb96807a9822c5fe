import Testing
@testable import BatonConfig

@Suite("global section")
struct GlobalKeywordTests {
    @Test func fillsTheModel() throws {
        let result = load("""
            global
                maxconn 1000
                nbthread 4
                log stdout format raw local0 info
                log 127.0.0.1 local1 notice err
                log-send-hostname
                log-tag baton
                pidfile /run/baton.pid
                daemon
                user haproxy
                group nogroup
                chroot /var/empty
                tune.http.maxhdr 32767
            """)
        #expect(result.diagnostics.isEmpty)
        var expected = GlobalSettings()
        expected.maxConnections = 1000
        expected.threadCount = 4
        expected.logTargets = [
            LogTarget(destination: .stdout, facility: .local0, level: .info, format: .raw),
            LogTarget(destination: .udp(host: "127.0.0.1", port: 514), facility: .local1, level: .notice,
                      minimumLevel: .err),
        ]
        expected.logSendHostname = .some(nil)
        expected.logTag = "baton"
        expected.pidFile = "/run/baton.pid"
        expected.daemon = true
        expected.user = "haproxy"
        expected.group = "nogroup"
        expected.chroot = "/var/empty"
        expected.httpMaxHeaders = 32767
        #expect(result.configuration?.global == expected)
    }

    @Test func httpMaxHeadersDefaultsToHAProxys() {
        #expect(load("global\n").configuration?.global.httpMaxHeaders == 101)
        #expect(load("global\n  tune.http.maxhdr 1\n").configuration?.global.httpMaxHeaders == 1)
    }

    @Test func logSendHostnameWithAName() {
        let result = load("global\n  log-send-hostname edge-1\n")
        #expect(result.configuration?.global.logSendHostname == .some("edge-1"))
    }

    @Test func noLogDropsEarlierLines() {
        let result = load("global\n  log stdout local0\n  no log\n  log stderr local1\n")
        #expect(result.configuration?.global.logTargets == [LogTarget(destination: .stderr, facility: .local1)])
    }

    @Test func badValues() {
        let result = load("""
            global
                maxconn
                maxconn abc
                maxconn 1 2
                nbthread
                nbthread x
                nbthread 0
                nbthread 1 2
                log global
                log-tag
                log-tag a b
                pidfile
                daemon x
                user
                group
                chroot
                no daemon
                no log x
                tune.http.maxhdr
                tune.http.maxhdr 0
                tune.http.maxhdr 32768
                tune.http.maxhdr abc
                tune.http.maxhdr 1 2
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : 'maxconn' expects an integer argument.",
            "config : parsing [t.cfg:3] : 'maxconn' expects an integer argument.",
            "config : parsing [t.cfg:4] : 'maxconn' cannot handle unexpected argument '2'.",
            "config : parsing [t.cfg:5] : 'nbthread' passed a missing or unparsable integer value in ''",
            "config : parsing [t.cfg:6] : 'nbthread' passed a missing or unparsable integer value in 'x'",
            "config : parsing [t.cfg:7] : 'nbthread' value must be between 1 and 1024 (was 0)",
            "config : parsing [t.cfg:8] : 'nbthread' cannot handle unexpected argument '2'.",
            "config : parsing [t.cfg:9] : log : 'global' is not supported for a global syslog server",
            "config : parsing [t.cfg:10] : 'log-tag' expects a tag for use in syslog.",
            "config : parsing [t.cfg:11] : 'log-tag' cannot handle unexpected argument 'b'.",
            "config : parsing [t.cfg:12] : 'pidfile' expects a file name as an argument.",
            "config : parsing [t.cfg:13] : 'daemon' cannot handle unexpected argument 'x'.",
            "config : parsing [t.cfg:14] : 'user' expects a user name as an argument.",
            "config : parsing [t.cfg:15] : 'group' expects a group name as an argument.",
            "config : parsing [t.cfg:16] : 'chroot' expects a directory as an argument.",
            "config : parsing [t.cfg:17] : negation/default currently supported only for options and log.",
            "config : parsing [t.cfg:18] : log : 'no log' does not expect arguments",
            "config : parsing [t.cfg:19] : 'tune.http.maxhdr' expects an integer argument.",
            "config : parsing [t.cfg:20] : 'tune.http.maxhdr' expects a numeric value between 1 and 32767",
            "config : parsing [t.cfg:21] : 'tune.http.maxhdr' expects a numeric value between 1 and 32767",
            "config : parsing [t.cfg:22] : 'tune.http.maxhdr' expects a numeric value between 1 and 32767",
            "config : parsing [t.cfg:23] : 'tune.http.maxhdr' cannot handle unexpected argument '2'.",
        ])
        #expect(result.configuration == nil)
    }

    @Test func unknownAndUnsupportedKeywords() {
        let result = load("""
            global
                log-tagg x
                bogus
                ssl-default-bind-ciphers ECDHE
                stats socket /run/haproxy.sock
                tune.ssl.default-dh-param 2048
                ca-base /etc/ssl
                timeout client 5s
            """)
        #expect(result.alerts == [
            "config : parsing [t.cfg:2] : unknown keyword 'log-tagg' in 'global' section; did you mean 'log-tag' maybe ?",
            "config : parsing [t.cfg:3] : unknown keyword 'bogus' in 'global' section",
            "config : parsing [t.cfg:4] : 'ssl-default-bind-ciphers' is not supported by Baton yet.",
            "config : parsing [t.cfg:5] : 'stats' is not supported by Baton yet.",
            "config : parsing [t.cfg:6] : 'tune.ssl.default-dh-param' is not supported by Baton yet.",
            "config : parsing [t.cfg:7] : 'ca-base' is not supported by Baton yet.",
            "config : parsing [t.cfg:8] : unknown keyword 'timeout' in 'global' section",
        ])
    }

    @Test func keywordsOutOfAnySection() {
        let result = load("maxconn 10\nglobal extra\n")
        #expect(result.alerts == [
            "config : parsing [t.cfg:1] : unknown keyword 'maxconn' out of section.",
            "config : parsing [t.cfg:2] : 'global' cannot handle unexpected argument 'extra'.",
        ])
    }
}
