import CPCRE2
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A compiled regular expression in PCRE2's dialect, as HAProxy builds them (`regex.c`), with
/// PCRE2's JIT when the library has it. Compiled once when the configuration loads; matching
/// does not parse the pattern again.
public final class Regex: @unchecked Sendable, Hashable, CustomStringConvertible {
    /// The pattern as written in the configuration.
    public let pattern: String
    public let ignoresCase: Bool
    private let code: OpaquePointer
    private let captureCount: Int

    public enum CompileError: Error, CustomStringConvertible {
        case invalid(pattern: String, message: String, offset: Int)
        public var description: String {
            switch self {
            case .invalid(let pattern, let message, let offset):
                return "regex '\(pattern)' is invalid (error=\(message), erroffset=\(offset))"
            }
        }
    }

    public init(_ pattern: String, ignoringCase: Bool = false) throws {
        self.pattern = pattern
        self.ignoresCase = ignoringCase
        var errorCode: Int32 = 0
        var errorOffset = 0
        let options: UInt32 = ignoringCase ? UInt32(PCRE2_CASELESS) : 0
        let compiled = pattern.withCString { text -> OpaquePointer? in
            text.withMemoryRebound(to: UInt8.self, capacity: pattern.utf8.count) { bytes in
                pcre2_compile_8(bytes, pattern.utf8.count, options, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            var buffer = [UInt8](repeating: 0, count: 256)
            let length = pcre2_get_error_message_8(errorCode, &buffer, buffer.count)
            let message = String(decoding: buffer.prefix(max(0, Int(length))), as: UTF8.self)
            throw CompileError.invalid(pattern: pattern, message: message, offset: errorOffset)
        }
        // JIT is an optimisation: when it is not available, matching still works, interpreted.
        _ = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE))
        var captures: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &captures)
        self.code = compiled
        self.captureCount = Int(captures)
    }

    deinit { pcre2_code_free_8(code) }

    public var description: String { pattern }

    public static func == (lhs: Regex, rhs: Regex) -> Bool {
        lhs.pattern == rhs.pattern && lhs.ignoresCase == rhs.ignoresCase
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(pattern)
        hasher.combine(ignoresCase)
    }

    /// Whether the pattern matches somewhere in `subject` (HAProxy's `regex_exec`).
    public func matches(_ subject: String) -> Bool {
        var subject = subject
        return subject.withUTF8 { bytes in
            MatchData.withScratch(pairs: 1) { data in
                pcre2_match_8(code, bytes.baseAddress ?? Self.empty, bytes.count, 0, 0, data, nil) >= 0
            }
        }
    }

    /// The capture groups of the first match at or after `start` (group 0 is the whole match), as byte
    /// ranges of `bytes`; nil when there is none.
    func firstMatch(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> [Range<Int>?]? {
        MatchData.withScratch(pairs: captureCount + 1) { data -> [Range<Int>?]? in
            let rc = pcre2_match_8(code, bytes.baseAddress ?? Self.empty, bytes.count, start, 0, data, nil)
            guard rc >= 0 else { return nil }
            let vector = pcre2_get_ovector_pointer_8(data)!
            var groups: [Range<Int>?] = []
            groups.reserveCapacity(captureCount + 1)
            for group in 0...captureCount {
                let from = vector[2 * group], to = vector[2 * group + 1]
                if from == Int.max.magnitude || to == Int.max.magnitude || from == UInt.max || to == UInt.max || to < from {
                    groups.append(nil)
                } else {
                    groups.append(Int(from)..<Int(to))
                }
            }
            return groups
        }
    }

    /// HAProxy's `exp_replace`: the first match of the whole value replaced by `replacement`,
    /// where `\0`..`\9` stand for capture groups; used by `replace-header`, `replace-value`,
    /// `replace-path` and `replace-uri`, which require the regex to match.
    public func replacingFirstMatch(in subject: String, with replacement: String) -> String? {
        var subject = subject
        return subject.withUTF8 { bytes -> String? in
            guard let groups = firstMatch(in: bytes, from: 0), let whole = groups[0] else { return nil }
            var out = [UInt8]()
            out.append(contentsOf: bytes[0..<whole.lowerBound])
            Self.expand(replacement, groups: groups, bytes: bytes, into: &out)
            out.append(contentsOf: bytes[whole.upperBound...])
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// The `regsub` converter: every match (or the first only) replaced by `replacement` with
    /// `\N` back-references.
    public func substitute(in subject: String, with replacement: String, global: Bool) -> String {
        var subject = subject
        return subject.withUTF8 { bytes -> String in
            var out = [UInt8]()
            var position = 0
            while position <= bytes.count, let groups = firstMatch(in: bytes, from: position), let whole = groups[0] {
                out.append(contentsOf: bytes[position..<whole.lowerBound])
                Self.expand(replacement, groups: groups, bytes: bytes, into: &out)
                if whole.isEmpty {
                    // An empty match: copy one byte so that the scan moves on.
                    if whole.upperBound < bytes.count { out.append(bytes[whole.upperBound]) }
                    position = whole.upperBound + 1
                } else {
                    position = whole.upperBound
                }
                if !global { break }
            }
            if position < bytes.count { out.append(contentsOf: bytes[position...]) }
            return String(decoding: out, as: UTF8.self)
        }
    }

    private static func expand(_ replacement: String, groups: [Range<Int>?], bytes: UnsafeBufferPointer<UInt8>,
                               into out: inout [UInt8]) {
        let template = Array(replacement.utf8)
        var i = 0
        while i < template.count {
            let c = template[i]
            if c == UInt8(ascii: "\\"), i + 1 < template.count {
                let next = template[i + 1]
                if next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9") {
                    let group = Int(next - UInt8(ascii: "0"))
                    if group < groups.count, let range = groups[group] { out.append(contentsOf: bytes[range]) }
                    i += 2
                    continue
                }
                out.append(next)
                i += 2
                continue
            }
            out.append(c)
            i += 1
        }
    }

    nonisolated(unsafe) private static let empty: UnsafePointer<UInt8> = {
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return UnsafePointer(pointer)
    }()
}

/// PCRE2 match data, one block per thread, reused by every match on that thread so that a
/// match allocates nothing.
private enum MatchData {
    static let maxPairs: UInt32 = 64

    static func withScratch<T>(pairs: Int, _ body: (OpaquePointer) -> T) -> T {
        if pairs > Int(maxPairs) {
            let data = pcre2_match_data_create_8(UInt32(pairs), nil)!
            defer { pcre2_match_data_free_8(data) }
            return body(data)
        }
        return body(ThreadScratch.current.matchData)
    }
}

private final class ThreadScratch {
    let matchData: OpaquePointer

    init() { matchData = pcre2_match_data_create_8(MatchData.maxPairs, nil)! }
    deinit { pcre2_match_data_free_8(matchData) }

    static var current: ThreadScratch {
        if let existing = storage.currentValue { return existing }
        let fresh = ThreadScratch()
        storage.currentValue = fresh
        return fresh
    }

    static let storage = ThreadLocal<ThreadScratch>()
}

/// A value per thread (pthread keys), released when its thread ends.
final class ThreadLocal<Value: AnyObject>: @unchecked Sendable {
    private var key = pthread_key_t()

    init() {
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<AnyObject>.fromOpaque(pointer).release() }
        }
    }

    var currentValue: Value? {
        get {
            guard let raw = pthread_getspecific(key) else { return nil }
            return (Unmanaged<AnyObject>.fromOpaque(raw).takeUnretainedValue() as! Value)
        }
        set {
            if let old = pthread_getspecific(key) { Unmanaged<AnyObject>.fromOpaque(old).release() }
            pthread_setspecific(key, newValue.map { Unmanaged<AnyObject>.passRetained($0 as AnyObject).toOpaque() })
        }
    }
}
