import BatonConfig
import BatonRules

/// `log-format` lines: each alias rendered from the transaction's record as HAProxy prints it,
/// each `%[...]` sample from the transaction, with `%{+Q}` quoting.
extension LineBuilder {
    mutating func custom(_ format: LogFormat, _ r: TransactionLogRecord, options: LogLineOptions,
                         samples: (any RuleSubject)?) {
        for node in format.nodes {
            switch node {
            case .literal(let text):
                self.text(text)
            case .separator:
                separator()
            case .sample(let expression, let flags):
                let value = samples.flatMap { expression.evaluate($0) }?.stringValue
                quoted(flags.quote) {
                    if let value, !value.isEmpty { $0.text(value) } else if !flags.quote { $0.text("-" as StaticString) }
                }
            case .alias(let alias, let flags) where flags.hex:
                // Rendered as text first, then in HAProxy's hexadecimal widths.
                var plain = LogRecordText(record: r)
                let text = plain.value(alias) ?? "-"
                quoted(flags.quote) { $0.text(alias.hexText(text) ?? text) }
            case .alias(let alias, let flags):
                quoted(flags.quote) { $0.alias(alias, r, options: options) }
            }
        }
    }

    private mutating func quoted(_ quote: Bool, _ body: (inout LineBuilder) -> Void) {
        if quote { char(UInt8(ascii: "\"")) }
        body(&self)
        if quote { char(UInt8(ascii: "\"")) }
    }

    /// One alias, as `sess_build_logline` writes it.
    mutating func alias(_ alias: LogAlias, _ r: TransactionLogRecord, options: LogLineOptions) {
        switch alias {
        case .clientIP: name(r.clientAddress)
        case .clientPort: number(r.clientPort)
        case .frontendIP: name(r.frontendAddress)
        case .frontendPort: number(r.frontendPort)
        case .frontend, .frontendTransport: text(r.frontendName)
        case .backend: name(r.backendName)
        case .server: name(r.serverName)
        case .status: number(r.status)
        case .bytesRead: number(r.bytesToClient)
        case .bytesUploaded: number(r.bytesFromClient)
        case .requestTime:
            let total = r.requestHeadTime < 0 ? -1 : r.handshakeTime + r.idleTime + r.requestHeadTime
            number(total)
        case .handshakeTime: number(r.handshakeTime)
        case .idleTime: number(r.idleTime)
        case .requestReceiveTime: number(r.requestHeadTime)
        case .queueTime: number(r.queueTime)
        case .connectTime: number(r.connectTime)
        case .responseTime: number(r.responseTime)
        case .activeTime: number(r.activeTime)
        case .totalTime:
            number(r.totalTime >= 0 ? r.totalTime : (r.activeTime < 0 ? -1 : r.activeTime + r.handshakeTime + r.idleTime))
        case .terminationState: terminationState(r.terminationState, count: 2)
        case .terminationStateWithCookies: terminationState(r.terminationState, count: 4)
        case .activeConnections: number(r.processConnections)
        case .frontendConnections: number(r.frontendConnections)
        case .backendConnections: number(r.backendConnections)
        case .serverConnections: number(r.serverConnections)
        case .retries: number(r.retries)
        case .serverQueue: number(r.serverQueue)
        case .backendQueue: number(r.backendQueue)
        case .capturedRequestHeaders: captures(r.requestCaptures)
        case .capturedResponseHeaders: captures(r.responseCaptures)
        case .capturedRequestHeaderList, .capturedResponseHeaderList:
            let values = alias == .capturedRequestHeaderList ? r.requestCaptures : r.responseCaptures
            for (index, value) in values.enumerated() {
                if index > 0 { char(UInt8(ascii: " ")) }
                name(value ?? "")
            }
        case .requestLine:
            requestLine(r.requestLine, options: options)
        case .method, .uri, .path, .query, .version:
            let parts = r.requestLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            let target = parts.count > 1 ? String(parts[1]) : ""
            switch alias {
            case .method: name(parts.count > 0 ? String(parts[0]) : "")
            case .uri: name(target)
            case .path: name(URLParts.path(of: target).map(String.init) ?? "")
            case .query: text(URLParts.query(of: target).map { "?" + $0 } ?? "")
            default: name(parts.count > 2 ? String(parts[2]) : "")
            }
        case .uniqueID: name(r.uniqueID)
        case .date, .acceptDate:
            date(microseconds: r.acceptDateMicroseconds, timeZone: options.timeZone)
        case .dateLocal:   // %T: the accept date in GMT, to the second, with its zone
            text(Self.zonedDate(r.acceptDateMicroseconds, .utc))
        case .dateUTC:     // %Tl: the accept date in local time
            text(Self.zonedDate(r.acceptDateMicroseconds, options.timeZone))
        case .dateGMT:     // %tr
            date(microseconds: r.requestDateMicroseconds, timeZone: options.timeZone)
        case .dateGMTRFC:  // %trg
            text(Self.zonedDate(r.requestDateMicroseconds, .utc))
        case .dateLocalRFC:  // %trl
            text(Self.zonedDate(r.requestDateMicroseconds, options.timeZone))
        case .serverIP: name(r.serverAddress)
        case .serverPort: number(r.serverPort)
        case .requestCounter: number(r.requestCounter)
        case .hostname: text(HostName.current)
        case .timestamp: number(r.acceptDateMicroseconds / 1_000_000)
        case .pid: number(Int64(getpidValue()))
        default: text("-" as StaticString)
        }
    }

