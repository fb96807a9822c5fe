import BatonCore

/// Parses the words of `http-request`, `http-response` and `redirect` lines into rules.
public enum HTTPRuleParser {
    public enum Direction: String, Sendable {
        case request = "http-request"
        case response = "http-response"
    }

    /// Where a problem was found, so that the configuration parser words it as HAProxy does.
    public enum Failure: Error, Sendable {
        /// The action itself: "error detected in P while parsing 'http-request X' rule : ...".
        case action(name: String, message: String)
        /// The condition: "error detected while parsing an 'http-request X' condition : ...".
        case condition(name: String, message: String)
        /// No such action.
        case unknownAction(String)
        /// An action HAProxy has and Baton does not.
        case unsupportedAction(String)
    }

    /// The actions Baton implements, per direction, in HAProxy's listing order.
    public static let requestActions = [
        "add-header", "allow", "del-header", "deny", "redirect", "replace-header", "replace-path", "replace-pathq",
        "replace-uri", "replace-value", "return", "set-header", "set-method", "set-path", "set-pathq", "set-query",
        "set-uri", "set-var", "set-var-fmt", "tarpit", "unset-var", "set-log-level", "capture",
        "track-sc0", "track-sc1", "track-sc2", "sc-inc-gpc0", "sc-inc-gpc1", "auth",
    ]
    public static let responseActions = [
        "add-header", "allow", "del-header", "deny", "redirect", "replace-header", "replace-value", "return",
        "set-header", "set-status", "set-var", "set-var-fmt", "unset-var", "set-log-level",
    ]

    public struct Context {
        public var acls: [String: ACL]
        public var environment: SampleExpressionParser.Environment
        public var warnings: [String] = []
        /// Whether the proxy has a backend side (`be_name` is known in its request rules).
        public var hasBackendCapability: Bool

        public init(acls: [String: ACL], environment: SampleExpressionParser.Environment,
                    hasBackendCapability: Bool = true) {
            self.acls = acls
            self.environment = environment
            self.hasBackendCapability = hasBackendCapability
        }
    }

    /// `words` starts with the action name.
    public static func parse(_ direction: Direction, _ words: ArraySlice<String>, location: SourceLocation,
                             context: inout Context) throws(Failure) -> HTTPRule {
        guard let actionWord = words.first else { throw Failure.unknownAction("") }
        let name = String(actionWord.prefix { $0 != "(" })
        let ruleName = "\(direction.rawValue) \(name)"
        var arguments = Array(words.dropFirst())
        var condition: Condition?
        if let split = conditionStart(action: name, arguments) {
            do {
                var warnings: [String] = []
                condition = try ACLParser.parseCondition(unless: arguments[split] == "unless", arguments[(split + 1)...],
                                                         known: context.acls, environment: context.environment,
                                                         warnings: &warnings)
                context.warnings += warnings
            } catch {
                throw Failure.condition(name: ruleName, message: "\(error)")
            }
            if condition?.alternatives.isEmpty == true {
                throw Failure.condition(name: ruleName, message: "no condition after '\(arguments[split])'")
            }
            arguments = Array(arguments[..<split])
        }
        let known = direction == .request ? requestActions : responseActions
        guard known.contains(name) else {
            if Self.haproxyActions.contains(name) { throw Failure.unsupportedAction(name) }
            throw Failure.unknownAction(name)
        }
        do {
            let action = try ActionArguments(direction: direction, name: name, word: actionWord, arguments: arguments,
                                             environment: context.environment).parse()
            if direction == .request {
                try checkAvailability(action.sampleExpressions, backendCapability: context.hasBackendCapability)
            }
            return HTTPRule(action: action, condition: condition, location: location)
        } catch {
            throw Failure.action(name: ruleName, message: "\(error)")
        }
    }

