/// How an ACL compares a sample with its patterns (`-m` of configuration.txt 7.1.3).
public enum MatchMethod: String, Sendable, Hashable, CaseIterable {
    case found, bool, int, ip, bin, len, str, sub, reg, beg, end, dir, dom
    public static let beginning = MatchMethod.beg
    public static let ending = MatchMethod.end
    public static let substring = MatchMethod.sub
    public static let directory = MatchMethod.dir
    public static let domain = MatchMethod.dom

    /// The method an ACL uses when it names none, from the fetch's output type.
    static func defaultFor(_ type: SampleType) -> MatchMethod? {
        switch type {
        case .bool: return .bool
        case .int: return .int
        case .ip: return .ip
        case .string, .method: return .str
        case .binary: return .bin
        case .any: return nil
        }
    }

    /// The string-comparing methods, for maps and ACL string patterns.
    func matchesString(_ text: String, pattern: String, ignoreCase: Bool) -> Bool {
        switch self {
        case .str:
            return ignoreCase ? ASCIIText.equalsIgnoringCase(text, pattern) : text == pattern
        case .beg:
            return StringSearch.hasPrefix(text, pattern, ignoreCase: ignoreCase)
        case .end:
            return StringSearch.hasSuffix(text, pattern, ignoreCase: ignoreCase)
        case .sub:
            return StringSearch.find(pattern, in: Array(text.utf8), ignoreCase: ignoreCase, from: 0) != nil
        case .dir:
            return StringSearch.matchesWord(text, pattern, delimiters: [UInt8(ascii: "/"), UInt8(ascii: "?")],
                                            ignoreCase: ignoreCase)
        case .dom:
            return StringSearch.matchesWord(text, pattern,
                                            delimiters: [UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "."),
                                                         UInt8(ascii: ":")],
                                            ignoreCase: ignoreCase)
        case .found, .bool, .int, .ip, .bin, .len, .reg:
            return false
        }
    }
}

/// An integer pattern: a value, a range `A:B` (either end open) or an operator and a value.
public struct IntegerRange: Sendable, Hashable {
    public var lower: Int64?
    public var upper: Int64?

    public func contains(_ value: Int64) -> Bool {
        if let lower, value < lower { return false }
        if let upper, value > upper { return false }
        return true
    }
}

/// The patterns of one ACL line, compiled for their method: a hash set for exact strings,
/// sorted lists for the others, compiled regexes, networks.
public struct PatternSet: Sendable, Hashable {
    public var method: MatchMethod
    public var ignoreCase: Bool
    /// HAProxy's `pat_match_meth`, for a `method` fetch matched without `-m`: a well-known
    /// method pattern (GET, POST, ...) matches that method exactly, whatever `-i` says; other
    /// patterns only match other methods.
    var matchesMethods = false
    var strings: [String] = []
    /// Exact strings (lowercased with `-i`), for `-m str`.
    var exactStrings: Set<String> = []
    var integers: [IntegerRange] = []
    var networks: [IPNetworkPattern] = []
    var regexes: [Regex] = []
    var binaries: [[UInt8]] = []

    init(method: MatchMethod, ignoreCase: Bool) {
        self.method = method
        self.ignoreCase = ignoreCase
    }

    var isEmpty: Bool {
        strings.isEmpty && integers.isEmpty && networks.isEmpty && regexes.isEmpty && binaries.isEmpty
    }

    /// Whether one sample matches.
    func matches(_ sample: SampleValue) -> Bool {
        switch method {
        case .found:
            return true
        case .bool:
            return sample.boolValue ?? false
        case .int:
            guard let value = sample.intValue else { return false }
            return integers.contains { $0.contains(value) }
        case .len:
            let length = Int64(sample.bytes.count)
            return integers.contains { $0.contains(length) }
        case .ip:
            guard let address = sample.ipValue else { return false }
            return networks.contains { $0.contains(address) }
        case .bin:
            let bytes = sample.bytes
            return binaries.contains { $0 == bytes }
        case .str:
            if matchesMethods, case .method(let name) = sample {
                return strings.contains { pattern in
                    if Self.wellKnownMethods.contains(pattern) { return name == pattern }
                    if Self.wellKnownMethods.contains(name) { return false }
                    return ignoreCase ? ASCIIText.equalsIgnoringCase(name, pattern) : name == pattern
                }
            }
            let text = sample.stringValue
            // A few patterns: compared in place, without hashing or lowercasing a copy.
            if strings.count <= 4 {
                if ignoreCase { return strings.contains { ASCIIText.equalsIgnoringCase(text, $0) } }
                return strings.contains { $0 == text }
            }
            return exactStrings.contains(ignoreCase ? ASCIIText.lowercased(text) : text)
        case .reg:
            let text = sample.stringValue
            return regexes.contains { $0.matches(text) }
        case .beg, .end, .sub, .dir, .dom:
            let text = sample.stringValue
            return strings.contains { method.matchesString(text, pattern: $0, ignoreCase: ignoreCase) }
        }
    }

    static let wellKnownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE"]

