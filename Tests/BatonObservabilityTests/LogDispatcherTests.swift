#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BatonConfig
import Testing
@testable import BatonObservability

/// A datagram socket the tests read from.
private final class Receiver {
    let fd: Int32
    let port: Int
    let path: String?
    private let directory: String?

    /// A UDP socket on 127.0.0.1 with an ephemeral port.
    init(udp: ()) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        path = nil
        directory = nil
    }

    /// A unix datagram socket in a fresh temporary directory; `bindNow: false` leaves it unbound.
    init(unixIn directory: String? = nil, bindNow: Bool = true) throws {
        var template = Array("/tmp/baton-obs-XXXXXX".utf8CString)
        let dir = try directory ?? template.withUnsafeMutableBufferPointer { buffer in
            try #require(mkdtemp(buffer.baseAddress!) != nil)
            return String(cString: buffer.baseAddress!)
        }
        self.directory = dir
        self.path = dir + "/log.sock"
        self.port = 0
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        self.fd = fd
        if bindNow { try bindPath() }
    }

    func bindPath() throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path!.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
    }

    /// The next datagram, or nil after `timeout` milliseconds.
    func receive(timeout: Int32 = 2000) -> [UInt8]? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, timeout) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 70_000)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n >= 0 ? Array(buffer[0..<n]) : nil
    }

    deinit {
        close(fd)
        if let path { unlink(path) }
        if let directory { rmdir(directory) }
    }
}

@Suite struct LogDispatcherTests {
    private let message = #"127.0.0.1:35908 [29/Nov/2026:05:41:48.668] fe_http fe_http/<NOSRV> 0/-1/-1/-1/0 200 76 - - LR-- 1/1/0/0/0 0/0 "GET /foo?x=1 HTTP/1.1""#
    private let when = utcMicros(2026, 11, 29, 5, 41, 48, micro: 668_000)

    @Test func unixDatagramReceivesTheFramedLine() throws {
        let receiver = try Receiver(unixIn: nil)
        let target = LogTarget(destination: .unixDatagram(path: receiver.path!), facility: .local7)
        let dispatcher = LogDispatcher(targets: [target], tag: "haproxy", hostname: nil, pid: 7136, timeZone: .utc)
        #expect(dispatcher.problems.isEmpty)
        #expect(!dispatcher.isEmpty)
        dispatcher.log(message, level: .info, timestampMicroseconds: when)
        let received = try #require(receiver.receive())
        #expect(received.text == "<190>Nov 29 05:41:48 haproxy[7136]: " + message + "\n")
        #expect(dispatcher.droppedMessages == 0 && dispatcher.failedMessages == 0)
    }

    @Test func udpReceivesTheFramedLine() throws {
        let receiver = try Receiver(udp: ())
        let target = LogTarget(destination: .udp(host: "127.0.0.1", port: receiver.port), facility: .local1,
                               format: .rfc5424)
        let dispatcher = LogDispatcher(targets: [target], tag: "baton", hostname: "edge1", pid: 99, timeZone: .utc)
        #expect(dispatcher.problems.isEmpty)
        dispatcher.log(message, level: .info, timestampMicroseconds: when)
        let received = try #require(receiver.receive())
        #expect(received.text == "<142>1 2026-11-29T05:41:48.668000+00:00 edge1 baton 99 - - " + message + "\n")
    }

    @Test func udpByName() throws {
        let receiver = try Receiver(udp: ())
        let target = LogTarget(destination: .udp(host: "localhost", port: receiver.port), facility: .local0, format: .raw)
        let dispatcher = LogDispatcher(targets: [target], tag: "baton", hostname: nil, pid: 1, timeZone: .utc)
        // localhost may resolve to ::1 first on some hosts; only check when it went to IPv4.
        dispatcher.log("hello", level: .info)
        if let received = receiver.receive(timeout: 500) {
            #expect(received.text == "hello\n")
        }
        #expect(dispatcher.problems.isEmpty)
    }

    @Test func everyAdmittingTargetGetsItsOwnFraming() throws {
        let first = try Receiver(udp: ())
        let second = try Receiver(unixIn: nil)
        let quiet = try Receiver(udp: ())
        let targets = [
            LogTarget(destination: .udp(host: "127.0.0.1", port: first.port), facility: .local0, format: .raw, maxLength: 80),
            LogTarget(destination: .unixDatagram(path: second.path!), facility: .local2, minimumLevel: .warning),
            LogTarget(destination: .udp(host: "127.0.0.1", port: quiet.port), facility: .local0, level: .notice),
        ]
        let dispatcher = LogDispatcher(targets: targets, tag: "t", hostname: nil, pid: 5, timeZone: .utc)
        #expect(dispatcher.wouldLog(.info))
        dispatcher.log(message, level: .info, timestampMicroseconds: when)
        #expect(try #require(first.receive()).text ==
            "127.0.0.1:35908 [29/Nov/2026:05:41:48.668] fe_http fe_http/<NOSRV> 0/-1/-1/-1/0 \n")
        #expect(try #require(second.receive()).text == "<150>Nov 29 05:41:48 t[5]: " + message + "\n")
        #expect(quiet.receive(timeout: 200) == nil)

