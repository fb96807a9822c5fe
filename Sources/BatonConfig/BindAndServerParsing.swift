import BatonCore

/// `bind` and `server` lines (configuration.txt sections 4.2, 5.1 and 5.2).
enum BindAndServerParsing {
    static let table: [ProxyKeyword] = [
        ProxyKeyword("bind", [.frontend, .listen], "ADDRESS[,ADDRESS...]: ip:port, *:port, :port, [ipv6]:port, "
                     + "ipv4@/ipv6@ prefixes, unix@PATH or /PATH, fd@N (no options yet)") { draft, ctx in
            parseBind(&draft, &ctx)
        },
        ProxyKeyword("server", [.listen, .backend], misplacedIsError: true,
                     "NAME HOST:PORT [weight N] [maxconn N] [backup] [disabled] [cookie V] [send-proxy[-v2]]") {
            draft, ctx in
            parseServer(&draft, &ctx)
        },
        ProxyKeyword("default-server", .backendSide, misplacedIsError: true,
                     "settings for the server lines that follow: weight, maxconn, backup, disabled, cookie, "
                     + "send-proxy[-v2] (and their no- forms)") { draft, ctx in
            var defaults = draft.serverDefaults
            let args = Array(ctx.line.arguments)
            if applyServerOptions(args, to: &defaults, named: "default-server", prefix: "'default-server'", &ctx) {
                draft.serverDefaults = defaults
            }
        },
    ]

    static let bindOptions: Set<String> = [
        "accept-netscaler-cip", "accept-proxy", "allow-0rtt", "alpn", "backlog", "ca-file", "ca-ignore-err",
        "ca-sign-file", "ca-sign-pass", "ca-verify-file", "ciphers", "ciphersuites", "client-sigalgs", "crl-file",
        "crt", "crt-ignore-err", "crt-list", "curves", "defer-accept", "expose-fd", "force-sslv3", "force-tlsv10",
        "force-tlsv11", "force-tlsv12", "force-tlsv13", "generate-certificates", "gid", "group", "guid-prefix", "id",
        "idle-ping", "interface", "label", "level", "maxconn", "mode", "mss", "name", "namespace", "nbconn", "nice",
        "no-alpn", "no-ca-names", "no-sslv3", "no-tls-tickets", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13",
        "npn", "prefer-client-ciphers", "process", "proto", "quic-cc-algo", "quic-force-retry", "quic-socket", "severity-output",
        "shards", "sigalgs", "ssl", "ssl-max-ver", "ssl-min-ver", "strict-sni", "tcp-md5sig", "tcp-ut", "tfo",
        "thread", "tls-ticket-keys", "transparent", "uid", "user", "v4v6", "v6only", "verify",
    ]

    static let serverOptions: Set<String> = [
        "addr", "agent-addr", "agent-check", "agent-inter", "agent-port", "agent-send", "allow-0rtt", "alpn",
        "ca-file", "check", "check-alpn", "check-proto", "check-send-proxy", "check-sni", "check-ssl",
        "check-via-socks4", "ciphers", "ciphersuites", "client-sigalgs", "cookie", "crl-file", "crt", "curves",
        "downinter", "error-limit", "fall", "fastinter", "force-sslv3", "force-tlsv10", "force-tlsv11",
        "force-tlsv12", "force-tlsv13", "hash-key", "id", "init-addr", "init-state", "inter", "log-bufsize",
        "log-proto", "max-reuse", "maxqueue", "minconn", "namespace", "no-agent-check", "no-backup", "no-check",
        "no-check-ssl", "no-send-proxy", "no-send-proxy-v2", "no-ssl", "no-ssl-reuse", "no-sslv3", "no-tls-tickets",
        "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13", "no-verifyhost", "npn", "observe", "on-error",
        "on-marked-down", "on-marked-up", "pool-conn-name", "pool-low-conn", "pool-max-conn", "pool-purge-delay",
        "port", "proto", "redir", "resolve-net", "resolve-opts", "resolve-prefer", "resolvers", "rise", "send-proxy",
        "send-proxy-v2", "send-proxy-v2-ssl", "send-proxy-v2-ssl-cn", "set-proxy-v2-tlv-fmt", "shard", "sigalgs",
        "slowstart", "sni", "socks4", "source", "ssl", "ssl-max-ver", "ssl-min-ver", "ssl-reuse", "stick",
        "strict-maxconn", "tcp-ut", "tfo", "track", "verify", "verifyhost", "ws",
    ]

