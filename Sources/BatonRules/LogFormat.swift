/// A log-format alias (`%ci`, `%ST`, ...), configuration.txt 8.2.4.
public enum LogAlias: String, Sendable, Hashable, CaseIterable {
    case clientIP = "ci", clientPort = "cp", frontendIP = "fi", frontendPort = "fp"
    case frontend = "f", frontendTransport = "ft", backend = "b", server = "s"
    case serverIP = "si", serverPort = "sp", status = "ST", bytesRead = "B", bytesUploaded = "U"
    case requestTime = "Tq", handshakeTime = "Th", idleTime = "Ti", requestReceiveTime = "TR"
    case queueTime = "Tw", connectTime = "Tc", responseTime = "Tr", activeTime = "Ta", totalTime = "Tt"
    case terminationState = "ts", terminationStateWithCookies = "tsc"
    case activeConnections = "ac", frontendConnections = "fc", backendConnections = "bc"
    case serverConnections = "sc", retries = "rc", requestCounter = "rt"
    case serverQueue = "sq", backendQueue = "bq"
    case capturedRequestHeaders = "hr", capturedResponseHeaders = "hs"
    case capturedRequestHeaderList = "hrl", capturedResponseHeaderList = "hsl"
    case requestLine = "r", method = "HM", uri = "HU", path = "HP", query = "HQ", version = "HV"
    case uniqueID = "ID"
    case date = "t", dateLocal = "T", dateGMT = "tr", dateGMTRFC = "trg", dateLocalRFC = "trl"
    case dateUTC = "Tl", acceptDate = "ms", timestamp = "Ts", hostname = "H", pid = "pid"
    case logCounter = "lc", clientSourceIP = "bi", clientSourcePort = "bp", sslCipher = "sslc", sslVersion = "sslv"

    /// The alias's value as `%{+X}` prints it (HAProxy's `%04X` ports and counters, `%08X`
    /// timestamps, addresses as 8 hex digits); nil when the option does not apply.
    public func hexText(_ value: String) -> String? {
        func padded(_ number: UInt64, _ width: Int) -> String {
            let text = String(number, radix: 16, uppercase: true)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        switch self {
        case .clientIP, .frontendIP, .serverIP, .clientSourceIP:
            guard let v4 = IPAddress.parseIPv4(Substring(value)) else { return nil }
            return padded(UInt64(v4), 8)
        case .clientPort, .frontendPort, .serverPort, .clientSourcePort, .requestCounter, .pid:
            return UInt64(value).map { padded($0, 4) }
        case .timestamp:
            return UInt64(value).map { padded($0, 8) }
        default:
            return Int64(value).map { String(UInt64(bitPattern: $0), radix: 16, uppercase: true) }
        }
    }

    /// Aliases that only exist once the transaction is over (valid in `log-format`, not in
    /// header rules, where HAProxy prints them as they stand at that moment).
    public var isNumeric: Bool {
        switch self {
        case .clientPort, .frontendPort, .serverPort, .status, .bytesRead, .bytesUploaded, .requestTime, .handshakeTime,
             .idleTime, .requestReceiveTime, .queueTime, .connectTime, .responseTime, .activeTime, .totalTime,
             .activeConnections, .frontendConnections, .backendConnections, .serverConnections, .retries,
             .requestCounter, .serverQueue, .backendQueue, .timestamp, .pid, .logCounter, .clientSourcePort, .acceptDate:
            return true
        default:
            return false
        }
    }
}

/// A log-format string (`%[...]` samples, `%xx` aliases, literal text), compiled once:
/// used by `log-format`, header actions, `lf-string`, redirects and dynamic `use_backend`.
public struct LogFormat: Sendable, Hashable, CustomStringConvertible {
    public struct Options: Sendable, Hashable {
        public var quote = false
        public var hex = false
        public var escape = false
        public init() {}
    }

    public enum Node: Sendable, Hashable {
        case literal(String)
        /// Unescaped spaces: one space at most, none at the start (HAProxy's LF_SEPARATOR).
        case separator
        case sample(SampleExpression, Options)
        case alias(LogAlias, Options)
    }

