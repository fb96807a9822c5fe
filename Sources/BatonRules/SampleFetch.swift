#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sample fetch: where a sample comes from (HAProxy's `sample_fetch`s of configuration.txt
/// section 7.3.2 to 7.3.6). Arguments are parsed when the configuration loads.
public enum SampleFetch: Sendable, Hashable {
    // Layer 4.
    case source, sourcePort, destination, destinationPort
    // Request line and URL.
    case method, path, url, query, base, requestVersion
    /// `url_param(name[,delim])`; nil name: the first parameter.
    case urlParameter(name: String?, delimiter: UInt8)
    // Header fields. `full` is `fhdr` (no comma splitting); occurrence is 1-based, negative from the end.
    case header(MessageSide, name: String?, occurrence: Int?, full: Bool)
    case headerCount(MessageSide, name: String?, full: Bool)
    /// `req.cook(name)` / `res.cook(name)`.
    case cookie(MessageSide, name: String?)
    case cookieCount(MessageSide, name: String?)
    case requestBody, requestBodyLength
    case status, responseVersion
    // Proxies.
    case frontendName, backendName, serverName
    case usableServers(backend: String?)
    case backendConnections(backend: String?)
    // Internal states and constants.
    case variable(VariableName, fallback: SampleValue?)
    case environment(String)
    case constant(SampleValue)
    /// `date([offset[,unit]])`: now in the unit (s, ms, us) plus the offset in that unit.
    case date(offset: Int64, microsecondsPerUnit: Int64)
    case random(range: Int64?)
    case uuid
    case firstRequest
    case sslFrontend
    case alwaysTrue, alwaysFalse, protocolHTTP, requestLength, waitEnd
    case uniqueID
    /// `http_auth(userlist)`: the request's Basic credentials are those of a user of the list.
    case httpAuthentication(userlist: String)
    /// `http_auth_group(userlist)`: the authenticated user's name; in an ACL, each group the
    /// user belongs to, so that the ACL's patterns name groups.
    case httpAuthenticationGroup(userlist: String)
    /// A stick-table counter; `proxyTable` is the table of the proxy the rule belongs to.
    case stickCounter(StickSource, StickCounterName, proxyTable: String? = nil)

    /// The type of the sample, which decides the default matching method of an ACL.
    var outputType: SampleType {
        switch self {
        case .source, .destination: return .ip
        case .sourcePort, .destinationPort, .headerCount, .cookieCount, .requestBodyLength, .status,
             .usableServers, .backendConnections, .date, .random, .requestLength:
            return .int
        case .method: return .method
        case .path, .url, .query, .base, .requestVersion, .urlParameter, .header, .cookie, .responseVersion,
             .httpAuthenticationGroup,
             .frontendName, .backendName, .serverName, .environment, .uuid, .uniqueID:
            return .string
        case .requestBody: return .binary
        case .firstRequest, .sslFrontend, .alwaysTrue, .alwaysFalse, .protocolHTTP, .waitEnd, .httpAuthentication:
            return .bool
        case .variable: return .any
        case .stickCounter(_, let counter, _): return counter == .tracked ? .bool : .int
        case .constant(let value): return SampleType(value)
        }
    }

    /// The message part the fetch reads, in HAProxy's words, when it needs one: such fetches
    /// cannot be used in `log-format` lines, written after the messages are gone.
    public var neededMessagePart: String? {
        switch self {
        case .method, .path, .url, .query, .base, .requestVersion, .urlParameter, .header(.request, _, _, _),
             .httpAuthentication, .httpAuthenticationGroup,
             .headerCount(.request, _, _), .cookie(.request, _), .cookieCount(.request, _), .requestBody,
             .requestBodyLength:
            return "HTTP request headers"
        case .header(.response, _, _, _), .headerCount(.response, _, _), .cookie(.response, _),
             .cookieCount(.response, _), .responseVersion:
            return "HTTP response headers"
        default:
            return nil
        }
    }

    /// Which message the fetch needs (for the "will never match" checks).
    var needsResponse: Bool {
        switch self {
        case .header(.response, _, _, _), .headerCount(.response, _, _), .cookie(.response, _),
             .cookieCount(.response, _), .status, .responseVersion:
            return true
        default:
            return false
        }
    }

