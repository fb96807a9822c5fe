import BatonCore

/// A response Baton makes itself for `deny`, `return`, `tarpit` and `auth` (HAProxy's
/// `http_reply`).
public struct LocalResponse: Sendable, Hashable {
    public enum Body: Sendable, Hashable {
        /// The proxy's error page for the status (its `errorfile`, or the built-in one).
        case errorPage
        case empty
        case text(String)
        case logFormat(LogFormat)
        /// A file's bytes, read when the configuration loaded; `isFullResponse` for
        /// `errorfile`-style files holding a whole HTTP response.
        case file([UInt8], isFullResponse: Bool)
    }

    public var status: Int
    public var contentType: String?
    public var body: Body
    public var headers: [(name: String, value: LogFormat)]

    public init(status: Int, contentType: String? = nil, body: Body = .errorPage,
                headers: [(name: String, value: LogFormat)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    public static func == (lhs: LocalResponse, rhs: LocalResponse) -> Bool {
        lhs.status == rhs.status && lhs.contentType == rhs.contentType && lhs.body == rhs.body
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(status)
        hasher.combine(body)
    }
}

/// `redirect location|prefix|scheme TARGET [code N] [drop-query] [append-slash] [set-cookie C] [clear-cookie C]`.
public struct Redirect: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case location, prefix, scheme
    }

    public var kind: Kind
    public var target: LogFormat
    public var code: Int
    public var dropQuery: Bool
    public var appendSlash: Bool
    public var setCookie: String?
    public var clearCookie: String?

    /// Whether `ignore-empty` was given: a `location` that evaluates to nothing skips the rule.
    public var ignoreEmpty: Bool = false

    /// The Set-Cookie value: `set-cookie NAME=VALUE` or `clear-cookie NAME=`, as HAProxy
    /// completes them.
    public var cookieHeader: String? {
        if let setCookie { return setCookie + "; path=/;" }
        if let clearCookie { return clearCookie + "; path=/; Max-Age=0;" }
        return nil
    }

    /// The Location value for this request (HAProxy's `http_apply_redirect_rule`); nil when
    /// the rule does not apply (`ignore-empty`).
    public func location(_ subject: any RuleSubject) -> String? {
        let target = self.target.evaluate(subject)
        // The path as `http_parse_path` finds it: from the first `/` after the authority, query
        // included; "/" when there is none (`*`, authority-form).
        func pathAndQuery() -> String {
            let uri = subject.requestTarget
            var path: String
            if uri.first == "/" {
                path = uri
            } else if let schemeEnd = URLParts.schemeEnd(uri[...]) {
                let rest = uri[schemeEnd...]
                path = rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
            } else {
                path = "/"
            }
            if dropQuery, let question = path.firstIndex(of: "?") { path = String(path[..<question]) }
            return path
        }
        var location: String
        switch kind {
        case .location:
            if target.isEmpty && ignoreEmpty { return nil }
            return target
        case .prefix:
            // A prefix of "/" alone adds nothing, so that a rule can redirect to the same path.
            location = (target == "/" ? "" : target) + pathAndQuery()
        case .scheme:
            // The Host field as received (port included), empty when there is none.
            let host = HeaderFetch.first(subject, .request, name: "host") ?? ""
            location = target + "://" + host + pathAndQuery()
        }
        // `append-slash` adds a slash at the end of the whole location when it has none.
        if appendSlash, let last = location.last, last != "/" { location += "/" }
        return location
    }
}

/// An `http-request` / `http-response` action (configuration.txt 4.2).
public enum HTTPAction: Sendable, Hashable {
    case setHeader(name: String, value: LogFormat)
    case addHeader(name: String, value: LogFormat)
    case deleteHeader(name: String, method: MatchMethod, regex: Regex?)
    case replaceHeader(name: String, regex: Regex, replacement: LogFormat)
    case replaceValue(name: String, regex: Regex, replacement: LogFormat)
    case setPath(LogFormat), setPathQuery(LogFormat), setQuery(LogFormat), setURI(LogFormat), setMethod(LogFormat)
    case replacePath(Regex, LogFormat), replacePathQuery(Regex, LogFormat), replaceURI(Regex, LogFormat)
    case setStatus(Int, reason: String?)
    case setVariable(VariableName, SampleExpression)
    case setVariableFormat(VariableName, LogFormat)
    case unsetVariable(VariableName)
    case redirect(Redirect)
    case deny(LocalResponse)
    case returnResponse(LocalResponse)
    case tarpit(LocalResponse)
    case allow
    /// `auth [realm R]`: answers 401 with a Basic challenge (conditions decide, usually with
    /// `http_auth(list)`).
    case auth(realm: String?)
    case setLogLevel(String)
    /// `http-request capture <sample> len <n>`: fills capture slot `slot` (`%hr`); the slot is
    /// declared by the rule, after the proxy's `capture request header` ones.
    case capture(SampleExpression, length: Int, slot: Int = 0)
    case trackCounter(index: Int, key: SampleExpression, table: String?)
    /// `sc-inc-gpc0(N)`: increments a general purpose counter of a tracked entry.
    case incrementGPC(slot: Int, counter: StickCounterName)
    case doLog

