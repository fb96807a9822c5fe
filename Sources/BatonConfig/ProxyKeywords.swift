import BatonCore
import Foundation

/// The keywords of `defaults`, `frontend`, `listen` and `backend` sections Baton implements,
/// with the sections the keyword matrix (configuration.txt 4.1) allows them in.
enum ProxyKeywords {
    /// Every proxy keyword, from all the tables.
    static let table: [ProxyKeyword] = general + TimeoutKeywords.table + OptionKeywords.table
        + LogKeywords.proxyTable + BindAndServerParsing.table + RuleKeywords.table

    static let index: [String: ProxyKeyword] = Dictionary(uniqueKeysWithValues: table.map { ($0.name, $0) })

    /// The status codes `errorfile` accepts (HAProxy's http_err_codes).
    static let errorFileStatuses: Set<Int> = [200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 414, 421, 422,
                                              425, 429, 431, 500, 501, 502, 503, 504]

    static let balanceAlgorithms = BalanceAlgorithm.allCases.map(\.rawValue)

    static let general: [ProxyKeyword] = [
        ProxyKeyword("mode", .all, "'http' or 'tcp'") { draft, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            let value = ctx.line.argument(0) ?? ""
            if let mode = ProxyMode(rawValue: value) {
                draft.proxy.mode = mode
            } else if ["log", "spop", "haterm", "health"].contains(value) {
                ctx.alert(ParseContext.notSupported("mode \(value)"))
            } else {
                ctx.alert("unknown proxy mode '\(value)'.")
            }
        },
        ProxyKeyword("maxconn", .frontendSide, "maximum concurrent connections accepted by the frontend") { draft, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let value = Parse.integer(ctx.line.argument(0)) else {
                ctx.alert("'maxconn' expects an integer argument.")
                return
            }
            draft.proxy.maxConnections = value
        },
        ProxyKeyword("retries", .backendSide, "further connection attempts after a failed one (default 3)") { draft, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let value = Parse.integer(ctx.line.argument(0)) else {
                ctx.alert("'retries' expects an integer argument (dispatch counts for one).")
                return
            }
            draft.proxy.retries = value
        },
        ProxyKeyword("balance", .backendSide,
                     "load-balancing algorithm: \(balanceAlgorithms.joined(separator: ", "))") { draft, ctx in
            let value = ctx.line.argument(0) ?? ""
            if let algorithm = BalanceAlgorithm(rawValue: value) {
                if ctx.tooManyArguments(max: 1) { return }
                draft.proxy.balance = algorithm
                return
            }
            let unsupported = ["uri", "url_param", "hash", "log-hash", "sticky", "hdr", "rdp-cookie", "random"]
            if unsupported.contains(where: { value == $0 || value.hasPrefix($0 + "(") }) {
                ctx.alert(ParseContext.notSupported("balance \(value)"))
            } else {
                ctx.alert("balance only supports \(Parse.choiceList(balanceAlgorithms)) options.")
            }
        },
        ProxyKeyword("default_backend", .frontendSide, "backend used when no rule selects one") { draft, ctx in
            guard let name = ctx.line.argument(0) else {
                ctx.alert("'default_backend' expects a backend name.")
                return
            }
            if ctx.tooManyArguments(max: 1) { return }
            draft.proxy.defaultBackend = name
            draft.proxy.defaultBackendLocation = ctx.location
        },
        ProxyKeyword("monitor-uri", .frontendSide, "answer 200 to requests for this URI (health probe)") { draft, ctx in
            if ctx.tooManyArguments(max: 1) { return }
            guard let uri = ctx.line.argument(0) else {
                ctx.alert("'monitor-uri' expects an URI.")
                return
            }
            draft.proxy.monitorURI = uri
        },
        ProxyKeyword("fullconn", .backendSide, "the backend's full load, for servers' minconn (no effect without it)") {
            draft, ctx in
            guard let value = Parse.integer(ctx.line.argument(0)) else {
                ctx.alert("'fullconn' expects an integer argument.")
                return
            }
            if ctx.tooManyArguments(max: 1) { return }
            draft.proxy.fullConnections = value
        },
        ProxyKeyword("http-reuse", .backendSide, "never|safe|aggressive|always: sharing of idle server connections") {
            draft, ctx in
            guard let mode = ctx.line.argument(0).flatMap(HTTPReuse.init(rawValue:)) else {
                ctx.alert("'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.")
                return
            }
            if let extra = ctx.line.argument(1) {
                ctx.alert("'http-reuse \(mode.rawValue)' cannot handle unexpected argument '\(extra)'.")
                return
            }
            draft.proxy.httpReuse = mode
        },
        ProxyKeyword("cookie", .backendSide, "NAME [insert|rewrite|prefix] [indirect] [nocache] [postonly] [preserve] "
                     + "[httponly] [secure] [domain D]* [attr A]*: cookie persistence") { draft, ctx in
            parseCookie(&draft, &ctx)
        },
        ProxyKeyword("errorfile", .all, "CODE FILE: send FILE (a complete HTTP response) instead of the built-in error CODE") {
            draft, ctx in
            guard let codeText = ctx.line.argument(0), let path = ctx.line.argument(1) else {
                ctx.alert("errorfile : expects <status_code> and <file> as arguments.")
                return
            }
            if ctx.tooManyArguments(max: 2) { return }
            guard let code = Parse.integer(codeText), errorFileStatuses.contains(code) else {
                ctx.alert("errorfile : status code '\(codeText)' not handled.")
                return
            }
            guard let contents = FileReading.contents(of: path) else {
                ctx.alert("errorfile : error opening file '\(path)'.")
                return
            }
            draft.proxy.errorFiles[code] = ErrorFile(status: code, path: path, contents: contents)
        },
    ]
}