    static let supportedServerOptions = ["weight", "maxconn", "backup", "no-backup", "disabled", "enabled", "cookie",
                                         "send-proxy", "send-proxy-v2", "no-send-proxy", "no-send-proxy-v2"]

    /// Address prefixes HAProxy knows and Baton cannot listen or connect with yet.
    static let unsupportedPrefixes = ["udp@", "udp4@", "udp6@", "quic4@", "quic6@", "abns@", "abnsz@", "sockpair@",
                                      "uxst@", "uxdg@", "rhttp@", "mptcp@", "mptcp4@", "mptcp6@"]

    // MARK: bind

    private static func parseBind(_ draft: inout ProxyDraft, _ ctx: inout ParseContext) {
        guard let spec = ctx.line.argument(0), !spec.isEmpty else {
            ctx.alert("'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.")
            return
        }
        var binds: [Bind] = []
        for piece in spec.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            switch bindAddress(piece, resolver: ctx.resolver) {
            case .failure(let error):
                ctx.alert("'bind' : \(error.message)")
                return
            case .success(let address):
                binds.append(Bind(address: address, text: piece, location: ctx.location))
            }
        }
        var settings = binds[0]
        guard applyBindOptions(Array(ctx.line.arguments.dropFirst()), to: &settings, spec: spec,
                               section: draft.kind, &ctx) else { return }
        for var bind in binds {
            bind.name = settings.name
            bind.backlog = settings.backlog
            bind.maxConnections = settings.maxConnections
            bind.ipv6Only = settings.ipv6Only
            bind.socketMode = settings.socketMode
            bind.socketUser = settings.socketUser
            bind.socketGroup = settings.socketGroup
            bind.acceptProxy = settings.acceptProxy
            draft.proxy.binds.append(bind)
        }
    }

    static let supportedBindOptions = ["name", "backlog", "maxconn", "v6only", "v4v6", "mode", "user", "uid", "group",
                                       "gid", "accept-proxy"]

    /// The settings after a `bind` address, with HAProxy's messages. Returns false (having
    /// reported it) at the first bad or unsupported one.
    static func applyBindOptions(_ args: [String], to bind: inout Bind, spec: String, section: SectionKind,
                                 _ ctx: inout ParseContext) -> Bool {
        let prefix = "'bind \(spec)' in section '\(section.rawValue)' :"
        var index = 0
        while index < args.count {
            let option = args[index]
            let value = index + 1 < args.count ? args[index + 1] : nil
            switch option {
            case "name":
                guard let value, !value.isEmpty else {
                    ctx.alert("\(prefix) 'name' : missing name")
                    return false
                }
                bind.name = value
                index += 2
            case "backlog", "maxconn":
                guard let value, !value.isEmpty else {
                    ctx.alert("\(prefix) '\(option)' : missing value")
                    return false
                }
                guard let number = Parse.integer(value) else {
                    ctx.alert("\(prefix) '\(option)' : invalid value '\(value)' (integer expected)")
                    return false
                }
                // As HAProxy: 0 means "not set" (the frontend's maxconn, the default backlog).
                if option == "backlog" {
                    bind.backlog = number == 0 ? nil : number
                } else {
                    bind.maxConnections = number == 0 ? nil : number
                }
                index += 2
            case "v6only", "v4v6":
                bind.ipv6Only = option == "v6only"
                index += 1
            case "accept-proxy":
                bind.acceptProxy = true
                index += 1
            case "mode":
                guard let value, !value.isEmpty, value.allSatisfy({ ("0"..."7").contains($0) }),
                      let mode = UInt32(value, radix: 8) else {
                    ctx.alert("\(prefix) 'mode' : missing or invalid mode '\(value ?? "")' (octal integer expected)")
                    return false
                }
                bind.socketMode = mode
                index += 2
            case "user", "uid", "group", "gid":
                let isUser = option == "user" || option == "uid"
                guard let value, !value.isEmpty else {
                    ctx.alert("\(prefix) '\(option)' : missing \(option.hasSuffix("id") ? "ID" : "name")")
                    return false
                }
                if option == "user" || option == "group" {
                    let known = isUser ? SystemAccounts.userExists(value) : SystemAccounts.groupExists(value)
                    guard known else {
                        ctx.alert("\(prefix) '\(option)' : unknown \(isUser ? "user" : "group") name '\(value)'")
                        return false
                    }
                } else if Parse.integer(value) == nil {
                    ctx.alert("\(prefix) '\(option)' : invalid value '\(value)' (integer expected)")
                    return false
                }
                if isUser { bind.socketUser = value } else { bind.socketGroup = value }
                index += 2
            default:
                if bindOptions.contains(option) {
                    ctx.alert("'bind' option '\(option)' is not supported by Baton yet.")
                } else {
                    let hint = Parse.suggestion(for: option, among: bindOptions)
                    ctx.alert("'bind \(spec)' in section '\(section.rawValue)': unknown keyword '\(option)'\(hint.isEmpty ? "." : hint)")
                }
                return false
            }
        }
        return true
    }

    static func bindAddress(_ text: String, resolver: HostResolver) -> Result<Bind.Address, AddressError> {
        if text.hasPrefix("/") { return .success(.unix(path: text)) }
        if text.hasPrefix("unix@") {
            let path = String(text.dropFirst(5))
            return path.isEmpty ? .failure(AddressError("missing socket path in '\(text)'")) : .success(.unix(path: path))
        }
        if text.hasPrefix("fd@") {
            let number = String(text.dropFirst(3))
            guard let fd = Parse.integer(number).flatMap({ Int32(exactly: $0) }) else {
                return .failure(AddressError("file descriptor '\(number)' is not a valid integer in '\(text)'"))
            }
            return .success(.inheritedDescriptor(fd))
        }
        guard case .success(let (family, rest)) = inetPrefix(text) else {
            return .failure(AddressError("address '\(text)' is not supported by Baton yet."))
        }
        let (host, port) = AddressParsing.splitHostPort(rest)
        if let port, port.first?.isNumber == true, port.contains("-") {
            return .failure(AddressError("port range '\(port)' in '\(text)' is not supported by Baton yet."))
        }
        let number: Int
        switch AddressParsing.parsePort(port, in: text, mandatory: true) {
        case .failure(let error): return .failure(error)
        case .success(let value): number = value ?? 0
        }
        switch host {
        case "", "*":
            return .success(.inet(host: nil, port: number, family: family))
        case "::" where family != .ipv4:
            return .success(.inet(host: nil, port: number, family: .ipv6))
        case "0.0.0.0" where family != .ipv6:
            return .success(.inet(host: nil, port: number, family: .ipv4))
        default:
            guard let address = LogKeywords.resolveHost(host, family: family, resolver: resolver),
                  let actual = AddressParsing.literalFamily(address) else {
                return .failure(AddressError("invalid address: '\(host)' in '\(text)'"))
            }
            return .success(.inet(host: address, port: number, family: actual))
        }
    }

    /// Strips a stream-address prefix: the family it imposes and the rest. Fails for the
    /// prefixes Baton cannot use yet; an unknown prefix is left in the address.
    static func inetPrefix(_ text: String) -> Result<(AddressFamily, String), AddressError> {
        for prefix in unsupportedPrefixes where text.hasPrefix(prefix) {
            return .failure(AddressError(prefix))
        }
        let prefixes: [(String, AddressFamily)] = [
            ("ipv4@", .ipv4), ("ipv6@", .ipv6), ("tcp4@", .ipv4), ("tcp6@", .ipv6), ("tcp@", .unspecified),
            ("ip@", .unspecified),
        ]
        for (prefix, family) in prefixes where text.hasPrefix(prefix) {
            return .success((family, String(text.dropFirst(prefix.count))))
        }
        return .success((.unspecified, text))
    }

    // MARK: server

    private static func parseServer(_ draft: inout ProxyDraft, _ ctx: inout ParseContext) {
        guard let name = ctx.line.argument(0), let addressText = ctx.line.argument(1) else {
            ctx.alert("'server' expects <name> and <addr>[:<port>] as arguments.")
            return
        }
        let prefix = "'server \(draft.proxy.name)/\(name)'"
        if let other = draft.proxy.servers.first(where: { $0.name == name }) {
            ctx.alert("another server named '\(name)' was already defined at line \(other.location.line), "
                      + "please use a distinct name.")
            return
        }
        let unsupportedAddress = addressText.hasPrefix("/") || addressText.hasPrefix("unix@")
            || addressText.hasPrefix("fd@")
        guard !unsupportedAddress, case .success(let (family, rest)) = inetPrefix(addressText) else {
            ctx.alert("\(prefix) : address '\(addressText)' is not supported by Baton yet.")
            return
        }
        let (host, portText) = AddressParsing.splitHostPort(rest)
        if let portText, let first = portText.first, first == "+" || first == "-" || portText.contains("-") {
            ctx.alert("\(prefix) : port '\(portText)' in '\(addressText)' is not supported by Baton yet.")
            return
        }
        let port: Int
        // Without a port (or with port 0) the server is reached on the port the client
        // connected to, as in HAProxy.
        switch AddressParsing.parsePort(portText, in: addressText, mandatory: false) {
        case .failure(let error):
            ctx.alert("\(prefix) : \(error.message)")
            return
        case .success(let value):
            port = value ?? 0
        }
        guard !host.isEmpty, host != "*" else {
            ctx.alert("\(prefix) : invalid address: '\(host)' in '\(addressText)'")
            return
        }
        guard let resolved = LogKeywords.resolveHost(host, family: family, resolver: ctx.resolver) else {
            ctx.alert("\(prefix) : could not resolve address '\(host)'.")
            return
        }
        // `default-server` settings first, then the line's own.
        var server = draft.serverDefaults
        server.name = name
        server.host = host
        server.resolvedAddress = resolved
        server.port = port
        server.location = ctx.location
        let args = Array(ctx.line.arguments.dropFirst(2))
        guard applyServerOptions(args, to: &server, named: name, prefix: prefix, &ctx) else { return }
        draft.proxy.servers.append(server)
    }

    /// The settings after a `server` address, or after `default-server`. Returns false (having
    /// reported it) at the first bad or unsupported one.
    static func applyServerOptions(_ args: [String], to server: inout Server, named name: String, prefix: String,
                                   _ ctx: inout ParseContext) -> Bool {
        var index = 0
        while index < args.count {
            let option = args[index]
            switch option {
            case "weight", "maxconn":
                guard index + 1 < args.count, let value = Parse.integer(args[index + 1]) else {
                    ctx.alert("\(prefix) : '\(option)' expects an integer argument.")
                    return false
                }
                if option == "weight" {
                    guard value <= 256 else {
                        ctx.alert("\(prefix) : weight of server \(name) is not within 0 and 256 (\(value)).")
                        return false
                    }
                    server.weight = value
                } else {
                    server.maxConnections = value
                }
                index += 2
            case "cookie":
                guard index + 1 < args.count, !args[index + 1].isEmpty else {
                    ctx.alert("\(prefix) : 'cookie' expects <value> as argument.")
                    return false
                }
                server.cookie = args[index + 1]
                index += 2
            case "backup", "no-backup":
                server.backup = option == "backup"
                index += 1
            case "disabled", "enabled":
                server.disabled = option == "disabled"
                index += 1
            case "send-proxy": server.sendProxyV1 = true; index += 1
            case "send-proxy-v2": server.sendProxyV2 = true; index += 1
            case "no-send-proxy": server.sendProxyV1 = false; index += 1
            case "no-send-proxy-v2": server.sendProxyV2 = false; index += 1
            default:
                if serverOptions.contains(option) {
                    ctx.alert("\(prefix) option '\(option)' is not supported by Baton yet.")
                } else {
                    let hint = Parse.suggestion(for: option, among: serverOptions.union(supportedServerOptions))
                    ctx.alert("\(prefix) : unknown keyword '\(option)'\(hint.isEmpty ? "." : hint)")
                }
                return false
            }
        }
        return true
    }
}