    public let nodes: [Node]
    /// The text as written.
    public let text: String

    public var description: String { text }

    /// Text without any `%` item: evaluated once.
    /// The value when the string has no `%` item, worked out once when it is parsed.
    public let constantText: String?

    public init(nodes: [Node], text: String) {
        self.nodes = nodes
        self.text = text
        var constant: String? = ""
        var lastWasSeparator = true
        for node in nodes {
            switch node {
            case .literal(let literal):
                constant? += literal
                lastWasSeparator = false
            case .separator:
                if !lastWasSeparator { constant? += " " }
                lastWasSeparator = true
            case .sample, .alias:
                constant = nil
            }
        }
        self.constantText = constant
    }

    public var usesResponse: Bool {
        nodes.contains { node in
            if case .sample(let expression, _) = node { return expression.fetch.needsResponse }
            return false
        }
    }

    /// The string with every item evaluated, as HAProxy builds the log-format strings of HTTP
    /// rules (`LOG_OPT_HTTP`): a sample with no value, or an empty one, prints nothing (`+Q` and
    /// `+X` do not apply to samples there), and the control characters of a sample's value
    /// are %-encoded so that they cannot break the message; an alias with no value prints `-`.
    public func evaluate(_ subject: any RuleSubject) -> String {
        if let constantText { return constantText }
        var out = ""
        var lastWasSeparator = true
        for node in nodes {
            switch node {
            case .literal(let text):
                out += text
            case .separator:
                if !lastWasSeparator { out += " " }
                lastWasSeparator = true
                continue
            case .sample(let expression, let options):
                guard let value = expression.evaluate(subject) else { continue }
                Self.appendEncoded(value.stringValue, escape: options.escape, to: &out)
            case .alias(let alias, let options):
                var value = subject.logAlias(alias)
                if options.hex, let text = value { value = alias.hexText(text) ?? text }
                Self.append(value, options, to: &out)
            }
            lastWasSeparator = false
        }
        return out
    }

    /// HAProxy's `lf_encode_chunk` with `http_encode_map`: bytes 0x00-0x08, 0x0A-0x1F and 0x7F
    /// become `%XX`; with `+E`, `"`, `\` and `]` are preceded by a backslash.
    static func appendEncoded(_ value: String, escape: Bool, to out: inout String) {
        var copy = value
        let needsWork = copy.withUTF8 { bytes in
            bytes.contains { c in
                c < 0x20 && c != 0x09 || c == 0x7f || (escape && (c == 0x22 || c == 0x5c || c == 0x5d))
            }
        }
        guard needsWork else {
            out += value
            return
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count + 8)
        for c in value.utf8 {
            if c < 0x20 && c != 0x09 || c == 0x7f {
                bytes += [UInt8(ascii: "%"), Hex.digits[Int(c >> 4)], Hex.digits[Int(c & 0xf)]]
            } else if escape && (c == 0x22 || c == 0x5c || c == 0x5d) {
                bytes += [0x5c, c]
            } else {
                bytes.append(c)
            }
        }
        out += String(decoding: bytes, as: UTF8.self)
    }

    static func append(_ value: String?, _ options: Options, to out: inout String) {
        guard let value, !value.isEmpty else {
            out += options.quote ? "\"\"" : "-"
            return
        }
        var text = value
        if options.escape {
            text = text.replacingEvery([("\\", "\\\\"), ("\"", "\\\""), ("]", "\\]")])
        }
        if options.quote { out += "\"" + text + "\"" } else { out += text }
    }