extension ProxyKeywords {
    /// `cookie`, with HAProxy's checks and messages (cfgparse-listen.c).
    static func parseCookie(_ draft: inout ProxyDraft, _ ctx: inout ParseContext) {
        guard let name = ctx.line.argument(0), !name.isEmpty else {
            ctx.alert("'cookie' expects <cookie_name> as argument.")
            return
        }
        var cookie = CookiePersistence(name: name, mode: nil)
        var modes: [CookiePersistence.Mode] = []
        let args = Array(ctx.line.arguments.dropFirst())
        var index = 0
        while index < args.count {
            let word = args[index]
            index += 1
            switch word {
            case "insert", "rewrite", "prefix":
                let mode = CookiePersistence.Mode(rawValue: word)!
                if !modes.contains(mode) { modes.append(mode) }
            case "indirect": cookie.indirect = true
            case "nocache": cookie.noCache = true
            case "postonly": cookie.postOnly = true
            case "preserve": cookie.preserve = true
            case "httponly": cookie.httpOnly = true
            case "secure": cookie.secure = true
            case "domain":
                guard index < args.count, !args[index].isEmpty else {
                    ctx.alert("'domain' expects <domain> as argument.")
                    return
                }
                let domain = args[index]
                index += 1
                let dot = domain.firstIndex(of: ".")
                if domain.first != ".", dot == nil || domain.index(after: dot!) == domain.endIndex {
                    ctx.warning("domain '\(domain)' contains no embedded dot, this configuration may not work "
                                + "properly (see RFC6265#5.2.3).")
                }
                cookie.domains.append(domain)
            case "attr":
                guard index < args.count, !args[index].isEmpty else {
                    ctx.alert("'attr' expects <value> as argument.")
                    return
                }
                let value = args[index]
                index += 1
                if let bad = value.unicodeScalars.first(where: { $0 == ";" || $0.value < 0x20 || $0.value == 0x7f }) {
                    ctx.alert("character '%x\(String(format: "%02X", bad.value))' is not permitted in attribute value.")
                    return
                }
                cookie.attributes.append(value)
            case "maxidle", "maxlife", "dynamic":
                ctx.alert(ParseContext.notSupported("cookie \(word)"))
                return
            default:
                ctx.alert("'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', "
                          + "'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.")
                return
            }
        }
        if modes.contains(.rewrite) && cookie.indirect {
            ctx.alert("cookie 'rewrite' and 'indirect' modes are incompatible.")
            return
        }
        if modes.count > 1 {
            ctx.alert("cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.")
            return
        }
        cookie.mode = modes.first
        if cookie.preserve && cookie.mode != .insert && !cookie.indirect {
            ctx.alert("cookie 'preserve' requires at least 'insert' or 'indirect'.")
            return
        }
        draft.proxy.cookie = cookie
    }
}

