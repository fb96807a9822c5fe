import BatonBalancing
import BatonConfig
import BatonHTTP1
import BatonObservability
import BatonRules

/// A request line as received, for logs.
struct RequestLine {
    var method: String
    var target: String
    var version: HTTPVersion
}

extension FrontendRuntime {
    /// Writes the traffic log line of one HTTP transaction, when the frontend logs with a
    /// format (without one HAProxy logs each connection at accept only).
    func logTransaction(_ record: TransactionLogRecord, request: RequestLine?, backend: BackendRuntime?,
                        generation: ProxyGeneration, levelOverride: String? = nil, subject: (any RuleSubject)? = nil) {
        guard let logger, let format = config.logFormat, levelOverride != "silent" else { return }
        var record = record
        if let request, record.requestLine.isEmpty {
            // Built only when a line is written: most of the per-request cost of logging.
            record.requestLine = "\(request.method) \(request.target) \(request.version)"
        }
        record.processConnections = generation.currentConnections
        record.frontendConnections = counters.currentSessions
        if let backend {
            record.backendConnections = backend.counters.currentSessions
        }
        if case .custom = format, let subject {
            record.frontendAddress = subject.frontendAddress?.description ?? "-"
            record.frontendPort = subject.frontendPort ?? 0
            record.requestCounter = counters.totalRequests - 1
        }
        logger.log(bytes: LogLineFormatter.bytes(record, format: format, options: logger.lineOptions, samples: subject),
                   level: levelOverride.flatMap(SyslogLevel.init(name:)) ?? logLevel(for: record))
    }

    /// `option dontlognull`: a connection on which the client sent nothing is not logged.
    func skipsLog(bytesFromClient: Int) -> Bool {
        config.dontLogNull && bytesFromClient == 0
    }

    /// `info`, or `err` for a failed transaction with `option log-separate-errors`. As HAProxy's
    /// sess_log(): an error other than a local response, a retry, or a status of 500 and above.
    func logLevel(for record: TransactionLogRecord) -> SyslogLevel {
        guard config.logSeparateErrors else { return .info }
        let cause = record.terminationState.first ?? "-"
        if (cause != "-" && cause != "L") || record.retries > 0 || record.status >= 500 { return .err }
        return .info
    }
}