    /// Adds one pattern as written; throws HAProxy's message when it is not valid for the method.
    mutating func add(_ text: String, operator op: String? = nil) throws {
        switch method {
        case .found, .bool:
            throw RuleError("'\(text)' : patterns are not allowed with '-m \(method.rawValue)'")
        case .int, .len:
            integers.append(try Self.integerRange(text, operator: op))
        case .ip:
            guard let network = IPNetworkPattern(text) else {
                throw RuleError("'\(text)' is not a valid IPv4 or IPv6 address.")
            }
            networks.append(network)
        case .bin:
            let bytes = Array(text.utf8)
            guard bytes.count % 2 == 0 else { throw RuleError("'\(text)' : bad binary pattern (odd length)") }
            var out: [UInt8] = []
            var i = 0
            while i < bytes.count {
                guard let high = Hex.value(bytes[i]), let low = Hex.value(bytes[i + 1]) else {
                    throw RuleError("'\(text)' : bad binary pattern (not hexadecimal)")
                }
                out.append(high << 4 | low)
                i += 2
            }
            binaries.append(out)
        case .str:
            strings.append(text)
            exactStrings.insert(ignoreCase ? ASCIIText.lowercased(text) : text)
        case .reg:
            do {
                regexes.append(try Regex(text, ignoringCase: ignoreCase))
            } catch {
                throw RuleError("\(error)")
            }
        case .beg, .end, .sub, .dir, .dom:
            strings.append(text)
        }
    }

    static func integerRange(_ text: String, operator op: String?) throws -> IntegerRange {
        func parse(_ part: Substring) throws -> Int64 {
            guard let value = Int64(part) else { throw RuleError("'\(text)' is not a number") }
            return value
        }
        if let op {
            let value = try parse(text[...])
            switch op {
            case "eq": return IntegerRange(lower: value, upper: value)
            case "ge": return IntegerRange(lower: value, upper: nil)
            case "gt": return IntegerRange(lower: value == .max ? value : value + 1, upper: nil)
            case "le": return IntegerRange(lower: nil, upper: value)
            case "lt": return IntegerRange(lower: nil, upper: value == .min ? value : value - 1)
            default: throw RuleError("'\(op)' is not a valid integer operator")
            }
        }
        if let colon = text.firstIndex(of: ":") {
            let low = text[..<colon], high = text[text.index(after: colon)...]
            return IntegerRange(lower: low.isEmpty ? nil : try parse(low), upper: high.isEmpty ? nil : try parse(high))
        }
        let value = try parse(text[...])
        return IntegerRange(lower: value, upper: value)
    }
}

enum StringSearch {
    static func hasPrefix(_ text: String, _ prefix: String, ignoreCase: Bool) -> Bool {
        if !ignoreCase { return text.utf8.starts(with: prefix.utf8) }
        return text.utf8.starts(with: prefix.utf8) { ASCIIText.lower($0) == ASCIIText.lower($1) }
    }

    static func hasSuffix(_ text: String, _ suffix: String, ignoreCase: Bool) -> Bool {
        let a = text.utf8, b = suffix.utf8
        guard b.count <= a.count else { return false }
        if !ignoreCase { return a.reversed().starts(with: b.reversed()) }
        return a.reversed().starts(with: b.reversed()) { ASCIIText.lower($0) == ASCIIText.lower($1) }
    }

    static func find(_ needle: String, in haystack: [UInt8], ignoreCase: Bool, from start: Int) -> Int? {
        let pattern = Array(needle.utf8)
        if pattern.isEmpty { return start }
        guard haystack.count >= pattern.count else { return nil }
        var i = start
        while i + pattern.count <= haystack.count {
            var j = 0
            while j < pattern.count {
                let a = haystack[i + j], b = pattern[j]
                if ignoreCase ? ASCIIText.lower(a) != ASCIIText.lower(b) : a != b { break }
                j += 1
            }
            if j == pattern.count { return i }
            i += 1
        }
        return nil
    }

    /// HAProxy's `match_word`: the pattern (without its own leading and trailing delimiters)
    /// appears bounded by delimiters or the ends of the text.
    static func matchesWord(_ text: String, _ rawPattern: String, delimiters: [UInt8], ignoreCase: Bool) -> Bool {
        var pattern = Array(rawPattern.utf8)[...]
        while let first = pattern.first, delimiters.contains(first) { pattern = pattern.dropFirst() }
        while let last = pattern.last, delimiters.contains(last) { pattern = pattern.dropLast() }
        let haystack = Array(text.utf8)
        let needle = String(decoding: pattern, as: UTF8.self)
        if pattern.isEmpty { return true }
        var start = 0
        while let position = find(needle, in: haystack, ignoreCase: ignoreCase, from: start) {
            let end = position + pattern.count
            let before = position == 0 || delimiters.contains(haystack[position - 1])
            let after = end == haystack.count || delimiters.contains(haystack[end])
            if before && after { return true }
            start = position + 1
        }
        return false
    }
}

/// A problem in a rule, fetch, converter or pattern, in HAProxy's words; the configuration
/// parser adds the file, line and context.
public struct RuleError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
