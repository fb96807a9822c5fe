#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The time zone log dates are written in. HAProxy writes `%t`, `%tr` and the syslog header
/// timestamps in the process's local time (`localtime_r`); tests use a fixed offset.
public enum LogTimeZone: Sendable, Hashable {
    /// The process's local time zone, as `localtime_r` sees it (the `TZ` variable, /etc/localtime).
    case local
    /// A fixed offset east of UTC, in seconds.
    case fixed(offsetSeconds: Int)

    public static let utc: LogTimeZone = .fixed(offsetSeconds: 0)

    /// Seconds east of UTC at the given instant.
    public func utcOffset(atEpochSecond second: Int64) -> Int {
        switch self {
        case .fixed(let offset):
            return offset
        case .local:
            return LocalOffsetCache.offset(at: second)
        }
    }

    /// The broken-down date of an instant given in microseconds since the epoch.
    func date(microseconds: Int64) -> LogDate {
        let second = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let micro = Int(microseconds - second * 1_000_000)
        let offset = utcOffset(atEpochSecond: second)
        return LogDate(epochSecond: second + Int64(offset), microsecond: micro, utcOffset: offset)
    }
}

/// The local UTC offset of the last second asked for, so that `localtime_r` (which takes a
/// lock inside glibc) runs at most about once per second and per thread instead of per line.
/// Second and offset are packed in one atomic word: no lock, no torn reads.
enum LocalOffsetCache {
    private static let offsetBias: Int64 = 1 << 19          // offsets are within +/- 26 hours
    private static let cache = Atomic<UInt64>(UInt64.max)  // never a valid packed value

    static func offset(at second: Int64) -> Int {
        let packed = cache.load(ordering: .relaxed)
        if packed != UInt64.max, Int64(bitPattern: packed >> 20) == second {
            return Int(Int64(packed & 0xFFFFF) - offsetBias)
        }
        var t = time_t(second)
        var tm = tm()
        guard localtime_r(&t, &tm) != nil else { return 0 }
        let offset = Int(tm.tm_gmtoff)
        if second >= 0, second < (1 << 43), abs(offset) < Int(offsetBias) {
            cache.store(UInt64(second) << 20 | UInt64(Int64(offset) + offsetBias), ordering: .relaxed)
        }
        return offset
    }
}

/// A civil date and time, already shifted to the wanted time zone.
struct LogDate: Equatable {
    var year: Int
    var month: Int      // 1...12
    var day: Int        // 1...31
    var hour: Int
    var minute: Int
    var second: Int
    var microsecond: Int
    var utcOffset: Int

    /// `localSecond` counts seconds since 1970-01-01T00:00:00 in the target zone.
    init(epochSecond localSecond: Int64, microsecond: Int, utcOffset: Int) {
        var days = localSecond / 86_400
        var secondOfDay = localSecond - days * 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.year = Int(yoe + era * 400 + (m <= 2 ? 1 : 0))
        self.month = Int(m)
        self.day = Int(d)
        self.hour = Int(secondOfDay / 3600)
        self.minute = Int(secondOfDay / 60 % 60)
        self.second = Int(secondOfDay % 60)
        self.microsecond = microsecond
        self.utcOffset = utcOffset
    }
}

enum LogText {
    static let monthLetters: [(UInt8, UInt8, UInt8)] = monthNames.map { ($0[0], $0[1], $0[2]) }
    static let monthNames: [[UInt8]] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].map { Array($0.utf8) }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendDigits(_ value: Int, width: Int) {
        var divisor = 1
        for _ in 1..<Swift.max(width, 1) { divisor &*= 10 }
        var v = value
        while divisor > 0 {
            append(UInt8(truncatingIfNeeded: 48 &+ (v / divisor) % 10))
            v %= divisor
            divisor /= 10
        }
    }

    /// A signed decimal, as `ltoa`/`lltoa` write it.
    @inline(__always)
    mutating func appendDecimal(_ value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        if magnitude < 10 {
            append(48 &+ UInt8(magnitude))
            return
        }
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes, room for 20 digits
        Swift.withUnsafeMutableBytes(of: &scratch) { raw in
            var index = raw.count
            while magnitude > 0 {
                index -= 1
                raw[index] = 48 &+ UInt8(magnitude % 10)
                magnitude /= 10
            }
            append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[index...]))
        }
    }

    /// `Mmm dd hh:mm:ss` with a space-padded day, as in RFC 3164 headers.
    mutating func appendLegacySyslogDate(_ d: LogDate) {
        append(contentsOf: LogText.monthNames[d.month - 1])
        append(UInt8(ascii: " "))
        if d.day < 10 {
            append(UInt8(ascii: " "))
            append(48 &+ UInt8(d.day))
        } else {
            appendDigits(d.day, width: 2)
        }
        append(UInt8(ascii: " "))
        appendDigits(d.hour, width: 2)
        append(UInt8(ascii: ":"))
        appendDigits(d.minute, width: 2)
        append(UInt8(ascii: ":"))
        appendDigits(d.second, width: 2)
    }

    /// `yyyy-mm-ddThh:mm:ss.uuuuuu+hh:mm` (HAProxy's `timeofday_as_iso_us`).
    mutating func appendISODate(_ d: LogDate) {
        appendDigits(d.year, width: 4)
        append(UInt8(ascii: "-"))
        appendDigits(d.month, width: 2)
        append(UInt8(ascii: "-"))
        appendDigits(d.day, width: 2)
        append(UInt8(ascii: "T"))
        appendDigits(d.hour, width: 2)
        append(UInt8(ascii: ":"))
        appendDigits(d.minute, width: 2)
        append(UInt8(ascii: ":"))
        appendDigits(d.second, width: 2)
        append(UInt8(ascii: "."))
        appendDigits(d.microsecond, width: 6)
        var offsetMinutes = d.utcOffset / 60
        if d.utcOffset < 0 {
            append(UInt8(ascii: "-"))
            offsetMinutes = -d.utcOffset / 60
        } else {
            append(UInt8(ascii: "+"))
        }
        offsetMinutes %= 1440
        appendDigits(offsetMinutes / 60, width: 2)
        append(UInt8(ascii: ":"))
        appendDigits(offsetMinutes % 60, width: 2)
    }
}
