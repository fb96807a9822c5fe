import BatonCore
import BatonRules

/// Turns the words of active configuration lines into sections and keywords, dispatching each
/// keyword to its entry in the keyword tables. Sections do not span files; the last `defaults`
/// section does, as in HAProxy.
struct ConfigParser {
    private enum Current {
        case none
        case global
        case proxy(ProxyDraft)
        /// A section Baton does not parse (already reported): its lines are skipped.
        case ignored
        /// A `userlist` section.
        case userlist(Userlist)
    }

    static let proxySections: [String: SectionKind] = [
        "defaults": .defaults, "frontend": .frontend, "backend": .backend, "listen": .listen,
    ]

    let resolver: HostResolver
    var diagnostics: [Diagnostic] = []
    var global = GlobalSettings()
    private(set) var proxies: [ProxyDraft] = []
    /// `userlist` sections by name.
    private(set) var userlists: [String: Userlist] = [:]
    private var namedDefaults: [String: ProxyDraft] = [:]
    private var lastDefaults: ProxyDraft?
    private var current = Current.none
    /// The name of the current section, for `${.SECTION}`.
    private(set) var sectionName = ""

    init(resolver: HostResolver) {
        self.resolver = resolver
    }

    mutating func parse(_ words: [String], at location: SourceLocation) {
        var words = words
        var negated = false
        if words[0] == "no" || words[0] == "default" {
            if words[0] == "default" {
                diagnostics.append(.alert(ParseContext.notSupported("default"), at: location))
                return
            }
            negated = true
            words.removeFirst()
            guard !words.isEmpty else {
                diagnostics.append(.alert("negation/default currently supported only for options and log.", at: location))
                return
            }
        }
        if !negated, words[0] == "global" || words[0] == "userlist" || Self.proxySections[words[0]] != nil
            || UnsupportedKeywords.sections.contains(words[0]) {
            startSection(words, at: location)
            return
        }
        switch current {
        case .none:
            diagnostics.append(.alert("unknown keyword '\(words[0])' out of section.", at: location))
        case .ignored:
            break
        case .userlist(var list):
            UserlistParser.parse(words, into: &list, at: location, diagnostics: &diagnostics)
            current = .userlist(list)
        case .global:
            parseGlobal(KeywordLine(words: words, keywordWordCount: 1, location: location, negated: negated))
        case .proxy(var draft):
            current = .none
            parseProxy(&draft, words: words, negated: negated, at: location)
            current = .proxy(draft)
        }
    }

    /// Ends the current section (at a new section header or at the end of a file).
    mutating func finishSection() {
        if case .userlist(let list) = current { userlists[list.name] = list }
        if case .proxy(let draft) = current {
            if draft.kind == .defaults {
                lastDefaults = draft
                if !draft.proxy.name.isEmpty { namedDefaults[draft.proxy.name] = draft }
            } else {
                proxies.append(draft)
            }
        }
        current = .none
        sectionName = ""
    }

    // MARK: Section headers

    private mutating func startSection(_ words: [String], at location: SourceLocation) {
        finishSection()
        let keyword = words[0]
        sectionName = keyword
        if keyword == "userlist" {
            guard words.count == 2 else {
                diagnostics.append(.alert("'userlist' expects <name> as argument.", at: location))
                current = .ignored
                return
            }
            if userlists[words[1]] != nil {
                diagnostics.append(.alert("'userlist' ignoring duplicated section '\(words[1])'.", at: location))
            }
            current = .userlist(Userlist(name: words[1], users: [:]))
        } else if keyword == "global" {
            current = .global
            if words.count > 1 {
                diagnostics.append(.alert("'global' cannot handle unexpected argument '\(words[1])'.", at: location))
            }
        } else if let kind = Self.proxySections[keyword] {
            current = kind == .defaults ? startDefaults(words, at: location) : startProxy(kind, words, at: location)
        } else {
            diagnostics.append(.alert("'\(keyword)' section is not supported by Baton yet.", at: location))
            current = .ignored
        }
    }

    private mutating func startDefaults(_ words: [String], at location: SourceLocation) -> Current {
        var name = ""
        var parent: String?
        switch words.count {
        case 1: break
        case 2: name = words[1]
        case 3 where words[1] == "from": parent = words[2]
        case 4 where words[2] == "from": name = words[1]; parent = words[3]
        default:
            diagnostics.append(.alert("'defaults' cannot handle unexpected argument '\(words.last!)'.", at: location))
        }
        if !name.isEmpty, let previous = namedDefaults[name], previous.explicitlyReferenced {
            diagnostics.append(.alert(
                "defaults '\(name)' has the same name as another defaults section declared at "
                    + "\(previous.proxy.location) which was explicitly referenced hence cannot be replaced. "
                    + "Please remove or rename one of the offending defaults section.", at: location))
        }
        sectionName = "defaults"
        if let parent {
            if let base = referencedDefaults(parent, for: "defaults '\(name)'", at: location) {
                return .proxy(ProxyDraft(kind: .defaults, name: name, location: location, inheriting: base))
            }
        }
        return .proxy(ProxyDraft(kind: .defaults, name: name, location: location))
    }

