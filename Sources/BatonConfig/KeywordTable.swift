import BatonCore

/// The sections Baton parses.
enum SectionKind: String, Sendable, CaseIterable {
    case global, defaults, frontend, listen, backend

    var capabilities: ProxyCapabilities {
        switch self {
        case .frontend: return .frontend
        case .backend: return .backend
        case .global: return []
        case .defaults, .listen: return .listen
        }
    }
}

/// Which proxy sections accept a keyword: the columns of the keyword matrix of
/// configuration.txt section 4.1.
struct SectionSet: OptionSet, Sendable, Hashable {
    let rawValue: UInt8
    static let defaults = SectionSet(rawValue: 1)
    static let frontend = SectionSet(rawValue: 2)
    static let listen = SectionSet(rawValue: 4)
    static let backend = SectionSet(rawValue: 8)

    /// `X X X X`
    static let all: SectionSet = [.defaults, .frontend, .listen, .backend]
    /// `X X X -`: frontend side, also in defaults.
    static let frontendSide: SectionSet = [.defaults, .frontend, .listen]
    /// `X - X X`: backend side, also in defaults.
    static let backendSide: SectionSet = [.defaults, .listen, .backend]

    func allows(_ kind: SectionKind) -> Bool {
        switch kind {
        case .global: return false
        case .defaults: return contains(.defaults)
        case .frontend: return contains(.frontend)
        case .listen: return contains(.listen)
        case .backend: return contains(.backend)
        }
    }

    /// The section names, in the matrix's order.
    var sectionNames: [String] {
        var names: [String] = []
        if contains(.defaults) { names.append("defaults") }
        if contains(.frontend) { names.append("frontend") }
        if contains(.listen) { names.append("listen") }
        if contains(.backend) { names.append("backend") }
        return names
    }
}

/// One configuration line as a keyword handler sees it.
struct KeywordLine: Sendable {
    /// The words, without a leading `no`.
    var words: [String]
    /// How many words name the keyword (`option forwardfor` is two).
    var keywordWordCount: Int
    var location: SourceLocation
    /// The line started with `no`.
    var negated: Bool = false

    var keyword: String { words.prefix(keywordWordCount).joined(separator: " ") }
    var arguments: ArraySlice<String> { words.dropFirst(keywordWordCount) }

    /// The n-th argument after the keyword, or nil.
    func argument(_ n: Int) -> String? {
        let index = keywordWordCount + n
        return index < words.count ? words[index] : nil
    }
}

/// What a keyword handler may use and report to.
struct ParseContext {
    var line: KeywordLine
    let resolver: HostResolver
    var diagnostics: [Diagnostic] = []

    init(line: KeywordLine, resolver: HostResolver) {
        self.line = line
        self.resolver = resolver
    }

    var location: SourceLocation { line.location }

    mutating func alert(_ message: String) {
        diagnostics.append(.alert(message, at: line.location))
    }

    mutating func warning(_ message: String) {
        diagnostics.append(.warning(message, at: line.location))
    }

    /// HAProxy's `alertif_too_many_args`: alerts and returns true when more than `max`
    /// arguments follow the keyword.
    mutating func tooManyArguments(max: Int) -> Bool {
        guard let extra = line.argument(max) else { return false }
        alert("'\(line.keyword)' cannot handle unexpected argument '\(extra)'.")
        return true
    }

    /// The message for a known HAProxy feature Baton refuses.
    static func notSupported(_ what: String) -> String {
        "'\(what)' is not supported by Baton yet."
    }
}

/// A `frontend`, `backend`, `listen` or `defaults` section being parsed.
struct ProxyDraft: Sendable {
    enum LogLine: Sendable, Hashable {
        /// `log global`, resolved against the global section once everything is parsed.
        case global(SourceLocation)
        case target(LogTarget)
    }

    var kind: SectionKind
    var proxy: Proxy
    var logLines: [LogLine] = []
    /// Where `option httplog`/`httpslog`/`tcplog` was given, for the fallback warning.
    var logFormatLocation: SourceLocation?
    /// A defaults section named by some `from`, which therefore may not be redefined.
    var explicitlyReferenced = false
    /// `default-server` settings: where every later `server` line of the section starts.
    var serverDefaults: Server

