import NIOCore

/// What to do after a failed connection attempt, per HAProxy's `retries` and `option
/// redispatch`: retry the same server after a turn-around delay (1 s, or `timeout connect` when
/// shorter; none after a connect timeout, which already waited), move the last retry to another
/// server with `redispatch`, and give up (503) once `retries` further attempts have failed.
struct RetryPolicy: Equatable {
    var retries: Int
    var redispatch: Bool
    var connectTimeout: TimeAmount?
    /// Whether the backend has another server to redispatch to.
    var hasAlternative: Bool

    enum Decision: Equatable {
        case retrySameServer(after: TimeAmount)
        case redispatch(after: TimeAmount)
        case giveUp
    }

    /// `failedAttempts` counts the attempts that failed so far, the first one included.
    func decide(failedAttempts: Int, timedOut: Bool) -> Decision {
        guard failedAttempts <= retries else { return .giveUp }
        let delay: TimeAmount = timedOut ? .zero : min(.seconds(1), connectTimeout ?? .seconds(1))
        if redispatch && hasAlternative && failedAttempts == retries {
            return .redispatch(after: delay)
        }
        return .retrySameServer(after: delay)
    }
}