    /// Where the condition starts: the first `if`/`unless` after the words the action itself
    /// consumes, as HAProxy's action parsers read their arguments before the condition (so
    /// `add-header X-Mode unless unless acl` adds "unless").
    static func conditionStart(action: String, _ arguments: [String]) -> Int? {
        var index = 0
        switch action {
        case "set-header", "add-header", "replace-path", "replace-pathq", "replace-uri": index = 2
        case "replace-header", "replace-value", "capture": index = 3
        case "del-header", "set-path", "set-pathq", "set-query", "set-uri", "set-method", "set-var", "set-var-fmt",
             "set-log-level":
            index = 1
        case "set-status":
            index = arguments.count > 1 && arguments[1] == "reason" ? 3 : 1
        case "return", "deny", "tarpit", "redirect":
            // Keyword and value pairs (`hdr` takes two values).
            let withValue: Set<String> = ["status", "deny_status", "content-type", "string", "lf-string", "file", "lf-file",
                                          "errorfile", "errorfiles", "location", "prefix", "scheme", "code",
                                          "set-cookie", "clear-cookie"]
            while index < arguments.count, arguments[index] != "if", arguments[index] != "unless" {
                index += arguments[index] == "hdr" ? 3 : withValue.contains(arguments[index]) ? 2 : 1
            }
        default: break
        }
        guard index < arguments.count else { return nil }
        return arguments[index...].firstIndex { $0 == "if" || $0 == "unless" }
    }

    /// HAProxy refuses, at load, a request rule that prints what does not exist yet: the
    /// response, the server, or (in a frontend) the backend.
    static func checkAvailability(_ expressions: [SampleExpression], backendCapability: Bool) throws {
        for expression in expressions {
            var missing: String?
            switch expression.fetch {
            case .serverName: missing = "server"
            case .backendName where !backendCapability: missing = "backend"
            default:
                if let part = expression.fetch.neededMessagePart, part == "HTTP response headers" { missing = part }
            }
            if let missing {
                throw RuleError("sample fetch <\(expression.text)]> may not be reliably used here because it needs "
                                + "'\(missing)' which is not available here.")
            }
        }
    }

    /// Every action HAProxy 2.6 knows, to tell an unimplemented one from a typo.
    public static let haproxyActions: Set<String> = [
        "add-acl", "add-header", "allow", "auth", "cache-use", "cache-store", "capture", "del-acl", "del-header",
        "del-map", "deny", "disable-l7-retry", "do-resolve", "early-hint", "normalize-uri", "pause", "redirect",
        "reject", "replace-header", "replace-path", "replace-pathq", "replace-uri", "replace-value", "return",
        "sc-add-gpc", "sc-inc-gpc", "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt", "sc-set-gpt0", "send-spoe-group",
        "set-bandwidth-limit", "set-dst", "set-dst-port", "set-header", "set-log-level", "set-map", "set-mark",
        "set-method", "set-nice", "set-path", "set-pathq", "set-priority-class", "set-priority-offset",
        "set-query", "set-retries", "set-src", "set-src-port", "set-status", "set-timeout", "set-tos", "set-uri",
        "set-var", "set-var-fmt", "silent-drop", "strict-mode", "tarpit", "track-sc0", "track-sc1", "track-sc2",
        "unset-var", "use-service", "wait-for-body", "wait-for-handshake",
    ]
}

/// The arguments of one action, parsed by the action's own rules.
private struct ActionArguments {
    let direction: HTTPRuleParser.Direction
    let name: String
    /// The action word as written (`set-var(txn.x)`).
    let word: String
    let arguments: [String]
    let environment: SampleExpressionParser.Environment

    var keyword: String { "\(direction.rawValue) \(name)" }

    func exactly(_ count: Int) throws {
        if arguments.count != count {
            throw RuleError("expects exactly \(count) argument\(count == 1 ? "" : "s").")
        }
    }

    func format(_ text: String) throws -> LogFormat {
        try LogFormat.parse(text, environment: environment)
    }

    func regex(_ text: String) throws -> Regex {
        do {
            return try Regex(text)
        } catch {
            throw RuleError("\(error)")
        }
    }

