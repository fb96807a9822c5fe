import BatonCore
import BatonRules

/// The checks HAProxy makes once every file is parsed (proxy.c, cfgparse.c), with its wording.
/// Each diagnostic carries the location of the line at fault (the proxy's header when no single
/// line is).
enum Validation {
    static func finish(global: GlobalSettings, proxies drafts: [ProxyDraft],
                       userlists: [String: Userlist] = [:]) -> (Configuration, [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        var proxies: [Proxy] = []
        for var draft in drafts {
            resolveLogs(&draft, global: global)
            resolveConditions(&draft.proxy)
            checkLogFormat(&draft, into: &diagnostics)
            checkLogAddress(draft, into: &diagnostics)
            dropHTTPSettingsInTCPMode(&draft.proxy, into: &diagnostics)
            proxies.append(draft.proxy)
        }
        for proxy in proxies {
            checkBinds(proxy, into: &diagnostics)
            checkDefaultBackend(proxy, among: proxies, into: &diagnostics)
            checkSwitchingRules(proxy, among: proxies, into: &diagnostics)
            checkStickTables(proxy, among: proxies, into: &diagnostics)
            checkUserlists(proxy, userlists: userlists, into: &diagnostics)
            for rule in proxy.serverRules where !proxy.servers.contains(where: { $0.name == rule.server }) {
                diagnostics.append(.alert("config : \(typeName(proxy)) '\(proxy.name)' : unable to find server '\(rule.server)' "
                                          + "referenced in a 'use-server' rule.", at: rule.location))
            }
            checkTimeouts(proxy, into: &diagnostics)
        }
        return (Configuration(global: global, proxies: proxies, userlists: userlists), diagnostics)
    }

    /// HAProxy's proxy_type_str().
    static func typeName(_ proxy: Proxy) -> String {
        if proxy.capabilities == .listen { return "listen" }
        return proxy.capabilities.contains(.frontend) ? "frontend" : "backend"
    }

    /// `log global` takes the global section's targets, wherever that section is.
    private static func resolveLogs(_ draft: inout ProxyDraft, global: GlobalSettings) {
        var targets: [LogTarget] = []
        for line in draft.logLines {
            switch line {
            case .global: targets.append(contentsOf: global.logTargets.filter { !targets.contains($0) })
            case .target(let target): targets.append(target)
            }
        }
        draft.proxy.logTargets = targets
    }

    private static func checkLogFormat(_ draft: inout ProxyDraft, into diagnostics: inout [Diagnostic]) {
        guard draft.proxy.mode == .tcp, let format = draft.proxy.logFormat, format != .tcplog else { return }
        if case .custom = format { return }
        let option = format == .httplog ? "httplog" : "httpslog"
        diagnostics.append(.warning(
            "'option \(option)' not usable with \(typeName(draft.proxy)) '\(draft.proxy.name)' (needs 'mode http'). "
                + "Falling back to 'option tcplog'.", at: draft.logFormatLocation ?? draft.proxy.location))
        draft.proxy.logFormat = .tcplog
    }

    /// A log format with nowhere to send lines: HAProxy's check_config_validity() warns, without
    /// a location.
    private static func checkLogAddress(_ draft: ProxyDraft, into diagnostics: inout [Diagnostic]) {
        guard draft.proxy.logFormat != nil, draft.proxy.logTargets.isEmpty,
              draft.proxy.capabilities.contains(.frontend) else { return }
        diagnostics.append(.warning("log format ignored for \(typeName(draft.proxy)) '\(draft.proxy.name)' "
                                    + "since it has no log address."))
    }

    /// HTTP-only settings of a TCP proxy (often inherited from `defaults`) are ignored with a
    /// warning, as HAProxy does.
    private static func dropHTTPSettingsInTCPMode(_ proxy: inout Proxy, into diagnostics: inout [Diagnostic]) {
        guard proxy.mode == .tcp else { return }
        let name = "\(typeName(proxy)) '\(proxy.name)'"
        if proxy.monitorURI != nil {
            diagnostics.append(.warning("'monitor-uri' statement ignored for \(name) as it requires HTTP mode.",
                                        at: proxy.location))
            proxy.monitorURI = nil
        }
        if !proxy.httpRequestRules.isEmpty {
            diagnostics.append(.warning("'http-request' rules ignored for \(name) as they require HTTP mode.",
                                        at: proxy.location))
            proxy.httpRequestRules = []
        }
        if !proxy.httpResponseRules.isEmpty {
            diagnostics.append(.warning("'http-response' rules ignored for \(name) as they require HTTP mode.",
                                        at: proxy.location))
            proxy.httpResponseRules = []
        }
        if !proxy.redirectRules.isEmpty {
            diagnostics.append(.warning("'redirect' rules ignored for \(name) as they require HTTP mode.",
                                        at: proxy.location))
            proxy.redirectRules = []
        }
        if proxy.forwardFor != nil {
            diagnostics.append(.warning("'option forwardfor' ignored for \(name) as it requires HTTP mode.",
                                        at: proxy.location))
            proxy.forwardFor = nil
        }
        if proxy.originalTo != nil {
            diagnostics.append(.warning("'option originalto' ignored for \(name) as it requires HTTP mode.",
                                        at: proxy.location))
            proxy.originalTo = nil
        }
        if proxy.httpBufferRequest {
            diagnostics.append(.warning("'option http-buffer-request' ignored for \(name) as it requires HTTP mode.",
                                        at: proxy.location))
            proxy.httpBufferRequest = false
        }
        if proxy.cookie != nil, proxy.capabilities.contains(.backend) {
            diagnostics.append(.warning("cookie will be ignored for \(name) (needs 'mode http').", at: proxy.location))
            proxy.cookie = nil
        }
        for index in proxy.servers.indices where proxy.servers[index].cookie != nil {
            diagnostics.append(.warning("\(name) : ignoring cookie for server '\(proxy.servers[index].name)' as "
                                        + "HTTP mode is disabled.", at: proxy.servers[index].location))
            proxy.servers[index].cookie = nil
        }
    }

    private static func checkBinds(_ proxy: Proxy, into diagnostics: inout [Diagnostic]) {
        guard proxy.capabilities.contains(.frontend), proxy.binds.isEmpty else { return }
        diagnostics.append(.warning("\(typeName(proxy)) '\(proxy.name)' has no 'bind' directive. "
                                    + "Please declare it as a backend if this was intended.", at: proxy.location))
    }

    private static func checkDefaultBackend(_ proxy: Proxy, among proxies: [Proxy],
                                            into diagnostics: inout [Diagnostic]) {
        guard proxy.capabilities.contains(.frontend), let name = proxy.defaultBackend else { return }
        let location = proxy.defaultBackendLocation ?? proxy.location
        guard let target = proxies.first(where: { $0.name == name && $0.capabilities.contains(.backend) }) else {
            diagnostics.append(.alert("Proxy '\(proxy.name)': unable to find required default_backend: '\(name)'.",
                                      at: location))
            return
        }
        // Names are unique per capability: a frontend-capable target of the same name is the
        // proxy itself (a listen naming itself); a mere backend of the same name is another proxy.
        if target.name == proxy.name && target.capabilities.contains(.frontend) {
            diagnostics.append(.alert("Proxy '\(proxy.name)': loop detected for default_backend: '\(name)'.",
                                      at: location))
        } else if target.mode != proxy.mode && !(proxy.mode == .tcp && target.mode == .http) {
            diagnostics.append(.alert(
                "\(proxy.mode.rawValue) \(typeName(proxy)) '\(proxy.name)' (\(proxy.location)) tries to use "
                    + "incompatible \(target.mode.rawValue) \(typeName(target)) '\(target.name)' (\(target.location)) "
                    + "as its default backend (see 'mode').", at: location))
        } else if !proxy.servers.isEmpty {
            diagnostics.append(.warning("In proxy '\(proxy.name)', the 'default_backend' rule always has precedence "
                                        + "over the servers, which will never be used.", at: location))
        }
    }

    /// Conditions name ACLs as declared when the rule was read; later `acl` lines with the
    /// same name still count, as in HAProxy, so references are bound once the section is whole.
    private static func resolveConditions(_ proxy: inout Proxy) {
        let acls = proxy.acls
        for i in proxy.httpRequestRules.indices { proxy.httpRequestRules[i].condition?.resolve(acls) }
        for i in proxy.httpResponseRules.indices { proxy.httpResponseRules[i].condition?.resolve(acls) }
        for i in proxy.redirectRules.indices { proxy.redirectRules[i].condition?.resolve(acls) }
        for i in proxy.backendSwitchingRules.indices { proxy.backendSwitchingRules[i].condition?.resolve(acls) }
        for i in proxy.tcpRequestConnectionRules.indices { proxy.tcpRequestConnectionRules[i].condition?.resolve(acls) }
        for i in proxy.tcpRequestContentRules.indices { proxy.tcpRequestContentRules[i].condition?.resolve(acls) }
        for i in proxy.serverRules.indices { proxy.serverRules[i].condition?.resolve(acls) }
    }

    /// `http_auth(L)` must name a `userlist` section.
    private static func checkUserlists(_ proxy: Proxy, userlists: [String: Userlist],
                                       into diagnostics: inout [Diagnostic]) {
        let rules = proxy.httpRequestRules + proxy.httpResponseRules + proxy.redirectRules
        for rule in rules {
            for suite in rule.condition?.alternatives ?? [] {
                for reference in suite {
                    for term in reference.acl.terms {
                        let name: String
                        switch term.expression.fetch {
                        case .httpAuthentication(let list), .httpAuthenticationGroup(let list): name = list
                        default: continue
                        }
                        guard userlists[name] == nil else { continue }
                        diagnostics.append(.alert("Proxy '\(proxy.name)': unable to find userlist '\(name)' "
                                                  + "referenced by 'http_auth'.", at: rule.location))
                    }
                }
            }
        }
    }

    /// Each `track-sc*` must name a proxy that declares a `stick-table`.
    private static func checkStickTables(_ proxy: Proxy, among proxies: [Proxy], into diagnostics: inout [Diagnostic]) {
        var tracked: [(String?, SourceLocation, String)] = []
        for rule in proxy.httpRequestRules {
            if case .trackCounter(let index, _, let table) = rule.action {
                tracked.append((table, rule.location, "http-request track-sc\(index)"))
            }
        }
        for rule in proxy.tcpRequestConnectionRules + proxy.tcpRequestContentRules {
            if case .trackCounter(let index, _, let table) = rule.action {
                tracked.append((table, rule.location, "tcp-request \(rule.layer.rawValue) track-sc\(index)"))
            }
        }
        for (table, location, keyword) in tracked {
            let name = table ?? proxy.name
            if !proxies.contains(where: { $0.name == name && $0.stickTable != nil }) {
                diagnostics.append(.alert("Proxy '\(proxy.name)': unable to find table '\(name)' referenced by "
                                          + "'\(keyword)'.", at: location))
            }
        }
    }

    /// Each `use_backend` naming a backend must find it, as HAProxy checks `default_backend`.
    private static func checkSwitchingRules(_ proxy: Proxy, among proxies: [Proxy],
                                            into diagnostics: inout [Diagnostic]) {
        for rule in proxy.backendSwitchingRules {
            guard case .named(let name) = rule.target else { continue }
            guard let target = proxies.first(where: { $0.name == name && $0.capabilities.contains(.backend) }) else {
                diagnostics.append(.alert("Proxy '\(proxy.name)': unable to find required use_backend: '\(name)'.",
                                          at: rule.location))
                continue
            }
            if target.name == proxy.name && target.capabilities == .listen {
                diagnostics.append(.alert("Proxy '\(proxy.name)': loop detected for use_backend: '\(name)'.",
                                          at: rule.location))
            } else if target.mode != proxy.mode && !(proxy.mode == .tcp && target.mode == .http) {
                diagnostics.append(.alert(
                    "\(proxy.mode.rawValue) \(typeName(proxy)) '\(proxy.name)' (\(proxy.location)) tries to use "
                        + "incompatible \(target.mode.rawValue) \(typeName(target)) '\(target.name)' "
                        + "(\(target.location)) in a 'use_backend' rule (see 'mode').", at: rule.location))
            }
        }
    }

    private static func checkTimeouts(_ proxy: Proxy, into diagnostics: inout [Diagnostic]) {
        let t = proxy.timeouts
        let frontendMissing = proxy.capabilities.contains(.frontend) && t.client == nil
        let backendMissing = proxy.capabilities.contains(.backend) && !proxy.servers.isEmpty
            && (t.connect == nil || (t.server == nil && (proxy.mode == .http || t.tunnel == nil)))
        guard frontendMissing || backendMissing else { return }
        diagnostics.append(.warning(
            "missing timeouts for \(typeName(proxy)) '\(proxy.name)'.\n"
                + "   | While not properly invalid, you will certainly encounter various problems\n"
                + "   | with such a configuration. To fix this, please ensure that all following\n"
                + "   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.", at: proxy.location))
    }
}
