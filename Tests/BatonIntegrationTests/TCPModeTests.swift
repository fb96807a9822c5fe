import Foundation
import Testing

/// `mode tcp`: bytes relayed both ways, half-closes carried through, and the tcplog line.
@Suite("TCP mode")
struct TCPModeTests {
    static func config(port: UInt16, server: UInt16) -> String {
        """
        global
            log stdout format raw local0
        defaults
            mode tcp
            log global
            option tcplog
            timeout connect 1s
            timeout client 30s
            timeout server 30s
        listen tcpfe
            bind 127.0.0.1:\(port)
            server echo1 127.0.0.1:\(server)
        """
    }

    @Test("bytes are relayed both ways unchanged, and the session is logged with option tcplog")
    func echo() async throws {
        let server = try await TCPTestServer.start(.echo)
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, server: server.port), listening: [port])
        let client = try RawClient(port: port)
        try await client.send("hello\n")
        let small = try await client.readBytes(6, timeout: .seconds(3))
        var payload = [UInt8](Pattern.bytes.prefix(MiB))
        payload[0] = 0
        try await client.send(payload)
        let large = try await client.readBytes(MiB, timeout: .seconds(10))
        let clientPort = client.localPort
        client.close()
        #expect(small == Array("hello\n".utf8))
        let intact = large == payload
        #expect(intact, "the 1 MiB echo came back different (\(large.count) bytes)")
        let lines = await baton.waitForStdoutLines { $0.contains(":\(clientPort) [") }
        let line = try #require(lines.first.flatMap(TCPLogLine.init), "no tcplog line for port \(clientPort) in: \(baton.stdout)")
        #expect(line.clientIP == "127.0.0.1")
        #expect(line.frontend == "tcpfe")
        #expect(line.backend == "tcpfe")
        #expect(line.server == "echo1")
        #expect(line.bytes == 6 + MiB, "bytes to the client in \(lines)")
        #expect(line.terminationState == "--" || line.terminationState == "CD", "termination state in \(lines)")
        #expect(line.timers[2] >= 0)
        await baton.stop()
    }

    @Test("a client's half-close reaches the server, whose reply still reaches the client")
    func halfClose() async throws {
        let server = try await TCPTestServer.start(.replyAfterEndOfStream)
        let port = freePort()
        let baton = try await BatonProcess.start(config: Self.config(port: port, server: server.port), listening: [port])
        let client = try RawClient(port: port)
        try await client.send([UInt8](Pattern.bytes.prefix(100_000)))
        client.shutdownWrite()
        let reply = try await client.readUntilClose(timeout: .seconds(5))
        #expect(String(decoding: reply, as: UTF8.self) == "received 100000 bytes\n")
        #expect(client.peerClosed)
        await baton.stop()
    }
}