    /// The `(name)` of `set-var(name)`.
    func variableName() throws -> VariableName {
        guard let open = word.firstIndex(of: "("), word.hasSuffix(")") else {
            throw RuleError("expects a variable name between parentheses: '\(name)(<var-name>)'.")
        }
        let inner = word[word.index(after: open)..<word.index(before: word.endIndex)]
        let text = String(inner.prefix { $0 != "," })
        guard let variable = VariableName(text) else {
            throw RuleError("invalid variable '\(text)'. Expects a scope among 'proc', 'sess', 'txn', 'req', 'res' "
                            + "and a name made of letters, digits, '_' and '.'.")
        }
        return variable
    }

    func parse() throws -> HTTPAction {
        switch name {
        case "set-header", "add-header":
            guard arguments.count == 2 else { throw RuleError("expects exactly 2 arguments.") }
            let value = try format(arguments[1])
            return name == "set-header" ? .setHeader(name: arguments[0], value: value)
                : .addHeader(name: arguments[0], value: value)
        case "del-header":
            guard arguments.count == 1 || (arguments.count == 3 && arguments[1] == "-m") else {
                throw RuleError("expects exactly 1 argument or 3 arguments with '-m'.")
            }
            var method = MatchMethod.str
            var compiled: Regex?
            if arguments.count == 3 {
                guard let chosen = MatchMethod(rawValue: arguments[2]),
                      [.str, .beg, .end, .sub, .reg].contains(chosen) else {
                    throw RuleError("'-m' expects one of 'str', 'beg', 'end', 'sub' or 'reg', got '\(arguments[2])'.")
                }
                method = chosen
                if chosen == .reg { compiled = try Regex(arguments[0], ignoringCase: true) }
            }
            return .deleteHeader(name: arguments[0], method: method, regex: compiled)
        case "replace-header", "replace-value":
            try exactly(3)
            let compiled = try regex(arguments[1])
            let replacement = try format(arguments[2])
            return name == "replace-header"
                ? .replaceHeader(name: arguments[0], regex: compiled, replacement: replacement)
                : .replaceValue(name: arguments[0], regex: compiled, replacement: replacement)
        case "set-path", "set-pathq", "set-query", "set-uri", "set-method":
            try exactly(1)
            let value = try format(arguments[0])
            switch name {
            case "set-path": return .setPath(value)
            case "set-pathq": return .setPathQuery(value)
            case "set-query": return .setQuery(value)
            case "set-uri": return .setURI(value)
            default: return .setMethod(value)
            }
        case "replace-path", "replace-pathq", "replace-uri":
            try exactly(2)
            let compiled = try regex(arguments[0])
            let replacement = try format(arguments[1])
            switch name {
            case "replace-path": return .replacePath(compiled, replacement)
            case "replace-pathq": return .replacePathQuery(compiled, replacement)
            default: return .replaceURI(compiled, replacement)
            }
        case "set-status":
            guard let first = arguments.first, let status = Int(first), (100...999).contains(status) else {
                throw RuleError("expects an HTTP status code between 100 and 999.")
            }
            var reason: String?
            if arguments.count >= 2 {
                guard arguments[1] == "reason", arguments.count == 3 else {
                    throw RuleError("expects only 'reason' keyword after the status code.")
                }
                reason = arguments[2]
            }
            return .setStatus(status, reason: reason)
        case "set-var":
            let variable = try variableName()
            try exactly(1)
            do {
                return .setVariable(variable, try SampleExpressionParser.parse(arguments[0], environment: environment))
            } catch {
                throw RuleError("failed to parse sample expression <\(arguments[0])> : \(error).")
            }
        case "set-var-fmt":
            let variable = try variableName()
            try exactly(1)
            return .setVariableFormat(variable, try format(arguments[0]))
        case "unset-var":
            let variable = try variableName()
            try exactly(0)
            return .unsetVariable(variable)
        case "redirect":
            return .redirect(try RedirectParser.parse(arguments[...], environment: environment))
        case "allow":
            try exactly(0)
            return .allow
        case "deny", "tarpit":
            let response = try ReplyParser.parse(arguments, defaultStatus: direction == .request ? (name == "tarpit" ? 500 : 403) : 502,
                                                 allowsStatusKeyword: false, environment: environment)
            return name == "deny" ? .deny(response) : .tarpit(response)
        case "return":
            return .returnResponse(try ReplyParser.parse(arguments, defaultStatus: 200, allowsStatusKeyword: true,
                                                         environment: environment))
        case "set-log-level":
            try exactly(1)
            let levels = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "silent"]
            guard levels.contains(arguments[0]) else {
                throw RuleError("unexpected log level '\(arguments[0])'.")
            }
            return .setLogLevel(arguments[0])
        case "auth":
            if arguments.isEmpty { return .auth(realm: nil) }
            guard arguments.count == 2, arguments[0] == "realm" else {
                throw RuleError("expects nothing or 'realm <realm>'.")
            }
            return .auth(realm: arguments[1])
        case "track-sc0", "track-sc1", "track-sc2":
            return .trackCounter(index: Int(String(name.last!))!, key: try TrackParser.key(arguments, environment: environment),
                                 table: try TrackParser.table(arguments, environment: environment))
        case "sc-inc-gpc0", "sc-inc-gpc1":
            let slot = word.firstIndex(of: "(").flatMap { Int(String(word[word.index(after: $0)])) }
            guard let slot, (0...2).contains(slot) else {
                throw RuleError("expects a stick counter between parentheses: '\(name)(<sc-id>)'.")
            }
            try exactly(0)
            return .incrementGPC(slot: slot, counter: name == "sc-inc-gpc0" ? .incrementGPC0 : .incrementGPC1)
        case "capture":
            guard arguments.count == 3, arguments[1] == "len", let length = Int(arguments[2]), length > 0 else {
                throw RuleError("expects <expression> 'len' <length>.")
            }
            do {
                return .capture(try SampleExpressionParser.parse(arguments[0], environment: environment), length: length)
            } catch {
                throw RuleError("failed to parse sample expression <\(arguments[0])> : \(error).")
            }
        default:
            throw RuleError("unsupported action")
        }
    }
}

