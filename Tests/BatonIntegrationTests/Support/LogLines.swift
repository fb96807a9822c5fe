import Foundation

/// One line of HAProxy's `option httplog` format:
/// `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r`
struct HTTPLogLine {
    var clientIP: String
    var clientPort: Int
    var date: String
    var frontend: String
    var backend: String
    var server: String
    /// TR, Tw, Tc, Tr, Ta (ms, -1 when the step did not happen).
    var timers: [Int]
    var status: Int
    var bytes: Int
    var capturedRequestCookie: String
    var capturedResponseCookie: String
    var terminationState: String
    /// ac, fc, bc, sc, rc.
    var connections: [Int]
    /// rc was written "+N" (redispatched).
    var redispatched: Bool
    var serverQueue: Int
    var backendQueue: Int
    var request: String


    init?(_ line: String) {
        let pattern = #/^(\S+):(\d+) \[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3})\] (\S+) ([^\s/]+)/(\S+) (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/\+?(-?\d+) (\d{3}) (\d+) (\S+) (\S+) (\S{4}) (\d+)/(\d+)/(\d+)/(\d+)/(\+?)(\d+) (\d+)/(\d+) "(.*)"$/#
        guard let m = try? pattern.wholeMatch(in: line) else { return nil }
        clientIP = String(m.1)
        clientPort = Int(m.2)!
        date = String(m.3)
        frontend = String(m.4)
        backend = String(m.5)
        server = String(m.6)
        timers = [Int(m.7)!, Int(m.8)!, Int(m.9)!, Int(m.10)!, Int(m.11)!]
        status = Int(m.12)!
        bytes = Int(m.13)!
        capturedRequestCookie = String(m.14)
        capturedResponseCookie = String(m.15)
        terminationState = String(m.16)
        connections = [Int(m.17)!, Int(m.18)!, Int(m.19)!, Int(m.20)!, Int(m.22)!]
        redispatched = !m.21.isEmpty
        serverQueue = Int(m.23)!
        backendQueue = Int(m.24)!
        request = String(m.25)
    }
}

/// One line of HAProxy's `option tcplog` format:
/// `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`
struct TCPLogLine {
    var clientIP: String
    var clientPort: Int
    var date: String
    var frontend: String
    var backend: String
    var server: String
    /// Tw, Tc, Tt.
    var timers: [Int]
    var bytes: Int
    var terminationState: String
    var connections: [Int]
    var serverQueue: Int
    var backendQueue: Int


    init?(_ line: String) {
        let pattern = #/^(\S+):(\d+) \[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3})\] (\S+) ([^\s/]+)/(\S+) (-?\d+)/(-?\d+)/\+?(\d+) (\d+) (\S\S) (\d+)/(\d+)/(\d+)/(\d+)/\+?(\d+) (\d+)/(\d+)$/#
        guard let m = try? pattern.wholeMatch(in: line) else { return nil }
        clientIP = String(m.1)
        clientPort = Int(m.2)!
        date = String(m.3)
        frontend = String(m.4)
        backend = String(m.5)
        server = String(m.6)
        timers = [Int(m.7)!, Int(m.8)!, Int(m.9)!]
        bytes = Int(m.10)!
        terminationState = String(m.11)
        connections = [Int(m.12)!, Int(m.13)!, Int(m.14)!, Int(m.15)!, Int(m.16)!]
        serverQueue = Int(m.17)!
        backendQueue = Int(m.18)!
    }
}

/// Parses HAProxy's log date `29/Nov/2026:05:38:21.123` in the local time zone.
func parseLogDate(_ text: String) -> Date? {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone.current
    formatter.dateFormat = "dd/MMM/yyyy:HH:mm:ss.SSS"
    return formatter.date(from: text)
}
