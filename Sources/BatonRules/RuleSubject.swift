#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which message of a transaction a rule reads or edits.
public enum MessageSide: Sendable, Hashable {
    case request
    case response
}

/// What rules see of one transaction: the request and response as protocol-neutral views
/// (an HTTP/1 connection and an HTTP/2 stream both present them), the connection's addresses,
/// the proxies involved and the transaction's variables. The data plane implements it on its
/// transaction object, so evaluating rules allocates no wrapper.
///
/// Header fields are addressed by position; an edit leaves the other fields exactly as
/// received.
public protocol RuleSubject: AnyObject {
    // Messages.
    func fieldCount(_ side: MessageSide) -> Int
    func fieldName(_ side: MessageSide, at index: Int) -> String
    func fieldValue(_ side: MessageSide, at index: Int) -> String
    func setFieldValue(_ side: MessageSide, at index: Int, to value: String)
    func removeField(_ side: MessageSide, at index: Int)
    func appendField(_ side: MessageSide, name: String, value: String)
    /// The position of the first field at or after `start` named `name` (ASCII case ignored).
    /// A subject may answer it faster than by reading each name.
    func fieldIndex(_ side: MessageSide, named name: String, from start: Int) -> Int?

    var requestMethod: String { get set }
    /// The request target as received (origin-form, absolute-form, ...).
    var requestTarget: String { get set }
    /// `1.1`, `1.0`, `2.0`.
    var requestVersion: String { get }
    /// The request body when it was buffered (`option http-buffer-request`).
    var requestBody: [UInt8]? { get }
    /// nil before the response head arrived.
    var responseStatus: Int? { get }
    var responseVersion: String? { get }
    func setResponseStatus(_ status: Int, reason: String?)

    // Connection and proxies.
    var clientAddress: IPAddress? { get }
    var clientPort: Int? { get }
    var frontendAddress: IPAddress? { get }
    var frontendPort: Int? { get }
    var frontendName: String { get }
    var backendName: String? { get }
    var serverName: String? { get }
    /// Whether this is the first request of its client connection.
    var isFirstRequest: Bool { get }
    /// Usable servers of the named backend (the current one when nil); nil for an unknown name.
    func usableServers(backend: String?) -> Int?
    /// Current connections of the named backend (the current one when nil).
    func backendConnections(backend: String?) -> Int?
    /// The transaction's unique ID (`unique-id-format`), made on first use.
    var uniqueID: String { get }

    /// Variables of the `txn`, `req` and `res` scopes; `sess` lives on the connection.
    var variables: VariableStore { get set }
    var sessionVariables: VariableStore { get set }

    /// A log-format alias (`%ci`, `%fp`, `%ID`, ...) at the time of evaluation.
    func logAlias(_ alias: LogAlias) -> String?

    /// Whether the subject carries an HTTP request (`req.proto_http`, the `HTTP` ACL).
    var isHTTP: Bool { get }

    /// The stick counters `track-sc0..2` attached to this session or transaction.
    var trackedCounters: TrackedCounters { get set }

    /// The stick table a proxy declares, by the proxy's name.
    func stickTable(named name: String) -> StickTable?

    /// Stores a value in a request capture slot (`http-request capture`).
    func capture(_ value: String, slot: Int)

    /// A `userlist` section by name.
    func userlist(named name: String) -> Userlist?

    /// `set-log-level`: the level of this transaction's log line (`silent`: no line).
    func setLogLevel(_ level: String)
}

/// Variables set by `set-var`, keyed by their full name (`txn.user`).
public struct VariableStore: Sendable {
    private var values: [String: SampleValue] = [:]

    public init() {}

    public subscript(name: String) -> SampleValue? {
        get { values[name] }
        set { values[name] = newValue }
    }

    public var isEmpty: Bool { values.isEmpty }
}

/// Process-wide `proc.*` variables, shared by every transaction of the process.
public final class ProcessVariables: @unchecked Sendable {
    public static let shared = ProcessVariables()
    private var values: [String: SampleValue] = [:]
    private let lock = Mutex()

    public subscript(name: String) -> SampleValue? {
        get { lock.withLock { values[name] } }
        set { lock.withLock { values[name] = newValue } }
    }
}

/// A small pthread mutex (no NIO in this module).
final class Mutex: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

/// A variable reference `scope.name` (scopes: proc, sess, txn, req, res, check).
public struct VariableName: Sendable, Hashable, CustomStringConvertible {
    public enum Scope: String, Sendable, Hashable, CaseIterable {
        case proc, sess, txn, req, res, check
    }

    public var scope: Scope
    public var fullName: String

    public init?(_ text: String) {
        guard let dot = text.firstIndex(of: "."), let scope = Scope(rawValue: String(text[..<dot])) else { return nil }
        let name = text[text.index(after: dot)...]
        guard !name.isEmpty, name.utf8.allSatisfy({ c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
        }) else { return nil }
        self.scope = scope
        self.fullName = text
    }

    public var description: String { fullName }

    public func read(_ subject: any RuleSubject) -> SampleValue? {
        switch scope {
        case .proc: return ProcessVariables.shared[fullName]
        case .sess: return subject.sessionVariables[fullName]
        case .txn, .req, .res, .check: return subject.variables[fullName]
        }
    }

    public func write(_ value: SampleValue?, _ subject: any RuleSubject) {
        switch scope {
        case .proc: ProcessVariables.shared[fullName] = value
        case .sess: subject.sessionVariables[fullName] = value
        case .txn, .req, .res, .check: subject.variables[fullName] = value
        }
    }
}

extension RuleSubject {
    public func fieldIndex(_ side: MessageSide, named name: String, from start: Int) -> Int? {
        var index = start
        let count = fieldCount(side)
        while index < count {
            if ASCIIText.equalsIgnoringCase(fieldName(side, at: index), name) { return index }
            index += 1
        }
        return nil
    }
}

/// A subject without HTTP messages (a TCP connection, `tcp-request connection` rules): the
/// message parts read as absent and edits do nothing.
public extension RuleSubject {
    func fieldCount(_ side: MessageSide) -> Int { 0 }
    func fieldName(_ side: MessageSide, at index: Int) -> String { "" }
    func fieldValue(_ side: MessageSide, at index: Int) -> String { "" }
    func setFieldValue(_ side: MessageSide, at index: Int, to value: String) {}
    func removeField(_ side: MessageSide, at index: Int) {}
    func appendField(_ side: MessageSide, name: String, value: String) {}
    var requestMethod: String {
        get { "" }
        set {}
    }
    var requestTarget: String {
        get { "" }
        set {}
    }
    var requestVersion: String { "" }
    var requestBody: [UInt8]? { nil }
    var responseStatus: Int? { nil }
    var responseVersion: String? { nil }
    func setResponseStatus(_ status: Int, reason: String?) {}
    var uniqueID: String { "" }
    func logAlias(_ alias: LogAlias) -> String? { nil }
    var isHTTP: Bool { false }
    func capture(_ value: String, slot: Int) {}
    func userlist(named name: String) -> Userlist? { nil }
    func setLogLevel(_ level: String) {}
}
