import NIOCore

/// Finds the end of a header section (start line + field lines + empty line, or a trailer section) at the start
/// of a buffer's readable bytes, incrementally: bytes already examined are not looked at again when more arrive.
///
/// Every LF must be preceded by CR (bare LF is rejected here); a CR not followed by LF is rejected by the line
/// parsers, which look at every byte of every line. Limits are enforced while the section is still unterminated,
/// so no more than `maxBytes` are ever buffered for one section, nor more than `maxFields` field lines parsed.
struct HeadScanner: Sendable {
    /// Largest section, from the first byte of the start line through the final CRLF.
    let maxBytes: Int
    /// Largest start line, CRLF excluded.
    let maxStartLineBytes: Int
    let startLineError: HTTPParserError
    /// false for trailer sections, which have no start line and may be empty.
    let hasStartLine: Bool
    /// Most field lines in the section (HAProxy's `tune.http.maxhdr` less one); one more is a bad message.
    let maxFields: Int

    /// Complete lines seen so far, start line included; used to size the field array.
    private(set) var lineCount = 0
    private var scanned = 0
    private var lineStart = 0
    private var sawStartLine = false
    private var skippedEmptyLineBytes = 0

    init(maxBytes: Int, maxStartLineBytes: Int, startLineError: HTTPParserError, hasStartLine: Bool, maxFields: Int) {
        self.maxBytes = maxBytes
        self.maxStartLineBytes = maxStartLineBytes
        self.startLineError = startLineError
        self.hasStartLine = hasStartLine
        self.maxFields = maxFields
    }

    mutating func reset() {
        self.lineCount = 0
        self.scanned = 0
        self.lineStart = 0
        self.sawStartLine = false
        self.skippedEmptyLineBytes = 0
    }

    /// The section's length (through the final CRLF) once it is complete, else nil.
    /// Empty lines (CRLF) before a start line are consumed from `buffer` (RFC 9112 section 2.2).
    mutating func scan(_ buffer: inout ByteBuffer) throws(HTTPParserError) -> Int? {
        if self.hasStartLine && self.scanned == 0 {
            guard try self.skipLeadingEmptyLines(&buffer) else { return nil }
        }
        if buffer.readableBytes <= self.scanned { return nil }
        let outcome = buffer.withUnsafeReadableBytes { self.scanBytes($0) }
        switch outcome {
        case .needMore: return nil
        case .complete(let length): return length
        case .failed(let error): throw error
        }
    }

    /// Returns false while the buffer is empty or holds just a CR (which may or may not start an empty line).
    private mutating func skipLeadingEmptyLines(_ buffer: inout ByteBuffer) throws(HTTPParserError) -> Bool {
        while let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) {
            if first == ASCII.lf { throw .badMessage("bare LF before start line") }
            guard first == ASCII.cr else { return true }
            guard let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) else { return false }
            guard second == ASCII.lf else { throw .badMessage("bare CR before start line") }
            self.skippedEmptyLineBytes += 2
            if self.skippedEmptyLineBytes > self.maxBytes { throw .headersTooLarge }
            buffer.moveReaderIndex(forwardBy: 2)
        }
        return false
    }

    private enum Outcome {
        case needMore
        case complete(Int)
        case failed(HTTPParserError)
    }

    private mutating func scanBytes(_ p: UnsafeRawBufferPointer) -> Outcome {
        // Nothing past maxBytes can belong to an acceptable section.
        let limit = min(p.count, self.maxBytes)
        var i = self.scanned
        while i < limit, let lf = ASCII.find(ASCII.lf, in: p, from: i, to: limit) {
            if lf == self.lineStart || p[lf - 1] != ASCII.cr {
                return .failed(.badMessage("bare LF in header section"))
            }
            let lineLength = lf - 1 - self.lineStart
            if lineLength == 0 {
                if self.hasStartLine && !self.sawStartLine {
                    return .failed(.badMessage("empty start line"))
                }
                return .complete(lf + 1)
            }
            if self.hasStartLine && !self.sawStartLine {
                if lineLength > self.maxStartLineBytes { return .failed(self.startLineError) }
                self.sawStartLine = true
            } else if self.lineCount - (self.hasStartLine ? 1 : 0) >= self.maxFields {
                // Refused as soon as the field line past the limit is complete (HAProxy answers 400 too).
                return .failed(.badMessage("too many header fields"))
            }
            self.lineCount += 1
            self.lineStart = lf + 1
            i = self.lineStart
        }
        self.scanned = limit
        if self.hasStartLine && !self.sawStartLine && limit - 1 > self.maxStartLineBytes {
            // The start line is unterminated and already longer than allowed (one byte may be its CR).
            return .failed(self.startLineError)
        }
        if p.count >= self.maxBytes {
            return .failed(.headersTooLarge)
        }
        return .needMore
    }
}
