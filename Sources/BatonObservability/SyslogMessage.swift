import BatonConfig

/// The header layout of a `log` target, one per HAProxy `format` keyword.
///
/// Exact layouts, as HAProxy 2.6.12 writes them (`build_log_header` in src/log.c):
/// - `local`:    `<PRI>Mmm dd hh:mm:ss tag[pid]: msg`
/// - `rfc3164`:  `<PRI>Mmm dd hh:mm:ss hostname tag[pid]: msg` (`localhost` without a hostname)
/// - `rfc5424`:  `<PRI>1 yyyy-mm-ddThh:mm:ss.uuuuuu+hh:mm hostname tag pid - - msg`
///               (`-` for a missing hostname)
/// - `priority`: `<PRI>msg`; `short`: `<LEVEL>msg`;
///   `timed`: `<LEVEL>yyyy-mm-ddThh:mm:ss.uuuuuu+hh:mm msg`; `iso`: `yyyy-...+hh:mm msg`
/// - `raw`:      `msg`
/// - `automatic` (a `log` line without `format`): `rfc3164` when a hostname is sent
///   (`log-send-hostname`), else `local` when there is a tag, else `raw`.
/// Dates are local time; the day of `Mmm dd` is padded with a space.
public enum SyslogHeaderFormat: Sendable, Hashable {
    case automatic
    case local
    case rfc3164
    case rfc5424
    case priority
    case short
    case timed
    case iso
    case raw

    /// `LogTarget.Format.rfc3164` is what a `log` line without `format` gets, so it maps to
    /// `.automatic`, which is what HAProxy does for such lines. (An explicit `format rfc3164`
    /// would write `localhost` when no hostname is sent; `LogTarget` cannot tell the two apart.)
    public init(_ format: LogTarget.Format) {
        switch format {
        case .automatic: self = .automatic
        case .rfc3164: self = .rfc3164
        case .rfc5424: self = .rfc5424
        case .raw: self = .raw
        }
    }

    /// The concrete layout `.automatic` stands for, given what the header would carry.
    func resolved(hostname: [UInt8]?, tag: [UInt8]) -> SyslogHeaderFormat {
        guard self == .automatic else { return self }
        if let hostname, !hostname.isEmpty { return .rfc3164 }
        return tag.isEmpty ? .raw : .local
    }
}

/// What every message's header says about its sender: the tag (`log-tag`, the program name by
/// default), the process id and the hostname (`log-send-hostname`, nil when not sent).
public struct SyslogHeader: Sendable, Hashable {
    public var tag: String
    public var pid: Int32
    public var hostname: String?

    public init(tag: String, pid: Int32, hostname: String?) {
        self.tag = tag
        self.pid = pid
        self.hostname = hostname
    }
}

extension LogTarget {
    /// Whether a message of `level` goes to this target (`log ... <max level>`).
    public func admits(_ level: SyslogLevel) -> Bool {
        guard let maximum = self.level else { return true }
        return level.rawValue <= maximum.rawValue
    }

    /// The level a message of `level` is sent with. HAProxy sends `MAX(level, minlvl)`: a
    /// message more severe than the target's minimum level is capped to that level (so that,
    /// say, `emerg` does not reach every terminal); less severe ones keep their level.
    public func effectiveLevel(_ level: SyslogLevel) -> SyslogLevel {
        guard let minimum = minimumLevel, minimum.rawValue > level.rawValue else { return level }
        return minimum
    }

    /// Lines written to a file descriptor (stdout, stderr) rather than sent as datagrams.
    var isStream: Bool {
        switch destination {
        case .stdout, .stderr: return true
        case .unixDatagram, .udp: return false
        }
    }
}

/// Builds complete syslog messages (header, message, trailing newline) as HAProxy sends them.
///
/// Every message ends with `\n`, datagrams included. Truncation (`len`) applies to header plus
/// message: a datagram keeps `maxLength` bytes then gets its newline (`maxLength + 1` bytes in
/// all); a line to stdout/stderr keeps `maxLength - 1` bytes plus the newline. Trailing newlines
/// and NUL bytes of the message are removed first.
public enum SyslogFraming {
    public static func frame(message: String, target: LogTarget, level: SyslogLevel,
                             facility: SyslogFacility? = nil, tag: String, pid: Int32,
                             hostname: String?, timestampMicroseconds: Int64,
                             timeZone: LogTimeZone = .local) -> [UInt8] {
        frame(message: Array(message.utf8), target: target, format: SyslogHeaderFormat(target.format),
              level: level, facility: facility,
              header: SyslogHeader(tag: tag, pid: pid, hostname: hostname),
              timestampMicroseconds: timestampMicroseconds, timeZone: timeZone)
    }

