import BatonCore
import BatonRules

/// `acl`, `http-request`, `http-response`, `redirect` and `use_backend`: the rules of a proxy,
/// compiled into `BatonRules` structures as they are read.
enum RuleKeywords {
    static let table: [ProxyKeyword] = [
        ProxyKeyword("acl", [.frontend, .listen, .backend], "NAME CRITERION [flags] [values]: declare an ACL") { draft, ctx in
            parseACL(&draft, &ctx)
        },
        ProxyKeyword("http-request", [.frontend, .listen, .backend],
                     "ACTION [args] [if|unless COND]: act on requests (\(HTTPRuleParser.requestActions.count) actions)") {
            draft, ctx in
            parseHTTPRule(.request, &draft, &ctx)
        },
        ProxyKeyword("http-response", [.frontend, .listen, .backend],
                     "ACTION [args] [if|unless COND]: act on responses") { draft, ctx in
            parseHTTPRule(.response, &draft, &ctx)
        },
        ProxyKeyword("redirect", [.frontend, .listen, .backend],
                     "location|prefix|scheme TARGET [code N] [options] [if|unless COND]") { draft, ctx in
            parseRedirect(&draft, &ctx)
        },
        ProxyKeyword("tcp-request", [.frontend, .listen, .backend],
                     "connection|session|content accept|reject|track-scN|set-var [if|unless COND], inspect-delay T") {
            draft, ctx in
            parseTCPRequest(&draft, &ctx)
        },
        ProxyKeyword("stick-table", [.frontend, .listen, .backend],
                     "type ip|ipv6|integer|string|binary size N [expire T] [store COUNTERS]: per-key counters") {
            draft, ctx in
            parseStickTable(&draft, &ctx)
        },
        ProxyKeyword("capture request", [.frontend, .listen],
                     "header NAME len N: log the header's value (%hr)") { draft, ctx in
            parseCapture(&draft, &ctx, response: false)
        },
        ProxyKeyword("capture response", [.frontend, .listen],
                     "header NAME len N: log the header's value (%hs)") { draft, ctx in
            parseCapture(&draft, &ctx, response: true)
        },
        ProxyKeyword("use-server", [.listen, .backend],
                     "SERVER [if|unless COND]: send matching requests to SERVER when it is usable") { draft, ctx in
            parseUseServer(&draft, &ctx)
        },
        ProxyKeyword("use_backend", [.frontend, .listen],
                     "BACKEND [if|unless COND]: switch to BACKEND (a name or a log-format) when COND") { draft, ctx in
            parseUseBackend(&draft, &ctx)
        },
    ]

    static let environment = SampleExpressionParser.Environment { path in FileReading.contents(of: path) }

    static func environment(for draft: ProxyDraft) -> SampleExpressionParser.Environment {
        SampleExpressionParser.Environment(proxyName: draft.proxy.name) { path in FileReading.contents(of: path) }
    }

    private static func parseACL(_ draft: inout ProxyDraft, _ ctx: inout ParseContext) {
        guard let name = ctx.line.argument(0) else {
            ctx.alert("'acl' expects an ACL name.")
            return
        }
        if let bad = name.first(where: { !($0.isLetter || $0.isNumber || "-_.:".contains($0)) }) {
            ctx.alert("'acl' : invalid character '\(bad)' in ACL name '\(name)'.")
            return
        }
        var warnings: [String] = []
        do {
            let term = try ACLParser.parseTerm(ctx.line.arguments.dropFirst(), environment: environment(for: draft),
                                               warnings: &warnings)
            draft.proxy.acls[name, default: ACL(name: name, terms: [])].terms.append(term)
        } catch {
            ctx.alert("error detected while parsing ACL '\(name)' : \(error)")
        }
        for warning in warnings { ctx.warning(warning) }
    }

    private static func parseHTTPRule(_ direction: HTTPRuleParser.Direction, _ draft: inout ProxyDraft,
                                      _ ctx: inout ParseContext) {
        let words = ctx.line.arguments
        let keyword = direction.rawValue
        guard !words.isEmpty else {
            ctx.alert("'\(keyword)' expects an action.")
            return
        }
        var context = HTTPRuleParser.Context(acls: draft.proxy.acls, environment: environment(for: draft),
                                             hasBackendCapability: draft.kind.capabilities.contains(.backend))
        do {
            let rule = try HTTPRuleParser.parse(direction, words, location: ctx.location, context: &context)
            if direction == .request {
                warnIfPlacedAfter(["redirect", "use_backend"], keyword: "http-request", in: draft, &ctx)
                var rule = rule
                if case .capture(let expression, let length, _) = rule.action {
                    guard draft.kind.capabilities.contains(.frontend) else {
                        ctx.alert("'http-request capture' : proxy does not support captures (no frontend capability).")
                        return
                    }
                    rule.action = .capture(expression, length: length, slot: draft.proxy.requestCaptures.count)
                    draft.proxy.requestCaptures.append(CaptureSlot(header: nil, length: length))
                }
                draft.proxy.httpRequestRules.append(rule)
            } else {
                draft.proxy.httpResponseRules.append(rule)
            }
            warnNeverMatching(rule.condition, direction: direction, name: rule.actionName, in: draft, &ctx)
        } catch {
            report(error, keyword: keyword, in: draft, &ctx)
        }
        for warning in context.warnings { ctx.warning(warning) }
    }

