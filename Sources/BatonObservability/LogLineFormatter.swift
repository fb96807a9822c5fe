import BatonConfig
import BatonRules

/// Settings that shape every traffic log line.
public struct LogLineOptions: Sendable, Hashable {
    /// The zone `%t` and `%tr` are written in; HAProxy uses the process's local time.
    public var timeZone: LogTimeZone
    /// HAProxy's `global.max_syslog_len`: the largest `len` of all `log` lines, 1024 at least.
    /// A line holds at most this many bytes minus one; HAProxy cuts longer ones (mid-field).
    public var maxLineLength: Int
    /// `tune.http.logurilen` (1024 by default): the request line kept for `%r` is at most this
    /// many bytes minus one.
    public var requestLineCapacity: Int

    public init(timeZone: LogTimeZone = .local, maxLineLength: Int = 1024, requestLineCapacity: Int = 1024) {
        self.timeZone = timeZone
        self.maxLineLength = maxLineLength
        self.requestLineCapacity = requestLineCapacity
    }
}

/// HAProxy's default traffic log lines, byte for byte:
///
/// - `option tcplog`:   `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`
/// - `option httplog`:  `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc
///                       %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r`
/// - `option httpslog`: the httplog line followed by
///                      `%[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed]
///                       %[ssl_fc_sni]/%sslv/%sslc`, which a connection without TLS prints as
///                      `0/-/-/-/0 -/-/-`.
///
/// Verified against HAProxy 2.6.12 (Debian 2.6.12-1+deb12u4). As in HAProxy, `%hr`/`%hs` print
/// nothing when no header is captured and the space separators around them collapse into one;
/// `"` and `#` and bytes outside 0x20...0x7E in the request line are written `#XX`; `%CC`/`%CS`
/// print `-` (no cookie support). The line is never followed by a newline (framing adds it).
public enum LogLineFormatter {
    public static func tcplog(_ r: TransactionLogRecord, options: LogLineOptions = LogLineOptions()) -> String {
        makeString(options) { $0.tcp(r, options: options) }
    }

    public static func httplog(_ r: TransactionLogRecord, options: LogLineOptions = LogLineOptions()) -> String {
        makeString(options) { $0.http(r, options: options) }
    }

    public static func httpslog(_ r: TransactionLogRecord, options: LogLineOptions = LogLineOptions()) -> String {
        makeString(options) { $0.https(r, options: options) }
    }

    /// The line for a proxy's `option tcplog`/`httplog`/`httpslog`.
    /// `samples` evaluates the `%[...]` items of a `log-format` line (the transaction's rules
    /// view); without it they print `-`.
    public static func line(_ r: TransactionLogRecord, format: ProxyLogFormat,
                            options: LogLineOptions = LogLineOptions(),
                            samples: (any RuleSubject)? = nil) -> String {
        switch format {
        case .tcplog: return tcplog(r, options: options)
        case .httplog: return httplog(r, options: options)
        case .httpslog: return httpslog(r, options: options)
        case .custom(let custom): return makeString(options) { $0.custom(custom, r, options: options, samples: samples) }
        }
    }

    public static func bytes(_ r: TransactionLogRecord, format: ProxyLogFormat,
                             options: LogLineOptions = LogLineOptions(),
                             samples: (any RuleSubject)? = nil) -> [UInt8] {
        switch format {
        case .tcplog: return tcplogBytes(r, options: options)
        case .httplog: return httplogBytes(r, options: options)
        case .httpslog: return httpslogBytes(r, options: options)
        case .custom(let custom): return makeBytes(options) { $0.custom(custom, r, options: options, samples: samples) }
        }
    }

    public static func tcplogBytes(_ r: TransactionLogRecord, options: LogLineOptions = LogLineOptions()) -> [UInt8] {
        makeBytes(options) { $0.tcp(r, options: options) }
    }

    public static func httplogBytes(_ r: TransactionLogRecord, options: LogLineOptions = LogLineOptions()) -> [UInt8] {
        makeBytes(options) { $0.http(r, options: options) }
    }

