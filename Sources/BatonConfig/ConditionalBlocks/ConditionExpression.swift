import Foundation

/// The conditions of `.if` / `.elif` blocks (configuration.txt section 2.4), also used by
/// `baton -cc EXPR`. A port of HAProxy's cfgcond.c: terms are numbers (non-zero is true),
/// predicates such as `defined(NAME)`, or parenthesised expressions; `!` negates a term, `&&`
/// binds tighter than `||`.
public enum ConditionExpression {
    /// The HAProxy version Baton's configuration language is compatible with, as seen by
    /// `version_atleast()` and `version_before()`.
    public static let compatibleHAProxyVersion = "3.2"

    /// The build features `feature(NAME)` reports as present.
    public static let features: Set<String> = {
        var set: Set<String> = ["THREAD", "GETADDRINFO"]
        #if os(Linux)
        set.insert("EPOLL")
        #else
        set.insert("KQUEUE")
        #endif
        return set
    }()

    /// A condition that does not parse or cannot be evaluated.
    public struct EvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
        /// HAProxy's wording, e.g. `unparsable conditional expression 'foo'`.
        public var message: String
        /// The expression, its words joined by single spaces as HAProxy does.
        public var expression: String
        /// Byte offset of the offending character in `expression`.
        public var position: Int

        public init(message: String, expression: String, position: Int) {
            self.message = message
            self.expression = expression
            self.position = position
        }

        public var description: String { message }

