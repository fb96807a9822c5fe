import BatonCore

/// One `acl` line: a sample expression and the patterns its values are matched against.
/// A reference type: conditions hold and iterate terms on every request, and a class is one
/// reference count where the struct was a dozen.
public final class ACLTerm: Sendable, Hashable {
    public let expression: SampleExpression
    public let patterns: PatternSet

    public init(expression: SampleExpression, patterns: PatternSet) {
        self.expression = expression
        self.patterns = patterns
    }

    public static func == (lhs: ACLTerm, rhs: ACLTerm) -> Bool {
        lhs.expression == rhs.expression && lhs.patterns == rhs.patterns
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(expression)
        hasher.combine(patterns)
    }

    func matches(_ subject: any RuleSubject) -> Bool {
        switch patterns.method {
        case .found:
            return expression.anyValue(subject) { _ in true }
        case .bool:
            return expression.anyValue(subject) { patterns.matches($0) }
        default:
            if patterns.isEmpty { return false }
            return expression.anyValue(subject) { patterns.matches($0) }
        }
    }

    var needsResponse: Bool { expression.fetch.needsResponse }
}

/// A named ACL: every line with that name, ORed (configuration.txt 7.1).
public struct ACL: Sendable, Hashable {
    public var name: String
    public var terms: [ACLTerm]

    public init(name: String, terms: [ACLTerm]) {
        self.name = name
        self.terms = terms
    }

    public func matches(_ subject: any RuleSubject) -> Bool {
        for index in terms.indices where terms[index].matches(subject) { return true }
        return false
    }

    var needsResponse: Bool { terms.allSatisfy(\.needsResponse) }
    var usesResponse: Bool { terms.contains(where: \.needsResponse) }
}

/// `if`/`unless` followed by ACL names (`!` negates, `or`/`||` separates alternatives,
/// `{ ... }` is an anonymous ACL): HAProxy's `acl_cond`.
public struct Condition: Sendable, Hashable {
    public struct Reference: Sendable, Hashable {
        public var negated: Bool
        public var acl: ACL
        /// Named references are replaced by the final ACL of that name once the section ends.
        public var isNamed: Bool
    }

    public var unless: Bool
    /// Alternatives (ORed), each a list of references (ANDed).
    public var alternatives: [[Reference]]

    public func isSatisfied(by subject: any RuleSubject) -> Bool {
        var result = false
        for s in alternatives.indices {
            var all = true
            for r in alternatives[s].indices
            where alternatives[s][r].acl.matches(subject) == alternatives[s][r].negated {
                all = false
                break
            }
            if all {
                result = true
                break
            }
        }
        return unless ? !result : result
    }

    /// Replaces named references by the ACLs as the whole section defines them (later `acl`
    /// lines with the same name add alternatives, as in HAProxy).
    public mutating func resolve(_ acls: [String: ACL]) {
        for i in alternatives.indices {
            for j in alternatives[i].indices where alternatives[i][j].isNamed {
                if let final = acls[alternatives[i][j].acl.name] { alternatives[i][j].acl = final }
            }
        }
    }

    /// The name of a named ACL of this condition that only involves response fetches, for
    /// HAProxy's "will never match" warning in request rules.
    public var aclOnlyUsingResponse: String? {
        for suite in alternatives {
            for reference in suite where reference.acl.needsResponse && !reference.acl.terms.isEmpty {
                return reference.acl.name.isEmpty ? "anonymous" : reference.acl.name
            }
        }
        return nil
    }

    /// Whether every alternative needs a response fetch (so the condition can never match in a
    /// request rule).
    var onlyInvolvesResponse: Bool {
        alternatives.allSatisfy { suite in suite.contains { $0.acl.needsResponse } }
    }
}

