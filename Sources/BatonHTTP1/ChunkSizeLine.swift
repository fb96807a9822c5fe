/// Strict parser for a chunk size line without its CRLF (RFC 9112 section 7.1):
///
///     chunk-size [ chunk-ext ]
///     chunk-size     = 1*HEXDIG
///     chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
///     chunk-ext-name = token
///     chunk-ext-val  = token / quoted-string
///
/// Extensions are validated and ignored.
enum ChunkSizeLine {
    static func parse(_ p: UnsafeRawBufferPointer, end: Int) throws(HTTPParserError) -> UInt64 {
        var i = 0
        var size: UInt64 = 0
        while i < end, let digit = ASCII.hexValue(p[i]) {
            if size > UInt64.max >> 4 { throw .badMessage("chunk size overflows") }
            size = size << 4 | digit
            i += 1
        }
        guard i > 0 else { throw .badMessage("invalid chunk size") }
        while i < end {
            i = Self.skipWhitespace(p, i, end)
            guard i < end, p[i] == ASCII.semicolon else { throw .badMessage("invalid chunk size line") }
            i = Self.skipWhitespace(p, i + 1, end)
            let nameStart = i
            while i < end && ASCII.isTchar(p[i]) { i += 1 }
            guard i > nameStart else { throw .badMessage("invalid chunk extension") }
            let afterName = Self.skipWhitespace(p, i, end)
            guard afterName < end, p[afterName] == ASCII.equals else { continue }
            i = Self.skipWhitespace(p, afterName + 1, end)
            guard i < end else { throw .badMessage("invalid chunk extension") }
            if p[i] == ASCII.dquote {
                i = try Self.skipQuotedString(p, i + 1, end)
            } else {
                let valueStart = i
                while i < end && ASCII.isTchar(p[i]) { i += 1 }
                guard i > valueStart else { throw .badMessage("invalid chunk extension") }
            }
        }
        return size
    }

    @inline(__always)
    private static func skipWhitespace(_ p: UnsafeRawBufferPointer, _ from: Int, _ end: Int) -> Int {
        var i = from
        while i < end && ASCII.isWhitespace(p[i]) { i += 1 }
        return i
    }

    /// Skips the rest of a quoted-string whose opening DQUOTE was already consumed; returns the index after the
    /// closing DQUOTE.
    private static func skipQuotedString(_ p: UnsafeRawBufferPointer, _ from: Int, _ end: Int) throws(HTTPParserError) -> Int {
        var i = from
        while i < end {
            let c = p[i]
            if c == ASCII.dquote { return i + 1 }
            if c == ASCII.backslash {
                // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                i += 1
                guard i < end, ASCII.isFieldValueByte(p[i]) else { throw .badMessage("invalid chunk extension") }
            } else if !ASCII.isFieldValueByte(c) {
                throw .badMessage("invalid chunk extension")
            }
            i += 1
        }
        throw .badMessage("unterminated quoted string in chunk extension")
    }
}
