// Header field helpers. Field names compare case-insensitively, ASCII only, byte by byte, without allocating.

extension HTTPField {
    /// Whether this field's name equals `name`, ignoring ASCII case.
    @inlinable
    public func hasName(_ name: String) -> Bool {
        ASCII.caseInsensitiveEquals(self.name, name)
    }
}

extension Array where Element == HTTPField {
    /// The value of the first field named `name` (case-insensitive), if any.
    @inlinable
    public func first(named name: String) -> String? {
        for field in self where field.hasName(name) { return field.value }
        return nil
    }

    /// The values of all fields named `name` (case-insensitive), in order.
    @inlinable
    public func values(named name: String) -> [String] {
        var result: [String] = []
        for field in self where field.hasName(name) { result.append(field.value) }
        return result
    }

    /// Whether a field named `name` (case-insensitive) is present.
    @inlinable
    public func contains(name: String) -> Bool {
        for field in self where field.hasName(name) { return true }
        return false
    }

    /// Removes every field named `name` (case-insensitive).
    @inlinable
    public mutating func removeAll(named name: String) {
        self.removeAll { $0.hasName(name) }
    }

    /// The comma-separated tokens of all Connection fields, trimmed and ASCII-lowercased, empty elements skipped
    /// (e.g. `["close"]`, `["keep-alive", "upgrade"]`).
    public var connectionTokens: [String] {
        var tokens: [String] = []
        for field in self where ASCII.caseInsensitiveEquals(field.name, lowercase: "connection") {
            Self.appendTokens(of: field.value, to: &tokens)
        }
        return tokens
    }

    /// Whether some Connection field lists a token other than close, keep-alive and upgrade.
    public var connectionNominatesOtherFields: Bool {
        for field in self where ASCII.caseInsensitiveEquals(field.name, lowercase: "connection") {
            var value = field.value
            let other = value.withUTF8 { bytes -> Bool in
                var other = false
                Self.forEachListElement(bytes) { start, end in
                    if other { return }
                    other = !(Self.bytesEqualIgnoringCase(bytes, start, end, "close")
                        || Self.bytesEqualIgnoringCase(bytes, start, end, "keep-alive")
                        || Self.bytesEqualIgnoringCase(bytes, start, end, "upgrade"))
                }
                return other
            }
            if other { return true }
        }
        return false
    }

    /// Whether a Connection field lists `token` (case-insensitive), e.g. `connectionHasToken("close")`.
    public func connectionHasToken(_ token: String) -> Bool {
        for field in self where ASCII.caseInsensitiveEquals(field.name, lowercase: "connection") {
            var value = field.value
            let found = value.withUTF8 { bytes -> Bool in
                var found = false
                Self.forEachListElement(bytes) { start, end in
                    if !found && Self.bytesEqualIgnoringCase(bytes, start, end, token) { found = true }
                }
                return found
            }
            if found { return true }
        }
        return false
    }

    /// The fields without the hop-by-hop ones (RFC 9110 section 7.6.1): Connection, Keep-Alive,
    /// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, and every field named by a Connection token.
    /// (Whether to re-add Upgrade for a protocol switch is the caller's decision.)
    public func removingHopByHop() -> [HTTPField] {
        // This runs for every message the proxy forwards. The usual Connection tokens (close,
        // keep-alive, upgrade) name nothing beyond the fixed hop-by-hop fields, so names are
        // only looked up when some other token is listed, and then in place, without a list.
        let nominatesOthers = connectionNominatesOtherFields
        var result: [HTTPField] = []
        result.reserveCapacity(self.count)
        for field in self {
            if Self.isHopByHop(field.name) { continue }
            if nominatesOthers && connectionHasToken(field.name) { continue }
            result.append(field)
        }
        return result
    }