        dispatcher.log("boom", level: .alert, timestampMicroseconds: when)
        #expect(try #require(first.receive()).text == "boom\n")
        #expect(try #require(second.receive()).text == "<148>Nov 29 05:41:48 t[5]: boom\n")   // capped to warning
        #expect(try #require(quiet.receive()).text == "<129>Nov 29 05:41:48 t[5]: boom\n")
    }

    @Test func unixSocketThatAppearsLaterIsReached() throws {
        let receiver = try Receiver(unixIn: nil, bindNow: false)
        let target = LogTarget(destination: .unixDatagram(path: receiver.path!), facility: .local0, format: .raw)
        let dispatcher = LogDispatcher(targets: [target], tag: "t", hostname: nil, pid: 1)
        dispatcher.log("lost", level: .info)
        #expect(dispatcher.failedMessages == 1)
        try receiver.bindPath()
        dispatcher.log("found", level: .info)
        #expect(try #require(receiver.receive()).text == "found\n")
    }

    @Test func aFullReceiverNeverBlocksAndCountsDrops() throws {
        let receiver = try Receiver(unixIn: nil)
        let target = LogTarget(destination: .unixDatagram(path: receiver.path!), facility: .local0, format: .raw)
        let dispatcher = LogDispatcher(targets: [target], tag: "t", hostname: nil, pid: 1)
        let line = String(repeating: "z", count: 1000)
        for _ in 0..<5000 { dispatcher.log(line, level: .info) }   // nobody reads: the queue fills
        #expect(dispatcher.droppedMessages > 0)
        #expect(receiver.receive()?.text == line + "\n")
    }

    @Test func concurrentLoggingFromManyThreads() async throws {
        let receiver = try Receiver(udp: ())
        let target = LogTarget(destination: .udp(host: "127.0.0.1", port: receiver.port), facility: .local0, format: .raw)
        let dispatcher = LogDispatcher(targets: [target], tag: "t", hostname: nil, pid: 1)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<4 {
                group.addTask {
                    for i in 0..<25 { dispatcher.log("task \(task) line \(i)", level: .info) }
                }
            }
        }
        var received = Set<String>()
        while let datagram = receiver.receive(timeout: 300) { received.insert(datagram.text) }
        #expect(received.count + dispatcher.droppedMessages == 100)
        #expect(received.contains("task 3 line 24\n") || dispatcher.droppedMessages > 0)
    }

    @Test func unusableTargetsAreReportedAndSkipped() {
        let long = "/tmp/" + String(repeating: "d", count: 200)
        let dispatcher = LogDispatcher(targets: [
            LogTarget(destination: .unixDatagram(path: long), facility: .local0),
            LogTarget(destination: .udp(host: "no-such-host.invalid", port: 514), facility: .local0),
        ], tag: "t", hostname: nil, pid: 1)
        #expect(dispatcher.problems.count == 2)
        #expect(dispatcher.isEmpty)
        dispatcher.log("nothing", level: .emerg)   // goes nowhere, does not crash
    }

    @Test func emptyDispatcher() {
        let dispatcher = LogDispatcher(targets: [], tag: "t", hostname: nil)
        #expect(dispatcher.isEmpty)
        #expect(!dispatcher.wouldLog(.emerg))
    }

    @Test func lineOptionsFollowTheLongestLen() {
        let targets = [
            LogTarget(destination: .stdout, facility: .local0, maxLength: 80),
            LogTarget(destination: .stderr, facility: .local0, maxLength: 4096),
        ]
        let dispatcher = LogDispatcher(targets: targets, tag: "t", hostname: nil, timeZone: .utc)
        #expect(dispatcher.lineOptions == LogLineOptions(timeZone: .utc, maxLineLength: 4096))
        let short = LogDispatcher(targets: [targets[0]], tag: "t", hostname: nil, timeZone: .utc)
        #expect(short.lineOptions.maxLineLength == 1024)
    }
}

@Suite struct DescriptorEndpointTests {
    private func readAll(_ fd: Int32) -> [UInt8] {
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    @Test func pipeGetsHeaderMessageAndNewline() {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let endpoint = Sink.Endpoint.descriptor(fds[1], isSocket: false)
        let header = Array("<134>Nov 29 05:41:48 t[1]: ".utf8)
        let message = Array("hello".utf8)
        let result = header.withUnsafeBytes { h in message.withUnsafeBytes { m in endpoint.send(header: h, message: m) } }
        #expect(result == .sent)
        close(fds[1])
        #expect(readAll(fds[0]).text == "<134>Nov 29 05:41:48 t[1]: hello\n")
        close(fds[0])
    }

    @Test func streamSocketUsesSendmsg() {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let endpoint = Sink.Endpoint.descriptor(fds[1], isSocket: true)
        let message = Array(String(repeating: "q", count: 3000).utf8)
        let result = message.withUnsafeBytes { m in endpoint.send(header: UnsafeRawBufferPointer(start: nil, count: 0), message: m) }
        #expect(result == .sent)
        close(fds[1])
        #expect(readAll(fds[0]) == message + [UInt8(ascii: "\n")])
        close(fds[0])
    }

    @Test func closedReaderFailsWithoutSignal() {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        close(fds[0])
        let endpoint = Sink.Endpoint.descriptor(fds[1], isSocket: true)
        let message = Array("x".utf8)
        let result = message.withUnsafeBytes { m in endpoint.send(header: UnsafeRawBufferPointer(start: nil, count: 0), message: m) }
        #expect(result == .failed)   // EPIPE, and no SIGPIPE thanks to MSG_NOSIGNAL
        close(fds[1])
    }

    @Test func stdoutAndStderrTargetsUseDescriptorsOneAndTwo() {
        let dispatcher = LogDispatcher(targets: [LogTarget(destination: .stdout, facility: .local0),
                                                 LogTarget(destination: .stderr, facility: .local0)],
                                       tag: "t", hostname: nil)
        let descriptors = dispatcher.sinks.map { sink -> Int32 in
            if case .descriptor(let fd, _) = sink.endpoint { return fd }
            return -1
        }
        #expect(descriptors == [1, 2])
    }
}

@Test func systemHostnameIsNotEmpty() {
    #expect(!LogDispatcher.systemHostname().isEmpty)
}