/// `redirect location|prefix|scheme <to> [code <code>] <option>...`.
public enum RedirectParser {
    public static func parse(_ arguments: ArraySlice<String>, environment: SampleExpressionParser.Environment) throws -> Redirect {
        var kind: Redirect.Kind?
        var target: LogFormat?
        var code = 302
        var dropQuery = false, appendSlash = false, ignoreEmpty = false
        var setCookie: String?, clearCookie: String?
        var index = arguments.startIndex
        func value(after word: String) throws -> String {
            guard index + 1 < arguments.endIndex else {
                throw RuleError("'\(word)' expects an argument.")
            }
            index += 1
            return arguments[index]
        }
        while index < arguments.endIndex {
            let word = arguments[index]
            switch word {
            case "location", "prefix", "scheme":
                let text = try value(after: word)
                kind = word == "location" ? .location : word == "prefix" ? .prefix : .scheme
                do {
                    target = try LogFormat.parse(text, environment: environment)
                } catch {
                    throw RuleError("failed to parse log-format string <\(text)> : \(error)")
                }
            case "code":
                let text = try value(after: word)
                guard let number = Int(text), [301, 302, 303, 307, 308].contains(number) else {
                    throw RuleError("'code' expects one of 301, 302, 303, 307 or 308, got '\(text)'.")
                }
                code = number
            case "drop-query": dropQuery = true
            case "append-slash": appendSlash = true
            // The last cookie option wins, as in HAProxy.
            case "set-cookie": setCookie = try value(after: word); clearCookie = nil
            case "clear-cookie": clearCookie = try value(after: word); setCookie = nil
            case "ignore-empty": ignoreEmpty = true
            default:
                throw RuleError("expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', "
                                + "'drop-query', 'ignore-empty' or 'append-slash' (was '\(word)').")
            }
            index += 1
        }
        guard let kind, let target else {
            throw RuleError("redirect: expects either 'prefix', 'location' or 'scheme' followed by the redirection target.")
        }
        var redirect = Redirect(kind: kind, target: target, code: code, dropQuery: dropQuery, appendSlash: appendSlash,
                                setCookie: setCookie, clearCookie: clearCookie)
        redirect.ignoreEmpty = ignoreEmpty
        return redirect
    }
}

