import Foundation
import Testing

/// Large bodies stream through Baton: they arrive intact, and Baton's memory stays bounded
/// (its resident size, read from /proc, grows by less than 32 MiB) however big the body is
/// and however slowly the other side reads.
@Suite("Streaming", .serialized)
struct StreamingTests {
    static let memoryBound = 32 * MiB

    static func config(port: UInt16, upstream: UInt16) -> String {
        """
        \(httpDefaults())
        listen web
            bind 127.0.0.1:\(port)
            timeout client 60s
            timeout server 60s
            server app1 127.0.0.1:\(upstream)
        """
    }

    /// Starts Baton and sends one small request through it, so that the baseline memory is
    /// taken once its event loops and buffers exist.
    static func warmedUp(upstream: TestUpstream) async throws -> (BatonProcess, UInt16, baseline: Int) {
        let port = freePort()
        let baton = try await BatonProcess.start(config: config(port: port, upstream: upstream.port), listening: [port])
        let warm = try await rawGet(port: port, "/warmup")
        guard warm.status == 200, let baseline = baton.residentBytes() else {
            throw RawClientError(description: "warm-up failed: \(warm)")
        }
        return (baton, port, baseline)
    }

    @Test("a 256 MiB response reaches the client intact with Baton's memory bounded", .timeLimit(.minutes(3)))
    func largeDownload() async throws {
        let size = 256 * MiB
        let upstream = try await TestUpstream.start { request in
            request.uri == "/warmup" ? .text("warm") : .stream(bytes: size)
        }
        let (baton, port, baseline) = try await Self.warmedUp(upstream: upstream)
        let sampler = ResidentMemorySampler { baton.residentBytes() }
        let client = try RawClient(port: port)
        try await client.send("GET /big HTTP/1.1\r\nHost: example.test\r\n\r\n")
        let head = try await client.readResponse(timeout: .seconds(10), head: true)
        let (received, intact) = try await client.consumePattern(count: size, timeout: .seconds(150))
        let (peak, samples) = sampler.stop()
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "\(size)")
        #expect(received == size)
        #expect(intact, "the body differs from what the server sent")
        #expect(samples > 0)
        #expect(peak - baseline < Self.memoryBound,
                "Baton's RSS grew from \(baseline / MiB) MiB to \(peak / MiB) MiB while streaming")
        await baton.stop()
    }

    @Test("a 64 MiB upload reaches the server intact with Baton's memory bounded",
          .timeLimit(.minutes(3)), arguments: [false, true])
    func largeUpload(chunked: Bool) async throws {
        let size = 64 * MiB
        let upstream = try await TestUpstream.start { request in
            .text("received \(request.bodyLength) bytes")
        }
        let directory = try TemporaryDirectory()
        try Pattern.writeFile(directory.path("upload"), count: size)
        let (baton, port, baseline) = try await Self.warmedUp(upstream: upstream)
        let sampler = ResidentMemorySampler { baton.residentBytes() }
        var arguments = ["-T", directory.path("upload"), "-X", "POST", "-H", "Expect:",
                         "-H", "Content-Type: application/octet-stream", "http://127.0.0.1:\(port)/upload"]
        if chunked { arguments += ["-H", "Transfer-Encoding: chunked"] }
        let result = try await curl(arguments: arguments, timeout: .seconds(150))
        let (peak, _) = sampler.stop()
        #expect(result.status == 200, "\(result)")
        #expect(result.bodyText == "received \(size) bytes")
        let request = try #require(upstream.requests.last)
        #expect(request.bodyLength == size)
        #expect(request.bodyMatchesPattern, "the body differs from what curl sent")
        #expect(peak - baseline < Self.memoryBound,
                "Baton's RSS grew from \(baseline / MiB) MiB to \(peak / MiB) MiB while streaming")
        await baton.stop()
    }

    @Test("a client that stops reading makes Baton stop reading from the server, not buffer the body",
          .timeLimit(.minutes(3)))
    func slowReader() async throws {
        let size = 128 * MiB
        let upstream = try await TestUpstream.start { request in
            request.uri == "/warmup" ? .text("warm") : .stream(bytes: size)
        }
        let (baton, port, baseline) = try await Self.warmedUp(upstream: upstream)
        let sampler = ResidentMemorySampler { baton.residentBytes() }
        let client = try RawClient(port: port)
        try await client.send("GET /big HTTP/1.1\r\nHost: example.test\r\n\r\n")
        let head = try await client.readResponse(timeout: .seconds(10), head: true)
        let first = try await client.consumePattern(count: MiB, timeout: .seconds(10))
        // Stop reading for 2 s: only socket buffers and Baton's own bounded buffers may fill.
        try await Task.sleep(for: .seconds(2))
        let sentWhileStalled = upstream.bodyBytesSent
        let rest = try await client.consumePattern(count: size - first.received, offset: first.received, timeout: .seconds(150))
        let received = first.received + rest.received
        let intact = first.intact && rest.intact
        let (peak, _) = sampler.stop()
        #expect(head.status == 200)
        #expect(sentWhileStalled < 64 * MiB,
                "the server could send \(sentWhileStalled / MiB) MiB while the client had read 1 MiB")
        #expect(peak - baseline < Self.memoryBound,
                "Baton's RSS grew from \(baseline / MiB) MiB to \(peak / MiB) MiB while the client stalled")
        #expect(received == size)
        #expect(intact)
        await baton.stop()
    }
}