    /// The sample expressions the action evaluates (in its log-format strings and set-var).
    var sampleExpressions: [SampleExpression] {
        var formats: [LogFormat] = []
        var expressions: [SampleExpression] = []
        switch self {
        case .setHeader(_, let value), .addHeader(_, let value): formats = [value]
        case .replaceHeader(_, _, let replacement), .replaceValue(_, _, let replacement): formats = [replacement]
        case .setPath(let f), .setPathQuery(let f), .setQuery(let f), .setURI(let f), .setMethod(let f): formats = [f]
        case .replacePath(_, let f), .replacePathQuery(_, let f), .replaceURI(_, let f): formats = [f]
        case .setVariable(_, let expression): expressions = [expression]
        case .setVariableFormat(_, let f): formats = [f]
        case .redirect(let redirect): formats = [redirect.target]
        case .capture(let expression, _, _): expressions = [expression]
        default: break
        }
        for format in formats {
            for node in format.nodes {
                if case .sample(let expression, _) = node { expressions.append(expression) }
            }
        }
        return expressions
    }

    /// Whether the action ends the evaluation of its rule set.
    var isFinal: Bool {
        switch self {
        case .redirect, .deny, .returnResponse, .tarpit, .allow, .auth: return true
        default: return false
        }
    }
}

/// One `http-request` or `http-response` line.
public struct HTTPRule: Sendable, Hashable {
    /// The action's name as written (`set-header`), for messages.
    public var actionName: String {
        switch action {
        case .setHeader: return "set-header"
        case .addHeader: return "add-header"
        case .deleteHeader: return "del-header"
        case .replaceHeader: return "replace-header"
        case .replaceValue: return "replace-value"
        case .setPath: return "set-path"
        case .setPathQuery: return "set-pathq"
        case .setQuery: return "set-query"
        case .setURI: return "set-uri"
        case .setMethod: return "set-method"
        case .replacePath: return "replace-path"
        case .replacePathQuery: return "replace-pathq"
        case .replaceURI: return "replace-uri"
        case .setStatus: return "set-status"
        case .setVariable: return "set-var"
        case .setVariableFormat: return "set-var-fmt"
        case .unsetVariable: return "unset-var"
        case .redirect: return "redirect"
        case .deny: return "deny"
        case .returnResponse: return "return"
        case .tarpit: return "tarpit"
        case .allow: return "allow"
        case .auth: return "auth"
        case .setLogLevel: return "set-log-level"
        case .capture: return "capture"
        case .trackCounter(let index, _, _): return "track-sc\(index)"
        case .incrementGPC(_, let counter): return counter == .incrementGPC0 ? "sc-inc-gpc0" : "sc-inc-gpc1"
        case .doLog: return "do-log"
        }
    }

    public var action: HTTPAction
    public var condition: Condition?
    public var location: SourceLocation

    public init(action: HTTPAction, condition: Condition?, location: SourceLocation) {
        self.action = action
        self.condition = condition
        self.location = location
    }
}

/// What evaluating a rule set decided.
public enum RuleVerdict: Sendable, Equatable {
    /// Every rule ran (or none matched): the message goes on.
    case proceed
    /// `allow`: the rest of this rule set is skipped.
    case allow
    /// Answer with this response (deny, return).
    case respond(LocalResponse, deny: Bool)
    /// `tarpit`: hold the client for `timeout tarpit`, then answer.
    case tarpit(LocalResponse)
    case redirect(code: Int, location: String, setCookie: String?)
    /// `auth`: 401 (or 407) with the realm.
    case authenticate(realm: String)
}

