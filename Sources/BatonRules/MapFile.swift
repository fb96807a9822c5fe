/// How a map's keys are compared with the sample (`map_str`, `map_beg`, ...).
public enum MapMatch: String, Sendable, Hashable {
    case str, beg, sub, dir, dom, end, reg, ip, int
}

/// A map file (`KEY VALUE` per line, `#` comments), read once when the configuration
/// generation is built, with the lookup structure its match method needs.
public final class MapFile: Sendable, Hashable {
    public let path: String
    /// Entries in file order: HAProxy returns the first matching line (except `map_ip`, which
    /// takes the longest prefix).
    let entries: [(key: String, value: String)]
    /// The line of the file each entry comes from.
    let lines: [Int]
    let exact: [String: String]
    let regexes: [(Regex, String)]
    let networks: [(IPNetworkPattern, String)]

    public enum LoadError: Error {
        case unreadable(String)
        case badKey(line: Int, key: String, reason: String)
    }

    public init(path: String, contents: [UInt8], match: MapMatch, ignoreCase: Bool = false) throws {
        self.path = path
        var entries: [(key: String, value: String)] = []
        var lines: [Int] = []
        var lineNumber = 0
        for rawLine in contents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine[...]
            while let last = line.last, last == 0x0d || ASCIIText.isSpace(last) { line = line.dropLast() }
            while let first = line.first, ASCIIText.isSpace(first) { line = line.dropFirst() }
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            let keyEnd = line.firstIndex(where: ASCIIText.isSpace) ?? line.endIndex
            let key = String(decoding: line[line.startIndex..<keyEnd], as: UTF8.self)
            var rest = line[keyEnd...]
            while let first = rest.first, ASCIIText.isSpace(first) { rest = rest.dropFirst() }
            entries.append((key, String(decoding: rest, as: UTF8.self)))
            lines.append(lineNumber)
        }
        var exact: [String: String] = [:]
        var regexes: [(Regex, String)] = []
        var networks: [(IPNetworkPattern, String)] = []
        for (index, entry) in entries.enumerated() {
            switch match {
            case .str, .int:
                let key = ignoreCase ? ASCIIText.lowercased(entry.key) : entry.key
                if exact[key] == nil { exact[key] = entry.value }
            case .reg:
                do {
                    regexes.append((try Regex(entry.key, ignoringCase: ignoreCase), entry.value))
                } catch {
                    throw LoadError.badKey(line: index + 1, key: entry.key, reason: "\(error)")
                }
            case .ip:
                guard let network = IPNetworkPattern(entry.key) else {
                    throw LoadError.badKey(line: index + 1, key: entry.key, reason: "not a valid IP address or network")
                }
                networks.append((network, entry.value))
            case .beg, .sub, .dir, .dom, .end:
                break
            }
        }
        // The longest prefix wins for addresses.
        networks.sort { $0.0.prefixLength > $1.0.prefixLength }
        self.entries = entries
        self.lines = lines
        self.exact = exact
        self.regexes = regexes
        self.networks = networks
    }

    public static func == (lhs: MapFile, rhs: MapFile) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }

    func lookup(_ sample: SampleValue, match: MapMatch) -> String? {
        switch match {
        case .str: return exact[sample.stringValue]
        case .int:
            guard let value = sample.intValue else { return nil }
            return exact[String(value)]
        case .ip:
            guard let address = sample.ipValue else { return nil }
            return networks.first { $0.0.contains(address) }?.1
        case .reg:
            let text = sample.stringValue
            return regexes.first { $0.0.matches(text) }?.1
        case .beg, .sub, .dir, .dom, .end:
            let text = sample.stringValue
            let method: MatchMethod = match == .beg ? .beginning : match == .sub ? .substring
                : match == .dir ? .directory : match == .dom ? .domain : .ending
            return entries.first { method.matchesString(text, pattern: $0.key, ignoreCase: false) }?.value
        }
    }
}