    private static func parseRedirect(_ draft: inout ProxyDraft, _ ctx: inout ParseContext) {
        var context = HTTPRuleParser.Context(acls: draft.proxy.acls, environment: environment(for: draft))
        do {
            let rule = try HTTPRuleParser.parse(.request, ["redirect"] + ctx.line.arguments, location: ctx.location,
                                                context: &context)
            warnIfPlacedAfter(["use_backend"], keyword: "redirect", in: draft, &ctx)
            draft.proxy.redirectRules.append(rule)
        } catch {
            switch error {
            case .action(_, let message):
                ctx.alert("error detected in \(draft.typeAndName) while parsing redirect rule : \(message)")
            case .condition(_, let message):
                ctx.alert("error detected while parsing redirect rule condition : \(message)")
            case .unknownAction, .unsupportedAction:
                ctx.alert("error detected in \(draft.typeAndName) while parsing redirect rule.")
            }
        }
        for warning in context.warnings { ctx.warning(warning) }
    }

    private static func parseTCPRequest(_ draft: inout ProxyDraft, _ ctx: inout ParseContext) {
        guard let layerWord = ctx.line.argument(0) else {
            ctx.alert("'tcp-request' expects 'connection', 'session', 'content' or 'inspect-delay'.")
            return
        }
        if layerWord == "inspect-delay" {
            guard let text = ctx.line.argument(1), let value = TimeValue.parse(text) else {
                ctx.alert("'tcp-request inspect-delay' expects a positive delay in milliseconds, in \(draft.typeAndName)")
                return
            }
            if ctx.tooManyArguments(max: 2) { return }
            draft.proxy.inspectDelay = value
            return
        }
        guard let layer = TCPRule.Layer(rawValue: layerWord) else {
            ctx.alert("'tcp-request' expects 'inspect-delay', 'connection', 'session' or 'content' in \(draft.typeAndName) (got '\(layerWord)').")
            return
        }
        if layer != .content && !draft.kind.capabilities.contains(.frontend) {
            ctx.alert("\(draft.typeAndName) : 'tcp-request \(layer.rawValue)' is only allowed in 'frontend', 'listen' or 'defaults' sections.")
            return
        }
        var warnings: [String] = []
        do {
            let rule = try TCPRuleParser.parse(layer, ctx.line.arguments.dropFirst(), location: ctx.location,
                                               acls: draft.proxy.acls, environment: environment(for: draft),
                                               warnings: &warnings)
            if layer == .content {
                draft.proxy.tcpRequestContentRules.append(rule)
            } else {
                draft.proxy.tcpRequestConnectionRules.append(rule)
            }
        } catch {
            ctx.alert("\(error)")
        }
        for warning in warnings { ctx.warning(warning) }
    }