    /// Calls `body` with each value of the sample until it returns true; in an ACL all
    /// occurrences of a header are tried, elsewhere only the one `%[...]` would print.
    func forEachValue(_ subject: any RuleSubject, all: Bool, _ body: (SampleValue) -> Bool) -> Bool {
        switch self {
        case .header(let side, let name, let occurrence, let full) where all && occurrence == nil:
            return HeaderFetch.forEach(subject, side, name: name, full: full) { body(.string($0)) }
        case .httpAuthenticationGroup(let name) where all:
            guard let list = subject.userlist(named: name), let user = list.authenticatedUser(subject) else {
                return false
            }
            for (group, members) in list.groups.sorted(by: { $0.key < $1.key }) where members.contains(user) {
                if body(.string(group)) { return true }
            }
            return false
        case .cookie(let side, let name) where all:
            return CookieFetch.forEach(subject, side, name: name) { body(.string($0)) }
        case .urlParameter(let name, let delimiter) where all:
            return URLParts.forEachParameter(name, delimiter: delimiter, in: subject.requestTarget) {
                body(.string(String($0)))
            }
        default:
            guard let value = fetch(subject) else { return false }
            return body(value)
        }
    }

    /// The single value of the sample, or nil when it does not exist.
    public func fetch(_ subject: any RuleSubject) -> SampleValue? {
        switch self {
        case .source: return subject.clientAddress.map(SampleValue.ip)
        case .sourcePort: return subject.clientPort.map { .int(Int64($0)) }
        case .destination: return subject.frontendAddress.map(SampleValue.ip)
        case .destinationPort: return subject.frontendPort.map { .int(Int64($0)) }
        case .method: return .method(subject.requestMethod)
        case .path: return URLParts.path(of: subject.requestTarget).map { .string(String($0)) }
        case .url: return .string(subject.requestTarget)
        case .query: return URLParts.query(of: subject.requestTarget).map { .string(String($0)) }
        case .base:
            guard let path = URLParts.path(of: subject.requestTarget) else { return nil }
            guard let host = HeaderFetch.first(subject, .request, name: "host"), !host.isEmpty else {
                return .string(String(path))
            }
            return .string(host + path)
        case .requestVersion: return .string(subject.requestVersion)
        case .urlParameter(let name, let delimiter):
            var first: Substring?
            _ = URLParts.forEachParameter(name, delimiter: delimiter, in: subject.requestTarget) {
                first = $0
                return true
            }
            return first.map { .string(String($0)) }
        case .header(let side, let name, let occurrence, let full):
            return HeaderFetch.occurrence(subject, side, name: name, occurrence: occurrence ?? -1, full: full)
                .map(SampleValue.string)
        case .headerCount(let side, let name, let full):
            var count: Int64 = 0
            _ = HeaderFetch.forEach(subject, side, name: name, full: full) { _ in count += 1; return false }
            return .int(count)
        case .cookie(let side, let name):
            var last: String?
            _ = CookieFetch.forEach(subject, side, name: name) { value in
                last = value
                return name == nil
            }
            return last.map(SampleValue.string)
        case .cookieCount(let side, let name):
            var count: Int64 = 0
            _ = CookieFetch.forEach(subject, side, name: name) { _ in count += 1; return false }
            return .int(count)
        case .requestBody: return subject.requestBody.map(SampleValue.binary)
        case .requestBodyLength: return subject.requestBody.map { .int(Int64($0.count)) }
        case .status: return subject.responseStatus.map { .int(Int64($0)) }
        case .responseVersion: return subject.responseVersion.map(SampleValue.string)
        case .frontendName: return .string(subject.frontendName)
        case .backendName: return subject.backendName.map(SampleValue.string)
        case .serverName: return subject.serverName.map(SampleValue.string)
        case .usableServers(let backend): return subject.usableServers(backend: backend).map { .int(Int64($0)) }
        case .backendConnections(let backend):
            return subject.backendConnections(backend: backend).map { .int(Int64($0)) }
        case .variable(let name, let fallback): return name.read(subject) ?? fallback
        case .environment(let name): return Environment.value(of: name).map(SampleValue.string)
        case .constant(let value): return value
        case .date(let offset, let perUnit):
            return .int(Clock.nowMicroseconds() / perUnit + offset)
        case .random(let range):
            if let range { return .int(Int64.random(in: 0..<max(1, range))) }
            return .int(Int64(UInt32.random(in: 0...UInt32.max)))
        case .uuid: return .string(UUIDText.random())
        case .firstRequest: return .bool(subject.isFirstRequest)
        case .sslFrontend: return .bool(false)
        case .alwaysTrue: return .bool(true)
        case .alwaysFalse: return .bool(false)
        case .protocolHTTP: return .bool(subject.isHTTP)
        case .requestLength: return .int(1)
        case .waitEnd: return .bool(true)
        case .uniqueID: return .string(subject.uniqueID)
        case .httpAuthenticationGroup(let name):
            return subject.userlist(named: name)?.authenticatedUser(subject).map(SampleValue.string)
        case .httpAuthentication(let name):
            return .bool(subject.userlist(named: name)?.authorizes(subject) ?? false)
        case .stickCounter(let source, let counter, let proxyTable):
            guard let value = source.read(counter, subject, proxyTable: proxyTable) else { return nil }
            return counter == .tracked ? .bool(value != 0) : .int(value)
        }
    }
}