    private mutating func startProxy(_ kind: SectionKind, _ words: [String], at location: SourceLocation) -> Current {
        let keyword = kind.rawValue
        guard words.count > 1, !words[1].isEmpty else {
            diagnostics.append(.alert("'\(keyword)' expects an <id> argument", at: location))
            return .ignored
        }
        let name = words[1]
        if let bad = name.first(where: { !Self.isNameCharacter($0) }) {
            diagnostics.append(.alert("character '\(bad)' is not permitted in '\(keyword)' name '\(name)'.", at: location))
        }
        // As HAProxy: a frontend and a backend may share a name (their capabilities differ);
        // two proxies that both have a frontend, or both a backend, may not.
        if let other = proxies.first(where: {
            $0.proxy.name == name && !$0.proxy.capabilities.isDisjoint(with: kind.capabilities)
        }) {
            diagnostics.append(.alert("\(keyword) '\(name)' has the same name as \(other.typeAndName) declared at "
                                      + "\(other.proxy.location).", at: location))
        }
        var parent: String?
        if words.count > 2 {
            if words.count == 4, words[2] == "from" {
                parent = words[3]
            } else if kind == .backend {
                diagnostics.append(.alert("'backend' cannot handle unexpected argument '\(words[2])'.", at: location))
            } else {
                diagnostics.append(.alert("please use the 'bind' keyword for listening addresses.", at: location))
            }
        }
        var base = lastDefaults
        if let parent {
            base = referencedDefaults(parent, for: "\(keyword) '\(name)'", at: location)
        }
        sectionName = keyword
        if let base {
            return .proxy(ProxyDraft(kind: kind, name: name, location: location, inheriting: base))
        }
        return .proxy(ProxyDraft(kind: kind, name: name, location: location))
    }

    private mutating func referencedDefaults(_ name: String, for user: String, at location: SourceLocation) -> ProxyDraft? {
        guard var found = namedDefaults[name] else {
            diagnostics.append(.alert("defaults section '\(name)' not found for \(user).", at: location))
            return nil
        }
        found.explicitlyReferenced = true
        namedDefaults[name] = found
        return found
    }

    /// HAProxy's `invalid_char()`: letters, digits, '-', '_', '.' and ':'.
    static func isNameCharacter(_ c: Character) -> Bool {
        (c.isASCII && (c.isLetter || c.isNumber)) || c == "-" || c == "_" || c == "." || c == ":"
    }

    // MARK: Keywords

    private mutating func parseGlobal(_ line: KeywordLine) {
        let keyword = line.words[0]
        guard let entry = GlobalKeywords.index[keyword] else {
            if let message = UnsupportedKeywords.removedGlobal[keyword] {
                diagnostics.append(.alert(message, at: line.location))
            } else if UnsupportedKeywords.isKnownGlobal(keyword) {
                diagnostics.append(.alert(ParseContext.notSupported(keyword), at: line.location))
            } else {
                let candidates = GlobalKeywords.table.map(\.name) + UnsupportedKeywords.global
                let hint = Parse.suggestion(for: keyword, among: candidates)
                diagnostics.append(.alert("unknown keyword '\(keyword)' in 'global' section\(hint)", at: line.location))
            }
            return
        }
        if line.negated && !entry.negatable {
            diagnostics.append(.alert("negation/default currently supported only for options and log.", at: line.location))
            return
        }
        var ctx = ParseContext(line: line, resolver: resolver)
        entry.handler(&global, &ctx)
        diagnostics += ctx.diagnostics
    }

