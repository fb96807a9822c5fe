import BatonCore
import BatonRules

/// `log` lines, in `global` and in proxies (HAProxy's `parse_logger()` in log.c), and the
/// `option httplog` / `httpslog` / `tcplog` log formats.
enum LogKeywords {
    static let proxyTable: [ProxyKeyword] = [
        ProxyKeyword("log", .all, negatable: true,
                     "'global' or a syslog target as in the global section; 'no log' drops inherited ones") { draft, ctx in
            if ctx.line.negated {
                if ctx.line.argument(0) != nil {
                    ctx.alert("log : 'no log' does not expect arguments")
                } else {
                    draft.logLines.removeAll()
                }
                return
            }
            if ctx.line.argument(0) == "global", ctx.line.argument(1) == nil {
                draft.logLines.append(.global(ctx.location))
                return
            }
            if let target = parseTarget(&ctx, inGlobal: false) {
                draft.logLines.append(.target(target))
            }
        },
        logFormatOption("httplog", .httplog, "HTTP log format"),
        logFormatOption("httpslog", .httpslog, "HTTP log format with TLS fields"),
        logFormatOption("tcplog", .tcplog, "TCP log format"),
        ProxyKeyword("log-format", .frontendSide, "STRING: the traffic log line, with %-aliases and %[samples]") { draft, ctx in
            guard let text = ctx.line.argument(0) else {
                ctx.alert("'log-format' expects a string argument.")
                return
            }
            if ctx.line.argument(1) != nil {
                ctx.alert("'log-format' expects only one argument, don't forget to escape spaces!")
                return
            }
            do {
                let format = try LogFormat.parse(text, environment: RuleKeywords.environment(for: draft))
                // As HAProxy: the request and response are gone when the line is written.
                for node in format.nodes {
                    guard case .sample(let expression, _) = node, let part = expression.fetch.neededMessagePart else {
                        continue
                    }
                    let rest = text.range(of: "%[" + expression.text).map { String(text[text.index($0.lowerBound, offsetBy: 2)...]) }
                        ?? expression.text
                    ctx.alert("failed to parse log-format : sample fetch <\(rest)> may not be reliably used here "
                              + "because it needs '\(part)' which is not available here.")
                    return
                }
                draft.proxy.logFormat = .custom(format)
                draft.logFormatLocation = ctx.location
            } catch {
                ctx.alert("failed to parse log-format : \(error)")
            }
        },
        ProxyKeyword("unique-id-format", .frontendSide, "STRING: how each request's unique ID (%ID) is made") { draft, ctx in
            guard let text = ctx.line.argument(0), ctx.line.argument(1) == nil else {
                ctx.alert("'unique-id-format' expects exactly one argument, don't forget to escape spaces!")
                return
            }
            do {
                draft.proxy.uniqueIDFormat = try LogFormat.parse(text, environment: RuleKeywords.environment(for: draft))
            } catch {
                ctx.alert("'unique-id-format' : \(error)")
            }
        },
        ProxyKeyword("unique-id-header", .frontendSide, "NAME: the request field that carries the unique ID") { draft, ctx in
            guard let name = ctx.line.argument(0), ctx.line.argument(1) == nil else {
                ctx.alert("'unique-id-header' expects exactly one argument.")
                return
            }
            draft.proxy.uniqueIDHeader = name
        },
    ]

    private static func logFormatOption(_ name: String, _ format: ProxyLogFormat, _ summary: String) -> ProxyKeyword {
        ProxyKeyword("option \(name)", .frontendSide, summary) { draft, ctx in
            if let variant = ctx.line.argument(0) {
                if variant == "clf" {
                    ctx.alert(ParseContext.notSupported("option \(name) clf"))
                } else {
                    ctx.alert("'option \(name)' cannot handle unexpected argument '\(variant)'.")
                }
                return
            }
            draft.proxy.logFormat = format
            draft.logFormatLocation = ctx.location
        }
    }

    /// HAProxy's log formats; those Baton has are in `LogTarget.Format`.
    static let haproxyFormats = ["local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw"]