/// The types a sample may have, for default matching methods and argument checks.
public enum SampleType: Sendable, Hashable {
    case bool, int, ip, string, binary, method, any

    init(_ value: SampleValue) {
        switch value {
        case .bool: self = .bool
        case .int: self = .int
        case .ip: self = .ip
        case .string: self = .string
        case .binary: self = .binary
        case .method: self = .method
        }
    }
}

/// Header field lookups over a subject's message.
enum HeaderFetch {
    /// Each value of the fields named `name` (every field when nil): comma-separated elements
    /// unless `full`.
    static func forEach(_ subject: any RuleSubject, _ side: MessageSide, name: String?, full: Bool,
                        _ body: (String) -> Bool) -> Bool {
        guard let name else {
            for index in 0..<subject.fieldCount(side) {
                let value = subject.fieldValue(side, at: index)
                if full {
                    if body(value) { return true }
                } else if ASCIIText.forEachListElement(value, body) {
                    return true
                }
            }
            return false
        }
        var next = subject.fieldIndex(side, named: name, from: 0)
        while let index = next {
            next = subject.fieldIndex(side, named: name, from: index + 1)
            let value = subject.fieldValue(side, at: index)
            if full {
                if body(value) { return true }
            } else if ASCIIText.forEachListElement(value, body) {
                return true
            }
        }
        return false
    }

    static func first(_ subject: any RuleSubject, _ side: MessageSide, name: String) -> String? {
        subject.fieldIndex(side, named: name, from: 0).map { subject.fieldValue(side, at: $0) }
    }

    /// The `occurrence`-th value (1-based; negative counts from the last; 0 means the last).
    static func occurrence(_ subject: any RuleSubject, _ side: MessageSide, name: String?, occurrence: Int,
                           full: Bool) -> String? {
        if occurrence > 0 {
            var seen = 0
            var found: String?
            _ = forEach(subject, side, name: name, full: full) { value in
                seen += 1
                if seen == occurrence { found = value; return true }
                return false
            }
            return found
        }
        var values: [String] = []
        var last: String?
        let fromEnd = occurrence == 0 ? 1 : -occurrence
        if fromEnd == 1 {
            _ = forEach(subject, side, name: name, full: full) { last = $0; return false }
            return last
        }
        _ = forEach(subject, side, name: name, full: full) { values.append($0); return false }
        return fromEnd <= values.count ? values[values.count - fromEnd] : nil
    }
}

/// `Cookie` (request) and `Set-Cookie` (response) lookups.
enum CookieFetch {
    static func forEach(_ subject: any RuleSubject, _ side: MessageSide, name: String?,
                        _ body: (String) -> Bool) -> Bool {
        let fieldName = side == .request ? "cookie" : "set-cookie"
        for index in 0..<subject.fieldCount(side)
        where ASCIIText.equalsIgnoringCase(subject.fieldName(side, at: index), fieldName) {
            let value = subject.fieldValue(side, at: index)
            let all = value.split(separator: ";", omittingEmptySubsequences: true)
            // A Set-Cookie field holds one cookie; what follows its first `;` are attributes.
            let pairs = side == .request ? all[...] : all.prefix(1)
            for pair in pairs {
                let trimmed = ASCIIText.trimmed(pair)
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                let cookieName = ASCIIText.trimmed(trimmed[..<equals])
                if let name, cookieName != name[...] { continue }
                if body(String(ASCIIText.trimmed(trimmed[trimmed.index(after: equals)...]))) { return true }
            }
        }
        return false
    }
}

