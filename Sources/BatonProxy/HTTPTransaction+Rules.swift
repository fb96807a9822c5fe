import BatonConfig
import BatonHTTP1
import BatonRules
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Routing

extension HTTPTransaction {
    /// Runs a proxy's `http-request` rules, then its `redirect` rules, as HAProxy's
    /// `http_process_req_common` does. Returns true when a rule answered the request.
    func runRequestRules(_ rules: ProxyRules, errorPages: ErrorPages) -> Bool {
        guard rules.hasRequestRules else { return false }
        if !rules.tcpContent.isEmpty, rules.tcpContent.run(self) == .reject {
            // HAProxy closes the connection without a response.
            frontend.counters.connectionDenied()
            fail(.abort(TransactionError(.blockedByProxy, .client, .request)))
            return true
        }
        if !rules.httpRequest.isEmpty {
            switch rules.httpRequest.run(on: .request, self) {
            case .proceed, .allow: break
            case let verdict:
                answer(verdict, errorPages: errorPages)
                return true
            }
        }
        if !rules.redirect.isEmpty {
            switch rules.redirect.run(on: .request, self) {
            case .proceed, .allow: break
            case let verdict:
                answer(verdict, errorPages: errorPages)
                return true
            }
        }
        return false
    }

    /// The frontend's one routing decision: the first `use_backend` whose condition holds
    /// (a dynamic name that matches no backend falls through to the next rule, as in
    /// HAProxy), else `default_backend`.
    func chooseBackend() -> BackendRuntime? {
        frontend.chooseBackend(for: self, in: generation)
    }

    /// Sends a response a rule made; like a forwarded response, it says `connection: close`
    /// when the client connection will not be kept (an HTTP/1.0 client without keep-alive).
    private func respondByRule(_ prepared: PreparedResponse, error: TransactionError) {
        var prepared = prepared
        if !state.keepClientOpen { prepared.bytes = ErrorPages.addingConnectionClose(to: prepared.bytes) }
        respondLocally(prepared, error: error)
    }

    /// Carries out a final verdict of request rules with a local response.
    private func answer(_ verdict: RuleVerdict, errorPages: ErrorPages) {
        switch verdict {
        case .proceed, .allow:
            return
        case .respond(let response, let deny):
            let prepared = LocalResponseRenderer.render(response, errorPages: errorPages, subject: self)
            if deny { frontend.counters.requestDenied() }
            respondByRule(prepared, error: .init(deny ? .blockedByProxy : .localResponse, .client, .request))
        case .redirect(let code, let location, let setCookie):
            respondByRule(LocalResponseRenderer.redirect(code: code, location: location, setCookie: setCookie),
                           error: .init(.localResponse, .client, .request))
        case .tarpit(let response):
            let prepared = LocalResponseRenderer.render(response, errorPages: errorPages, subject: self)
            frontend.counters.requestDenied()
            let delay = (frontend.config.timeouts.tarpit ?? frontend.config.timeouts.connect)?.timeAmount ?? .zero
            guard let client else { return }
            retryTask = client.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
                self.retryTask = nil
                self.respondByRule(prepared, error: .init(.blockedByProxy, .client, .tarpit))
            }
        case .authenticate(let realm):
            respondByRule(LocalResponseRenderer.authenticate(realm: realm, errorPages: errorPages),
                           error: .init(.localResponse, .client, .request))
        }
    }

    /// Runs the backend's then the frontend's `http-response` rules on a response head.
    /// Returns the head to send, or nil when a rule answered instead (the server's response
    /// is then dropped with its connection).
    func applyResponseRules(to head: HTTPResponseHead) -> HTTPResponseHead? {
        let backendRules = backend?.rules.httpResponse ?? []
        let frontendRules = backend?.config.location == frontend.config.location ? [] : frontend.rules.httpResponse
        if backendRules.isEmpty && frontendRules.isEmpty { return head }
        response = head
        defer { response = nil }
        for (rules, pages) in [(backendRules, backend?.errorPages ?? frontend.errorPages),
                               (frontendRules, frontend.errorPages)] where !rules.isEmpty {
            switch rules.run(on: .response, self) {
            case .proceed, .allow:
                continue
            case .respond(let local, let deny):
                // HAProxy drops the server's response before building the reply, so the
                // reply's log-format strings no longer see it (`%[status]` is empty).
                response = nil
                let prepared = LocalResponseRenderer.render(local, errorPages: pages, subject: self)
                replaceResponse(with: prepared, error: .init(deny ? .blockedByProxy : .localResponse, .server,
                                                             .responseHeaders))
                return nil
            case .redirect(let code, let location, let setCookie):
                replaceResponse(with: LocalResponseRenderer.redirect(code: code, location: location, setCookie: setCookie),
                                error: .init(.localResponse, .server, .responseHeaders))
                return nil
            case .tarpit, .authenticate:
                continue
            }
        }
        return response
    }

    /// Sends a response Baton made in place of the server's, and closes both sides.
    private func replaceResponse(with prepared: PreparedResponse, error: TransactionError) {
        guard !isOver else { return }
        record.status = prepared.status
        frontend.counters.responseSent(status: prepared.status)
        client?.sendPreparedResponse(ErrorPages.addingConnectionClose(to: prepared.bytes), of: self)
        let client = self.client
        end(logging: error)
        client?.transactionFailed(self)
    }
}

