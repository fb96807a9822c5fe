#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `stick-table` line: what a table's keys are and which counters its entries keep.
public struct StickTableDefinition: Sendable, Hashable {
    public enum KeyType: String, Sendable, Hashable {
        case ip, ipv6, integer, string, binary
    }

    /// A counter an entry stores (`store ...`); rates carry their period in milliseconds.
    public enum Datum: Sendable, Hashable {
        case connCurrent, connCount, connRate(Int64)
        case sessCount, sessRate(Int64)
        case httpRequestCount, httpRequestRate(Int64)
        case httpErrorCount, httpErrorRate(Int64)
        case gpc0, gpc0Rate(Int64), gpc1, gpc1Rate(Int64)
        case bytesInCount, bytesOutCount
    }

    /// The table's name: the proxy that declares it.
    public var name: String
    public var keyType: KeyType
    /// For `string` and `binary` keys (32 by default, as in HAProxy).
    public var keyLength: Int
    public var size: Int
    public var expire: Duration?
    public var stored: [Datum]

    public init(name: String, keyType: KeyType, keyLength: Int, size: Int, expire: Duration?, stored: [Datum]) {
        self.name = name
        self.keyType = keyType
        self.keyLength = keyLength
        self.size = size
        self.expire = expire
        self.stored = stored
    }

    /// The period of a stored rate, by the name of its counter.
    func ratePeriod(_ name: StickCounterName) -> Int64? {
        for datum in stored {
            switch (datum, name) {
            case (.connRate(let p), .connRate), (.sessRate(let p), .sessRate),
                 (.httpRequestRate(let p), .httpRequestRate), (.httpErrorRate(let p), .httpErrorRate),
                 (.gpc0Rate(let p), .gpc0Rate), (.gpc1Rate(let p), .gpc1Rate):
                return p
            default: continue
            }
        }
        return nil
    }

    func stores(_ name: StickCounterName) -> Bool {
        for datum in stored {
            switch (datum, name) {
            case (.connCurrent, .connCurrent), (.connCount, .connCount), (.connRate, .connRate),
                 (.sessCount, .sessCount), (.sessRate, .sessRate), (.httpRequestCount, .httpRequestCount),
                 (.httpRequestRate, .httpRequestRate), (.httpErrorCount, .httpErrorCount),
                 (.httpErrorRate, .httpErrorRate), (.gpc0, .gpc0), (.gpc0, .incrementGPC0), (.gpc0, .clearGPC0),
                 (.gpc0Rate, .gpc0Rate), (.gpc1, .gpc1), (.gpc1, .incrementGPC1), (.gpc1, .clearGPC1),
                 (.gpc1Rate, .gpc1Rate), (.bytesInCount, .bytesInCount), (.bytesOutCount, .bytesOutCount):
                return true
            default: continue
            }
        }
        return false
    }
}

/// A counter name as fetches spell it (`sc0_http_req_rate`, `src_conn_cur`).
public enum StickCounterName: String, Sendable, Hashable, CaseIterable {
    case connCurrent = "conn_cur", connCount = "conn_cnt", connRate = "conn_rate"
    case sessCount = "sess_cnt", sessRate = "sess_rate"
    case httpRequestCount = "http_req_cnt", httpRequestRate = "http_req_rate"
    case httpErrorCount = "http_err_cnt", httpErrorRate = "http_err_rate"
    case gpc0 = "get_gpc0", gpc0Rate = "gpc0_rate", incrementGPC0 = "inc_gpc0", clearGPC0 = "clr_gpc0"
    case gpc1 = "get_gpc1", gpc1Rate = "gpc1_rate", incrementGPC1 = "inc_gpc1", clearGPC1 = "clr_gpc1"
    case bytesInCount = "bytes_in_cnt", bytesOutCount = "bytes_out_cnt"
    case tracked = "tracked"
}

/// A key of a stick table.
public enum StickKey: Sendable, Hashable {
    case ip(IPAddress)
    case integer(Int64)
    case string(String)
    case binary([UInt8])

