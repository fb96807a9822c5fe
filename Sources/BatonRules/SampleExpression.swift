import BatonCore

/// `fetch[(args)][,converter[(args)]]...`: a sample fetch and the converters applied to it,
/// compiled once (HAProxy's `sample_expr`).
public struct SampleExpression: Sendable, Hashable, CustomStringConvertible {
    public var fetch: SampleFetch
    public var converters: [Converter]
    /// The expression as written, for messages.
    public var text: String

    public var description: String { text }

    /// The sample's type after the last converter, for matching defaults.
    var outputType: SampleType {
        guard let last = converters.last else { return fetch.outputType }
        switch last {
        case .lower, .upper, .field, .word, .regsub, .base64, .hex, .json, .urlDecode, .concat: return .string
        case .map(_, _, let output, _): return output
        case .base64Decode, .bytes: return .binary
        case .length, .arithmetic, .negate, .hash, .castInteger: return .int
        case .ipmask, .castAddress: return .ip
        }
    }

    /// The single value of the expression, as `%[...]` and actions use it.
    public func evaluate(_ subject: any RuleSubject) -> SampleValue? {
        guard var value = fetch.fetch(subject) else { return nil }
        for converter in converters {
            guard let next = converter.apply(value, subject) else { return nil }
            value = next
        }
        return value
    }

    /// Whether some value of the expression satisfies `predicate` (an ACL tries every
    /// occurrence of a header, for instance).
    func anyValue(_ subject: any RuleSubject, _ predicate: (SampleValue) -> Bool) -> Bool {
        if converters.isEmpty { return fetch.forEachValue(subject, all: true, predicate) }
        return fetch.forEachValue(subject, all: true) { raw in
            var value = raw
            for converter in converters {
                guard let next = converter.apply(value, subject) else { return false }
                value = next
            }
            return predicate(value)
        }
    }
}

/// Parses sample expressions: fetch names and converters with their arguments.
public enum SampleExpressionParser {
    /// The context files are read in (map files) and names are checked against.
    public struct Environment: Sendable {
        /// Reads a file for `map` converters; nil when it cannot be read.
        public var readFile: @Sendable (String) -> [UInt8]?
        /// The proxy whose rules are parsed: its stick table is the default one.
        public var proxyName: String?

        public init(proxyName: String? = nil, readFile: @escaping @Sendable (String) -> [UInt8]?) {
            self.proxyName = proxyName
            self.readFile = readFile
        }
    }

    /// Parses a whole word as an expression. `stopAt` ends it early (the `]` of `%[...]`);
    /// returns the expression and the index after it.
    public static func parse(_ text: String, environment: Environment) throws -> SampleExpression {
        let bytes = Array(text.utf8)
        var position = 0
        let expression = try parse(bytes, &position, environment: environment, stopAt: nil)
        if position < bytes.count {
            throw RuleError("unexpected character '\(Character(Unicode.Scalar(bytes[position])))' after expression")
        }
        return expression
    }

    static func parse(_ bytes: [UInt8], _ position: inout Int, environment: Environment,
                      stopAt: UInt8?) throws -> SampleExpression {
        let start = position
        var (fetchName, fetchArguments) = try readCall(bytes, &position, stopAt: stopAt, kind: "fetch method")
        guard let definition = FetchTable.definitions[fetchName] else {
            let hint = Suggestions.hint(for: fetchName, among: FetchTable.definitions.keys)
            throw RuleError("unknown fetch method '\(fetchName)'\(hint)")
        }
        // `src()`: the empty argument of `()` is no argument for a fetch that takes none.
        if fetchArguments == [""] && definition.maxArguments == 0 { fetchArguments = [] }
        try FetchTable.checkCount(fetchArguments, definition, name: fetchName)
        var (fetch, implicit) = try definition.build(fetchArguments)
        if case .stickCounter(let source, let counter, nil) = fetch {
            fetch = .stickCounter(source, counter, proxyTable: environment.proxyName)
        }
        var converters = implicit
        while position < bytes.count, bytes[position] != stopAt {
            guard bytes[position] == UInt8(ascii: ",") else { break }
            position += 1
            let (name, arguments) = try readCall(bytes, &position, stopAt: stopAt, kind: "converter")
            guard let converter = ConverterTable.definitions[name] else {
                let hint = Suggestions.hint(for: name, among: ConverterTable.definitions.keys)
                throw RuleError("unknown converter '\(name)'\(hint)")
            }
            converters.append(try converter(arguments, environment))
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        return SampleExpression(fetch: fetch, converters: converters, text: text)
    }

    /// `name` or `name(arg,arg)`; arguments may be quoted and use backslash escapes.
    static func readCall(_ bytes: [UInt8], _ position: inout Int, stopAt: UInt8?,
                         kind: String) throws -> (String, [String]) {
        let start = position
        while position < bytes.count, bytes[position] != UInt8(ascii: "("), bytes[position] != UInt8(ascii: ","),
              bytes[position] != stopAt {
            position += 1
        }
        let name = String(decoding: bytes[start..<position], as: UTF8.self)
        if name.isEmpty { throw RuleError("missing \(kind) name") }
        guard position < bytes.count, bytes[position] == UInt8(ascii: "(") else { return (name, []) }
        position += 1
        var arguments: [String] = []
        var current: [UInt8] = []
        let doubleQuote = UInt8(ascii: "\""), singleQuote = UInt8(ascii: "'"), backslash = UInt8(ascii: "\\")
        var quote: UInt8?
        // HAProxy's `make_arg_list`: quotes group, outside single quotes `\\`, `\ `, `\"` and `\'`
        // stand for the character and `\r`, `\n`, `\t` for CR, LF, TAB; any other backslash is
        // kept (so that `regsub(...,\1)` keeps its back-reference).
        while true {
            guard position < bytes.count else {
                throw RuleError("missing closing ')' after arguments to \(kind) '\(name)'")
            }
            let c = bytes[position]
            position += 1
            if (c == doubleQuote && quote != singleQuote) || (c == singleQuote && quote != doubleQuote) {
                quote = quote == nil ? c : nil
                continue
            }
            if c == backslash, quote != singleQuote, position < bytes.count {
                switch bytes[position] {
                case backslash, UInt8(ascii: " "), doubleQuote, singleQuote:
                    current.append(bytes[position])
                    position += 1
                case UInt8(ascii: "r"): current.append(0x0d); position += 1
                case UInt8(ascii: "n"): current.append(0x0a); position += 1
                case UInt8(ascii: "t"): current.append(0x09); position += 1
                default: current.append(c)
                }
                continue
            }
            if quote == nil, c == UInt8(ascii: ",") {
                arguments.append(String(decoding: current, as: UTF8.self))
                current = []
                continue
            }
            if quote == nil, c == UInt8(ascii: ")") {
                // As in HAProxy, `()` holds one empty argument; callers that take none accept it.
                arguments.append(String(decoding: current, as: UTF8.self))
                return (name, arguments)
            }
            current.append(c)
        }
    }
}

/// "; did you mean 'x' maybe ?", as the configuration parser words it.
enum Suggestions {
    static func hint(for word: String, among candidates: some Sequence<String>) -> String {
        guard let best = Suggestion.closest(to: word, among: Set(candidates).sorted()) else { return "" }
        return "; did you mean '\(best)' maybe ?"
    }
}