    /// Parses `TARGET [len N] [format F] FACILITY [LEVEL [MINLEVEL]]` (the words after `log`).
    static func parseTarget(_ ctx: inout ParseContext, inGlobal: Bool) -> LogTarget? {
        let args = Array(ctx.line.arguments)
        func arg(_ i: Int) -> String { i < args.count ? args[i] : "" }
        func fail(_ message: String) -> LogTarget? {
            ctx.alert("log : \(message)")
            return nil
        }
        guard args.count >= 2 else {
            return fail("expects <address> and <facility> \(inGlobal ? "" : "or global ")as arguments")
        }
        var cursor = 1
        var maxLength = 1024
        if arg(cursor) == "len" {
            guard let length = Parse.integer(arg(cursor + 1)), (80...65535).contains(length) else {
                return fail("invalid log length '\(arg(cursor + 1))', must be between 80 and 65535")
            }
            maxLength = length
            cursor += 2
        }
        var format = LogTarget.Format.automatic
        if arg(cursor) == "format" {
            let name = arg(cursor + 1)
            if let known = LogTarget.Format(rawValue: name), known != .automatic {
                format = known
            } else if haproxyFormats.contains(name) {
                return fail("log format '\(name)' is not supported by Baton yet.")
            } else {
                return fail("unknown log format '\(name)'")
            }
            cursor += 2
        }
        if arg(cursor) == "sample" || arg(cursor) == "profile" {
            return fail("'\(arg(cursor))' is not supported by Baton yet.")
        }
        guard let facility = SyslogFacility(name: arg(cursor)) else {
            return fail("unknown log facility '\(arg(cursor))'")
        }
        cursor += 1
        var level: SyslogLevel?
        if !arg(cursor).isEmpty {
            guard let parsed = SyslogLevel(name: arg(cursor)) else {
                return fail("unknown optional log level '\(arg(cursor))'")
            }
            level = parsed
            cursor += 1
        }
        var minimumLevel: SyslogLevel?
        if !arg(cursor).isEmpty {
            guard let parsed = SyslogLevel(name: arg(cursor)) else {
                return fail("unknown optional minimum log level '\(arg(cursor))'")
            }
            minimumLevel = parsed
            cursor += 1
        }
        if cursor < args.count {
            return fail("cannot handle unexpected argument '\(args[cursor])'")
        }
        switch parseDestination(args[0], resolver: ctx.resolver) {
        case .failure(let error):
            return fail(error.message)
        case .success(let destination):
            return LogTarget(destination: destination, facility: facility, level: level,
                             minimumLevel: minimumLevel, format: format, maxLength: maxLength)
        }
    }

    /// `stdout`, `stderr`, `fd@1`, `fd@2`, `/path`, `unix@path`, `uxdg@path`,
    /// `[udp@|udp4@|udp6@|ipv4@|ipv6@|ip@]host[:port]` (port 514 by default).
    static func parseDestination(_ text: String, resolver: HostResolver) -> Result<LogTarget.Destination, AddressError> {
        switch text {
        case "stdout", "fd@1": return .success(.stdout)
        case "stderr", "fd@2": return .success(.stderr)
        default: break
        }
        if text.hasPrefix("/") { return .success(.unixDatagram(path: text)) }
        for prefix in ["unix@", "uxdg@"] where text.hasPrefix(prefix) {
            let path = String(text.dropFirst(prefix.count))
            guard !path.isEmpty else { return .failure(AddressError("missing socket path in '\(text)'")) }
            return .success(.unixDatagram(path: path))
        }
        var rest = text
        var family = AddressFamily.unspecified
        if let at = text.firstIndex(of: "@") {
            let prefix = String(text[...at])
            switch prefix {
            case "udp@", "ip@": family = .unspecified
            case "udp4@", "ipv4@": family = .ipv4
            case "udp6@", "ipv6@": family = .ipv6
            case "fd@", "ring@", "tcp@", "tcp4@", "tcp6@", "uxst@", "abns@", "abnsz@", "sockpair@", "mptcp@":
                return .failure(AddressError("log target '\(text)' is not supported by Baton yet."))
            default:
                return .failure(AddressError("invalid address: '\(text)' in '\(text)'"))
            }
            rest = String(text[text.index(after: at)...])
        }
        let (host, portText) = AddressParsing.splitHostPort(rest)
        let port: Int
        switch AddressParsing.parsePort(portText, in: text, mandatory: false) {
        case .failure(let error): return .failure(error)
        case .success(let value): port = (value ?? 0) == 0 ? 514 : value!
        }
        switch resolveHost(host, family: family, resolver: resolver) {
        case nil: return .failure(AddressError("invalid address: '\(host)' in '\(text)'"))
        case let address?: return .success(.udp(host: address, port: port))
        }
    }

    /// A numeric address for `host` in `family`: literals as they are, the wildcard for an
    /// empty host or `*`, names through the resolver.
    static func resolveHost(_ host: String, family: AddressFamily, resolver: HostResolver) -> String? {
        if host.isEmpty || host == "*" { return family == .ipv6 ? "::" : "0.0.0.0" }
        let address = AddressParsing.literalFamily(host) != nil ? host : resolver.resolve(host)
        guard let address, let actual = AddressParsing.literalFamily(address) else { return nil }
        if family != .unspecified && family != actual { return nil }
        return address
    }
}
