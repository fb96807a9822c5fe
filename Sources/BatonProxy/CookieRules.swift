import BatonConfig
import BatonHTTP1

/// Cookie-based persistence (`cookie NAME insert|rewrite|prefix ...` and `server ... cookie V`),
/// as HAProxy's http_manage_client_side_cookies() and http_manage_server_side_cookies() do it:
/// the pure rules, without I/O. The request's cookie picks the server; the response gets the
/// cookie that will bring the client back to the server that answered.
struct CookieRules {
    let config: CookiePersistence

    /// What the request's cookies said: the third character of `%ts`.
    enum ClientFlag: Character {
        /// No persistence cookie in the request.
        case none = "N"
        /// A cookie naming no server.
        case invalid = "I"
        /// A cookie naming a server that cannot take traffic (maintenance).
        case down = "D"
        /// A cookie naming a usable server, which gets the request.
        case valid = "V"
    }

    /// What was done to the response's cookies: the fourth character of `%ts`.
    enum ServerFlag: Character {
        case none = "N"
        case inserted = "I"
        /// The server set the cookie and it was passed on untouched (`preserve`).
        case provided = "P"
        case rewritten = "R"
        case deleted = "D"
    }

    struct RequestDecision {
        /// The `cookie` value the client presented for the backend's cookie (the part before
        /// `~` in prefix mode), if any.
        var serverValue: String?
        var flag: ClientFlag = .none
        /// The request's fields for the server, when they had to change.
        var rewrittenFields: [HTTPField]?
    }

    /// Finds the persistence cookie among the request's `Cookie` fields; with `insert indirect`
    /// it is removed from what the server sees, in prefix mode its `SERVER~` prefix is.
    func inspectRequest(_ fields: [HTTPField]) -> RequestDecision {
        var decision = RequestDecision()
        let strip = config.mode == .insert && config.indirect
        var changed = false
        var rewritten: [HTTPField] = []
        for field in fields {
            guard field.name.lowercased() == "cookie" else {
                rewritten.append(field)
                continue
            }
            var kept: [String] = []
            for piece in field.value.split(separator: ";", omittingEmptySubsequences: true) {
                let cookie = piece.trimmingASCIISpaces()
                guard let equals = cookie.firstIndex(of: "="),
                      cookie[..<equals].trimmingASCIISpaces() == config.name else {
                    if !cookie.isEmpty { kept.append(String(cookie)) }
                    continue
                }
                let value = cookie[cookie.index(after: equals)...].trimmingASCIISpaces()
                var serverPart = value
                var rest: Substring?
                if config.mode == .prefix, let tilde = value.firstIndex(of: "~") {
                    serverPart = value[..<tilde]
                    rest = value[value.index(after: tilde)...]
                }
                if decision.serverValue == nil { decision.serverValue = String(serverPart) }
                if strip {
                    changed = true
                } else if let rest {
                    kept.append("\(config.name)=\(rest)")
                    changed = true
                } else {
                    kept.append(String(cookie))
                }
            }
            if !kept.isEmpty { rewritten.append(HTTPField(field.name, kept.joined(separator: "; "))) } else { changed = true }
        }
        if changed { decision.rewrittenFields = rewritten }
        return decision
    }

    /// The response's fields once the persistence cookie is handled: the server's own cookie
    /// removed, rewritten or prefixed, and in insert mode a new one added when the request did
    /// not already go to this server by its cookie (`direct`).
    func rewriteResponse(_ fields: [HTTPField], status: Int, serverCookie: String?, direct: Bool,
                         method: String) -> (fields: [HTTPField], flag: ServerFlag) {
        var flag = ServerFlag.none
        var result: [HTTPField] = []
        var serverSetIt = false
        for field in fields {
            guard field.name.lowercased() == "set-cookie", let equals = field.value.firstIndex(of: "="),
                  field.value[..<equals].trimmingASCIISpaces() == config.name else {
                result.append(field)
                continue
            }
            serverSetIt = true
            if config.preserve {
                flag = .provided
                result.append(field)
            } else if config.mode == .insert || (direct && config.indirect) {
                flag = .deleted
            } else if let serverCookie, config.mode == .rewrite {
                let afterValue = field.value[equals...].firstIndex(of: ";").map { field.value[$0...] } ?? ""
                result.append(HTTPField(field.name, "\(config.name)=\(serverCookie)\(afterValue)"))
                flag = .rewritten
            } else if let serverCookie, config.mode == .prefix {
                let value = field.value[field.value.index(after: equals)...]
                result.append(HTTPField(field.name, "\(config.name)=\(serverCookie)~\(value)"))
                flag = .rewritten
            } else {
                flag = .provided
                result.append(field)
            }
        }
        let insert = config.mode == .insert && !(serverSetIt && config.preserve) && !direct
            && (!config.postOnly || method == "POST")
        if insert, let serverCookie {
            var value = "\(config.name)=\(serverCookie); path=/"
            for domain in config.domains { value += "; domain=\(domain)" }
            if config.httpOnly { value += "; HttpOnly" }
            if config.secure { value += "; Secure" }
            for attribute in config.attributes { value += "; \(attribute)" }
            result.append(HTTPField("Set-Cookie", value))
            flag = .inserted
            if config.noCache && Self.isCacheable(status: status, fields: fields) {
                // `nocache`: a response carrying a persistence cookie must not be shared.
                result.append(HTTPField("Cache-Control", "private"))
            }
        }
        return (result, flag)
    }

    /// HAProxy's idea of a cacheable response (http_check_response_for_cacheability), simplified
    /// to the status and the response's own cache directives.
    static func isCacheable(status: Int, fields: [HTTPField]) -> Bool {
        guard [200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501].contains(status) else { return false }
        for value in fields.values(named: "cache-control") {
            let directives = value.lowercased().split(separator: ",").map { $0.trimmingASCIISpaces() }
            if directives.contains(where: { $0 == "private" || $0 == "no-cache" || $0 == "no-store"
                || $0 == "max-age=0" || $0 == "s-maxage=0" }) { return false }
        }
        if fields.values(named: "pragma").contains(where: { $0.lowercased().contains("no-cache") }) { return false }
        return true
    }
}