        /// The multi-line form HAProxy prints after `.if` / `.elif`:
        /// `MSG in '.if' at position N:\n  .if EXPR\n      ^`.
        public func rendered(directive: String) -> String {
            let pad = String(repeating: " ", count: position + directive.utf8.count + 1)
            return "\(message) in '\(directive)' at position \(position + 1):\n  \(directive) \(expression)\n  \(pad)^"
        }
    }

    /// Evaluates an expression given as one string (as `baton -cc` receives it): the text is
    /// first split into words with the configuration lexer (quotes, escapes, variables).
    public static func evaluate(_ text: String,
                                environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Bool {
        let words: [LexedWord]
        do {
            words = try Lexer.split(text, environment: environment)
        } catch {
            throw EvaluationError(message: error.message, expression: text, position: 0)
        }
        return try evaluate(words: words.map(\.text), environment: environment)
    }

    /// Evaluates an expression already split into words (the words after `.if`).
    public static func evaluate(words: [String], environment: [String: String]) throws -> Bool {
        let expression = words.joined(separator: " ")
        var parser = ConditionParser(text: Array(expression.utf8), expression: expression)
        guard let tree = try parser.parseCondition() else { return false }
        return try tree.evaluate(environment: environment, expression: expression)
    }

    /// Compares dotted versions numerically: negative when `a < b`, 0 when equal.
    static func compareVersions(_ a: String, _ b: String) -> Int {
        func parts(_ v: String) -> [Int] {
            let core = v.split(separator: "-", maxSplits: 1).first.map(String.init) ?? ""
            return core.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        }
        let pa = parts(a), pb = parts(b)
        for index in 0..<max(pa.count, pb.count) {
            let x = index < pa.count ? pa[index] : 0
            let y = index < pb.count ? pb[index] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }
}

/// A parsed condition.
indirect enum ConditionNode: Sendable {
    case constant(Bool)
    case predicate(name: String, arguments: [String])
    case not(ConditionNode)
    case and(ConditionNode, ConditionNode)
    case or(ConditionNode, ConditionNode)

    func evaluate(environment: [String: String], expression: String) throws -> Bool {
        switch self {
        case .constant(let value): return value
        case .not(let node): return try !node.evaluate(environment: environment, expression: expression)
        case .and(let l, let r):
            return try l.evaluate(environment: environment, expression: expression)
                && r.evaluate(environment: environment, expression: expression)
        case .or(let l, let r):
            return try l.evaluate(environment: environment, expression: expression)
                || r.evaluate(environment: environment, expression: expression)
        case .predicate(let name, let args):
            let current = ConditionExpression.compatibleHAProxyVersion
            switch name {
            case "defined": return environment[args[0]] != nil
            case "feature": return ConditionExpression.features.contains(args[0])
            case "streq": return args[0] == args[1]
            case "strneq": return args[0] != args[1]
            case "strstr": return args[1].isEmpty || args[0].contains(args[1])
            case "version_atleast": return ConditionExpression.compareVersions(current, args[0]) >= 0
            case "version_before": return ConditionExpression.compareVersions(current, args[0]) < 0
            default: return false  // enabled(), the TLS library predicates: nothing of the kind here
            }
        }
    }
}

/// Recursive-descent parser over the bytes of the joined expression, with HAProxy's messages.
struct ConditionParser {
    /// Predicate name and its number of (string) arguments.
    static let predicates: [String: Int] = [
        "defined": 1, "feature": 1, "streq": 2, "strneq": 2, "strstr": 2,
        "version_atleast": 1, "version_before": 1, "openssl_version_atleast": 1,
        "openssl_version_before": 1, "ssllib_name_startswith": 1, "awslc_api_atleast": 1,
        "awslc_api_before": 1, "enabled": 1, "fips_mode": 0,
    ]
    static let maxDepth = 1024

    let text: [UInt8]
    let expression: String
    var i = 0

    init(text: [UInt8], expression: String) {
        self.text = text
        self.expression = expression
    }

    private func byte(_ index: Int) -> UInt8 { index < text.count ? text[index] : 0 }
    private func rest(from index: Int) -> String { String(decoding: text[min(index, text.count)...], as: UTF8.self) }
    private mutating func skipBlanks() { while byte(i) == 0x20 || byte(i) == 0x09 { i += 1 } }
    private func error(_ message: String, at position: Int) -> ConditionExpression.EvaluationError {
        ConditionExpression.EvaluationError(message: message, expression: expression, position: position)
    }

    /// The whole condition; nil when it is empty (which HAProxy takes as false).
    mutating func parseCondition() throws -> ConditionNode? {
        if text.isEmpty { return nil }
        guard let node = try parseExpression(depth: Self.maxDepth) else {
            throw error("unparsable conditional expression '\(expression)'", at: 0)
        }
        skipBlanks()
        if i < text.count {
            let c = String(decoding: [text[i]], as: UTF8.self)
            throw error("unexpected character '\(c)' at the end of conditional expression '\(expression)'", at: i)
        }
        return node
    }

    private mutating func parseExpression(depth: Int) throws -> ConditionNode? {
        if i >= text.count { return nil }
        guard depth > 0 else { throw error("unparsable conditional expression '\(rest(from: i))'", at: i) }
        let start = i
        guard let left = try parseAnd(depth: depth - 1) else {
            throw error("unparsable conditional expression '\(rest(from: start))'", at: start)
        }
        skipBlanks()
        guard byte(i) == UInt8(ascii: "|"), byte(i + 1) == UInt8(ascii: "|") else { return left }
        let save = i
        i += 2
        skipBlanks()
        guard let right = try parseExpression(depth: depth - 1) else {
            i = save
            return left
        }
        return .or(left, right)
    }

    private mutating func parseAnd(depth: Int) throws -> ConditionNode? {
        if i >= text.count { return nil }
        guard depth > 0 else { throw error("unparsable conditional sub-expression '\(rest(from: i))'", at: i) }
        let start = i
        guard let left = try parseTerm(depth: depth - 1) else {
            throw error("unparsable conditional sub-expression '\(rest(from: start))'", at: start)
        }
        skipBlanks()
        guard byte(i) == UInt8(ascii: "&"), byte(i + 1) == UInt8(ascii: "&") else { return left }
        let save = i
        i += 2
        skipBlanks()
        guard let right = try parseAnd(depth: depth - 1) else {
            i = save
            return left
        }
        return .and(left, right)
    }

    private mutating func parseTerm(depth: Int) throws -> ConditionNode? {
        let termStart = i
        skipBlanks()
        if i >= text.count { return nil }
        guard depth > 0 else { throw error("unparsable conditional expression '\(rest(from: termStart))'", at: termStart) }
        var negate = false
        while byte(i) == UInt8(ascii: "!") {
            negate.toggle()
            repeat { i += 1 } while byte(i) == 0x20 || byte(i) == 0x09
        }
        func wrap(_ node: ConditionNode) -> ConditionNode { negate ? .not(node) : node }

        if let value = parseNumber() {
            return wrap(.constant(value != 0))
        }
        if byte(i) == UInt8(ascii: "(") {
            repeat { i += 1 } while byte(i) == 0x20 || byte(i) == 0x09
            guard let inner = try parseExpression(depth: depth - 1) else {
                throw error("unparsable conditional expression '\(rest(from: termStart))'", at: termStart)
            }
            skipBlanks()
            guard byte(i) == UInt8(ascii: ")") else {
                throw error("expected ')' after conditional expression '\(rest(from: termStart))'", at: termStart)
            }
            repeat { i += 1 } while byte(i) == 0x20 || byte(i) == 0x09
            return wrap(inner)
        }
        var nameEnd = i
        while nameEnd < text.count, text[nameEnd] != 0x20, text[nameEnd] != UInt8(ascii: "(") { nameEnd += 1 }
        let name = String(decoding: text[i..<nameEnd], as: UTF8.self)
        guard let count = Self.predicates[name] else {
            throw error("unparsable conditional expression '\(rest(from: termStart))'", at: termStart)
        }
        i = nameEnd
        let arguments = try parseArguments(count: count, predicate: name)
        return wrap(.predicate(name: name, arguments: arguments))
    }

    /// `strtol(text, &end, 0)`: optional sign, then hexadecimal (`0x`), octal (`0`) or decimal.
    private mutating func parseNumber() -> Int64? {
        var j = i
        var negative = false
        if byte(j) == UInt8(ascii: "+") || byte(j) == UInt8(ascii: "-") {
            negative = byte(j) == UInt8(ascii: "-")
            j += 1
        }
        var radix: Int64 = 10
        if byte(j) == UInt8(ascii: "0"), byte(j + 1) | 0x20 == UInt8(ascii: "x"), Lexer.hexValue(byte(j + 2)) != nil {
            radix = 16
            j += 2
        } else if byte(j) == UInt8(ascii: "0") {
            radix = 8
        }
        var value: Int64 = 0
        var digits = 0
        while let d = Lexer.hexValue(byte(j)), Int64(d) < radix {
            value = value &* radix &+ Int64(d)
            digits += 1
            j += 1
        }
        guard digits > 0 else { return nil }
        i = j
        return negative ? -value : value
    }

    /// `(arg1,arg2)` with the quoting rules of HAProxy's make_arg_list().
    private mutating func parseArguments(count: Int, predicate: String) throws -> [String] {
        func failure(_ message: String, argument: Int, at position: Int) -> ConditionExpression.EvaluationError {
            error("\(message) in argument \(argument) of predicate '\(predicate)' used in conditional expression",
                  at: position)
        }
        var arguments: [String] = []
        guard byte(i) == UInt8(ascii: "(") else {
            if count == 0 { return [] }
            throw failure("missing arguments (got 0/\(count)), type 'string' expected", argument: 0, at: i)
        }
        i += 1
        while arguments.count < max(count, 1) {
            var out: [UInt8] = []
            var squote = false, dquote = false
            while i < text.count {
                let c = text[i]
                if c == UInt8(ascii: "\"") && !squote { dquote.toggle(); i += 1; continue }
                if c == UInt8(ascii: "'") && !dquote { squote.toggle(); i += 1; continue }
                if c == UInt8(ascii: "\\") && !squote && i + 1 < text.count {
                    let n = text[i + 1]
                    switch n {
                    case UInt8(ascii: "\\"), UInt8(ascii: " "), UInt8(ascii: "\""), UInt8(ascii: "'"): out.append(n); i += 2
                    case UInt8(ascii: "r"): out.append(0x0D); i += 2
                    case UInt8(ascii: "n"): out.append(0x0A); i += 2
                    case UInt8(ascii: "t"): out.append(0x09); i += 2
                    default: out.append(c); i += 1
                    }
                    continue
                }
                if !squote && !dquote && (c == UInt8(ascii: ",") || c == UInt8(ascii: ")")) { break }
                out.append(c)
                i += 1
            }
            if count == 0 {
                if !out.isEmpty {
                    throw failure("end of arguments expected at position 1, but got '\(String(decoding: out, as: UTF8.self))'",
                                  argument: 1, at: i)
                }
                break
            }
            arguments.append(String(decoding: out, as: UTF8.self))
            if byte(i) == UInt8(ascii: ","), arguments.count < count {
                i += 1
                continue
            }
            break
        }
        if arguments.count < count {
            throw failure("missing arguments (got \(arguments.count)/\(count)), type 'string' expected",
                          argument: arguments.count, at: i)
        }
        if byte(i) == UInt8(ascii: ",") {
            throw failure("end of arguments expected at position \(count + 1), but got '\(rest(from: i))'",
                          argument: count + 1, at: i)
        }
        guard byte(i) == UInt8(ascii: ")") else {
            throw failure("expected ')'", argument: max(arguments.count, 1), at: i)
        }
        i += 1
        return arguments
    }
}
