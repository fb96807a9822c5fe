import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every form of the `log` line, end to end: real syslog datagrams received on a Unix datagram
/// socket or a UDP socket the test owns, and lines on Baton's stdout/stderr. Each test makes a
/// real request through Baton and checks the exact message a syslog server would get.
/// (Expectations checked against HAProxy 2.6 with BATON_BINARY=/usr/sbin/haproxy.)
@Suite("Log targets")
struct LogTargetTests {
    /// `global` with `globalLines`, HTTP defaults with `log global` and `option httplog`, and a
    /// `listen` on `port` in front of `upstream`.
    static func config(port: UInt16, upstream: UInt16, global: String, proxy: String = "") -> String {
        """
        global
        \(global)
        \(httpDefaults())
            log global
            option httplog
        listen web
            bind 127.0.0.1:\(port)
        \(proxy)
            server app1 127.0.0.1:\(upstream)
        """
    }

    /// Sends `GET path` on a new connection and reads the whole response; returns the client's
    /// local port (the `%cp` the log line must show).
    static func request(port: UInt16, _ path: String) async throws -> UInt16 {
        let client = try RawClient(port: port)
        try await client.send("GET \(path) HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        let response = try await client.readResponse()
        #expect(response.status == 200, "\(response)")
        return client.localPort
    }

    /// Splits `<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG\n`.
    static func rfc3164(_ datagram: String) -> (priority: Int, date: String, host: String, tag: String, pid: Int32, message: String)? {
        guard datagram.hasSuffix("\n"), !datagram.dropLast().contains("\n") else { return nil }
        let pattern = #/^<(\d{1,3})>([A-Z][a-z]{2} [ 123]\d \d{2}:\d{2}:\d{2}) (\S+) ([^\s\[]+)\[(\d+)\]: (.*)$/#
        guard let m = try? pattern.wholeMatch(in: String(datagram.dropLast())) else { return nil }
        return (Int(m.1)!, String(m.2), String(m.3), String(m.4), Int32(m.5)!, String(m.6))
    }

    /// Splits `<PRI>1 TIMESTAMP HOST TAG PID - - MSG\n`.
    static func rfc5424(_ datagram: String) -> (priority: Int, timestamp: String, host: String, tag: String, pid: Int32, message: String)? {
        guard datagram.hasSuffix("\n"), !datagram.dropLast().contains("\n") else { return nil }
        let pattern = #/^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\d+) - - (.*)$/#
        guard let m = try? pattern.wholeMatch(in: String(datagram.dropLast())) else { return nil }
        return (Int(m.1)!, String(m.2), String(m.3), String(m.4), Int32(m.5)!, String(m.6))
    }

    /// Checks that `message` is the httplog line of `GET path` from client port `clientPort`.
    static func expectHTTPLog(_ message: String, path: String, clientPort: UInt16,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        guard let line = HTTPLogLine(message) else {
            Issue.record("not an httplog line: \(message.debugDescription)", sourceLocation: sourceLocation)
            return
        }
        #expect(line.clientIP == "127.0.0.1", sourceLocation: sourceLocation)
        #expect(line.clientPort == Int(clientPort), "\(message)", sourceLocation: sourceLocation)
        #expect(line.frontend == "web" && line.backend == "web" && line.server == "app1", "\(message)",
                sourceLocation: sourceLocation)
        #expect(line.status == 200, "\(message)", sourceLocation: sourceLocation)
        #expect(line.request == "GET \(path) HTTP/1.1", "\(message)", sourceLocation: sourceLocation)
    }

    // MARK: Unix datagram sockets

