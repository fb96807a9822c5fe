import Foundation

/// A configuration text for both Baton and HAProxy, with placeholders for what differs between the two runs:
/// `@FRONTEND_PORT@` (the port to bind on 127.0.0.1), `@ORIGIN_HOST@` and `@ORIGIN_PORT@` (the recording
/// origin; `@ORIGIN@` is both as `host:port`).
struct ConfigTemplate: Sendable {
    var text: String

    init(_ text: String) {
        self.text = text
    }

    func render(frontendPort: UInt16, origin: RecordingOrigin) -> String {
        text.replacingOccurrences(of: "@FRONTEND_PORT@", with: "\(frontendPort)")
            .replacingOccurrences(of: "@ORIGIN@", with: origin.address)
            .replacingOccurrences(of: "@ORIGIN_HOST@", with: origin.host)
            .replacingOccurrences(of: "@ORIGIN_PORT@", with: "\(origin.port)")
    }

    /// `mode http`, timeouts, one frontend, one backend with one server: nothing that rewrites requests.
    static let minimal = ConfigTemplate("""
        defaults
            mode http
            timeout connect 5s
            timeout client 30s
            timeout server 30s

        frontend fe
            bind 127.0.0.1:@FRONTEND_PORT@
            default_backend be

        backend be
            server origin @ORIGIN@
        """)
}

/// What one proxy did with one raw request: the response its client got (nil, with `failure`, when none came)
/// and the requests that reached its origin because of it.
struct ProxyObservation: Sendable, CustomStringConvertible {
    var response: HTTPResponse?
    var failure: String?
    var originRequests: [RecordedRequest]

    var status: Int? { response?.status }

    var description: String {
        let answer = response.map { "\($0.status) \($0.reason) \($0.headers.map { "\($0.name): \($0.value)" })" }
            ?? "no response (\(failure ?? "?"))"
        return "\(answer); origin got \(originRequests)"
    }
}

/// Baton and the real HAProxy side by side, each in front of its own `RecordingOrigin`, both started from the
/// same `ConfigTemplate`. `exchange` sends the same bytes to both on new connections and returns what each
/// client and each origin saw.
///
///     let pair = try await DifferentialPair.start()        // or .start(ConfigTemplate("..."))
///     let (baton, haproxy) = try await pair.exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
///     #expect(baton.status == haproxy.status)
///     #expect(baton.originRequests.map(\.comparable) == haproxy.originRequests.map(\.comparable))
///     await pair.stop()
final class DifferentialPair: @unchecked Sendable {
    struct Side: Sendable {
        let name: String
        let port: UInt16
        let origin: RecordingOrigin
    }

    let baton: BatonProcess
    let haproxy: HAProxyPeer
    let batonSide: Side
    let haproxySide: Side

    private init(baton: BatonProcess, haproxy: HAProxyPeer, batonSide: Side, haproxySide: Side) {
        self.baton = baton
        self.haproxy = haproxy
        self.batonSide = batonSide
        self.haproxySide = haproxySide
    }

    /// - Parameter originResponseFields: fields both origins add to their response (see `RecordingOrigin`).
    static func start(_ template: ConfigTemplate = .minimal,
                      originResponseFields: [(name: String, value: String)] = []) async throws -> DifferentialPair {
        // The same name on both sides, so that the response bodies compare equal.
        let batonOrigin = try await RecordingOrigin.start(name: "origin", extraResponseFields: originResponseFields)
        let haproxyOrigin = try await RecordingOrigin.start(name: "origin", extraResponseFields: originResponseFields)
        let batonPort = freePort()
        let haproxyPort = freePort()
        let haproxy = try await HAProxyPeer.start(
            config: template.render(frontendPort: haproxyPort, origin: haproxyOrigin), listening: [haproxyPort])
        let baton: BatonProcess
        do {
            baton = try await BatonProcess.start(
                config: template.render(frontendPort: batonPort, origin: batonOrigin), listening: [batonPort])
        } catch {
            await haproxy.stop()
            throw error
        }
        return DifferentialPair(baton: baton, haproxy: haproxy,
                                batonSide: Side(name: "baton", port: batonPort, origin: batonOrigin),
                                haproxySide: Side(name: "haproxy", port: haproxyPort, origin: haproxyOrigin))
    }

    func exchange(_ request: String, timeout: Duration = .seconds(5)) async throws -> (baton: ProxyObservation, haproxy: ProxyObservation) {
        try await exchange(Array(request.utf8), timeout: timeout)
    }

    /// Sends `request` on a new connection to each proxy in turn, reads one response (only its head for HEAD
    /// and CONNECT), closes, and collects what reached each origin meanwhile. An origin records a request before
    /// answering it, so everything a proxy forwarded is recorded by the time its client has the response.
    func exchange(_ request: [UInt8], timeout: Duration = .seconds(5)) async throws -> (baton: ProxyObservation, haproxy: ProxyObservation) {
        let headOnly = request.starts(with: Array("HEAD ".utf8)) || request.starts(with: Array("CONNECT ".utf8))
        async let batonResult = Self.observe(batonSide, request, headOnly: headOnly, timeout: timeout)
        async let haproxyResult = Self.observe(haproxySide, request, headOnly: headOnly, timeout: timeout)
        return try await (batonResult, haproxyResult)
    }

    private static func observe(_ side: Side, _ request: [UInt8], headOnly: Bool,
                                timeout: Duration) async throws -> ProxyObservation {
        _ = side.origin.takeRequests()
        let client = try RawClient(port: side.port)
        try await client.send(request)
        var observation = ProxyObservation(response: nil, failure: nil, originRequests: [])
        do {
            observation.response = try await client.readResponse(timeout: timeout, head: headOnly)
        } catch {
            observation.failure = "\(error)"
        }
        client.close()
        observation.originRequests = side.origin.takeRequests()
        return observation
    }

    func stop() async {
        await baton.stop()
        await haproxy.stop()
        await batonSide.origin.stop()
        await haproxySide.origin.stop()
    }
}

/// A recorded request reduced to what both proxies must agree on: method, target, version, body, and the fields
/// in order with names lowercased (HAProxy 2.6 lowercases every name it forwards; Baton keeps the client's
/// case). Deliberate differences are left out, each named by `ignoringFields`; `framingFields` (Content-Length,
/// Transfer-Encoding) are compared apart from the order, because Baton restates them at the end of the head
/// while HAProxy keeps them in place.
struct ComparableRequest: Sendable, Equatable, CustomStringConvertible {
    var method: String
    var target: String
    var version: String
    var fields: [RecordedField]
    var framing: [RecordedField]
    var body: [UInt8]

    static let framingFields: Set<String> = ["content-length", "transfer-encoding"]

    init(_ request: RecordedRequest, ignoringFields ignored: Set<String> = []) {
        method = request.method
        target = request.target
        version = request.version
        let lowered = request.fields.map { RecordedField($0.name.lowercased(), $0.value) }
            .filter { !ignored.contains($0.name) }
        fields = lowered.filter { !Self.framingFields.contains($0.name) }
        framing = lowered.filter { Self.framingFields.contains($0.name) }
        body = request.body
    }

    var description: String {
        "\(method) \(target) \(version) \(fields) framing=\(framing) body=\(String(decoding: body, as: UTF8.self).debugDescription)"
    }
}

extension RecordedRequest {
    var comparable: ComparableRequest { ComparableRequest(self) }
}