/// Parses `acl` lines and conditions.
public enum ACLParser {
    /// Parses the words of an ACL after its name: `CRITERION [flags] [operator] [values]`.
    /// `warnings` receives HAProxy's warnings (an ACL with no pattern).
    public static func parseTerm(_ words: ArraySlice<String>, environment: SampleExpressionParser.Environment,
                                 warnings: inout [String]) throws -> ACLTerm {
        guard let criterion = words.first, !criterion.isEmpty else { throw RuleError("missing ACL expression") }
        var text = criterion
        var implied: MatchMethod?
        let name = String(criterion.prefix { $0 != "(" && $0 != "," })
        if FetchTable.definitions[name] == nil, let shortcut = FetchTable.aclShortcuts[name] {
            text = shortcut.fetch + criterion.dropFirst(name.count)
            implied = shortcut.method
        }
        let expression: SampleExpression
        do {
            expression = try SampleExpressionParser.parse(text, environment: environment)
        } catch let error as RuleError {
            if error.message.hasPrefix("unknown fetch method") {
                let known = Array(FetchTable.definitions.keys) + Array(FetchTable.aclShortcuts.keys)
                let hint = Suggestions.hint(for: name, among: known)
                throw RuleError("unknown fetch method '\(name)' in ACL expression '\(criterion)'\(hint).")
            }
            throw error
        }
        var method: MatchMethod?
        var ignoreCase = false
        var files: [String] = []
        var rest = words.dropFirst()
        flags: while let flag = rest.first, flag.hasPrefix("-") {
            rest = rest.dropFirst()
            switch flag {
            case "-i": ignoreCase = true
            case "-n": break
            case "--": break flags
            case "-m":
                guard let value = rest.first else { throw RuleError("missing matching method after '-m'.") }
                guard let found = MatchMethod(rawValue: value) else {
                    throw RuleError("unknown matching method '\(value)' when parsing ACL expression.")
                }
                method = found
                rest = rest.dropFirst()
            case "-f":
                guard let value = rest.first else { throw RuleError("missing pattern file name after '-f'.") }
                files.append(value)
                rest = rest.dropFirst()
            case "-M", "-u":
                throw RuleError("ACL flag '\(flag)' is not supported by Baton yet.")
            default:
                throw RuleError("'\(flag)' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'.")
            }
        }
        guard let chosen = method ?? implied ?? MatchMethod.defaultFor(expression.outputType) else {
            throw RuleError("matching method must be specified first (using '-m') when using a sample fetch "
                            + "of this type ('\(name)').")
        }
        var patterns = PatternSet(method: chosen, ignoreCase: ignoreCase)
        patterns.matchesMethods = method == nil && implied == nil && expression.outputType == .method
        if chosen != .found && chosen != .bool {
            var pendingOperator: String?
            for value in rest {
                if chosen == .int || chosen == .len, pendingOperator == nil,
                   ["eq", "ge", "gt", "le", "lt"].contains(value) {
                    pendingOperator = value
                    continue
                }
                try patterns.add(value, operator: pendingOperator)
                pendingOperator = nil
            }
            for file in files {
                guard let contents = environment.readFile(file) else {
                    throw RuleError("failed to open pattern file <\(file)>.")
                }
                // HAProxy's `pat_ref_read_from_file`: a line starting with '#' is a comment;
                // leading spaces and tabs are dropped, the pattern ends at CR or LF (trailing
                // spaces are part of it); empty lines are ignored.
                for line in contents.split(separator: UInt8(ascii: "\n")) {
                    if line.first == UInt8(ascii: "#") { continue }
                    var pattern = line[...]
                    while let first = pattern.first, ASCIIText.isSpace(first) { pattern = pattern.dropFirst() }
                    if let cr = pattern.firstIndex(of: 0x0d) { pattern = pattern[..<cr] }
                    if pattern.isEmpty { continue }
                    try patterns.add(String(decoding: pattern, as: UTF8.self))
                }
            }
            if patterns.isEmpty && files.isEmpty && !words.contains("--") {
                warnings.append("parsing acl keyword '\(criterion)' :\n  no pattern to match against were provided, "
                                + "so this ACL will never match.\n  If this is what you intended, please add '--' to get "
                                + "rid of this warning.\n  If you intended to match only for existence, please use "
                                + "'-m found'.\n  If you wanted to force an int to match as a bool, please use '-m bool'.\n")
            }
        }
        return ACLTerm(expression: expression, patterns: patterns)
    }

