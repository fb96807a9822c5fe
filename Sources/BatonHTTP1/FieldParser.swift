/// What the framing-relevant fields of a header section said, already validated field by field.
struct FramingFacts: Sendable {
    /// The agreed Content-Length value, if any Content-Length field was present.
    var contentLength: UInt64? = nil
    /// A Transfer-Encoding field was present (and said exactly `chunked`).
    var chunked = false
    var hostCount = 0
    /// Where the first Host field's value (OWS trimmed) lies in the header section.
    var hostValue: Range<Int>? = nil

    /// Applies the rules both directions share: Content-Length and Transfer-Encoding together are ambiguous
    /// (RFC 9112 section 6.1 allows a proxy to process it, but refusing is the only safe answer for a proxy),
    /// and Transfer-Encoding is not defined in HTTP/1.0.
    func validate(version: HTTPVersion) throws(HTTPParserError) {
        if self.chunked {
            if self.contentLength != nil {
                throw .badMessage("both Content-Length and Transfer-Encoding")
            }
            if version == .http1_0 {
                throw .badMessage("Transfer-Encoding in an HTTP/1.0 message")
            }
        }
    }
}

/// Parses field lines (RFC 9112 section 5) strictly.
enum FieldParser {
    /// Parses the field lines in `p[start...]` up to and including the empty line that ends the section.
    /// The caller (HeadScanner) guarantees that `p` ends with CRLFCRLF, or is exactly CRLF for an empty section,
    /// and that every LF in it is preceded by CR.
    /// When `facts` is non-nil, Content-Length, Transfer-Encoding and Host are validated and recorded.
    static func parseFields(
        _ p: UnsafeRawBufferPointer,
        from start: Int,
        capacity: Int,
        facts: inout FramingFacts,
        collectFacts: Bool
    ) throws(HTTPParserError) -> [HTTPField] {
        var fields: [HTTPField] = []
        fields.reserveCapacity(capacity)
        var i = start
        while true {
            let first = p[i]
            if first == ASCII.cr {
                // The empty line: the scanner found it, so it is CRLF and the last line.
                guard p[i + 1] == ASCII.lf else { throw .badMessage("bare CR in header section") }
                return fields
            }
            if ASCII.isWhitespace(first) {
                throw .badMessage("obs-fold or whitespace before field name")
            }
            // field-name = token, immediately followed by ":".
            let nameStart = i
            while ASCII.isTchar(p[i]) { i += 1 }
            let nameEnd = i
            guard p[i] == ASCII.colon else {
                if ASCII.isWhitespace(p[i]) { throw .badMessage("whitespace between field name and colon") }
                throw .badMessage("invalid character in field name")
            }
            guard nameEnd > nameStart else { throw .badMessage("empty field name") }
            i += 1
            // OWS field-value OWS CRLF
            while ASCII.isWhitespace(p[i]) { i += 1 }
            let valueStart = i
            var nonASCII = false
            while true {
                // Ordinary visible ASCII eight bytes at a time; HTAB, obs-text, CTLs and the CR byte by byte.
                ASCII.skipPrintable(p, &i, end: p.count, minimum: 0x20)
                let c = p[i]
                if c == ASCII.cr { break }
                guard ASCII.isFieldValueByte(c) else {
                    throw .badMessage("invalid character in field value")
                }
                if c >= 0x80 { nonASCII = true }
                i += 1
            }
            guard p[i + 1] == ASCII.lf else { throw .badMessage("bare CR in field value") }
            var valueEnd = i
            while valueEnd > valueStart && ASCII.isWhitespace(p[valueEnd - 1]) { valueEnd -= 1 }
            i += 2

            if collectFacts {
                try Self.recordFact(p, nameStart, nameEnd, valueStart, valueEnd, &facts)
            }
            let name = ASCII.string(p, nameStart, nameEnd)
            if nonASCII {
                // obs-text is allowed (RFC 9110 section 5.5) and forwarded as received, valid UTF-8 or not.
                fields.append(HTTPField(name, valueBytes: UnsafeRawBufferPointer(rebasing: p[valueStart..<valueEnd])))
            } else {
                fields.append(HTTPField(name, ASCII.string(p, valueStart, valueEnd)))
            }
        }
    }

    private static func recordFact(
        _ p: UnsafeRawBufferPointer,
        _ nameStart: Int,
        _ nameEnd: Int,
        _ valueStart: Int,
        _ valueEnd: Int,
        _ facts: inout FramingFacts
    ) throws(HTTPParserError) {
        switch nameEnd - nameStart {
        case 4:
            if ASCII.equalsLowercase(p, nameStart, nameEnd, "host") {
                if facts.hostCount == 0 { facts.hostValue = valueStart..<valueEnd }
                facts.hostCount += 1
            }
        case 14:
            if ASCII.equalsLowercase(p, nameStart, nameEnd, "content-length") {
                try Self.recordContentLength(p, valueStart, valueEnd, &facts)
            }
        case 17:
            if ASCII.equalsLowercase(p, nameStart, nameEnd, "transfer-encoding") {
                // Only one transfer coding is acceptable anywhere in the message: a single, final "chunked".
                // Anything else (other codings, chunked twice, empty list elements, parameters) is refused.
                if facts.chunked { throw .badMessage("more than one transfer coding") }
                guard ASCII.equalsLowercase(p, valueStart, valueEnd, "chunked") else {
                    throw .badMessage("unsupported Transfer-Encoding")
                }
                facts.chunked = true
            }
        default:
            break
        }
    }

    /// Content-Length = 1*DIGIT, possibly as a comma list; all values (across fields) must agree.
    private static func recordContentLength(
        _ p: UnsafeRawBufferPointer,
        _ start: Int,
        _ end: Int,
        _ facts: inout FramingFacts
    ) throws(HTTPParserError) {
        var i = start
        while true {
            while i < end && ASCII.isWhitespace(p[i]) { i += 1 }
            var value: UInt64 = 0
            let digitsStart = i
            while i < end && ASCII.isDigit(p[i]) {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(p[i] &- ASCII.zero))
                if o1 || o2 { throw .badMessage("Content-Length overflows") }
                value = sum
                i += 1
            }
            guard i > digitsStart else { throw .badMessage("invalid Content-Length") }
            while i < end && ASCII.isWhitespace(p[i]) { i += 1 }
            if let previous = facts.contentLength, previous != value {
                throw .badMessage("conflicting Content-Length values")
            }
            facts.contentLength = value
            if i == end { return }
            guard p[i] == ASCII.comma else { throw .badMessage("invalid Content-Length") }
            i += 1
        }
    }
}