/// The arguments of `deny`, `tarpit` and `return` (HAProxy's `http_reply`): status,
/// content-type, a payload from a string, a log-format string or a file, extra headers.
enum ReplyParser {
    static func parse(_ arguments: [String], defaultStatus: Int, allowsStatusKeyword: Bool,
                      environment: SampleExpressionParser.Environment) throws -> LocalResponse {
        var response = LocalResponse(status: defaultStatus, body: defaultStatus == 200 ? .empty : .errorPage)
        var bodyKeyword: String?
        var index = 0
        func value(_ word: String, _ what: String) throws -> String {
            guard index + 1 < arguments.count else { throw RuleError("'\(word)' expects <\(what)> as argument.") }
            index += 1
            return arguments[index]
        }
        while index < arguments.count {
            let word = arguments[index]
            switch word {
            case "status", "deny_status":
                if word == "status" && !allowsStatusKeyword {
                    throw RuleError("unexpected argument 'status' (use 'deny_status').")
                }
                let text = try value(word, "status_code")
                guard let status = Int(text), (200...599).contains(status) else {
                    throw RuleError("Unexpected status code '\(text)'.")
                }
                response.status = status
            case "content-type":
                response.contentType = try value(word, "ctype")
            case "string", "lf-string", "file", "lf-file", "errorfile":
                if let bodyKeyword {
                    throw RuleError("unexpected '\(word)' argument, '\(bodyKeyword)' already defined.")
                }
                let text = try value(word, word.hasSuffix("file") ? "file" : "str")
                switch word {
                case "string":
                    response.body = .text(text)
                case "lf-string":
                    do {
                        response.body = .logFormat(try LogFormat.parse(text, environment: environment))
                    } catch {
                        throw RuleError("failed to parse log-format string <\(text)> : \(error)")
                    }
                default:
                    guard let contents = environment.readFile(text) else {
                        throw RuleError("error opening file '\(text)'.")
                    }
                    if word == "lf-file" {
                        let body = String(decoding: contents, as: UTF8.self)
                        response.body = .logFormat(try LogFormat.parse(body, environment: environment))
                    } else {
                        response.body = .file(contents, isFullResponse: word == "errorfile")
                    }
                }
                bodyKeyword = word
            case "hdr":
                guard index + 2 < arguments.count else { throw RuleError("'hdr' expects <name> and <value> as arguments.") }
                let headerName = arguments[index + 1]
                let lowered = headerName.lowercased()
                if ["content-length", "content-type", "transfer-encoding", "connection"].contains(lowered) {
                    throw RuleError("header '\(headerName)' not allowed.")
                }
                do {
                    response.headers.append((headerName, try LogFormat.parse(arguments[index + 2], environment: environment)))
                } catch {
                    throw RuleError("failed to parse log-format string <\(arguments[index + 2])> : \(error)")
                }
                index += 2
            case "default-errorfiles", "errorfiles":
                throw RuleError("argument '\(word)' is not supported by Baton yet.")
            default:
                throw RuleError("unexpected argument '\(word)'.")
            }
            index += 1
        }
        var hasBody = false
        switch response.body {
        case .text(let text): hasBody = !text.isEmpty
        case .logFormat: hasBody = true
        case .file(let bytes, let full): hasBody = !bytes.isEmpty && !full
        case .empty, .errorPage: hasBody = false
        }
        if hasBody && (response.status == 204 || response.status == 304) {
            throw RuleError("No body expected for \(response.status) responses.")
        }
        if hasBody && response.contentType == nil {
            throw RuleError("a content type must be defined when non-empty payload is configured.")
        }
        if !hasBody, response.contentType != nil, case .text = response.body {
            response.contentType = nil
        }
        return response
    }
}