    /// HAProxy's predefined ACLs (configuration.txt 7.4).
    static let predefined: [String: ACL] = {
        let definitions: [(String, [String])] = [
            ("TRUE", ["always_true"]), ("FALSE", ["always_false"]), ("LOCALHOST", ["src", "127.0.0.1/8", "::1"]),
            ("HTTP", ["req.proto_http"]), ("HTTP_1.0", ["req.ver", "1.0"]), ("HTTP_1.1", ["req.ver", "1.1"]),
            ("HTTP_2.0", ["req.ver", "2.0"]), ("HTTP_3.0", ["req.ver", "3.0"]),
            ("METH_CONNECT", ["method", "CONNECT"]), ("METH_DELETE", ["method", "DELETE"]),
            ("METH_GET", ["method", "GET", "HEAD"]), ("METH_HEAD", ["method", "HEAD"]),
            ("METH_OPTIONS", ["method", "OPTIONS"]), ("METH_POST", ["method", "POST"]),
            ("METH_PUT", ["method", "PUT"]), ("METH_TRACE", ["method", "TRACE"]),
            ("HTTP_URL_ABS", ["url_reg", "^[^/:]*://"]), ("HTTP_URL_SLASH", ["url_beg", "/"]),
            ("HTTP_URL_STAR", ["url", "*"]), ("HTTP_CONTENT", ["hdr_val(content-length)", "gt", "0"]),
            ("REQ_CONTENT", ["req.len", "gt", "0"]), ("WAIT_END", ["wait_end"]),
        ]
        var table: [String: ACL] = [:]
        let environment = SampleExpressionParser.Environment { _ in nil }
        for (name, words) in definitions {
            var ignored: [String] = []
            let term = try! parseTerm(words[...], environment: environment, warnings: &ignored)
            table[name] = ACL(name: name, terms: [term])
        }
        return table
    }()

    public static var predefinedNames: [String] { predefined.keys.sorted() }

    /// Parses the words after `if`/`unless` against the ACLs declared so far.
    public static func parseCondition(unless: Bool, _ words: ArraySlice<String>, known: [String: ACL],
                                      environment: SampleExpressionParser.Environment,
                                      warnings: inout [String]) throws -> Condition {
        var alternatives: [[Condition.Reference]] = []
        var suite: [Condition.Reference] = []
        var negated = false
        var index = words.startIndex
        while index < words.endIndex {
            var word = Substring(words[index])
            while word.first == "!" {
                negated.toggle()
                word = word.dropFirst()
            }
            defer { index += 1 }
            if word.isEmpty { continue }
            if word.lowercased() == "or" || word == "||" {
                if !suite.isEmpty { alternatives.append(suite) }
                suite = []
                negated = false
                continue
            }
            if word == "{" {
                guard let close = words[(index + 1)...].firstIndex(of: "}") else {
                    throw RuleError("missing closing '}' in condition")
                }
                var acl = ACL(name: "", terms: [])
                acl.terms = [try parseTerm(words[(index + 1)..<close], environment: environment, warnings: &warnings)]
                suite.append(.init(negated: negated, acl: acl, isNamed: false))
                negated = false
                index = close
                continue
            }
            let name = String(word)
            if let acl = known[name] {
                suite.append(.init(negated: negated, acl: acl, isNamed: true))
            } else if let acl = predefined[name] {
                suite.append(.init(negated: negated, acl: acl, isNamed: false))
            } else {
                let hint = Suggestions.hint(for: name, among: Array(known.keys) + predefinedNames)
                throw RuleError("no such ACL : '\(name)'\(hint)")
            }
            negated = false
        }
        if !suite.isEmpty { alternatives.append(suite) }
        return Condition(unless: unless, alternatives: alternatives)
    }
}
