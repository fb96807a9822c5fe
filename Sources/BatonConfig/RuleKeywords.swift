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
        ProxyKeyword("use_backend", [.frontend, .listen],
                     "BACKEND [if|unless COND]: switch to BACKEND (a name or a log-format) when COND") { draft, ctx in
            parseUseBackend(&draft, &ctx)
        },
    ]

    static let environment = SampleExpressionParser.Environment { path in FileReading.contents(of: path) }

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
            let term = try ACLParser.parseTerm(ctx.line.arguments.dropFirst(), environment: environment,
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
        var context = HTTPRuleParser.Context(acls: draft.proxy.acls, environment: environment)
        do {
            let rule = try HTTPRuleParser.parse(direction, words, location: ctx.location, context: &context)
            if direction == .request {
                warnIfPlacedAfter(["redirect", "use_backend"], keyword: "http-request", in: draft, &ctx)
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
        var context = HTTPRuleParser.Context(acls: draft.proxy.acls, environment: environment)
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

    private static func parseUseBackend(_ draft: inout ProxyDraft, _ ctx: inout ParseContext) {
        guard let name = ctx.line.argument(0) else {
            ctx.alert("'use_backend' expects a backend name.")
            return
        }
        var condition: Condition?
        if let word = ctx.line.argument(1) {
            guard word == "if" || word == "unless" else {
                ctx.alert("'use_backend' requires either 'if' or 'unless' followed by a condition, got '\(word)'.")
                return
            }
            var warnings: [String] = []
            do {
                condition = try ACLParser.parseCondition(unless: word == "unless", ctx.line.arguments.dropFirst(2),
                                                         known: draft.proxy.acls, environment: environment,
                                                         warnings: &warnings)
            } catch {
                ctx.alert("error detected while parsing switching rule : \(error).")
                return
            }
            for warning in warnings { ctx.warning(warning) }
        }
        let target: BackendSwitchingRule.Target
        if name.contains("%") {
            do {
                target = .dynamic(try LogFormat.parse(name, environment: environment))
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
