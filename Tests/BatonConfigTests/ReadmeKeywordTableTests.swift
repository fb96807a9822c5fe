import BatonConfig
import Foundation
import Testing

/// The README's keyword table is rendered from the parser's own keyword tables; this test fails
/// when they differ. `BATON_UPDATE_README=1 swift test --filter ReadmeKeywordTable` rewrites it.
@Suite struct ReadmeKeywordTableTests {
    static let begin = "<!-- keywords:begin -->"
    static let end = "<!-- keywords:end -->"
    static let sections = ["global", "defaults", "frontend", "listen", "backend"]

    static func renderTable() -> String {
        var order: [String] = []
        var sectionsByKeyword: [String: Set<String>] = [:]
        var summaries: [String: String] = [:]
        for row in SupportedKeywords.all {
            if sectionsByKeyword[row.keyword] == nil { order.append(row.keyword) }
            sectionsByKeyword[row.keyword, default: []].insert(row.section)
            summaries[row.keyword] = summaries[row.keyword] ?? row.summary
        }
        var lines = ["| keyword | " + sections.joined(separator: " | ") + " | what it does |",
                     "|---|" + String(repeating: ":---:|", count: sections.count) + "---|"]
        for keyword in order {
            let marks = sections.map { sectionsByKeyword[keyword]!.contains($0) ? "x" : "" }
            let summary = summaries[keyword]!.replacingOccurrences(of: "|", with: "\\|")
            lines.append("| `\(keyword)` | " + marks.joined(separator: " | ") + " | \(summary) |")
        }
        return lines.joined(separator: "\n")
    }

    static var readmeURL: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
    }

    @Test func readmeTableMatchesTheParser() throws {
        let readme = try String(contentsOf: Self.readmeURL, encoding: .utf8)
        let begin = try #require(readme.range(of: Self.begin))
        let end = try #require(readme.range(of: Self.end))
        let current = readme[begin.upperBound..<end.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        let expected = Self.renderTable()
        if current != expected, ProcessInfo.processInfo.environment["BATON_UPDATE_README"] == "1" {
            let updated = readme[..<begin.upperBound] + "\n" + expected + "\n" + readme[end.lowerBound...]
            try String(updated).write(to: Self.readmeURL, atomically: true, encoding: .utf8)
            return
        }
        #expect(current == expected, "README keyword table is stale; rerun with BATON_UPDATE_README=1")
    }

    @Test func everyKeywordTheParserAcceptsIsListed() {
        let table = Self.renderTable()
        for row in SupportedKeywords.all {
            #expect(table.contains("| `\(row.keyword)` |"))
        }
    }
}