    @Test("log /PATH (and format rfc3164) with log-send-hostname NAME and log-tag: '<134>Mmm dd hh:mm:ss NAME TAG[PID]: httplog line'",
          arguments: ["", "format rfc3164 "])
    func unixDatagramRFC3164(format: String) async throws {
        let directory = try TemporaryDirectory()
        let receiver = try DatagramReceiver.unix(path: directory.path("syslog.sock"))
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port, global: """
                log \(receiver.path) \(format)local0
                log-send-hostname myhost
                log-tag mytag
            """), listening: [port], directory: directory)
        let before = Date()
        let clientPort = try await Self.request(port: port, "/via-unixgram")
        let datagrams = await receiver.waitForMessages { $0.contains("/via-unixgram") }
        try await Task.sleep(for: .milliseconds(100))
        #expect(receiver.messages.filter { $0.contains("/via-unixgram") }.count == 1, "\(receiver.messages)")
        let datagram = try #require(datagrams.first, "no datagram at \(receiver.path); stderr: \(baton.stderr)")
        let parts = try #require(Self.rfc3164(datagram), "not '<134>Mmm dd hh:mm:ss myhost mytag[PID]: ...\\n': \(datagram.debugDescription)")
        #expect(parts.priority == 134, "local0.info is <134>: \(datagram)")
        #expect(parts.host == "myhost")
        #expect(parts.tag == "mytag")
        #expect(parts.pid == baton.pid, "\(datagram)")
        let date = try #require(parseSyslogDate(parts.date), "date \(parts.date)")
        #expect(abs(date.timeIntervalSince(before)) < 60, "header date \(parts.date) vs now \(before)")
        Self.expectHTTPLog(parts.message, path: "/via-unixgram", clientPort: clientPort)
        await baton.stop()
    }

    @Test("without log-send-hostname: format rfc3164 writes 'localhost' as the host, rfc5424 writes '-', no format writes no host at all")
    func rfc3164WithoutHostname() async throws {
        let directory = try TemporaryDirectory()
        let explicit = try DatagramReceiver.unix(path: directory.path("explicit.sock"))
        let automatic = try DatagramReceiver.unix(path: directory.path("automatic.sock"))
        let structured = try DatagramReceiver.unix(path: directory.path("rfc5424.sock"))
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port, global: """
                log \(explicit.path) format rfc3164 local0
                log \(automatic.path) local0
                log \(structured.path) format rfc5424 local0
                log-tag mytag
            """), listening: [port], directory: directory)
        let clientPort = try await Self.request(port: port, "/no-hostname")
        let viaExplicit = try #require(await explicit.waitForMessages { $0.contains("/no-hostname") }.first,
                                       "nothing at \(explicit.path)")
        let viaAutomatic = try #require(await automatic.waitForMessages { $0.contains("/no-hostname") }.first,
                                        "nothing at \(automatic.path)")
        // HAProxy 2.6: "<134>Nov 29 06:26:21 localhost mytag[4902]: ..." for format rfc3164.
        let parts = Self.rfc3164(viaExplicit)
        #expect(parts?.host == "localhost" && parts?.tag == "mytag" && parts?.pid == baton.pid,
                "format rfc3164 without a hostname: \(viaExplicit.debugDescription)")
        if let parts { Self.expectHTTPLog(parts.message, path: "/no-hostname", clientPort: clientPort) }
        // HAProxy 2.6: "<134>Nov 29 06:26:21 mytag[4902]: ..." for a log line without format.
        let local = try #require(viaAutomatic.wholeMatch(of: #/<134>[A-Z][a-z]{2} [ 123]\d \d{2}:\d{2}:\d{2} mytag\[(\d+)\]: ([^\n]*)\n/#),
                                 "no format, no hostname: \(viaAutomatic.debugDescription)")
        #expect(Int32(local.1) == baton.pid)
        Self.expectHTTPLog(String(local.2), path: "/no-hostname", clientPort: clientPort)
        let viaStructured = try #require(await structured.waitForMessages { $0.contains("/no-hostname") }.first,
                                         "nothing at \(structured.path)")
        let parts5424 = Self.rfc5424(viaStructured)
        #expect(parts5424?.host == "-" && parts5424?.tag == "mytag" && parts5424?.pid == baton.pid,
                "format rfc5424 without a hostname: \(viaStructured.debugDescription)")
        await baton.stop()
    }

    @Test("log-send-hostname without a name sends the system's host name")
    func systemHostname() async throws {
        let directory = try TemporaryDirectory()
        let receiver = try DatagramReceiver.unix(path: directory.path("syslog.sock"))
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port, global: """
                log \(receiver.path) local0
                log-send-hostname
                log-tag mytag
            """), listening: [port], directory: directory)
        _ = try await Self.request(port: port, "/system-hostname")
        let datagram = try #require(await receiver.waitForMessages { $0.contains("/system-hostname") }.first)
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, 255)
        let hostname = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        try #require(!hostname.isEmpty)
        #expect(Self.rfc3164(datagram)?.host == hostname, "expected host \(hostname): \(datagram.debugDescription)")
        await baton.stop()
    }

    @Test("log unix@PATH / uxdg@PATH format raw: the datagram is the bare httplog line and a newline",
          arguments: ["unix@", "uxdg@"])
    func unixDatagramRaw(prefix: String) async throws {
        let directory = try TemporaryDirectory()
        let receiver = try DatagramReceiver.unix(path: directory.path("raw.sock"))
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port, global: """
                log \(prefix)\(receiver.path) format raw local0
            """), listening: [port], directory: directory)
        let clientPort = try await Self.request(port: port, "/raw")
        let datagram = try #require(await receiver.waitForMessages { $0.contains("/raw") }.first,
                                    "nothing at \(receiver.path); stderr: \(baton.stderr)")
        #expect(datagram.hasSuffix("\"\n") && datagram.hasPrefix("127.0.0.1:"), "\(datagram.debugDescription)")
        Self.expectHTTPLog(String(datagram.dropLast()), path: "/raw", clientPort: clientPort)
        await baton.stop()
    }

    // MARK: UDP

    @Test("log over UDP to 127.0.0.1 (udp@, udp4@, ipv4@, bare address) with format rfc5424: '<134>1 TIMESTAMP HOST TAG PID - - line'",
          arguments: ["udp@", "udp4@", "ipv4@", ""])
    func udpRFC5424(prefix: String) async throws {
        let receiver = try DatagramReceiver.udp()
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port, global: """
                log \(prefix)127.0.0.1:\(receiver.port) format rfc5424 local0
                log-send-hostname myhost
                log-tag mytag
            """), listening: [port])
        let before = Date()
        let clientPort = try await Self.request(port: port, "/via-udp")
        let datagram = try #require(await receiver.waitForMessages { $0.contains("/via-udp") }.first,
                                    "nothing on udp port \(receiver.port); stderr: \(baton.stderr)")
        let parts = try #require(Self.rfc5424(datagram), "not RFC 5424: \(datagram.debugDescription)")
        #expect(parts.priority == 134)
        #expect(parts.host == "myhost" && parts.tag == "mytag" && parts.pid == baton.pid, "\(datagram)")
        let date = try #require(parseRFC5424Date(parts.timestamp), "timestamp \(parts.timestamp)")
        #expect(abs(date.timeIntervalSince(before)) < 60, "timestamp \(parts.timestamp) vs now \(before)")
        Self.expectHTTPLog(parts.message, path: "/via-udp", clientPort: clientPort)
        await baton.stop()
    }

    @Test("log over UDP to ::1 (udp6@, ipv6@, [::1]:PORT)", .enabled(if: canBindIPv6Loopback(), "::1 cannot be bound here"),
          arguments: ["udp6@::1:", "ipv6@::1:", "[::1]:"])
    func udpIPv6(target: String) async throws {
        let receiver = try DatagramReceiver.udp(host: "::1")
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port, global: """
                log \(target)\(receiver.port) format raw local0
            """), listening: [port])
        let clientPort = try await Self.request(port: port, "/via-udp6")
        let datagram = try #require(await receiver.waitForMessages { $0.contains("/via-udp6") }.first,
                                    "nothing on [::1]:\(receiver.port); stderr: \(baton.stderr)")
        #expect(datagram.hasSuffix("\n"))
        Self.expectHTTPLog(String(datagram.dropLast()), path: "/via-udp6", clientPort: clientPort)
        await baton.stop()
    }

    // MARK: stdout, stderr

    @Test("log stdout|fd@1|stderr|fd@2 format raw: the line goes to that stream and not the other",
          arguments: [("stdout", true), ("fd@1", true), ("stderr", false), ("fd@2", false)])
    func streams(target: String, toStdout: Bool) async throws {
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port, global: """
                log \(target) format raw local0
            """), listening: [port])
        let clientPort = try await Self.request(port: port, "/to-\(target)")
        let found = await eventually { (toStdout ? baton.stdout : baton.stderr).contains("/to-\(target)") }
        #expect(found, "stdout: \(baton.stdout.debugDescription) stderr: \(baton.stderr.debugDescription)")
        let lines = (toStdout ? baton.stdout : baton.stderr).split(separator: "\n").map(String.init)
            .filter { $0.contains("/to-\(target)") }
        #expect(lines.count == 1, "\(lines)")
        if let line = lines.first { Self.expectHTTPLog(line, path: "/to-\(target)", clientPort: clientPort) }
        #expect(!(toStdout ? baton.stderr : baton.stdout).contains("/to-\(target)"))
        await baton.stop()
    }

    @Test("log stdout len N: the line is cut to N-1 bytes plus its newline")
    func streamLength() async throws {
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port, global: """
                log stdout len 90 format raw local0
                log stderr format raw local0
            """), listening: [port])
        let path = "/" + String(repeating: "s", count: 150)
        _ = try await Self.request(port: port, path)
        try #require(await eventually { baton.stderr.contains(path) }, "no full line on stderr: \(baton.stderr)")
        let full = try #require(baton.stderr.split(separator: "\n").first { $0.contains(path) }.map(String.init))
        try #require(await eventually { !baton.stdout.isEmpty }, "nothing on stdout")
        try await Task.sleep(for: .milliseconds(100))
        #expect(baton.stdout == String(full.utf8.prefix(89))! + "\n",
                "stdout \(baton.stdout.debugDescription), full line \(full.debugDescription)")
        await baton.stop()
    }

    // MARK: len, facility, level, minlevel

    @Test("log ... len N: a datagram carries the first N bytes of header and line, then a newline")
    func datagramLength() async throws {
        let directory = try TemporaryDirectory()
        let short = try DatagramReceiver.unix(path: directory.path("short.sock"))
        let shortWithHeader = try DatagramReceiver.unix(path: directory.path("short-header.sock"))
        let full = try DatagramReceiver.unix(path: directory.path("full.sock"))
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port, global: """
                log \(short.path) len 100 format raw local0
                log \(shortWithHeader.path) len 80 format rfc5424 local0
                log \(full.path) format raw local0
            """), listening: [port], directory: directory)
        let path = "/" + String(repeating: "a", count: 200)
        _ = try await Self.request(port: port, path)
        let line = try #require(await full.waitForMessages { $0.contains(path) }.first, "no full line")
        #expect(line.utf8.count > 200)
        let cut = try #require(await short.waitForMessages().first, "nothing at the len 100 target")
        #expect(cut == String(line.utf8.prefix(100))! + "\n", "len 100: \(cut.debugDescription)\nfull: \(line.debugDescription)")
        let cutWithHeader = try #require(await shortWithHeader.waitForMessages().first, "nothing at the len 80 target")
        #expect(cutWithHeader.utf8.count == 81 && cutWithHeader.hasPrefix("<134>1 ") && cutWithHeader.hasSuffix("\n"),
                "len 80 with an RFC 5424 header: \(cutWithHeader.debugDescription)")
        let headerEnd = try #require(cutWithHeader.range(of: " - - "), "\(cutWithHeader.debugDescription)")
        let body = String(cutWithHeader[headerEnd.upperBound...].dropLast())
        #expect(line.hasPrefix(body), "the cut line is not the start of the line: \(body.debugDescription)")
        await baton.stop()
    }

    @Test("len above 1024 lets a long line through whole; the default len cuts it at 1024 bytes")
    func longLines() async throws {
        let directory = try TemporaryDirectory()
        let long = try DatagramReceiver.unix(path: directory.path("long.sock"))
        let standard = try DatagramReceiver.unix(path: directory.path("standard.sock"))
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port, global: """
                log \(long.path) len 4000 format raw local0
                log \(standard.path) format raw local0
            """), listening: [port], directory: directory)
        // A request line of about 975 bytes (under HAProxy's tune.http.logurilen, 1024), in a
        // log line of over 1024.
        let path = "/" + String(repeating: "L", count: 960)
        let clientPort = try await Self.request(port: port, path)
        let whole = try #require(await long.waitForMessages().first, "nothing at the len 4000 target")
        #expect(whole.utf8.count > 1025, "\(whole.utf8.count) bytes: \(whole.debugDescription)")
        #expect(whole.hasSuffix(" HTTP/1.1\"\n"), "\(whole.suffix(40).debugDescription)")
        Self.expectHTTPLog(String(whole.dropLast()), path: path, clientPort: clientPort)
        let cut = try #require(await standard.waitForMessages().first, "nothing at the default target")
        #expect(cut == String(whole.utf8.prefix(1024))! + "\n", "default len: \(cut.utf8.count) bytes")
        await baton.stop()
    }

    @Test("log stdout without format: the line carries the syslog header, as a datagram would")
    func streamDefaultFormat() async throws {
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port, global: """
                log stdout local0
                log-send-hostname myhost
                log-tag mytag
            """), listening: [port])
        let clientPort = try await Self.request(port: port, "/headed")
        let line = try #require(await baton.waitForStdoutLines { $0.contains("/headed") }.first, "stdout: \(baton.stdout)")
        let parts = try #require(Self.rfc3164(line + "\n"), "\(line.debugDescription)")
        #expect(parts.priority == 134 && parts.host == "myhost" && parts.tag == "mytag" && parts.pid == baton.pid, "\(line)")
        Self.expectHTTPLog(parts.message, path: "/headed", clientPort: clientPort)
        await baton.stop()
    }

    @Test("facility, level and minlevel: PRI is facility*8+level, lines above LEVEL are not sent, MINLEVEL caps severity")
    func facilityAndLevels() async throws {
        let directory = try TemporaryDirectory()
        let local7 = try DatagramReceiver.unix(path: directory.path("local7.sock"))
        let kern = try DatagramReceiver.unix(path: directory.path("kern.sock"))
        let noticeOnly = try DatagramReceiver.unix(path: directory.path("notice.sock"))
        let infoExact = try DatagramReceiver.unix(path: directory.path("info.sock"))
        let capped = try DatagramReceiver.unix(path: directory.path("capped.sock"))
        let uncapped = try DatagramReceiver.unix(path: directory.path("uncapped.sock"))
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, upstream: upstream.port, global: """
                log \(local7.path) format rfc5424 local7
                log \(kern.path) format rfc5424 kern
                log \(noticeOnly.path) format rfc5424 daemon notice
                log \(infoExact.path) format rfc5424 user info
                log \(capped.path) format rfc5424 local0 debug debug
                log \(uncapped.path) format rfc5424 local0 info err
            """), listening: [port], directory: directory)
        _ = try await Self.request(port: port, "/levels")
        func priority(_ receiver: DatagramReceiver) async -> Int? {
            await receiver.waitForMessages { $0.contains("/levels") }.first.flatMap { Self.rfc5424($0)?.priority }
        }
        #expect(await priority(local7) == 23 * 8 + 6, "local7.info: \(local7.messages)")
        #expect(await priority(kern) == 0 * 8 + 6, "kern.info: \(kern.messages)")
        #expect(await priority(infoExact) == 1 * 8 + 6, "user.info with level info: \(infoExact.messages)")
        // An info line is less severe than 'debug debug''s minimum level debug: sent as debug.
        #expect(await priority(capped) == 16 * 8 + 7, "minlevel debug: \(capped.messages)")
        // ... and more severe than 'info err''s minimum err: sent unchanged.
        #expect(await priority(uncapped) == 16 * 8 + 6, "minlevel err: \(uncapped.messages)")
        // Level notice: the info line is not sent (the others above prove it was logged).
        try await Task.sleep(for: .milliseconds(200))
        #expect(!noticeOnly.messages.contains { $0.contains("/levels") }, "level notice got \(noticeOnly.messages)")
        await baton.stop()
    }

    // MARK: log lines in proxies

    @Test("a proxy's own log line adds to those inherited from defaults; 'no log' silences a proxy; 'log global' after it restores global's; a backend's log line gets no traffic log (the frontend's targets do)")
    func proxyLogLines() async throws {
        let directory = try TemporaryDirectory()
        let global = try DatagramReceiver.unix(path: directory.path("global.sock"))
        let own = try DatagramReceiver.unix(path: directory.path("own.sock"))
        let upstream = try await TestUpstream.named("logged")
        let backendTarget = try DatagramReceiver.unix(path: directory.path("backend.sock"))
        let plainPort = freePort(), ownPort = freePort(), silentPort = freePort(), againPort = freePort()
        let baton = try await BatonProcess.start(config: """
            global
                log \(global.path) format raw local0
            \(httpDefaults())
                log global
                option httplog
            frontend plain
                bind 127.0.0.1:\(plainPort)
                default_backend app
            frontend own
                bind 127.0.0.1:\(ownPort)
                log \(own.path) format raw local0
                default_backend app
            frontend silent
                bind 127.0.0.1:\(silentPort)
                no log
                default_backend app
            frontend again
                bind 127.0.0.1:\(againPort)
                no log
                log global
                default_backend app
            backend app
                log \(backendTarget.path) format raw local0
                server app1 127.0.0.1:\(upstream.port)
            """, listening: [plainPort, ownPort, silentPort, againPort], directory: directory)
        _ = try await Self.request(port: plainPort, "/plain")
        _ = try await Self.request(port: ownPort, "/own")
        _ = try await Self.request(port: silentPort, "/silent")
        _ = try await Self.request(port: againPort, "/again")
        let paths = ["/plain", "/own", "/again"]
        let globalLines = await global.waitForMessages(count: 3) { line in paths.contains { line.contains($0) } }
        #expect(globalLines.count == 3, "global target: \(global.messages)")
        #expect(backendTarget.messages.isEmpty, "backend target: \(backendTarget.messages)")
        #expect(await own.waitForMessages { $0.contains("/own") }.count == 1, "own target: \(own.messages)")
        try await Task.sleep(for: .milliseconds(200))
        #expect(!own.messages.contains { $0.contains("/plain") }, "own target: \(own.messages)")
        #expect(!(global.messages + own.messages).contains { $0.contains("/silent") }, "'no log' frontend logged")
        let ownLine = own.messages.first { $0.contains("/own") }.flatMap { HTTPLogLine(String($0.dropLast())) }
        #expect(ownLine?.frontend == "own" && ownLine?.backend == "app", "\(own.messages)")
        await baton.stop()
    }

    @Test("log without option httplog/tcplog: 'Connect from CLIENT:PORT to ADDR:PORT (NAME/HTTP)' per connection")
    func connectionLog() async throws {
        let directory = try TemporaryDirectory()
        let receiver = try DatagramReceiver.unix(path: directory.path("connect.sock"))
        let upstream = try await TestUpstream.named("logged")
        let port = freePort()
        let baton = try await BatonProcess.start(config: """
            \(httpDefaults())
            listen web
                bind 127.0.0.1:\(port)
                log \(receiver.path) format raw local0
                server app1 127.0.0.1:\(upstream.port)
            """, listening: [port], directory: directory)
        let clientPort = try await Self.request(port: port, "/connect")
        let messages = await receiver.waitForMessages()
        #expect(messages == ["Connect from 127.0.0.1:\(clientPort) to 127.0.0.1:\(port) (web/HTTP)\n"], "\(messages)")
        await baton.stop()
    }
}
