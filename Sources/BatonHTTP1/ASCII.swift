#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Byte-level helpers shared by the parsers and the field helpers. Everything here is ASCII-only on purpose:
/// HTTP/1.1 syntax is defined on octets, and Unicode-aware comparisons would be both slower and wrong.
@usableFromInline
enum ASCII {
    @usableFromInline static let cr: UInt8 = 0x0D
    @usableFromInline static let lf: UInt8 = 0x0A
    @usableFromInline static let sp: UInt8 = 0x20
    @usableFromInline static let htab: UInt8 = 0x09
    @usableFromInline static let colon: UInt8 = 0x3A
    @usableFromInline static let semicolon: UInt8 = 0x3B
    @usableFromInline static let equals: UInt8 = 0x3D
    @usableFromInline static let comma: UInt8 = 0x2C
    @usableFromInline static let dquote: UInt8 = 0x22
    @usableFromInline static let backslash: UInt8 = 0x5C
    @usableFromInline static let zero: UInt8 = 0x30

    /// RFC 9110 tchar as a 128-bit set: "!#$%&'*+-.^_`|~", DIGIT, ALPHA.
    @usableFromInline static let tcharLow: UInt64 = 0x03ff_6cfa_0000_0000
    @usableFromInline static let tcharHigh: UInt64 = 0x57ff_ffff_c7ff_fffe

    @inlinable @inline(__always)
    static func isTchar(_ c: UInt8) -> Bool {
        if c < 64 { return (tcharLow >> UInt64(c)) & 1 == 1 }
        if c < 128 { return (tcharHigh >> UInt64(c &- 64)) & 1 == 1 }
        return false
    }

    /// SP or HTAB (OWS / BWS).
    @inlinable @inline(__always)
    static func isWhitespace(_ c: UInt8) -> Bool { c == sp || c == htab }

    /// Allowed in a field value: HTAB, SP, VCHAR and obs-text (anything but CTLs and DEL).
    @inlinable @inline(__always)
    static func isFieldValueByte(_ c: UInt8) -> Bool { (c >= 0x20 && c != 0x7F) || c == htab }

    @inlinable @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

    /// Value of a hex digit, or nil.
    @inlinable @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt64? {
        if c &- 0x30 < 10 { return UInt64(c &- 0x30) }
        let l = c | 0x20
        if l &- 0x61 < 6 { return UInt64(l &- 0x61 &+ 10) }
        return nil
    }

    @inlinable @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 { c &- 0x41 < 26 ? c | 0x20 : c }

    /// Whether all eight bytes of `word` are in `minimum...0x7E` (`minimum` at most 0x80): no byte below it, no DEL,
    /// no byte with the high bit set. SWAR: lets the validating loops skip ordinary text eight bytes at a time.
    @inlinable @inline(__always)
    static func allPrintable(_ word: UInt64, minimum: UInt8) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let below = (word &- ones &* UInt64(minimum)) & ~word & highs
        let delXor = word ^ (ones &* 0x7F)
        let del = (delXor &- ones) & ~delXor & highs
        return (below | del | (word & highs)) == 0
    }

    /// Advances `i` past whole words of printable bytes (see `allPrintable`) that lie before `end`.
    @inlinable @inline(__always)
    static func skipPrintable(_ p: UnsafeRawBufferPointer, _ i: inout Int, end: Int, minimum: UInt8) {
        while i &+ 8 <= end && allPrintable(p.loadUnaligned(fromByteOffset: i, as: UInt64.self), minimum: minimum) {
            i &+= 8
        }
    }

    /// Index of the first `byte` in `p[from..<to]`, via memchr.
    @inlinable @inline(__always)
    static func find(_ byte: UInt8, in p: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
        guard from < to, let base = p.baseAddress else { return nil }
        guard let hit = memchr(base + from, Int32(byte), to - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }

    /// Case-insensitive comparison of raw bytes with a lowercase ASCII literal.
    @inlinable
    static func equalsLowercase(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        guard end - start == literal.utf8CodeUnitCount else { return false }
        let l = literal.utf8Start
        var i = 0
        while i < end - start {
            if lower(p[start + i]) != l[i] { return false }
            i += 1
        }
        return true
    }

    /// Case-insensitive ASCII equality of two strings, comparing UTF-8 bytes (no allocation).
    @inlinable
    static func caseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { pa in
            b.withUTF8 { pb in
                guard pa.count == pb.count else { return false }
                var i = 0
                while i < pa.count {
                    if pa[i] != pb[i] && lower(pa[i]) != lower(pb[i]) { return false }
                    i += 1
                }
                return true
            }
        }
    }

    /// Case-insensitive ASCII equality of a string with a lowercase ASCII literal.
    @inlinable
    static func caseInsensitiveEquals(_ a: String, lowercase literal: StaticString) -> Bool {
        var a = a
        return a.withUTF8 { pa in
            guard pa.count == literal.utf8CodeUnitCount else { return false }
            let l = literal.utf8Start
            var i = 0
            while i < pa.count {
                if lower(pa[i]) != l[i] { return false }
                i += 1
            }
            return true
        }
    }

    /// A String from an ASCII (or already validated) byte range.
    @inlinable @inline(__always)
    static func string(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: p[start..<end]), as: UTF8.self)
    }
}
