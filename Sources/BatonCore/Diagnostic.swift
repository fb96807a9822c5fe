/// One message about a configuration, in HAProxy's own words and form so that operators and
/// their tooling recognise it:
/// `[ALERT]    (PID) : config : parsing [file:line] : message`.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: Sendable, Hashable, Comparable {
        case notice
        case warning
        case alert

        /// The tag HAProxy prints, padded as HAProxy pads it.
        public var tag: String {
            switch self {
            case .notice: return "[NOTICE]  "
            case .warning: return "[WARNING] "
            case .alert: return "[ALERT]   "
            }
        }
    }

    public var severity: Severity
    public var location: SourceLocation?
    public var message: String

    public init(_ severity: Severity, _ message: String, at location: SourceLocation? = nil) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    public static func alert(_ message: String, at location: SourceLocation? = nil) -> Diagnostic {
        Diagnostic(.alert, message, at: location)
    }

    public static func warning(_ message: String, at location: SourceLocation? = nil) -> Diagnostic {
        Diagnostic(.warning, message, at: location)
    }

    /// The line without the severity tag and pid: `config : parsing [f:1] : message`.
    public var description: String {
        if let location {
            return "config : parsing [\(location)] : \(message)"
        }
        return "config : \(message)"
    }

    /// The full line as printed on stderr by `baton -c`.
    public func rendered(pid: Int32) -> String {
        "\(severity.tag) (\(pid)) : \(description)"
    }
}

extension Array where Element == Diagnostic {
    public var hasAlerts: Bool { contains { $0.severity == .alert } }
}