    /// The fields of a request as Baton forwards them to a server. The fixed hop-by-hop fields (Keep-Alive,
    /// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade) are removed; each Connection field keeps its
    /// tokens other than close, keep-alive and upgrade (which the proxy restates itself), and is removed when
    /// none is left. The fields those tokens name are forwarded, as HAProxy 2.6 forwards them: a Connection
    /// token never removes a field, so `Connection: Host` or `Connection: Content-Length` cannot strip the
    /// request of its Host or its framing, nor a client make the proxy drop a field a server relies on.
    public func removingHopByHopKeepingNominated() -> [HTTPField] {
        var result: [HTTPField] = []
        result.reserveCapacity(self.count)
        for field in self {
            if ASCII.caseInsensitiveEquals(field.name, lowercase: "connection") {
                if let kept = Self.connectionTokensToForward(field.value) {
                    result.append(HTTPField(field.name, kept))
                }
                continue
            }
            if Self.isHopByHop(field.name) { continue }
            result.append(field)
        }
        return result
    }

    // MARK: Internals

    /// A Connection value without its close, keep-alive and upgrade tokens, the others joined by ", ";
    /// nil when nothing is left.
    private static func connectionTokensToForward(_ value: String) -> String? {
        var value = value
        return value.withUTF8 { bytes -> String? in
            var kept: [UInt8] = []
            Self.forEachListElement(bytes) { start, end in
                if Self.bytesEqualIgnoringCase(bytes, start, end, "close")
                    || Self.bytesEqualIgnoringCase(bytes, start, end, "keep-alive")
                    || Self.bytesEqualIgnoringCase(bytes, start, end, "upgrade")
                {
                    return
                }
                if !kept.isEmpty { kept.append(contentsOf: [ASCII.comma, ASCII.sp]) }
                kept.append(contentsOf: bytes[start..<end])
            }
            return kept.isEmpty ? nil : String(decoding: kept, as: UTF8.self)
        }
    }

    /// The fixed hop-by-hop names, dispatched on length so that most names need a single integer comparison.
    @usableFromInline
    static func isHopByHop(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: return ASCII.caseInsensitiveEquals(name, lowercase: "te")
        case 7:
            return ASCII.caseInsensitiveEquals(name, lowercase: "trailer")
                || ASCII.caseInsensitiveEquals(name, lowercase: "upgrade")
        case 10:
            return ASCII.caseInsensitiveEquals(name, lowercase: "connection")
                || ASCII.caseInsensitiveEquals(name, lowercase: "keep-alive")
        case 16: return ASCII.caseInsensitiveEquals(name, lowercase: "proxy-connection")
        case 17: return ASCII.caseInsensitiveEquals(name, lowercase: "transfer-encoding")
        default: return false
        }
    }

    private static func appendTokens(of value: String, to tokens: inout [String]) {
        var value = value
        value.withUTF8 { bytes in
            Self.forEachListElement(bytes) { start, end in
                let element = UnsafeBufferPointer(rebasing: bytes[start..<end])
                tokens.append(String(decoding: element.lazy.map(ASCII.lower), as: UTF8.self))
            }
        }
    }

    /// Calls `body` with the bounds of each non-empty, OWS-trimmed element of a comma-separated list.
    private static func forEachListElement(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        var i = 0
        let count = bytes.count
        while i < count {
            while i < count && (ASCII.isWhitespace(bytes[i]) || bytes[i] == ASCII.comma) { i += 1 }
            let start = i
            var end = i
            while i < count && bytes[i] != ASCII.comma {
                if !ASCII.isWhitespace(bytes[i]) { end = i + 1 }
                i += 1
            }
            if end > start { body(start, end) }
        }
    }

    private static func bytesEqualIgnoringCase(
        _ bytes: UnsafeBufferPointer<UInt8>,
        _ start: Int,
        _ end: Int,
        _ other: String
    ) -> Bool {
        guard other.utf8.count == end - start else { return false }
        var i = start
        for c in other.utf8 {
            if ASCII.lower(c) != ASCII.lower(bytes[i]) { return false }
            i += 1
        }
        return true
    }
}