    /// The same with an explicit header layout (for formats `LogTarget.Format` does not name).
    public static func frame(message: [UInt8], target: LogTarget, format: SyslogHeaderFormat,
                             level: SyslogLevel, facility: SyslogFacility? = nil,
                             header: SyslogHeader, timestampMicroseconds: Int64,
                             timeZone: LogTimeZone = .local) -> [UInt8] {
        let prepared = PreparedHeader(header, format: format)
        let head = prepared.bytes(level: target.effectiveLevel(level),
                                  facility: facility ?? target.facility,
                                  timestampMicroseconds: timestampMicroseconds, timeZone: timeZone)
        let body = trimmedLength(message)
        let (headLength, bodyLength) = truncatedLengths(header: head.count, message: body,
                                                        maxLength: target.maxLength, stream: target.isStream)
        var out = [UInt8]()
        out.reserveCapacity(headLength + bodyLength + 1)
        out.append(contentsOf: head[0..<headLength])
        out.append(contentsOf: message[0..<bodyLength])
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// The message length once trailing `\n` and NUL bytes are removed.
    static func trimmedLength(_ message: some RandomAccessCollection<UInt8>) -> Int {
        var n = message.count
        var index = message.endIndex
        while n > 0 {
            index = message.index(before: index)
            let byte = message[index]
            guard byte == 0x0A || byte == 0 else { break }
            n -= 1
        }
        return n
    }

    /// How much of the header and of the message fit (the newline always follows).
    static func truncatedLengths(header: Int, message: Int, maxLength: Int, stream: Bool) -> (Int, Int) {
        var room: Int
        if stream {
            room = maxLength <= 0 ? Int.max : maxLength - 1   // fd_write_frag_line keeps 1 for '\n'
        } else {
            room = Swift.max(maxLength, 0)
        }
        let headLength = Swift.min(header, room)
        room -= headLength
        return (headLength, Swift.min(message, room))
    }
}

/// A header with its constant parts already encoded, built once per target.
struct PreparedHeader: Sendable {
    let format: SyslogHeaderFormat          // never .automatic
    let hostname: [UInt8]?
    let tag: [UInt8]
    let pid: [UInt8]

    init(_ header: SyslogHeader, format: SyslogHeaderFormat) {
        let host = header.hostname.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        let tag = Array(header.tag.utf8)
        self.hostname = host
        self.tag = tag
        var pid = [UInt8]()
        pid.appendDecimal(Int64(header.pid))
        self.pid = pid
        self.format = format.resolved(hostname: host, tag: tag)
    }

    var capacity: Int { 72 + (hostname?.count ?? 0) + tag.count + pid.count }

    func bytes(level: SyslogLevel, facility: SyslogFacility, timestampMicroseconds: Int64,
               timeZone: LogTimeZone) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(capacity)
        append(to: &out, level: level, facility: facility,
               timestampMicroseconds: timestampMicroseconds, timeZone: timeZone)
        return out
    }

    func append(to out: inout [UInt8], level: SyslogLevel, facility: SyslogFacility,
                timestampMicroseconds: Int64, timeZone: LogTimeZone) {
        let space = UInt8(ascii: " ")
        // Priority.
        switch format {
        case .local, .rfc3164, .rfc5424, .priority:
            out.append(UInt8(ascii: "<"))
            out.appendDecimal(Int64(facility.rawValue * 8 + level.rawValue))
            out.append(UInt8(ascii: ">"))
        case .short, .timed:
            out.append(UInt8(ascii: "<"))
            out.appendDecimal(Int64(level.rawValue))
            out.append(UInt8(ascii: ">"))
        case .iso, .raw, .automatic:
            break
        }
        // Timestamp.
        switch format {
        case .local, .rfc3164:
            out.appendLegacySyslogDate(timeZone.date(microseconds: timestampMicroseconds))
            out.append(space)
        case .rfc5424:
            out.append(UInt8(ascii: "1"))
            out.append(space)
            out.appendISODate(timeZone.date(microseconds: timestampMicroseconds))
            out.append(space)
        case .timed, .iso:
            out.appendISODate(timeZone.date(microseconds: timestampMicroseconds))
            out.append(space)
        case .priority, .short, .raw, .automatic:
            break
        }
        // Hostname, tag, pid and the rest.
        switch format {
        case .rfc3164, .local:
            if format == .rfc3164 {
                if let hostname {
                    out.append(contentsOf: hostname)
                    out.append(space)
                } else {
                    out.append(contentsOf: "localhost ".utf8)
                }
            }
            guard !tag.isEmpty else { break }
            out.append(contentsOf: tag)
            out.append(UInt8(ascii: "["))
            out.append(contentsOf: pid)
            out.append(UInt8(ascii: "]"))
            out.append(UInt8(ascii: ":"))
            out.append(space)
        case .rfc5424:
            if let hostname { out.append(contentsOf: hostname) } else { out.append(UInt8(ascii: "-")) }
            out.append(space)
            if tag.isEmpty { out.append(UInt8(ascii: "-")) } else { out.append(contentsOf: tag) }
            out.append(space)
            out.append(contentsOf: pid)
            out.append(contentsOf: " - - ".utf8)   // no MSGID, no STRUCTURED-DATA
        case .priority, .short, .timed, .iso, .raw, .automatic:
            break
        }
    }
}
