import BatonBalancing
import BatonHTTP1
import BatonObservability
import BatonRules

extension FrontendRuntime {
    /// Writes the traffic log line of one HTTP transaction, when the frontend logs with a
    /// format (without one HAProxy logs each connection at accept only).
    func logTransaction(_ record: TransactionLogRecord, request: HTTPRequestHead?, backend: BackendRuntime?,
                        generation: ProxyGeneration, subject: (any RuleSubject)? = nil) {
        guard let logger, let format = config.logFormat else { return }
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
        }
        logger.log(bytes: LogLineFormatter.bytes(record, format: format, options: logger.lineOptions, samples: subject),
                   level: .info)
    }
}