    public static func httpslogBytes(_ r: TransactionLogRecord, options: LogLineOptions = LogLineOptions()) -> [UInt8] {
        makeBytes(options) { $0.https(r, options: options) }
    }

    /// Lines are built in a temporary buffer of the largest possible size, then copied once
    /// into a right-sized result.
    @inline(__always)
    private static func build<T>(_ options: LogLineOptions, _ fill: (inout LineBuilder) -> Void,
                                 _ finish: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        let limit = Swift.max(options.maxLineLength - 1, 0)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Swift.max(limit, 1)) { buffer in
            var builder = LineBuilder(buffer: buffer.baseAddress!, limit: limit)
            fill(&builder)
            return finish(UnsafeBufferPointer(start: buffer.baseAddress, count: builder.count))
        }
    }

    private static func makeString(_ options: LogLineOptions, _ fill: (inout LineBuilder) -> Void) -> String {
        build(options, fill) { String(decoding: $0, as: UTF8.self) }
    }

    private static func makeBytes(_ options: LogLineOptions, _ fill: (inout LineBuilder) -> Void) -> [UInt8] {
        build(options, fill) { Array($0) }
    }
}

private let slash = UInt8(ascii: "/")

/// Builds one line with HAProxy's truncation rules (`sess_build_logline`): the line holds at
/// most `maxLineLength - 1` bytes; text is cut where the room ends, numbers and dates are written
/// whole or not at all, an escaped byte needs four free bytes, and writing stops at the first
/// field that does not fit (except after an escape that did not fit, where HAProxy goes on).
/// It writes into a buffer of at least `limit` bytes.
struct LineBuilder {
    private let base: UnsafeMutablePointer<UInt8>
    private let limit: Int
    private(set) var count = 0
    private var stopped = false
    private var lastIsSpace = true

    init(buffer: UnsafeMutablePointer<UInt8>, limit: Int) {
        self.base = buffer
        self.limit = limit
    }

    @inline(__always) private var room: Int { limit &- count }

    @inline(__always) private mutating func put(_ byte: UInt8) {
        base[count] = byte
        count &+= 1
    }

    /// `LOGCHAR`.
    @inline(__always) mutating func char(_ c: UInt8) {
        guard !stopped else { return }
        if count < limit {
            put(c)
            lastIsSpace = false
        } else {
            stopped = true
        }
    }

    /// A separator: one space, never two in a row.
    @inline(__always) mutating func separator() {
        guard !lastIsSpace, !stopped else { return }
        if count < limit {
            put(UInt8(ascii: " "))
            lastIsSpace = true
        } else {
            stopped = true
        }
    }

    /// Literal text or a name: copied as far as it fits.
    mutating func text(_ s: String) {
        guard !stopped else { return }
        var s = s
        s.withUTF8 { raw(UnsafeRawBufferPointer($0)) }
    }

