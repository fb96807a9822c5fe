/// One `log` line: where log lines go and which of them.
public struct LogTarget: Sendable, Hashable {
    public enum Destination: Sendable, Hashable {
        case stdout
        case stderr
        /// A unix datagram socket such as `/dev/log` (`unix@path` or a path starting with `/`).
        case unixDatagram(path: String)
        /// `udp@host:port`, `ip:port` or `ip` (port 514).
        case udp(host: String, port: Int)
    }

    public enum Format: String, Sendable, Hashable {
        /// No `format` given: HAProxy's default header, which names the host only when
        /// `log-send-hostname` is set (an explicit `format rfc3164` writes `localhost` then).
        case automatic
        case rfc3164
        case rfc5424
        case raw
    }

    public var destination: Destination
    public var facility: SyslogFacility
    /// Messages above this level (less severe) are not sent; nil sends every level.
    public var level: SyslogLevel?
    /// Messages more severe than this are sent at this level (HAProxy's `minlevel` caps
    /// severity: with `err`, an `emerg` goes out as `err`); nil leaves them as they are.
    public var minimumLevel: SyslogLevel?
    public var format: Format
    /// `len N`: lines are truncated to this many bytes.
    public var maxLength: Int

    public init(destination: Destination, facility: SyslogFacility, level: SyslogLevel? = nil,
                minimumLevel: SyslogLevel? = nil, format: Format = .automatic, maxLength: Int = 1024) {
        self.destination = destination
        self.facility = facility
        self.level = level
        self.minimumLevel = minimumLevel
        self.format = format
        self.maxLength = maxLength
    }
}

public enum SyslogFacility: Int, Sendable, Hashable, CaseIterable {
    case kern = 0, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, auth2, ftp, ntp, audit,
         alert, cron2, local0, local1, local2, local3, local4, local5, local6, local7

    public var name: String { String(describing: self) }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}

public enum SyslogLevel: Int, Sendable, Hashable, CaseIterable, Comparable {
    case emerg = 0, alert, crit, err, warning, notice, info, debug

    public var name: String { String(describing: self) }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    public static func < (lhs: SyslogLevel, rhs: SyslogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}