    /// The key for a sample, converted to the table's type; nil when it cannot be.
    static func make(_ sample: SampleValue, for definition: StickTableDefinition) -> StickKey? {
        switch definition.keyType {
        case .ip, .ipv6: return sample.ipValue.map(StickKey.ip)
        case .integer: return sample.intValue.map(StickKey.integer)
        case .string:
            let text = sample.stringValue
            return .string(text.utf8.count > definition.keyLength
                ? String(decoding: text.utf8.prefix(definition.keyLength), as: UTF8.self) : text)
        case .binary: return .binary(Array(sample.bytes.prefix(definition.keyLength)))
        }
    }
}

/// HAProxy's `freq_ctr`: events of the current and previous periods, read as a sliding rate.
struct FrequencyCounter: Sendable {
    var currentStart: Int64 = 0
    var current: Int64 = 0
    var previous: Int64 = 0

    mutating func add(_ count: Int64, now: Int64, period: Int64) {
        rotate(now: now, period: period)
        current += count
    }

    mutating func rotate(now: Int64, period: Int64) {
        let elapsed = now - currentStart
        if elapsed >= 2 * period {
            previous = 0
            current = 0
            currentStart = now - (elapsed % period)
        } else if elapsed >= period {
            previous = current
            current = 0
            currentStart += period
        }
    }

    /// Events over the last period: the current count plus the previous one prorated.
    func rate(now: Int64, period: Int64) -> Int64 {
        var copy = self
        copy.rotate(now: now, period: period)
        let remaining = max(0, period - (now - copy.currentStart))
        return copy.current + (copy.previous * remaining + period - 1) / period
    }
}

/// One entry of a stick table.
public final class StickEntry: @unchecked Sendable {
    var connCurrent: Int64 = 0
    var connCount: Int64 = 0
    var connRate = FrequencyCounter()
    var sessCount: Int64 = 0
    var sessRate = FrequencyCounter()
    var httpRequestCount: Int64 = 0
    var httpRequestRate = FrequencyCounter()
    var httpErrorCount: Int64 = 0
    var httpErrorRate = FrequencyCounter()
    var gpc0: Int64 = 0
    var gpc0Rate = FrequencyCounter()
    var gpc1: Int64 = 0
    var gpc1Rate = FrequencyCounter()
    var bytesIn: Int64 = 0
    var bytesOut: Int64 = 0
    /// When the entry expires (milliseconds, monotonic), refreshed by each use.
    var expiresAt: Int64 = .max
    /// Trackers holding the entry: it does not expire while tracked.
    var trackers = 0
}

/// A stick table at run time: entries by key, shared by every event loop behind one lock,
/// expired lazily and by size.
public final class StickTable: @unchecked Sendable {
    public let definition: StickTableDefinition
    private var entries: [StickKey: StickEntry] = [:]
    private let lock = Mutex()

    public init(definition: StickTableDefinition) {
        self.definition = definition
    }

    static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    public var count: Int { lock.withLock { entries.count } }

    /// The entry for `key`, created when missing, its expiry refreshed.
    func entry(for key: StickKey, now: Int64 = nowMilliseconds()) -> StickEntry {
        lock.withLock {
            if let existing = entries[key], existing.expiresAt > now || existing.trackers > 0 {
                refresh(existing, now: now)
                return existing
            }
            if entries.count >= definition.size { purge(now: now) }
            let fresh = StickEntry()
            refresh(fresh, now: now)
            entries[key] = fresh
            return fresh
        }
    }

    /// The entry for `key` when it exists and has not expired.
    func existingEntry(for key: StickKey, now: Int64 = nowMilliseconds()) -> StickEntry? {
        lock.withLock {
            guard let existing = entries[key], existing.expiresAt > now || existing.trackers > 0 else { return nil }
            return existing
        }
    }