/// Parts of a request target, as HAProxy's `http_get_path` and friends cut them.
public enum URLParts {
    /// The path of an origin-form or absolute-form target, without the query; nil for `*`
    /// and authority-form.
    public static func path(of target: String) -> Substring? {
        // On the UTF-8 view: Character comparisons would break grapheme clusters on every call.
        let utf8 = target.utf8
        var start = utf8.startIndex
        if utf8.first != UInt8(ascii: "/") {
            guard let afterScheme = schemeEnd(target[...]) else { return nil }
            guard let slash = utf8[afterScheme...].firstIndex(of: UInt8(ascii: "/")) else { return nil }
            start = slash
        }
        let end = utf8[start...].firstIndex(of: UInt8(ascii: "?")) ?? utf8.endIndex
        return target[start..<end]
    }

    /// The index after `://` in an absolute-form target.
    static func schemeEnd(_ text: Substring) -> Substring.Index? {
        let utf8 = text.utf8
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: ":"), utf8[index...].starts(with: "://".utf8) {
                return utf8.index(index, offsetBy: 3)
            }
            if byte == UInt8(ascii: "/") { return nil }
            index = utf8.index(after: index)
        }
        return nil
    }

    /// What follows the first `?`, or nil without one.
    public static func query(of target: String) -> Substring? {
        let utf8 = target.utf8
        guard let question = utf8.firstIndex(of: UInt8(ascii: "?")) else { return nil }
        return target[utf8.index(after: question)...]
    }

    /// Each value of the `name=` parameters (any parameter when nil), in order, until `body`
    /// returns true: HAProxy's `smp_fetch_url_param`. The parameters start after the first
    /// `delimiter` of the target (`?` unless given) and are separated by `&`, `;` or the
    /// delimiter; a parameter without `=` has no value.
    static func forEachParameter(_ name: String?, delimiter: UInt8, in target: String,
                                 _ body: (Substring) -> Bool) -> Bool {
        let utf8 = target.utf8
        guard let open = utf8.firstIndex(of: delimiter) else { return false }
        let bytes = Array(utf8)
        let end = bytes.count
        var pos = utf8.distance(from: utf8.startIndex, to: open) + 1
        let nameBytes = Array((name ?? "").utf8)
        func isDelimiter(_ c: UInt8) -> Bool { c == UInt8(ascii: "&") || c == UInt8(ascii: ";") || c == delimiter }
        func value(from start: Int) -> Range<Int> {
            var stop = start
            while stop < end, !isDelimiter(bytes[stop]) { stop += 1 }
            return start..<stop
        }
        while pos < end {
            let valueStart: Int
            if nameBytes.isEmpty {
                guard let equals = bytes[pos...].firstIndex(of: UInt8(ascii: "=")) else { return false }
                valueStart = equals + 1
            } else {
                var found: Int?
                while pos < end {
                    let equals = pos + nameBytes.count
                    if equals >= end { return false }
                    if bytes[equals] == UInt8(ascii: "=") {
                        if bytes[pos..<equals].elementsEqual(nameBytes) {
                            found = equals + 1
                            break
                        }
                        pos = equals + 1
                    }
                    while pos < end, !isDelimiter(bytes[pos]) { pos += 1 }
                    pos += 1
                }
                guard let found else { return false }
                valueStart = found
            }
            let range = value(from: valueStart)
            let text = String(decoding: bytes[range], as: UTF8.self)
            if body(text[...]) { return true }
            pos = range.upperBound
        }
        return false
    }

    /// `path` with the query string of `target` kept.
    static func replacingPath(of target: String, with newPath: String) -> String {
        let query = query(of: target).map { "?" + $0 } ?? ""
        if target.first != "/", let schemeEnd = schemeEnd(target[...]) {
            let afterScheme = target[schemeEnd...]
            let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" } ?? afterScheme.endIndex
            return String(target[..<authorityEnd]) + newPath + query
        }
        return newPath + query
    }

    static func replacingQuery(of target: String, with newQuery: String) -> String {
        let base = target.firstIndex(of: "?").map { target[..<$0] } ?? target[...]
        return newQuery.isEmpty ? String(base) : String(base) + "?" + newQuery
    }
}

enum Environment {
    static func value(of name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }
}

enum Clock {
    static func nowMicroseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }
}

enum UUIDText {
    /// A random (version 4) UUID in its lowercase text form.
    static func random() -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
        bytes[6] = bytes[6] & 0x0f | 0x40
        bytes[8] = bytes[8] & 0x3f | 0x80
        let hex = bytes.map { byte -> String in
            let text = String(byte, radix: 16)
            return text.count == 1 ? "0" + text : text
        }
        return hex[0..<4].joined() + "-" + hex[4..<6].joined() + "-" + hex[6..<8].joined() + "-"
            + hex[8..<10].joined() + "-" + hex[10..<16].joined()
    }
}