extension Array where Element == HTTPRule {
    /// Runs the rules in order on `side` until a final action.
    public func run(on side: MessageSide, _ subject: any RuleSubject) -> RuleVerdict {
        // By index: the rules are read in place rather than copied one by one.
        for index in indices {
            if self[index].condition?.isSatisfied(by: subject) == false { continue }
            if let verdict = HTTPActionRunner.perform(self[index].action, on: side, subject) { return verdict }
        }
        return .proceed
    }
}

enum HTTPActionRunner {
    static func perform(_ action: HTTPAction, on side: MessageSide, _ subject: any RuleSubject) -> RuleVerdict? {
        switch action {
        case .setHeader(let name, let format):
            let value = format.evaluate(subject)
            removeFields(named: name, on: side, subject)
            subject.appendField(side, name: name, value: value)
            updateAuthority(ifHost: name, to: value, on: side, subject)
        case .addHeader(let name, let format):
            let value = format.evaluate(subject)
            subject.appendField(side, name: name, value: value)
            updateAuthority(ifHost: name, to: value, on: side, subject)
        case .deleteHeader(let name, let method, let regex):
            var index = 0
            while index < subject.fieldCount(side) {
                let fieldName = subject.fieldName(side, at: index)
                let matched: Bool
                switch method {
                case .reg: matched = regex?.matches(fieldName) ?? false
                case .str: matched = ASCIIText.equalsIgnoringCase(fieldName, name)
                default: matched = method.matchesString(fieldName, pattern: name, ignoreCase: true)
                }
                if matched { subject.removeField(side, at: index) } else { index += 1 }
            }
        case .replaceHeader(let name, let regex, let replacement):
            let template = replacement.evaluate(subject)
            for index in 0..<subject.fieldCount(side)
            where ASCIIText.equalsIgnoringCase(subject.fieldName(side, at: index), name) {
                let value = subject.fieldValue(side, at: index)
                if let replaced = regex.expandingMatch(of: value, template: template) {
                    subject.setFieldValue(side, at: index, to: replaced)
                    updateAuthority(ifHost: name, to: replaced, on: side, subject)
                }
            }
        case .replaceValue(let name, let regex, let replacement):
            let template = replacement.evaluate(subject)
            for index in 0..<subject.fieldCount(side)
            where ASCIIText.equalsIgnoringCase(subject.fieldName(side, at: index), name) {
                // Each comma-separated value is replaced in place (`http_replace_header_value`):
                // a replaced value loses the spaces around it, the others keep theirs.
                let value = subject.fieldValue(side, at: index)
                var rebuilt = ""
                for (position, element) in value.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
                    if position > 0 { rebuilt += "," }
                    if let replaced = regex.expandingMatch(of: String(ASCIIText.trimmed(element)), template: template) {
                        rebuilt += replaced
                    } else {
                        rebuilt += element
                    }
                }
                if rebuilt != value {
                    subject.setFieldValue(side, at: index, to: rebuilt)
                    updateAuthority(ifHost: name, to: rebuilt, on: side, subject)
                }
            }
        case .setPath(let format):
            subject.requestTarget = URLParts.replacingPath(of: subject.requestTarget, with: format.evaluate(subject))
        case .setPathQuery(let format):
            let value = format.evaluate(subject)
            let path = value.firstIndex(of: "?").map { String(value[..<$0]) } ?? value
            let query = URLParts.query(of: value).map(String.init) ?? ""
            let withPath = URLParts.replacingPath(of: subject.requestTarget, with: path)
            subject.requestTarget = URLParts.replacingQuery(of: withPath, with: query)
        case .setQuery(let format):
            subject.requestTarget = URLParts.replacingQuery(of: subject.requestTarget, with: format.evaluate(subject))
        case .setURI(let format):
            subject.requestTarget = format.evaluate(subject)
        case .setMethod(let format):
            subject.requestMethod = format.evaluate(subject)
        case .replacePath(let regex, let format):
            guard let path = URLParts.path(of: subject.requestTarget) else { break }
            if let replaced = regex.expandingMatch(of: String(path), template: format.evaluate(subject)) {
                subject.requestTarget = URLParts.replacingPath(of: subject.requestTarget, with: replaced)
            }
        case .replacePathQuery(let regex, let format):
            guard let path = URLParts.path(of: subject.requestTarget) else { break }
            let pathQuery = String(path) + (URLParts.query(of: subject.requestTarget).map { "?" + $0 } ?? "")
            if let replaced = regex.expandingMatch(of: pathQuery, template: format.evaluate(subject)) {
                let newPath = replaced.firstIndex(of: "?").map { String(replaced[..<$0]) } ?? replaced
                let withPath = URLParts.replacingPath(of: subject.requestTarget, with: newPath)
                subject.requestTarget = URLParts.replacingQuery(of: withPath,
                                                               with: URLParts.query(of: replaced).map(String.init) ?? "")
            }
        case .replaceURI(let regex, let format):
            if let replaced = regex.expandingMatch(of: subject.requestTarget, template: format.evaluate(subject)) {
                subject.requestTarget = replaced
            }
        case .setStatus(let status, let reason):
            subject.setResponseStatus(status, reason: reason)
        case .setVariable(let name, let expression):
            if let value = expression.evaluate(subject) { name.write(value, subject) }
        case .setVariableFormat(let name, let format):
            name.write(.string(format.evaluate(subject)), subject)
        case .unsetVariable(let name):
            name.write(nil, subject)
        case .redirect(let redirect):
            guard let location = redirect.location(subject) else { return nil }
            return .redirect(code: redirect.code, location: location, setCookie: redirect.cookieHeader)
        case .deny(let response):
            return .respond(response, deny: true)
        case .returnResponse(let response):
            return .respond(response, deny: false)
        case .tarpit(let response):
            return .tarpit(response)
        case .allow:
            return .allow
        case .auth(let realm):
            return .authenticate(realm: realm ?? subject.backendName ?? subject.frontendName)
        case .trackCounter(let index, let key, let table):
            StickTracking.track(slot: index, key: key, table: table, subject, byConnection: false)
        case .incrementGPC(let slot, let counter):
            if let tracked = subject.trackedCounters[slot] { _ = tracked.table.read(counter, of: tracked.entry) }
        case .capture(let expression, let length, let slot):
            if let value = expression.evaluate(subject)?.stringValue {
                subject.capture(String(decoding: value.utf8.prefix(length), as: UTF8.self), slot: slot)
            }
        case .setLogLevel(let level):
            subject.setLogLevel(level)
        case .doLog:
            break
        }
        return nil
    }

    /// HAProxy keeps an absolute-form target's authority in step with Host: a rule that sets
    /// the request's Host rewrites the authority too (`http_update_authority`).
    static func updateAuthority(ifHost name: String, to host: String, on side: MessageSide, _ subject: any RuleSubject) {
        guard side == .request, ASCIIText.equalsIgnoringCase(name, "host") else { return }
        let target = subject.requestTarget
        guard target.first != "/", let authorityStart = URLParts.schemeEnd(target[...]) else { return }
        let rest = target[authorityStart...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        subject.requestTarget = String(target[..<authorityStart]) + host + String(target[authorityEnd...])
    }

    static func removeFields(named name: String, on side: MessageSide, _ subject: any RuleSubject) {
        var next = subject.fieldIndex(side, named: name, from: 0)
        while let index = next {
            subject.removeField(side, at: index)
            next = subject.fieldIndex(side, named: name, from: index)
        }
    }
}

extension Regex {
    /// HAProxy's `exp_replace` as the replace actions use it: when the regex matches, the
    /// result is the template with `\N` replaced by capture groups (the whole value is
    /// replaced, not only the matched part).
    func expandingMatch(of subject: String, template: String) -> String? {
        var subject = subject
        return subject.withUTF8 { bytes -> String? in
            guard let groups = firstMatch(in: bytes, from: 0) else { return nil }
            var out: [UInt8] = []
            let chars = Array(template.utf8)
            var i = 0
            while i < chars.count {
                if chars[i] == UInt8(ascii: "\\"), i + 1 < chars.count {
                    let next = chars[i + 1]
                    if next >= 0x30 && next <= 0x39 {
                        let group = Int(next - 0x30)
                        if group < groups.count, let range = groups[group] { out.append(contentsOf: bytes[range]) }
                        i += 2
                        continue
                    }
                    out.append(next)
                    i += 2
                    continue
                }
                out.append(chars[i])
                i += 1
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
