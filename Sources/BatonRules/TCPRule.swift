import BatonCore

/// A `tcp-request connection|session|content` rule.
public struct TCPRule: Sendable, Hashable {
    public enum Layer: String, Sendable, Hashable {
        case connection, session, content
    }

    public enum Action: Sendable, Hashable {
        case accept
        case reject
        case trackCounter(index: Int, key: SampleExpression, table: String?)
        case setVariable(VariableName, SampleExpression)
        case unsetVariable(VariableName)
        case incrementGPC(slot: Int, counter: StickCounterName)
    }

    public var layer: Layer
    public var action: Action
    public var condition: Condition?
    public var location: SourceLocation
}

public enum TCPVerdict: Sendable, Equatable {
    case accept
    case reject
}

extension Array where Element == TCPRule {
    /// Runs the rules until `accept` or `reject`; none matching accepts. Tracking started by
    /// connection-level rules lasts as long as the connection.
    public func run(_ subject: any RuleSubject) -> TCPVerdict {
        for rule in self {
            if let condition = rule.condition, !condition.isSatisfied(by: subject) { continue }
            switch rule.action {
            case .accept: return .accept
            case .reject: return .reject
            case .trackCounter(let index, let key, let table):
                StickTracking.track(slot: index, key: key, table: table, subject, byConnection: rule.layer != .content
                                    || !subject.isHTTP)
            case .setVariable(let name, let expression):
                if let value = expression.evaluate(subject) { name.write(value, subject) }
            case .unsetVariable(let name):
                name.write(nil, subject)
            case .incrementGPC(let slot, let counter):
                if let tracked = subject.trackedCounters[slot] { _ = tracked.table.read(counter, of: tracked.entry) }
            }
        }
        return .accept
    }
}

/// Parses `tcp-request <layer> <action> [args] [if|unless <cond>]`.
public enum TCPRuleParser {
    public static let actions = ["accept", "reject", "track-sc0", "track-sc1", "track-sc2", "set-var", "unset-var",
                                 "sc-inc-gpc0", "sc-inc-gpc1"]
    static let haproxyActions: Set<String> = [
        "accept", "reject", "expect-proxy", "expect-netscaler-cip", "capture", "track-sc0", "track-sc1", "track-sc2",
        "sc-inc-gpc", "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt0", "sc-set-gpt", "set-var", "set-var-fmt", "unset-var",
        "set-src", "set-src-port", "set-dst", "set-dst-port", "set-mark", "set-tos", "silent-drop", "lua",
        "switch-mode", "use-service", "send-spoe-group", "set-log-level", "set-nice", "do-resolve", "attach-srv",
        "set-bandwidth-limit",
    ]

    public static func parse(_ layer: TCPRule.Layer, _ words: ArraySlice<String>, location: SourceLocation,
                             acls: [String: ACL], environment: SampleExpressionParser.Environment,
                             warnings: inout [String]) throws -> TCPRule {
        guard let word = words.first else {
            throw RuleError("'tcp-request \(layer.rawValue)' expects an action.")
        }
        let name = String(word.prefix { $0 != "(" })
        var arguments = Array(words.dropFirst())
        var condition: Condition?
        if let split = arguments.firstIndex(where: { $0 == "if" || $0 == "unless" }) {
            do {
                condition = try ACLParser.parseCondition(unless: arguments[split] == "unless", arguments[(split + 1)...],
                                                         known: acls, environment: environment, warnings: &warnings)
            } catch {
                throw RuleError("error detected in frontend while parsing 'tcp-request \(layer.rawValue)' condition : \(error)")
            }
            arguments = Array(arguments[..<split])
        }
        let action: TCPRule.Action
        switch name {
        case "accept", "reject":
            guard arguments.isEmpty else {
                throw RuleError("'tcp-request \(layer.rawValue) \(name)' : unexpected argument '\(arguments[0])'.")
            }
            action = name == "accept" ? .accept : .reject
        case "track-sc0", "track-sc1", "track-sc2":
            action = .trackCounter(index: Int(String(name.last!))!, key: try TrackParser.key(arguments, environment: environment),
                                   table: try TrackParser.table(arguments, environment: environment))
        case "set-var", "unset-var":
            guard let open = word.firstIndex(of: "("), word.hasSuffix(")"),
                  let variable = VariableName(String(word[word.index(after: open)..<word.index(before: word.endIndex)])) else {
                throw RuleError("'tcp-request \(layer.rawValue) \(name)' expects a variable name between parentheses.")
            }
            if name == "unset-var" {
                action = .unsetVariable(variable)
            } else {
                guard arguments.count == 1 else { throw RuleError("'tcp-request \(layer.rawValue) set-var' expects a sample expression.") }
                action = .setVariable(variable, try SampleExpressionParser.parse(arguments[0], environment: environment))
            }
        case "sc-inc-gpc0", "sc-inc-gpc1":
            guard let open = word.firstIndex(of: "("), let slot = Int(String(word[word.index(after: open)])), (0...2).contains(slot) else {
                throw RuleError("'tcp-request \(layer.rawValue) \(name)' expects a stick counter between parentheses.")
            }
            action = .incrementGPC(slot: slot, counter: name == "sc-inc-gpc0" ? .incrementGPC0 : .incrementGPC1)
        default:
            if haproxyActions.contains(name) {
                throw RuleError("'tcp-request \(layer.rawValue) \(name)' is not supported by Baton yet.")
            }
            throw RuleError("'tcp-request \(layer.rawValue)' expects \(actions.map { "'\($0)'" }.joined(separator: ", ")), but got '\(name)'.")
        }
        return TCPRule(layer: layer, action: action, condition: condition, location: location)
    }
}