    private func refresh(_ entry: StickEntry, now: Int64) {
        if let expire = definition.expire {
            entry.expiresAt = now + expire.components.seconds * 1000 + expire.components.attoseconds / 1_000_000_000_000_000
        }
    }

    /// Drops expired entries, then the oldest-expiring untracked ones until there is room.
    private func purge(now: Int64) {
        entries = entries.filter { $0.value.expiresAt > now || $0.value.trackers > 0 }
        guard entries.count >= definition.size else { return }
        let victims = entries.filter { $0.value.trackers == 0 }.sorted { $0.value.expiresAt < $1.value.expiresAt }
        for (key, _) in victims.prefix(entries.count - definition.size + 1) { entries[key] = nil }
    }

    /// Runs `body` on an entry under the table's lock.
    func update<T>(_ entry: StickEntry, _ body: (StickEntry, Int64) -> T) -> T {
        let now = Self.nowMilliseconds()
        return lock.withLock {
            refresh(entry, now: now)
            return body(entry, now)
        }
    }

    /// A new tracker of `entry` (`track-sc*`): counts a connection when `connection` is set,
    /// an HTTP request when `request` is.
    func startTracking(_ entry: StickEntry, connection: Bool, request: Bool) {
        update(entry) { entry, now in
            entry.trackers += 1
            // Every tracker counts as a concurrent connection while it lasts, as HAProxy's
            // `stream_start_counters` does; connection-level tracking also counts the connection.
            entry.connCurrent += 1
            if connection {
                entry.connCount += 1
                if let p = definition.ratePeriod(.connRate) { entry.connRate.add(1, now: now, period: p) }
                entry.sessCount += 1
                if let p = definition.ratePeriod(.sessRate) { entry.sessRate.add(1, now: now, period: p) }
            }
            if request { countRequest(entry, now: now) }
        }
    }

    func stopTracking(_ entry: StickEntry, connection: Bool) {
        update(entry) { entry, _ in
            entry.trackers -= 1
            entry.connCurrent -= 1
        }
    }

    func countRequest(_ entry: StickEntry) {
        update(entry) { entry, now in countRequest(entry, now: now) }
    }

    private func countRequest(_ entry: StickEntry, now: Int64) {
        entry.httpRequestCount += 1
        if let p = definition.ratePeriod(.httpRequestRate) { entry.httpRequestRate.add(1, now: now, period: p) }
    }

    func countError(_ entry: StickEntry) {
        update(entry) { entry, now in
            entry.httpErrorCount += 1
            if let p = definition.ratePeriod(.httpErrorRate) { entry.httpErrorRate.add(1, now: now, period: p) }
        }
    }

    /// Reads (or, for `inc_`/`clr_`, changes and reads) one counter; nil when the table does not
    /// store it.
    func read(_ name: StickCounterName, of entry: StickEntry) -> Int64? {
        guard name == .tracked || definition.stores(name) else { return nil }
        return update(entry) { entry, now in
            func rate(_ counter: inout FrequencyCounter, _ which: StickCounterName) -> Int64 {
                counter.rate(now: now, period: definition.ratePeriod(which) ?? 1000)
            }
            switch name {
            case .connCurrent: return entry.connCurrent
            case .connCount: return entry.connCount
            case .connRate: return rate(&entry.connRate, .connRate)
            case .sessCount: return entry.sessCount
            case .sessRate: return rate(&entry.sessRate, .sessRate)
            case .httpRequestCount: return entry.httpRequestCount
            case .httpRequestRate: return rate(&entry.httpRequestRate, .httpRequestRate)
            case .httpErrorCount: return entry.httpErrorCount
            case .httpErrorRate: return rate(&entry.httpErrorRate, .httpErrorRate)
            case .gpc0: return entry.gpc0
            case .gpc0Rate: return rate(&entry.gpc0Rate, .gpc0Rate)
            case .incrementGPC0:
                entry.gpc0 += 1
                if let p = definition.ratePeriod(.gpc0Rate) { entry.gpc0Rate.add(1, now: now, period: p) }
                return entry.gpc0
            case .clearGPC0:
                defer { entry.gpc0 = 0 }
                return entry.gpc0
            case .gpc1: return entry.gpc1
            case .gpc1Rate: return rate(&entry.gpc1Rate, .gpc1Rate)
            case .incrementGPC1:
                entry.gpc1 += 1
                if let p = definition.ratePeriod(.gpc1Rate) { entry.gpc1Rate.add(1, now: now, period: p) }
                return entry.gpc1
            case .clearGPC1:
                defer { entry.gpc1 = 0 }
                return entry.gpc1
            case .bytesInCount: return entry.bytesIn
            case .bytesOutCount: return entry.bytesOut
            case .tracked: return 1
            }
        }
    }
}