/// A `use_backend` rule with its backend resolved when the generation was built.
struct CompiledSwitchingRule: Sendable {
    enum Target: Sendable {
        case resolved(BackendRuntime)
        case dynamic(LogFormat)
    }

    let target: Target
    let condition: Condition?
}

// MARK: - The transaction as rules see it

extension HTTPTransaction: RuleSubject {
    func fieldCount(_ side: MessageSide) -> Int {
        switch side {
        case .request: return request.fields.count
        case .response: return response?.fields.count ?? 0
        }
    }

    func fieldName(_ side: MessageSide, at index: Int) -> String {
        side == .request ? request.fields[index].name : response!.fields[index].name
    }

    func fieldValue(_ side: MessageSide, at index: Int) -> String {
        side == .request ? request.fields[index].value : response!.fields[index].value
    }

    func setFieldValue(_ side: MessageSide, at index: Int, to value: String) {
        if side == .request { request.fields[index].value = value } else { response?.fields[index].value = value }
    }

    func removeField(_ side: MessageSide, at index: Int) {
        if side == .request { request.fields.remove(at: index) } else { response?.fields.remove(at: index) }
    }

    func appendField(_ side: MessageSide, name: String, value: String) {
        if side == .request {
            request.fields.append(HTTPField(name, value))
        } else {
            response?.fields.append(HTTPField(name, value))
        }
    }

    func fieldIndex(_ side: MessageSide, named name: String, from start: Int) -> Int? {
        // Straight on the field array, with HTTP/1's byte comparison: the rules' hottest lookup.
        if side == .request { return Self.index(in: request.fields, named: name, from: start) }
        guard let fields = response?.fields else { return nil }
        return Self.index(in: fields, named: name, from: start)
    }

    /// Reads the names in place through the array's buffer (no copy of each field), lengths
    /// first (O(1) for native strings): most names differ there.
    private static func index(in fields: [HTTPField], named name: String, from start: Int) -> Int? {
        let length = name.utf8.count
        return fields.withUnsafeBufferPointer { buffer -> Int? in
            var index = start
            while index < buffer.count {
                if buffer[index].name.utf8.count == length, buffer[index].hasName(name) { return index }
                index += 1
            }
            return nil
        }
    }

    var requestMethod: String {
        get { request.method }
        set { request.method = newValue }
    }

    var requestTarget: String {
        get { request.target }
        set { request.target = newValue }
    }

    var requestVersion: String { "\(request.version.major).\(request.version.minor)" }
    /// What `option http-buffer-request` gathered (the first buffer's worth of the body).
    var requestBody: [UInt8]? {
        guard frontend.config.httpBufferRequest || backend?.config.httpBufferRequest == true else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(pendingBodyBytes)
        for piece in pendingBody { bytes += piece.readableBytesView }
        return bytes
    }
    var responseStatus: Int? { response?.status }
    var responseVersion: String? { response.map { "\($0.version.major).\($0.version.minor)" } }

    func setResponseStatus(_ status: Int, reason: String?) {
        response?.status = status
        response?.reason = reason ?? ErrorPages.reasonPhrase(status)
        record.status = status
    }

    var clientAddress: IPAddress? { connection.clientIPAddress }
    var clientPort: Int? { connection.clientPort }
    var frontendAddress: IPAddress? { connection.localIPAddress }
    var frontendPort: Int? { connection.localPort }
    var frontendName: String { frontend.name }
    var backendName: String? { backend?.name }
    var serverName: String? { server?.name }
    var isFirstRequest: Bool { !mayReuseIdleConnection }
    var isHTTP: Bool { true }

    func stickTable(named name: String) -> StickTable? { generation.stickTables[name] }

    func userlist(named name: String) -> Userlist? { generation.configuration.userlists[name] }

    func setLogLevel(_ level: String) { logLevelOverride = level }

    func capture(_ value: String, slot: Int) {
        if slot < requestCaptures.count { requestCaptures[slot] = value }
    }