    private static func parseStickTable(_ draft: inout ProxyDraft, _ ctx: inout ParseContext) {
        if draft.proxy.stickTable != nil {
            ctx.alert("\(draft.typeAndName) : only one stick-table per proxy is allowed.")
            return
        }
        let words = Array(ctx.line.arguments)
        var keyType: StickTableDefinition.KeyType?
        var length = 32
        var size: Int?
        var expire: Duration?
        var stored: [StickTableDefinition.Datum] = []
        var index = 0
        func value() -> String? {
            index += 1
            return index < words.count ? words[index] : nil
        }
        while index < words.count {
            let word = words[index]
            switch word {
            case "type":
                guard let text = value(), let type = StickTableDefinition.KeyType(rawValue: text) else {
                    ctx.alert("stick-table: unknown type '\(index < words.count ? words[index] : "")' in \(draft.typeAndName).")
                    return
                }
                keyType = type
            case "len":
                guard let text = value(), let number = Parse.integer(text), number > 0 else {
                    ctx.alert("stick-table: 'len' expects a positive integer in \(draft.typeAndName).")
                    return
                }
                length = number
            case "size":
                guard let text = value(), let number = parseSize(text) else {
                    ctx.alert("stick-table: 'size' expects a positive integer (with an optional k, m or g) in \(draft.typeAndName).")
                    return
                }
                size = number
            case "expire":
                guard let text = value(), let duration = TimeValue.parse(text) else {
                    ctx.alert("stick-table: 'expire' expects a delay in \(draft.typeAndName).")
                    return
                }
                expire = duration
            case "nopurge":
                break
            case "store":
                guard let text = value() else {
                    ctx.alert("stick-table: 'store' expects data types in \(draft.typeAndName).")
                    return
                }
                for item in text.split(separator: ",") {
                    guard let datum = parseDatum(String(item)) else {
                        ctx.alert("stick-table: unknown data type '\(item)' in \(draft.typeAndName).")
                        return
                    }
                    stored.append(datum)
                }
            case "peers", "srvkey", "write-to", "recv-only":
                ctx.alert(ParseContext.notSupported("stick-table \(word)"))
                return
            default:
                ctx.alert("stick-table: unknown argument '\(word)' in \(draft.typeAndName).")
                return
            }
            index += 1
        }
        guard let keyType else {
            ctx.alert("stick-table: missing type in \(draft.typeAndName).")
            return
        }
        guard let size, size > 0 else {
            ctx.alert("stick-table: missing size in \(draft.typeAndName).")
            return
        }
        draft.proxy.stickTable = StickTableDefinition(name: draft.proxy.name, keyType: keyType, keyLength: length,
                                                       size: size, expire: expire, stored: stored)
    }

    private static func parseSize(_ text: String) -> Int? {
        var digits = text
        var multiplier = 1
        switch text.last {
        case "k", "K": multiplier = 1000
        case "m", "M": multiplier = 1_000_000
        case "g", "G": multiplier = 1_000_000_000
        default: break
        }
        if multiplier > 1 { digits.removeLast() }
        return Parse.integer(digits).map { $0 * multiplier }
    }

    private static func parseDatum(_ text: String) -> StickTableDefinition.Datum? {
        var name = text
        var period: Int64 = 0
        if let open = text.firstIndex(of: "("), text.hasSuffix(")") {
            name = String(text[..<open])
            let inner = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
            guard let duration = TimeValue.parse(inner), duration > .zero else { return nil }
            period = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        }
        let needsPeriod = name.hasSuffix("_rate")
        if needsPeriod != (period > 0) { return nil }
        switch name {
        case "conn_cur": return .connCurrent
        case "conn_cnt": return .connCount
        case "conn_rate": return .connRate(period)
        case "sess_cnt": return .sessCount
        case "sess_rate": return .sessRate(period)
        case "http_req_cnt": return .httpRequestCount
        case "http_req_rate": return .httpRequestRate(period)
        case "http_err_cnt": return .httpErrorCount
        case "http_err_rate": return .httpErrorRate(period)
        case "gpc0": return .gpc0
        case "gpc0_rate": return .gpc0Rate(period)
        case "gpc1": return .gpc1
        case "gpc1_rate": return .gpc1Rate(period)
        case "bytes_in_cnt": return .bytesInCount
        case "bytes_out_cnt": return .bytesOutCount
        default: return nil
        }
    }

    private static func parseCapture(_ draft: inout ProxyDraft, _ ctx: inout ParseContext, response: Bool) {
        let side = response ? "response" : "request"
        guard ctx.line.argument(0) == "header", let name = ctx.line.argument(1), ctx.line.argument(2) == "len",
              let lengthText = ctx.line.argument(3) else {
            ctx.alert("'capture \(side) header' expects 'header' <header_name> 'len' <len>.")
            return
        }
        if ctx.tooManyArguments(max: 4) { return }
        guard let length = Parse.integer(lengthText), length > 0 else {
            ctx.alert("'capture \(side) header' : invalid length '\(lengthText)'.")
            return
        }
        let slot = CaptureSlot(header: name, length: length)
        if response {
            draft.proxy.responseCaptures.append(slot)
        } else {
            draft.proxy.requestCaptures.append(slot)
        }
    }

