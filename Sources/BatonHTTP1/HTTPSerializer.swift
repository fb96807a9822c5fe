import NIOCore

// Serialization of heads and chunked framing. Fields are written as they are, a value kept as raw bytes
// (`HTTPField.rawValue`) byte for byte: the parsers only produce valid names and values, and fields built by the
// proxy itself are trusted (no CR/LF checks on this path).

extension HTTPRequestHead {
    /// Writes `METHOD target HTTP/x.y\r\n`, the fields and the final `\r\n`.
    public func write(into buffer: inout ByteBuffer) {
        var size = self.method.utf8.count + self.target.utf8.count + 12
        for field in self.fields { size += field.name.utf8.count + field.valueByteCount + 4 }
        size += 2 + (self.version.major == 1 && self.version.minor <= 1 ? 0 : 32)
        // One reservation and raw copies: per-call ByteBuffer writes cost a uniqueness and
        // bounds check each, and this runs for every request forwarded.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var out = HeadWriter(raw)
            out.append(self.method)
            out.append(ASCII.sp)
            out.append(self.target)
            out.append(ASCII.sp)
            out.append(self.version)
            out.appendCRLF()
            out.append(self.fields)
            out.appendCRLF()
            return out.count
        }
    }
}

extension HTTPResponseHead {
    /// Writes `HTTP/x.y status reason\r\n` (the SP before the reason is kept when it is empty), the fields and the
    /// final `\r\n`.
    public func write(into buffer: inout ByteBuffer) {
        var size = self.reason.utf8.count + 15
        for field in self.fields { size += field.name.utf8.count + field.valueByteCount + 4 }
        size += 2 + (self.version.major == 1 && self.version.minor <= 1 ? 0 : 32)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var out = HeadWriter(raw)
            out.append(self.version)
            out.append(ASCII.sp)
            let status = min(max(self.status, 0), 999)
            out.append(UInt8(truncatingIfNeeded: status / 100) &+ ASCII.zero)
            out.append(UInt8(truncatingIfNeeded: status / 10 % 10) &+ ASCII.zero)
            out.append(UInt8(truncatingIfNeeded: status % 10) &+ ASCII.zero)
            out.append(ASCII.sp)
            out.append(self.reason)
            out.appendCRLF()
            out.append(self.fields)
            out.appendCRLF()
            return out.count
        }
    }
}

extension HTTPVersion {
    /// Writes `HTTP/major.minor`.
    public func write(into buffer: inout ByteBuffer) {
        if self.major == 1 && (self.minor == 1 || self.minor == 0) {
            buffer.writeStaticString(self.minor == 1 ? "HTTP/1.1" : "HTTP/1.0")
        } else {
            buffer.writeString(self.description)
        }
    }
}

extension Array where Element == HTTPField {
    /// Writes each field as `Name: value\r\n` (no final empty line).
    public func write(into buffer: inout ByteBuffer) {
        var size = 0
        for field in self { size += field.name.utf8.count + field.valueByteCount + 4 }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var out = HeadWriter(raw)
            out.append(self)
            return out.count
        }
    }
}

/// Copies head bytes into space reserved beforehand (the callers count exactly what they write).
struct HeadWriter {
    private let base: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(_ base: UnsafeMutableRawBufferPointer) {
        self.base = base
    }

    mutating func append(_ byte: UInt8) {
        base[count] = byte
        count += 1
    }

    mutating func appendCRLF() {
        base[count] = ASCII.cr
        base[count + 1] = ASCII.lf
        count += 2
    }

    mutating func append(_ string: String) {
        var string = string
        string.withUTF8 { bytes in
            guard let source = bytes.baseAddress, bytes.count > 0 else { return }
            (base.baseAddress! + count).copyMemory(from: source, byteCount: bytes.count)
            count += bytes.count
        }
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { source in
            guard let start = source.baseAddress, source.count > 0 else { return }
            (base.baseAddress! + count).copyMemory(from: start, byteCount: source.count)
            count += source.count
        }
    }

    mutating func append(_ version: HTTPVersion) {
        if version.major == 1 && (version.minor == 1 || version.minor == 0) {
            for byte in "HTTP/1.".utf8 { append(byte) }
            append(version.minor == 1 ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        } else {
            append(version.description)
        }
    }

    mutating func append(_ fields: [HTTPField]) {
        for field in fields {
            append(field.name)
            append(UInt8(ascii: ":"))
            append(ASCII.sp)
            if let raw = field.rawValue {
                append(raw)
            } else {
                append(field.value)
            }
            appendCRLF()
        }
    }
}

/// Writes chunked transfer coding (RFC 9112 section 7.1).
public enum ChunkedEncoder {
    /// Writes one chunk: size line, the readable bytes of `data`, CRLF. Writes nothing for empty data, since an
    /// empty chunk would end the body.
    public static func writeChunk(_ data: ByteBuffer, into buffer: inout ByteBuffer) {
        let length = data.readableBytes
        guard length > 0 else { return }
        buffer.reserveCapacity(minimumWritableBytes: length + 20)
        Self.writeChunkHeader(length: length, into: &buffer)
        buffer.writeImmutableBuffer(data)
        buffer.writeCRLF()
    }

    /// Writes the size line `<hex length>\r\n` of a chunk whose data the caller writes (or sends) itself,
    /// followed by `writeChunkDataEnd`. `length` must be positive.
    public static func writeChunkHeader(length: Int, into buffer: inout ByteBuffer) {
        precondition(length > 0, "a chunk of length 0 is the last chunk; use writeLastChunk")
        var digits = 0
        var rest = UInt(length)
        while rest > 0 {
            digits += 1
            rest >>= 4
        }
        var shift = (digits - 1) * 4
        while shift >= 0 {
            let nibble = UInt8(truncatingIfNeeded: UInt(length) >> UInt(shift)) & 0x0F
            buffer.writeInteger(nibble < 10 ? nibble &+ ASCII.zero : nibble &+ 0x57)  // 0x57 + 10 == "a"
            shift -= 4
        }
        buffer.writeCRLF()
    }

    /// Writes the CRLF that follows a chunk's data.
    public static func writeChunkDataEnd(into buffer: inout ByteBuffer) {
        buffer.writeCRLF()
    }

    /// Writes the last chunk `0\r\n`, the trailer fields and the final `\r\n`.
    public static func writeLastChunk(trailers: [HTTPField] = [], into buffer: inout ByteBuffer) {
        buffer.writeStaticString("0\r\n")
        trailers.write(into: &buffer)
        buffer.writeCRLF()
    }
}

extension ByteBuffer {
    @inline(__always)
    fileprivate mutating func writeCRLF() {
        self.writeInteger(UInt16(0x0D0A))  // big-endian by default: CR then LF
    }
}