    /// The value of each captured header (its last occurrence, cut to the slot's length, as
    /// HAProxy captures it); nil for a slot without header or a header absent.
    static func captures(_ slots: [CaptureSlot], from fields: [HTTPField]) -> [String?] {
        slots.map { slot in
            guard let name = slot.header else { return nil }
            var last: String?
            for field in fields where field.hasName(name) { last = field.value }
            return last.map { String(decoding: $0.utf8.prefix(slot.length), as: UTF8.self) }
        }
    }

    func usableServers(backend name: String?) -> Int? {
        guard let target = name.map({ generation.backends[$0] }) ?? backend else { return nil }
        return target.selector.servers.filter(\.isUsable).count
    }

    func backendConnections(backend name: String?) -> Int? {
        guard let target = name.map({ generation.backends[$0] }) ?? backend else { return nil }
        return target.counters.currentSessions
    }

    var uniqueID: String { generatedUniqueID ?? "" }

    var sessionVariables: VariableStore {
        get { connection.sessionVariables }
        set { connection.sessionVariables = newValue }
    }

    func logAlias(_ alias: LogAlias) -> String? {
        switch alias {
        case .clientIP: return connection.clientAddress
        case .clientPort: return String(connection.clientPort)
        case .frontendIP: return frontendAddress?.description
        case .frontendPort: return String(connection.localPort)
        case .frontend, .frontendTransport: return frontend.name
        case .backend: return backend?.name ?? frontend.name
        case .server: return server?.name ?? "<NOSRV>"
        case .method: return request.method
        case .uri: return request.target
        case .path: return URLParts.path(of: request.target).map(String.init)
        case .query: return URLParts.query(of: request.target).map { "?" + $0 }
        case .version: return "HTTP/\(requestVersion)"
        case .requestLine: return "\(request.method) \(request.target) HTTP/\(requestVersion)"
        case .uniqueID: return uniqueID
        case .status: return record.status > 0 ? String(record.status) : nil
        case .timestamp: return String(record.requestDateMicroseconds / 1_000_000)
        case .pid: return String(ProcessIdentity.pid)
        case .requestCounter: return String(frontend.counters.totalRequests - 1)
        case .date: return nil
        default: return nil
        }
    }
}

/// Renders the responses rules make: `deny`/`return` replies, redirects, auth challenges.
enum LocalResponseRenderer {
    static func render(_ response: LocalResponse, errorPages: ErrorPages, subject: (any RuleSubject)?) -> PreparedResponse {
        var body: [UInt8]
        switch response.body {
        case .errorPage:
            if response.headers.isEmpty {
                return PreparedResponse(status: response.status, bytes: errorPages.response(for: response.status))
            }
            body = []
        case .file(let bytes, true):
            return PreparedResponse(status: response.status, bytes: ByteBuffer(bytes: bytes))
        case .empty: body = []
        case .text(let text): body = Array(text.utf8)
        case .logFormat(let format): body = Array((subject.map(format.evaluate) ?? format.constantText ?? "").utf8)
        case .file(let bytes, false): body = bytes
        }
        var head = "HTTP/1.1 \(response.status) \(ErrorPages.reasonPhrase(response.status))\r\n"
        for (name, value) in response.headers {
            head += "\(name): \(subject.map(value.evaluate) ?? value.constantText ?? "")\r\n"
        }
        head += "content-length: \(body.count)\r\n"
        if let contentType = response.contentType, !body.isEmpty {
            head += "content-type: \(contentType)\r\n"
        }
        head += "\r\n"
        var buffer = ByteBuffer(string: head)
        buffer.writeBytes(body)
        return PreparedResponse(status: response.status, bytes: buffer)
    }

    static func redirect(code: Int, location: String, setCookie: String?) -> PreparedResponse {
        var head = "HTTP/1.1 \(code) \(ErrorPages.reasonPhrase(code))\r\ncontent-length: 0\r\nlocation: \(location)\r\n"
        // HAProxy marks the temporary redirects as not cacheable.
        if code == 302 || code == 303 || code == 307 { head += "cache-control: no-cache\r\n" }
        if let setCookie { head += "set-cookie: \(setCookie)\r\n" }
        head += "\r\n"
        return PreparedResponse(status: code, bytes: ByteBuffer(string: head))
    }

    static func authenticate(realm: String, errorPages: ErrorPages) -> PreparedResponse {
        let body = "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"
        let head = "HTTP/1.1 401 Unauthorized\r\ncontent-length: \(body.utf8.count)\r\ncache-control: no-cache\r\n"
            + "content-type: text/html\r\nwww-authenticate: Basic realm=\"\(realm)\"\r\n\r\n"
        return PreparedResponse(status: 401, bytes: ByteBuffer(string: head + body))
    }
}

enum ProcessIdentity {
    /// `%pid`, read once.
    static let pid: Int32 = getpid()
}
