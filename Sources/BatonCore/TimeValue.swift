/// HAProxy's time values: an integer with an optional unit (`us`, `ms`, `s`, `m`, `h`, `d`),
/// milliseconds when no unit is given (configuration.txt, section 2.5).
public enum TimeValue {
    /// Parses `text` into a duration, or returns nil when it is not a valid time value.
    public static func parse(_ text: String, defaultUnitMilliseconds: Bool = true) -> Duration? {
        var digits = Substring(text)
        var number: Int64 = 0
        var sawDigit = false
        while let c = digits.first, let d = c.wholeNumberValue, c.isASCII {
            sawDigit = true
            let (m, o1) = number.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            number = a
            digits = digits.dropFirst()
        }
        guard sawDigit else { return nil }
        switch digits {
        case "": return defaultUnitMilliseconds ? .milliseconds(number) : .seconds(number)
        case "us": return .microseconds(number)
        case "ms": return .milliseconds(number)
        case "s": return .seconds(number)
        case "m": return .seconds(number * 60)
        case "h": return .seconds(number * 3600)
        case "d": return .seconds(number * 86400)
        default: return nil
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down, as HAProxy's logs count time.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Whole nanoseconds, saturating.
    public var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return ns + attoseconds / 1_000_000_000
    }
}