    private mutating func parseProxy(_ draft: inout ProxyDraft, words: [String], negated: Bool,
                                     at location: SourceLocation) {
        var entry: ProxyKeyword?
        var count = 1
        if words.count >= 2, let found = ProxyKeywords.index[words[0] + " " + words[1]] {
            entry = found
            count = 2
        } else {
            entry = ProxyKeywords.index[words[0]]
        }
        guard let entry else {
            diagnostics.append(.alert(unknownProxyKeyword(words, section: draft.kind), at: location))
            return
        }
        if negated && !entry.negatable {
            let message = words[0] == "option"
                ? "negation/default is not supported for option '\(words[1])'."
                : "negation/default currently supported only for options and log."
            diagnostics.append(.alert(message, at: location))
            return
        }
        guard entry.sections.allows(draft.kind) else {
            diagnostics.append(misplaced(entry, in: draft, at: location))
            return
        }
        var ctx = ParseContext(
            line: KeywordLine(words: words, keywordWordCount: count, location: location, negated: negated),
            resolver: resolver)
        entry.handler(&draft, &ctx)
        diagnostics += ctx.diagnostics
    }

    /// A keyword in a section that lacks the capability it acts on. As HAProxy 2.6, a setting
    /// of the other side is ignored with a warning, in the wording of the function that checks
    /// it there (`warnifnotcap`, `proxy_parse_timeout`, the log options); `server` and
    /// `default-server` in a frontend, and anything the `defaults` section cannot take, are
    /// errors.
    private func misplaced(_ entry: ProxyKeyword, in draft: ProxyDraft, at location: SourceLocation) -> Diagnostic {
        let missing: String
        switch draft.kind {
        case .frontend: missing = "backend"
        case .backend: missing = "frontend"
        case .defaults, .listen, .global: return .alert(notAllowed(entry, in: draft), at: location)
        }
        if entry.misplacedIsError {
            return .alert(notAllowed(entry, in: draft), at: location)
        }
        let who = "\(draft.typeAndName) has no \(missing) capability"
        switch entry.name {
        case let name where name.hasPrefix("timeout "):
            return .warning("'\(name)' will be ignored because \(who)", at: location)
        case "option httplog", "option httpslog", "option tcplog", "log-format" where draft.kind == .backend:
            return .warning("\(draft.typeAndName) : '\(entry.name)' directive is ignored in backends.", at: location)
        case "maxconn" where draft.kind == .backend:
            return .warning("'maxconn' ignored because \(who). Maybe you want 'fullconn' instead ?", at: location)
        case "fullconn" where draft.kind == .frontend:
            return .warning("'fullconn' ignored because \(who). Maybe you want 'maxconn' instead ?", at: location)
        case let name where name.hasPrefix("option "):
            return .warning("'\(name.dropFirst(7))' ignored because \(who).", at: location)
        default:
            return .warning("'\(entry.name)' ignored because \(who).", at: location)
        }
    }

    private func notAllowed(_ entry: ProxyKeyword, in draft: ProxyDraft) -> String {
        switch draft.kind {
        case .defaults where entry.name == "http-request" || entry.name == "http-response":
            return "'\(entry.name)' rules in 'defaults' sections are not supported by Baton yet."
        case .defaults:
            return "'\(entry.name)' not allowed in 'defaults' section."
        case .frontend:
            return "'\(entry.name)' not allowed because \(draft.typeAndName) has no backend capability."
        case .backend:
            return "'\(entry.name)' not allowed because \(draft.typeAndName) has no frontend capability."
        case .listen, .global:
            return "'\(entry.name)' not allowed in '\(draft.kind.rawValue)' section."
        }
    }

    /// A keyword with no entry: a known HAProxy feature Baton lacks, or an unknown word.
    private func unknownProxyKeyword(_ words: [String], section: SectionKind) -> String {
        let keyword = words[0]
        let second = words.count > 1 ? words[1] : ""
        switch keyword {
        case "option":
            if second.isEmpty { return "'option' expects an option name." }
            if OptionKeywords.haproxyOptions.contains(second) { return ParseContext.notSupported("option \(second)") }
            let ours = ProxyKeywords.table.map(\.name).filter { $0.hasPrefix("option ") }.map { String($0.dropFirst(7)) }
            let hint = Parse.suggestion(for: second, among: ours + OptionKeywords.haproxyOptions)
            return hint.isEmpty ? "unknown option '\(second)'." : "unknown option '\(second)'\(hint)"
        case "capture":
            return ParseContext.notSupported("capture \(second)")
        case "timeout":
            if TimeoutKeywords.haproxyNames.contains(second) { return ParseContext.notSupported("timeout \(second)") }
            return TimeoutKeywords.unknownMessage(second)
        default:
            if UnsupportedKeywords.proxy.contains(keyword) { return ParseContext.notSupported(keyword) }
            let ours = ProxyKeywords.table.map { String($0.name.split(separator: " ")[0]) }
            let hint = Parse.suggestion(for: keyword, among: Set(ours).union(UnsupportedKeywords.proxy).sorted())
            return "unknown keyword '\(keyword)' in '\(section.rawValue)' section\(hint)"
        }
    }
}
