import Testing
@testable import BatonConfig

@Suite("SupportedKeywords")
struct SupportedKeywordsTests {
    @Test func listsKeywordsPerSection() {
        let rows = SupportedKeywords.all
        func has(_ section: String, _ keyword: String) -> Bool {
            rows.contains { $0.section == section && $0.keyword == keyword }
        }
        #expect(has("global", "maxconn"))
        #expect(has("global", "log-send-hostname"))
        #expect(has("backend", "server"))
        #expect(has("listen", "server"))
        #expect(!has("frontend", "server"))
        #expect(!has("defaults", "server"))
        #expect(has("frontend", "bind"))
        #expect(!has("backend", "bind"))
        #expect(!has("defaults", "bind"))
        #expect(has("defaults", "timeout connect"))
        #expect(!has("backend", "default_backend"))
        #expect(has("defaults", "monitor-uri"))
        #expect(!has("frontend", "balance"))
        #expect(has("defaults", "option forwardfor"))
        #expect(rows.allSatisfy { !$0.summary.isEmpty })
        #expect(Set(rows.map(\.section)) == ["global", "defaults", "frontend", "listen", "backend"])
    }

    /// Every listed keyword is accepted by the parser in its section: none is reported unknown,
    /// unsupported or out of place.
    @Test func everyListedKeywordIsAcceptedWhereListed() {
        for row in SupportedKeywords.all {
            let header = row.section == "global" || row.section == "defaults" ? row.section : "\(row.section) x"
            let result = load("\(header)\n  \(row.keyword)\n")
            let refused = result.alerts.filter {
                $0.contains("unknown keyword") || $0.contains("unknown option") || $0.contains("not allowed")
                    || $0.contains("not supported")
            }
            #expect(refused.isEmpty, "\(row.section) \(row.keyword): \(refused)")
        }
    }

    @Test func predicates() {
        #expect(SupportedKeywords.conditionPredicates.contains("version_atleast"))
    }
}