    /// The `[if|unless COND]` after a switching rule's target (`use_backend`, `use-server`):
    /// `.some(nil)` without a condition, nil after an alert.
    private static func trailingCondition(_ keyword: String, _ draft: ProxyDraft,
                                          _ ctx: inout ParseContext) -> Condition?? {
        guard let word = ctx.line.argument(1) else { return .some(nil) }
        guard word == "if" || word == "unless" else {
            ctx.alert("'\(keyword)' requires either 'if' or 'unless' followed by a condition but found '\(word)'.")
            return nil
        }
        var warnings: [String] = []
        defer { for warning in warnings { ctx.warning(warning) } }
        do {
            return .some(try ACLParser.parseCondition(unless: word == "unless", ctx.line.arguments.dropFirst(2),
                                                      known: draft.proxy.acls, environment: environment(for: draft),
                                                      warnings: &warnings))
        } catch {
            ctx.alert("error detected while parsing switching rule : \(error).")
            return nil
        }
    }

    private static func parseUseServer(_ draft: inout ProxyDraft, _ ctx: inout ParseContext) {
        guard let name = ctx.line.argument(0) else {
            ctx.alert("'use-server' expects a server name.")
            return
        }
        guard let condition = trailingCondition("use-server", draft, &ctx) else { return }
        draft.proxy.serverRules.append(ServerRule(server: name, condition: condition, location: ctx.location))
    }

    private static func parseUseBackend(_ draft: inout ProxyDraft, _ ctx: inout ParseContext) {
        guard let name = ctx.line.argument(0) else {
            ctx.alert("'use_backend' expects a backend name.")
            return
        }
        guard let condition = trailingCondition("use_backend", draft, &ctx) else { return }
        let target: BackendSwitchingRule.Target
        if name.contains("%") {
            do {
                target = .dynamic(try LogFormat.parse(name, environment: environment(for: draft)))
            } catch {
                ctx.alert("failed to parse log-format string <\(name)> : \(error)")
                return
            }
        } else {
            target = .named(name)
        }
        draft.proxy.backendSwitchingRules.append(
            BackendSwitchingRule(target: target, condition: condition, location: ctx.location))
    }

    private static func report(_ failure: HTTPRuleParser.Failure, keyword: String, in draft: ProxyDraft,
                               _ ctx: inout ParseContext) {
        switch failure {
        case .action(let name, let message):
            ctx.alert("error detected in \(draft.typeAndName) while parsing '\(name)' rule : \(message)")
        case .condition(let name, let message):
            ctx.alert("error detected while parsing an '\(name)' condition : \(message).")
        case .unsupportedAction(let name):
            ctx.alert(ParseContext.notSupported("\(keyword) \(name)"))
        case .unknownAction(let name):
            let known = keyword == "http-request" ? HTTPRuleParser.requestActions : HTTPRuleParser.responseActions
            let hint = Parse.suggestion(for: name, among: HTTPRuleParser.haproxyActions)
            ctx.alert("'\(keyword)' expects \(known.map { "'\($0)'" }.joined(separator: ", ")), but got '\(name)'\(hint).")
        }
    }

    /// HAProxy's `warnif_misplaced_*`: rules run in a fixed order whatever the order of the
    /// lines, so a rule written after one that runs later is worth a warning.
    private static func warnIfPlacedAfter(_ later: [String], keyword: String, in draft: ProxyDraft,
                                          _ ctx: inout ParseContext) {
        for name in later {
            let present = name == "redirect" ? !draft.proxy.redirectRules.isEmpty : !draft.proxy.backendSwitchingRules.isEmpty
            if present {
                ctx.warning("a '\(keyword)' rule placed after a '\(name)' rule will still be processed before.")
                return
            }
        }
    }

    /// HAProxy's warning for a condition whose ACLs all need the response in a request rule.
    private static func warnNeverMatching(_ condition: Condition?, direction: HTTPRuleParser.Direction, name: String,
                                          in draft: ProxyDraft, _ ctx: inout ParseContext) {
        guard direction == .request, let condition, let acl = condition.aclOnlyUsingResponse else { return }
        let side = draft.kind == .backend ? "backend" : "frontend"
        ctx.warning("acl '\(acl)' will never match because it only involves keywords that are incompatible with "
                    + "'\(side) http-request header rule'")
    }
}

/// A capture slot: a header captured as the message arrives, or a slot `http-request
/// capture` fills.
public struct CaptureSlot: Sendable, Hashable {
    public var header: String?
    public var length: Int

    public init(header: String?, length: Int) {
        self.header = header
        self.length = length
    }
}

/// A `use-server` line.
public struct ServerRule: Sendable, Hashable {
    public var server: String
    public var condition: Condition?
    public var location: SourceLocation
}

/// A `use_backend` line.
public struct BackendSwitchingRule: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        case named(String)
        /// A log-format evaluated per request (`use_backend be_%[req.hdr(host)]`).
        case dynamic(LogFormat)
    }

    public var target: Target
    public var condition: Condition?
    public var location: SourceLocation
}
