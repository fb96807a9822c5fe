import BatonCore

/// `option NAME ...` keywords (the log format options live in `LogKeywords`).
enum OptionKeywords {
    /// The arguments `option forwardfor` and `option originalto` share: `[except NETWORK]
    /// [header NAME]`, and `[if-none]` for forwardfor. Nil after an alert.
    static func addressHeaderArguments(_ option: String, allowsIfNone: Bool, _ ctx: inout ParseContext)
        -> (except: IPNetwork?, header: String?, ifNone: Bool)? {
        var result: (except: IPNetwork?, header: String?, ifNone: Bool) = (nil, nil, false)
        let args = Array(ctx.line.arguments)
        var index = 0
        while index < args.count {
            switch args[index] {
            case "except":
                guard index + 1 < args.count, let network = AddressParsing.network(args[index + 1]) else {
                    ctx.alert("'option \(option) except' expects <address>[/mask] as argument.")
                    return nil
                }
                result.except = network
                index += 2
            case "header":
                guard index + 1 < args.count, !args[index + 1].isEmpty else {
                    ctx.alert("'option \(option) header' expects <header_name> as argument.")
                    return nil
                }
                result.header = args[index + 1]
                index += 2
            case "if-none" where allowsIfNone:
                result.ifNone = true
                index += 1
            default:
                let choices = allowsIfNone ? "'except', 'header' and 'if-none'" : "'except' and 'header'"
                ctx.alert("'option \(option)' only supports optional values: \(choices).")
                return nil
            }
        }
        return result
    }

    static let table: [ProxyKeyword] = [
        ProxyKeyword("option forwardfor", .all,
                     "add X-Forwarded-For: [except NETWORK] [header NAME] [if-none]") { draft, ctx in
            guard let parsed = addressHeaderArguments("forwardfor", allowsIfNone: true, &ctx) else { return }
            var forwardFor = ForwardFor()
            forwardFor.except = parsed.except
            if let header = parsed.header { forwardFor.headerName = header }
            forwardFor.ifNone = parsed.ifNone
            draft.proxy.forwardFor = forwardFor
        },
        ProxyKeyword("option originalto", .all, "add X-Original-To (the address the client connected to): "
                     + "[except NETWORK] [header NAME]") { draft, ctx in
            guard let parsed = addressHeaderArguments("originalto", allowsIfNone: false, &ctx) else { return }
            var originalTo = OriginalTo()
            originalTo.except = parsed.except
            if let header = parsed.header { originalTo.headerName = header }
            draft.proxy.originalTo = originalTo
        },
        flag("dontlognull", .frontendSide, "do not log connections on which the client sent nothing", \.dontLogNull),
        flag("log-separate-errors", .frontendSide, "log failed transactions at level 'err' instead of 'info'",
             \.logSeparateErrors),
        ProxyKeyword("option tcpka", .all, "SO_KEEPALIVE on client and server connections") { draft, ctx in
            if ctx.tooManyArguments(max: 0) { return }
            draft.proxy.clientTCPKeepAlive = true
            draft.proxy.serverTCPKeepAlive = true
        },
        flag("clitcpka", .frontendSide, "SO_KEEPALIVE on client connections", \.clientTCPKeepAlive),
        flag("srvtcpka", .backendSide, "SO_KEEPALIVE on server connections", \.serverTCPKeepAlive),
        flag("abortonclose", .backendSide, "drop a queued or connecting request whose client closed",
             \.abortOnClose),
        flag("prefer-last-server", .backendSide,
             "a keep-alive client's next request goes to the server of its previous one when usable",
             \.preferLastServer),
        flag("http-buffer-request", .all, "wait for the whole request body before choosing a server",
             \.httpBufferRequest),
        connectionMode("http-keep-alive", .keepAlive, "keep connections open on both sides (the default)"),
        connectionMode("http-server-close", .serverClose, "close the server connection after each response"),
        connectionMode("httpclose", .close, "close both connections after each response"),
        ProxyKeyword("option redispatch", .backendSide, negatable: true,
                     "let the last retry go to another server") { draft, ctx in
            if ctx.line.negated {
                if ctx.tooManyArguments(max: 0) { return }
                draft.proxy.redispatch = false
                return
            }
            if ctx.tooManyArguments(max: 1) { return }
            switch ctx.line.argument(0) {
            case nil, "-1": draft.proxy.redispatch = true
            case "0": draft.proxy.redispatch = false
            case let interval?: ctx.alert("'option redispatch' interval '\(interval)' is not supported by Baton yet.")
            }
        },
    ]

    /// An option without arguments that sets a Bool; `no option X` clears it.
    private static func flag(_ name: String, _ sections: SectionSet, _ summary: String,
                             _ field: WritableKeyPath<Proxy, Bool> & Sendable) -> ProxyKeyword {
        ProxyKeyword("option \(name)", sections, negatable: true, summary) { draft, ctx in
            if ctx.tooManyArguments(max: 0) { return }
            draft.proxy[keyPath: field] = !ctx.line.negated
        }
    }

    /// The HTTP connection modes override each other; `no option X` returns to the default only
    /// when X is the current mode, as in HAProxy.
    private static func connectionMode(_ name: String, _ mode: HTTPConnectionMode, _ summary: String) -> ProxyKeyword {
        ProxyKeyword("option \(name)", .all, negatable: true, summary) { draft, ctx in
            if ctx.tooManyArguments(max: 0) { return }
            if !ctx.line.negated {
                draft.proxy.httpConnectionMode = mode
            } else if draft.proxy.httpConnectionMode == mode {
                draft.proxy.httpConnectionMode = .keepAlive
            }
        }
    }

    /// HAProxy's option names, for "did you mean" and for telling a typo from an option
    /// Baton does not have.
    static let haproxyOptions: Set<String> = [
        "abortonclose", "accept-invalid-http-request", "accept-invalid-http-response",
        "accept-unsafe-violations-in-http-request", "accept-unsafe-violations-in-http-response", "allbackups",
        "checkcache", "clitcpka", "contstats", "disable-h2-upgrade", "dontlog-normal", "dontlognull",
        "external-check", "forwarded", "h1-case-adjust-bogus-client", "h1-case-adjust-bogus-server",
        "http-buffer-request", "http-drop-request-trailers", "http-drop-response-trailers", "http-ignore-probes",
        "http-no-delay", "http-pretend-keepalive", "http-restrict-req-hdr-names", "http-use-proxy-header",
        "httpchk", "idle-close-on-response", "independent-streams", "ldap-check", "log-health-checks",
        "log-separate-errors", "logasap", "mysql-check", "nolinger", "originalto", "persist", "pgsql-check",
        "prefer-last-server", "redis-check", "smtpchk", "socket-stats", "splice-auto", "splice-request",
        "splice-response", "spop-check", "srvtcpka", "ssl-hello-chk", "tcp-check", "tcp-smart-accept",
        "tcp-smart-connect", "tcpka", "transparent", "use-small-buffers",
    ]
}
