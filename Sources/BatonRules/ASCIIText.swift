/// Byte-level text helpers for field names and values: case-insensitive ASCII comparison and
/// list splitting, without Foundation.
enum ASCIIText {
    @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5a ? c | 0x20 : c }

    @inline(__always)
    static func upper(_ c: UInt8) -> UInt8 { c >= 0x61 && c <= 0x7a ? c & ~0x20 : c }

    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                for i in 0..<x.count where x[i] != y[i] && lower(x[i]) != lower(y[i]) { return false }
                return true
            }
        }
    }

    static func lowercased(_ text: String) -> String {
        if !text.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5a }) { return text }
        return String(decoding: text.utf8.map(lower), as: UTF8.self)
    }

    static func uppercased(_ text: String) -> String {
        if !text.utf8.contains(where: { $0 >= 0x61 && $0 <= 0x7a }) { return text }
        return String(decoding: text.utf8.map(upper), as: UTF8.self)
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    /// The value without leading and trailing spaces and tabs.
    static func trimmed(_ text: Substring) -> Substring {
        // On the UTF-8 view: spaces and tabs are single bytes, and Character steps would
        // break grapheme clusters.
        let utf8 = text.utf8
        var start = utf8.startIndex, end = utf8.endIndex
        while start < end, isSpace(utf8[start]) { start = utf8.index(after: start) }
        while end > start, isSpace(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        return text[start..<end]
    }

    /// The comma-separated elements of a field value, trimmed, as HAProxy's `hdr()` sees
    /// them (empty elements included, as HAProxy does). A value without a comma is returned
    /// whole, without copying.
    static func forEachListElement(_ value: String, _ body: (String) -> Bool) -> Bool {
        var copy = value
        let (hasComma, padded) = copy.withUTF8 { bytes in
            (bytes.contains(UInt8(ascii: ",")),
             bytes.first.map(isSpace) == true || bytes.last.map(isSpace) == true)
        }
        if !hasComma {
            return body(padded ? String(trimmed(value[...])) : value)
        }
        for element in value.split(separator: ",", omittingEmptySubsequences: false) {
            if body(String(trimmed(element))) { return true }
        }
        return false
    }

    static func listElements(_ value: String) -> [String] {
        var result: [String] = []
        _ = forEachListElement(value) { result.append($0); return false }
        return result
    }
}
