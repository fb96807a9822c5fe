/// Byte-level text helpers for field names and values: case-insensitive ASCII comparison and
/// list splitting, without Foundation.
enum ASCIIText {
    @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5a ? c | 0x20 : c }

    @inline(__always)
    static func upper(_ c: UInt8) -> UInt8 { c >= 0x61 && c <= 0x7a ? c & ~0x20 : c }

    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        var i = x.startIndex, j = y.startIndex
        while i < x.endIndex {
            if lower(x[i]) != lower(y[j]) { return false }
            i = x.index(after: i)
            j = y.index(after: j)
        }
        return true
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
        var result = text
        while let first = result.utf8.first, isSpace(first) { result = result.dropFirst() }
        while let last = result.utf8.last, isSpace(last) { result = result.dropLast() }
        return result
    }

    /// The comma-separated elements of a field value, trimmed, as HAProxy's `hdr()` sees
    /// them (empty elements included, as HAProxy does). A value without a comma is returned
    /// whole, without copying.
    static func forEachListElement(_ value: String, _ body: (String) -> Bool) -> Bool {
        if !value.utf8.contains(UInt8(ascii: ",")) {
            let trimmedValue = trimmed(value[...])
            return body(trimmedValue.count == value.count ? value : String(trimmedValue))
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