    /// `dd/Mmm/yyyy:HH:MM:SS +hhmm`, HAProxy's `gmt2str_log`/`localdate2str_log`.
    static func zonedDate(_ microseconds: Int64, _ zone: LogTimeZone) -> String {
        let d = zone.date(microseconds: microseconds)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let month = LogText.monthLetters[d.month - 1]
        let monthText = String(decoding: [month.0, month.1, month.2], as: UTF8.self)
        let offset = abs(d.utcOffset) / 60
        let sign = d.utcOffset < 0 ? "-" : "+"
        return "\(two(d.day))/\(monthText)/\(d.year):\(two(d.hour)):\(two(d.minute)):\(two(d.second)) "
            + "\(sign)\(two(offset / 60))\(two(offset % 60))"
    }

    mutating func requestLine(_ line: String, options: LogLineOptions) {
        let capacity = Swift.max(options.requestLineCapacity - 1, 0)
        if line.isEmpty {
            text("<BADREQ>" as StaticString)
            return
        }
        var line = line
        line.withUTF8 { utf8 in
            encoded(UnsafeBufferPointer(rebasing: utf8[0..<Swift.min(utf8.count, capacity)]), map: .url)
        }
    }
}

/// `%H`: the host name, read once.
enum HostName {
    static let current: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "-" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}

#if canImport(Glibc)
import Glibc
private func getpidValue() -> Int32 { Glibc.getpid() }
#elseif canImport(Darwin)
import Darwin
private func getpidValue() -> Int32 { Darwin.getpid() }
#endif

/// The numeric aliases of a record as plain text, for `%{+X}`.
struct LogRecordText {
    let record: TransactionLogRecord

    mutating func value(_ alias: LogAlias) -> String? {
        let r = record
        switch alias {
        case .clientIP: return r.clientAddress
        case .clientPort: return String(r.clientPort)
        case .frontendIP: return r.frontendAddress
        case .frontendPort: return String(r.frontendPort)
        case .status: return String(r.status)
        case .bytesRead: return String(r.bytesToClient)
        case .bytesUploaded: return String(r.bytesFromClient)
        case .timestamp: return String(r.acceptDateMicroseconds / 1_000_000)
        case .queueTime: return String(r.queueTime)
        case .connectTime: return String(r.connectTime)
        case .responseTime: return String(r.responseTime)
        case .activeTime: return String(r.activeTime)
        case .retries: return String(r.retries)
        default: return nil
        }
    }
}
