/// The keywords Baton implements, per section, generated from the parser's own tables so that
/// documentation (e.g. the README's table) can be checked against what is really accepted.
public enum SupportedKeywords {
    /// One row per section and keyword, sections in the order global, defaults, frontend,
    /// listen, backend, keywords sorted within a section.
    public static var all: [(section: String, keyword: String, summary: String)] {
        var rows = GlobalKeywords.table
            .sorted { $0.name < $1.name }
            .map { (section: "global", keyword: $0.name, summary: $0.summary) }
        let proxyEntries = ProxyKeywords.table.sorted { $0.name < $1.name }
        for kind in [SectionKind.defaults, .frontend, .listen, .backend] {
            for entry in proxyEntries where entry.sections.allows(kind) {
                rows.append((section: kind.rawValue, keyword: entry.name, summary: entry.summary))
            }
        }
        return rows
    }

    /// The `.if` predicates understood by conditional blocks and `baton -cc`.
    public static var conditionPredicates: [String] {
        ConditionParser.predicates.keys.sorted()
    }
}