    init(kind: SectionKind, name: String, location: SourceLocation) {
        self.kind = kind
        self.proxy = Proxy(name: name, location: location, capabilities: kind.capabilities)
        self.serverDefaults = Server(name: "", host: "", resolvedAddress: "", port: 0, location: location)
    }

    /// A new section inheriting every setting of `defaults`.
    init(kind: SectionKind, name: String, location: SourceLocation, inheriting defaults: ProxyDraft) {
        self = defaults
        self.kind = kind
        self.explicitlyReferenced = false
        proxy.name = name
        proxy.location = location
        proxy.capabilities = kind.capabilities
        // As HAProxy's proxy_defproxy_cpy(): each side only takes the settings of its side.
        if !kind.capabilities.contains(.frontend) {
            proxy.defaultBackend = nil
            proxy.defaultBackendLocation = nil
            proxy.maxConnections = nil
            proxy.monitorURI = nil
            proxy.logFormat = nil
            proxy.uniqueIDFormat = nil
            proxy.uniqueIDHeader = nil
            logFormatLocation = nil
            proxy.timeouts.client = nil
            proxy.timeouts.clientFin = nil
        }
        if !kind.capabilities.contains(.backend) {
            let fresh = Proxy(name: name, location: location, capabilities: kind.capabilities)
            proxy.timeouts.connect = nil
            proxy.timeouts.server = nil
            proxy.timeouts.serverFin = nil
            proxy.timeouts.queue = nil
            proxy.timeouts.tunnel = nil
            proxy.balance = fresh.balance
            proxy.retries = fresh.retries
            proxy.redispatch = fresh.redispatch
        }
    }

    /// `frontend 'x'` as HAProxy names proxies in messages.
    var typeAndName: String { "\(kind.rawValue) '\(proxy.name)'" }
}

/// A keyword of the proxy sections (and `defaults`).
struct ProxyKeyword: Sendable {
    typealias Handler = @Sendable (inout ProxyDraft, inout ParseContext) -> Void

    /// The keyword as written, one or two words (`option redispatch`).
    let name: String
    let sections: SectionSet
    let summary: String
    /// Accepts the `no` prefix.
    let negatable: Bool
    /// In a frontend or backend lacking the capability, an error rather than HAProxy's usual
    /// "ignored" warning (`server`, `default-server`).
    let misplacedIsError: Bool
    let handler: Handler

    init(_ name: String, _ sections: SectionSet, negatable: Bool = false, misplacedIsError: Bool = false,
         _ summary: String, _ handler: @escaping Handler) {
        self.name = name
        self.sections = sections
        self.summary = summary
        self.negatable = negatable
        self.misplacedIsError = misplacedIsError
        self.handler = handler
    }
}

/// A keyword of the `global` section.
struct GlobalKeyword: Sendable {
    typealias Handler = @Sendable (inout GlobalSettings, inout ParseContext) -> Void

    let name: String
    let summary: String
    let negatable: Bool
    let handler: Handler

    init(_ name: String, negatable: Bool = false, _ summary: String, _ handler: @escaping Handler) {
        self.name = name
        self.summary = summary
        self.negatable = negatable
        self.handler = handler
    }
}

/// Parsing helpers shared by the keyword tables.
enum Parse {
    /// A non-negative decimal integer, nothing else.
    static func integer(_ text: String?) -> Int? {
        guard let text, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(text)
    }

    /// `"a", "b" and "c"`: the way HAProxy lists choices.
    static func choiceList(_ items: [String]) -> String {
        let quoted = items.map { "'\($0)'" }
        guard quoted.count > 1 else { return quoted.first ?? "" }
        return quoted.dropLast().joined(separator: ", ") + " and " + quoted.last!
    }

    /// `; did you mean 'x' maybe ?` or nothing. Candidates are sorted first so that ties
    /// resolve the same way on every run.
    static func suggestion(for word: String, among candidates: some Sequence<String>) -> String {
        guard let best = Suggestion.closest(to: word, among: Set(candidates).sorted()) else { return "" }
        return "; did you mean '\(best)' maybe ?"
    }
}