/// `timeout NAME VALUE`.
enum TimeoutKeywords {
    static let table: [ProxyKeyword] = [
        entry("client", .frontendSide, "inactivity timeout on the client side", \.client),
        entry("client-fin", .frontendSide, "inactivity timeout on the client side once half-closed", \.clientFin),
        entry("connect", .backendSide, "maximum time to connect to a server", \.connect),
        entry("server", .backendSide, "inactivity timeout on the server side", \.server),
        entry("server-fin", .backendSide, "inactivity timeout on the server side once half-closed", \.serverFin),
        entry("queue", .backendSide, "maximum time waiting in the queue for a connection slot", \.queue),
        entry("tunnel", .backendSide, "inactivity timeout of tunnels (WebSocket, CONNECT, TCP)", \.tunnel),
        entry("tarpit", .all, "how long 'http-request tarpit' holds a request before answering", \.tarpit),
        entry("http-request", .all, "maximum time to receive a complete request header", \.httpRequest),
        entry("http-keep-alive", .all, "maximum time to wait for a new request on a kept-alive connection",
              \.httpKeepAlive),
    ]

    /// Every name HAProxy knows, in the order of its message.
    static let haproxyNames = ["client", "server", "connect", "check", "queue", "handshake", "http-keep-alive",
                               "http-request", "tunnel", "tarpit", "client-fin", "server-fin"]

    static func unknownMessage(_ name: String) -> String {
        "'timeout' supports \(Parse.choiceList(haproxyNames)) (got '\(name)')"
    }

    private static func entry(_ name: String, _ sections: SectionSet, _ summary: String,
                              _ field: WritableKeyPath<Timeouts, Duration?> & Sendable) -> ProxyKeyword {
        ProxyKeyword("timeout \(name)", sections, summary) { draft, ctx in
            guard let text = ctx.line.argument(0) else {
                ctx.alert("'timeout \(name)' expects an integer value (in milliseconds)")
                return
            }
            guard let value = TimeValue.parse(text) else {
                ctx.alert("unexpected character '\(badCharacter(in: text))' in 'timeout \(name)'")
                return
            }
            if value > .milliseconds(2_147_483_647) {
                ctx.alert("timer overflow in argument '\(text)' to 'timeout \(name)' "
                          + "(maximum value is 2147483647 ms or ~24.8 days)")
                return
            }
            if value > .zero && value < .milliseconds(1) {
                ctx.alert("timer underflow in argument '\(text)' to 'timeout \(name)' (minimum non-null value is 1 ms)")
                return
            }
            if let extra = ctx.line.argument(1) {
                ctx.alert("'timeout \(name)' : unexpected extra argument '\(extra)' after value '\(text)'.")
                return
            }
            if let number = Parse.integer(text), number > 0, number < 100 {
                ctx.warning("'timeout \(name) \(number)' in \(draft.typeAndName) is suspiciously small for a value "
                            + "in milliseconds. Please use an explicit unit ('\(number)ms') if that was the intent.")
            }
            draft.proxy.timeouts[keyPath: field] = value == .zero ? nil : value
        }
    }

    /// The first character `TimeValue.parse` cannot take, as HAProxy's `parse_time_err` reports.
    static func badCharacter(in text: String) -> Character {
        let rest = text.drop { $0.isASCII && $0.isNumber }
        guard rest.count < text.count else { return text.first ?? " " }
        for unit in ["us", "ms", "s", "m", "h", "d"] where rest.hasPrefix(unit) {
            return rest.dropFirst(unit.count).first ?? " "
        }
        return rest.first ?? " "
    }
}