    mutating func text(_ s: StaticString) {
        guard !stopped else { return }
        raw(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    private mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        let n = Swift.min(bytes.count, room)
        if n > 0 {
            UnsafeMutableRawPointer(base + count).copyMemory(from: bytes.baseAddress!, byteCount: n)
            count &+= n
        }
        if n < bytes.count || n == 0 { stopped = true }
        lastIsSpace = false
    }

    /// A name that prints `-` when empty (HAProxy's mandatory text fields).
    mutating func name(_ s: String) {
        if s.isEmpty { text("-" as StaticString) } else { text(s) }
    }

    mutating func number(_ value: Int64) {
        guard !stopped else { return }
        if value >= -1, value < 10, room >= 2 {   // most timers and counters
            if value < 0 {
                put(UInt8(ascii: "-"))
                put(UInt8(ascii: "1"))
            } else {
                put(48 &+ UInt8(truncatingIfNeeded: value))
            }
            lastIsSpace = false
            return
        }
        var magnitude = value.magnitude
        var digits = 1
        var probe = magnitude
        while probe >= 10 { probe /= 10; digits &+= 1 }
        let width = value < 0 ? digits &+ 1 : digits
        if width > room {
            stopped = true
            return
        }
        if value < 0 { base[count] = UInt8(ascii: "-") }
        var index = count &+ width
        repeat {
            index &-= 1
            base[index] = 48 &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        count &+= width
        lastIsSpace = false
    }

    @inline(__always) mutating func number(_ value: Int) { number(Int64(value)) }

    @inline(__always) private mutating func twoDigits(_ v: Int) {
        put(48 &+ UInt8(truncatingIfNeeded: v / 10))
        put(48 &+ UInt8(truncatingIfNeeded: v % 10))
    }

    /// `dd/Mmm/yyyy:HH:MM:SS.mmm` (HAProxy's `date2str_log`), 24 bytes written whole.
    mutating func date(microseconds: Int64, timeZone: LogTimeZone) {
        guard !stopped else { return }
        if room < 24 {
            stopped = true
            return
        }
        let d = timeZone.date(microseconds: microseconds)
        twoDigits(d.day)
        put(slash)
        let month = LogText.monthLetters[d.month &- 1]
        put(month.0); put(month.1); put(month.2)
        put(slash)
        let year = Swift.min(Swift.max(d.year, 0), 9999)
        twoDigits(year / 100)
        twoDigits(year % 100)
        put(UInt8(ascii: ":"))
        twoDigits(d.hour)
        put(UInt8(ascii: ":"))
        twoDigits(d.minute)
        put(UInt8(ascii: ":"))
        twoDigits(d.second)
        put(UInt8(ascii: "."))
        let millis = d.microsecond / 1000
        put(48 &+ UInt8(truncatingIfNeeded: millis / 100))
        twoDigits(millis % 100)
        lastIsSpace = false
    }

    /// HAProxy's `encode_string`: bytes in `map` become `#XX`; stops quietly when full.
    mutating func encoded(_ utf8: UnsafeBufferPointer<UInt8>, map: EncodeMap) {
        guard !stopped else { return }
        var i = 0
        let n = utf8.count
        while i < n {
            // Copy the run of bytes that need no escaping in one go.
            var j = i
            while j < n, !map.contains(utf8[j]) { j &+= 1 }
            let run = Swift.min(j &- i, room)
            if run > 0 {
                (base + count).update(from: utf8.baseAddress! + i, count: run)
                count &+= run
            }
            if run < j &- i { break }
            i = j
            guard i < n else { break }
            if room <= 3 { break }
            let byte = utf8[i]
            put(UInt8(ascii: "#"))
            put(hexDigit(byte >> 4))
            put(hexDigit(byte & 15))
            i &+= 1
        }
        lastIsSpace = false
    }

    /// Whether the line already stopped (the room ran out).
    var isStopped: Bool { stopped }

    mutating func terminationState(_ state: String, count wanted: Int) {
        var written = 0
        for byte in state.utf8 {
            if written == wanted { break }
            char(byte)
            written &+= 1
        }
        while written < wanted {
            char(UInt8(ascii: "-"))
            written &+= 1
        }
    }

    /// `%ci:%cp [%X] %ft %b/%s `
    mutating func clientAndDate(_ r: TransactionLogRecord, dateMicroseconds: Int64, timeZone: LogTimeZone) {
        name(r.clientAddress)
        char(UInt8(ascii: ":"))
        number(r.clientPort)
        separator()
        char(UInt8(ascii: "["))
        date(microseconds: dateMicroseconds, timeZone: timeZone)
        char(UInt8(ascii: "]"))
        separator()
        text(r.frontendName)
        separator()
        name(r.backendName)
        char(slash)
        name(r.serverName)
        separator()
    }

    /// `%ac/%fc/%bc/%sc/%rc %sq/%bq`
    mutating func connectionCounts(_ r: TransactionLogRecord) {
        number(r.processConnections); char(slash)
        number(r.frontendConnections); char(slash)
        number(r.backendConnections); char(slash)
        number(r.serverConnections); char(slash)
        number(r.retries)
        separator()
        number(r.serverQueue); char(slash)
        number(r.backendQueue)
    }

    /// `%hr` / `%hs`: `{a|b}` when headers are captured, nothing at all otherwise.
    mutating func captures(_ values: [String?]) {
        guard !values.isEmpty else { return }
        char(UInt8(ascii: "{"))
        for (index, value) in values.enumerated() {
            if index > 0 { char(UInt8(ascii: "|")) }
            if var value {
                value.withUTF8 { encoded($0, map: .header) }
            }
        }
        char(UInt8(ascii: "}"))
    }

    mutating func tcp(_ r: TransactionLogRecord, options: LogLineOptions) {
        clientAndDate(r, dateMicroseconds: r.acceptDateMicroseconds, timeZone: options.timeZone)
        number(r.queueTime); char(slash)
        number(r.connectTime); char(slash)
        number(r.totalTime)
        separator()
        number(r.bytesToClient)
        separator()
        terminationState(r.terminationState, count: 2)
        separator()
        connectionCounts(r)
    }

    mutating func http(_ r: TransactionLogRecord, options: LogLineOptions) {
        clientAndDate(r, dateMicroseconds: r.requestDateMicroseconds, timeZone: options.timeZone)
        number(r.requestHeadTime); char(slash)
        number(r.queueTime); char(slash)
        number(r.connectTime); char(slash)
        number(r.responseTime); char(slash)
        number(r.activeTime)
        separator()
        number(r.status)
        separator()
        number(r.bytesToClient)
        separator()
        text("-" as StaticString)   // %CC
        separator()
        text("-" as StaticString)   // %CS
        separator()
        terminationState(r.terminationState, count: 4)
        separator()
        connectionCounts(r)
        separator()
        captures(r.requestCaptures)
        separator()
        captures(r.responseCaptures)
        separator()
        // %{+Q}r
        char(UInt8(ascii: "\""))
        let capacity = Swift.max(options.requestLineCapacity - 1, 0)
        if r.requestLine.isEmpty {
            text("<BADREQ>" as StaticString)
        } else {
            var line = r.requestLine
            line.withUTF8 { utf8 in
                encoded(UnsafeBufferPointer(rebasing: utf8[0..<Swift.min(utf8.count, capacity)]), map: .url)
            }
        }
        char(UInt8(ascii: "\""))
    }

    /// httplog, then `%[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed]
    /// %[ssl_fc_sni]/%sslv/%sslc` as printed for a connection without TLS.
    mutating func https(_ r: TransactionLogRecord, options: LogLineOptions) {
        http(r, options: options)
        separator()
        text("0/-/-/-/0" as StaticString)
        separator()
        text("-/-/-" as StaticString)
    }
}

@inline(__always) private func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? 48 &+ nibble : 55 &+ nibble
}

/// The sets of bytes HAProxy writes as `#XX` in logs.
struct EncodeMap {
    private let low: UInt64    // bytes 0x00...0x3F
    private let high: UInt64   // bytes 0x40...0x7F

    @inline(__always) func contains(_ byte: UInt8) -> Bool {
        if byte >= 128 { return true }
        return byte < 64 ? (low >> UInt64(byte)) & 1 == 1 : (high >> UInt64(byte &- 64)) & 1 == 1
    }

    /// `url_encode_map`: control bytes, 0x7F and above, `"` and `#`.
    static var url: EncodeMap { EncodeMap(low: 0xFFFF_FFFF | 1 << 0x22 | 1 << 0x23, high: 1 << 63) }
    /// `hdr_encode_map`: the URL set plus `{`, `|` and `}`.
    static var header: EncodeMap {
        EncodeMap(low: 0xFFFF_FFFF | 1 << 0x22 | 1 << 0x23, high: 1 << 63 | 1 << 0x3B | 1 << 0x3C | 1 << 0x3D)
    }
}