/// The stick counters a session or transaction tracks (`track-sc0`, `track-sc1`, `track-sc2`).
/// Three stored slots, so that a connection that tracks nothing allocates nothing for them.
public struct TrackedCounters: Sendable {
    public struct Slot: Sendable {
        public var table: StickTable
        public var entry: StickEntry
        /// Tracked by the connection (released when it closes) rather than a transaction.
        public var byConnection: Bool
    }

    private var slot0: Slot?
    private var slot1: Slot?
    private var slot2: Slot?

    public init() {}

    public subscript(index: Int) -> Slot? {
        get {
            switch index {
            case 0: return slot0
            case 1: return slot1
            case 2: return slot2
            default: return nil
            }
        }
        set {
            switch index {
            case 0: slot0 = newValue
            case 1: slot1 = newValue
            case 2: slot2 = newValue
            default: break
            }
        }
    }

    /// Each tracked slot, without building a list (this runs for every request that tracks).
    private func forEachSlot(_ body: (Slot) -> Void) {
        if let slot0 { body(slot0) }
        if let slot1 { body(slot1) }
        if let slot2 { body(slot2) }
    }

    /// Ends every tracking this holder started.
    public func releaseAll(byConnection: Bool) {
        forEachSlot { slot in
            if slot.byConnection == byConnection { slot.table.stopTracking(slot.entry, connection: byConnection) }
        }
    }

    /// Counts an HTTP request in every tracked entry (a request of a connection that tracks).
    public func countRequest() {
        forEachSlot { $0.table.countRequest($0.entry) }
    }

    public func countError() {
        forEachSlot { $0.table.countError($0.entry) }
    }

    public var isEmpty: Bool { slot0 == nil && slot1 == nil && slot2 == nil }
}

/// `track-sc*`: starts tracking the key's entry in a free slot (a slot already tracked is left
/// as it is, as in HAProxy).
enum StickTracking {
    static func track(slot: Int, key: SampleExpression, table name: String?, _ subject: any RuleSubject,
                      byConnection: Bool) {
        guard subject.trackedCounters[slot] == nil, let name, let table = subject.stickTable(named: name),
              let sample = key.evaluate(subject), let stickKey = StickKey.make(sample, for: table.definition) else {
            return
        }
        let entry = table.entry(for: stickKey)
        table.startTracking(entry, connection: byConnection, request: !byConnection && subject.isHTTP)
        subject.trackedCounters[slot] = .init(table: table, entry: entry, byConnection: byConnection)
    }
}

/// The arguments of `track-sc*`: `<key> [table <table>]`.
enum TrackParser {
    static func key(_ arguments: [String], environment: SampleExpressionParser.Environment) throws -> SampleExpression {
        guard let first = arguments.first else { throw RuleError("missing key expression.") }
        do {
            return try SampleExpressionParser.parse(first, environment: environment)
        } catch {
            throw RuleError("failed to parse sample expression <\(first)> : \(error).")
        }
    }

    static func table(_ arguments: [String], environment: SampleExpressionParser.Environment) throws -> String? {
        if arguments.count == 1 { return environment.proxyName }
        guard arguments.count == 3, arguments[1] == "table" else {
            throw RuleError("expects <key> [table <table>].")
        }
        return arguments[2]
    }
}