    /// Parses a log-format string (HAProxy's `parse_logformat_string`).
    public static func parse(_ text: String, environment: SampleExpressionParser.Environment) throws -> LogFormat {
        let bytes = Array(text.utf8)
        var nodes: [Node] = []
        var literal: [UInt8] = []
        var defaults = Options()
        var i = 0
        func flushLiteral() {
            if !literal.isEmpty {
                nodes.append(.literal(String(decoding: literal, as: UTF8.self)))
                literal = []
            }
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: " ") {
                flushLiteral()
                if nodes.last != .separator { nodes.append(.separator) }
                i += 1
                continue
            }
            guard c == UInt8(ascii: "%") else {
                literal.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < bytes.count else { throw RuleError("unexpected end of log-format string after '%'") }
            if bytes[i] == UInt8(ascii: "%") {
                literal.append(c)
                i += 1
                continue
            }
            var options = defaults
            let hasFlags = bytes[i] == UInt8(ascii: "{")
            if hasFlags {
                guard let close = bytes[i...].firstIndex(of: UInt8(ascii: "}")) else {
                    throw RuleError("missing '}' after '%{' in log-format string")
                }
                let flagText = String(decoding: bytes[(i + 1)..<close], as: UTF8.self)
                try applyFlags(flagText, to: &options)
                i = close + 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "o") {
                    // `%{...}o`: the options apply to every following item.
                    defaults = options
                    i += 1
                    continue
                }
            }
            guard i < bytes.count else { throw RuleError("unexpected end of log-format string") }
            if bytes[i] == UInt8(ascii: "[") {
                flushLiteral()
                i += 1
                let expressionStart = i
                let expression: SampleExpression
                do {
                    expression = try SampleExpressionParser.parse(bytes, &i, environment: environment,
                                                                  stopAt: UInt8(ascii: "]"))
                } catch {
                    // HAProxy quotes the rest of the string from the expression on.
                    let rest = String(decoding: bytes[expressionStart...], as: UTF8.self)
                    throw RuleError("failed to parse sample expression <\(rest)> : \(error).")
                }
                guard i < bytes.count, bytes[i] == UInt8(ascii: "]") else {
                    throw RuleError("missing ']' after expression '\(expression.text)'")
                }
                i += 1
                nodes.append(.sample(expression, options))
                continue
            }
            let start = i
            // HAProxy refuses a '%' followed by a digit, a space or a tab.
            if (bytes[i] >= 0x30 && bytes[i] <= 0x39) || bytes[i] == 0x20 || bytes[i] == 0x09 {
                throw RuleError("unexpected character '\(Character(Unicode.Scalar(bytes[i])))' after '%'. "
                                + "If you wanted to emit the '%' character verbatim, you need to use '%%'.")
            }
            while i < bytes.count, isAliasCharacter(bytes[i]) { i += 1 }
            let name = String(decoding: bytes[start..<i], as: UTF8.self)
            guard let alias = LogAlias(rawValue: name) else {
                if name.isEmpty {
                    let c = bytes[start]
                    if hasFlags || (c >= 0x30 && c <= 0x39) || c == 0x20 || c == 0x09 {
                        throw RuleError("unexpected character '\(Character(Unicode.Scalar(c)))' after '%'. "
                                        + "If you wanted to emit the '%' character verbatim, you need to use '%%'.")
                    }
                    // HAProxy drops a '%' followed by any other character and keeps that character.
                    continue
                }
                throw RuleError("no such format variable '\(name)'. If you wanted to emit the '%' character "
                                + "verbatim, you need to use '%%'.")
            }
            flushLiteral()
            nodes.append(.alias(alias, options))
        }
        flushLiteral()
        return LogFormat(nodes: nodes, text: text)
    }

    private static func isAliasCharacter(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
    }

    private static func applyFlags(_ text: String, to options: inout Options) throws {
        for flag in text.split(separator: ",") {
            // As in HAProxy's `parse_logformat_var_args`, a flag without a sign or an unknown
            // one is ignored.
            guard let sign = flag.first, sign == "+" || sign == "-" else { continue }
            let on = sign == "+"
            switch flag.dropFirst() {
            case "Q": options.quote = on
            case "X": options.hex = on
            case "E": options.escape = on
            default: break
            }
        }
    }
}

extension String {
    func replacingEvery(_ pairs: [(String, String)]) -> String {
        var out = ""
        outer: for character in self {
            for (from, to) in pairs where String(character) == from {
                out += to
                continue outer
            }
            out.append(character)
        }
        return out
    }
}
