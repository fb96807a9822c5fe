/// A sample, as HAProxy's sample fetches and converters produce them (`sample.h`): one typed
/// value. Casts follow HAProxy's `sample_casts` table.
public enum SampleValue: Sendable, Hashable {
    case bool(Bool)
    case int(Int64)
    case string(String)
    case binary([UInt8])
    case ip(IPAddress)
    /// An HTTP method (HAProxy's `SMP_T_METH`): matched as a string.
    case method(String)

    /// The sample as text, as `%[...]` prints it and string matchers see it.
    public var stringValue: String {
        switch self {
        case .bool(let value): return value ? "1" : "0"
        case .int(let value): return String(value)
        case .string(let value), .method(let value): return value
        case .binary(let bytes):
            // `c_bin2str`: a binary sample as text ends at its first NUL byte.
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        case .ip(let address): return address.description
        }
    }

    /// The bytes of the sample as a string or binary converter sees them.
    public var bytes: [UInt8] {
        switch self {
        case .binary(let bytes): return bytes
        default: return Array(stringValue.utf8)
        }
    }

    /// The bytes a binary converter (`hex`, `base64`, `bytes`, the hashes) sees: HAProxy casts an
    /// integer or boolean to its 8 bytes in network order and an address to its 4 or 16 bytes.
    public var binaryBytes: [UInt8] {
        switch self {
        case .int(let value): return (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(bitPattern: value) >> (8 * UInt64($0))) }
        case .bool(let value): return [0, 0, 0, 0, 0, 0, 0, value ? 1 : 0]
        case .ip(let address):
            if address.isIPv4 { return (0..<4).reversed().map { UInt8(truncatingIfNeeded: address.low >> (8 * UInt64($0))) } }
            return (0..<8).reversed().map { UInt8(truncatingIfNeeded: address.high >> (8 * UInt64($0))) }
                + (0..<8).reversed().map { UInt8(truncatingIfNeeded: address.low >> (8 * UInt64($0))) }
        default: return bytes
        }
    }

    /// HAProxy's cast to a signed integer (`c_str2int`): an empty string fails; otherwise its
    /// leading decimal number, saturated, or 0 when it does not start with one. Binary and
    /// method samples do not cast.
    public var intValue: Int64? {
        switch self {
        case .bool(let value): return value ? 1 : 0
        case .int(let value): return value
        case .string(let text): return text.isEmpty ? nil : Self.leadingInteger(text) ?? 0
        case .binary, .method: return nil
        case .ip(let address): return address.isIPv4 ? Int64(address.low & 0xffff_ffff) : nil
        }
    }

    public var boolValue: Bool? {
        switch self {
        case .bool(let value): return value
        default: return intValue.map { $0 != 0 }
        }
    }

    public var ipValue: IPAddress? {
        switch self {
        case .ip(let address): return address
        case .string(let text): return IPAddress(text)
        case .int(let value) where value >= 0 && value <= 0xffff_ffff: return IPAddress(ipv4: UInt32(value))
        default: return nil
        }
    }

    /// HAProxy's `read_int64`: an optional sign and the decimal digits that follow, saturated
    /// at the limits of a 64-bit integer; nil when there is no digit.
    static func leadingInteger(_ text: String) -> Int64? {
        let utf8 = text.utf8
        var index = utf8.startIndex
        var negative = false
        if index < utf8.endIndex, utf8[index] == UInt8(ascii: "-") || utf8[index] == UInt8(ascii: "+") {
            negative = utf8[index] == UInt8(ascii: "-")
            index = utf8.index(after: index)
        }
        var magnitude: UInt64 = 0
        var saturated = false
        var digits = 0
        while index < utf8.endIndex, utf8[index] >= 0x30, utf8[index] <= 0x39 {
            if !saturated {
                let (product, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = product.addingReportingOverflow(UInt64(utf8[index] - 0x30))
                if overflow1 || overflow2 { saturated = true; magnitude = .max } else { magnitude = sum }
            }
            digits += 1
            index = utf8.index(after: index)
        }
        guard digits > 0 else { return nil }
        if negative { return magnitude >= 1 << 63 ? .min : -Int64(magnitude) }
        return magnitude > UInt64(Int64.max) ? .max : Int64(magnitude)
    }
}

/// An IPv4 or IPv6 address held in two words, so that addresses and their comparisons
/// allocate nothing. IPv4 addresses are kept apart from IPv4-mapped IPv6 ones but compare
/// equal to them in networks.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64
    public var isIPv4: Bool

    public init(ipv4: UInt32) {
        high = 0
        low = UInt64(ipv4)
        isIPv4 = true
    }

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
        isIPv4 = false
    }

    /// From 4 or 16 bytes.
    public init?(bytes: [UInt8]) {
        if bytes.count == 4 {
            self.init(ipv4: bytes.reduce(0) { $0 << 8 | UInt32($1) })
        } else if bytes.count == 16 {
            self.init(high: bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) },
                      low: bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
        } else {
            return nil
        }
    }

    /// Dotted IPv4 or RFC 4291 IPv6 text.
    public init?(_ text: some StringProtocol) {
        if let v4 = Self.parseIPv4(Substring(text)) {
            self.init(ipv4: v4)
        } else if let (high, low) = Self.parseIPv6(Substring(text)) {
            self.init(high: high, low: low)
        } else {
            return nil
        }
    }

    /// The IPv4 address an IPv4-mapped IPv6 address carries.
    public var mappedIPv4: UInt32? {
        if isIPv4 { return UInt32(truncatingIfNeeded: low) }
        if high == 0, low >> 32 == 0xffff { return UInt32(truncatingIfNeeded: low) }
        return nil
    }

    public var description: String {
        if isIPv4 {
            let v = UInt32(truncatingIfNeeded: low)
            return "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        }
        var groups: [UInt16] = []
        for shift in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(truncatingIfNeeded: low >> UInt64(shift))) }
        // The longest run of two or more zero groups becomes "::".
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8 && groups[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        if high == 0, low >> 32 == 0xffff {
            let v = UInt32(truncatingIfNeeded: low)
            return "::ffff:\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        }
        var text = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                text += "::"
                i += bestLength
                continue
            }
            if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
            text += String(groups[i], radix: 16)
            i += 1
        }
        return text
    }

    static func parseIPv4(_ text: Substring) -> UInt32? {
        var value: UInt32 = 0
        var parts = 0
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 3, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
            parts += 1
        }
        return parts == 4 ? value : nil
    }

    static func parseIPv6(_ text: Substring) -> (UInt64, UInt64)? {
        guard text.contains(":") else { return nil }
        var head: [UInt16] = [], tail: [UInt16] = []
        var sawGap = false
        var halves: [String] = []
        var rest = text
        while let gap = rest.firstRange(of: "::") {
            halves.append(String(rest[..<gap.lowerBound]))
            rest = rest[gap.upperBound...]
        }
        halves.append(String(rest))
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains("."), let v4 = parseIPv4(piece) {
                    result.append(UInt16(v4 >> 16))
                    result.append(UInt16(v4 & 0xffff))
                    continue
                }
                guard !piece.isEmpty, piece.count <= 4, let group = UInt16(piece, radix: 16) else { return nil }
                result.append(group)
            }
            return result
        }
        guard let first = groups(halves[0]) else { return nil }
        head = first
        if halves.count == 2 {
            sawGap = true
            guard let second = groups(halves[1]) else { return nil }
            tail = second
        }
        let total = head.count + tail.count
        if sawGap ? total > 7 : total != 8 { return nil }
        let all = head + [UInt16](repeating: 0, count: 8 - total) + tail
        let high = all[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = all[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return (high, low)
    }
}

/// An address with a prefix, as in ACL values `10.0.0.0/8` or `192.168.0.0/255.255.0.0`.
public struct IPNetworkPattern: Sendable, Hashable {
    public var address: IPAddress
    public var prefixLength: Int

    public init(address: IPAddress, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// `ADDR`, `ADDR/LEN` or IPv4 `ADDR/MASK`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        var length = address.isIPv4 ? 32 : 128
        if parts.count == 2 {
            if let value = Int(parts[1]), value >= 0, value <= length {
                length = value
            } else if address.isIPv4, let mask = IPAddress.parseIPv4(parts[1]) {
                let ones = mask.leadingZeroBitCount == 0 ? (~mask).leadingZeroBitCount : 0
                guard mask == 0 || UInt32.max << UInt32(32 - ones) == mask else { return nil }
                length = mask == 0 ? 0 : ones
            } else {
                return nil
            }
        }
        self.init(address: address, prefixLength: length)
    }

    public func contains(_ candidate: IPAddress) -> Bool {
        if address.isIPv4 {
            guard let v4 = candidate.mappedIPv4 else { return false }
            if prefixLength == 0 { return true }
            let mask = UInt32.max << UInt32(32 - prefixLength)
            return v4 & mask == UInt32(truncatingIfNeeded: address.low) & mask
        }
        var other = candidate
        if candidate.isIPv4 { other = IPAddress(high: 0, low: 0xffff_0000_0000 | candidate.low) }
        let highBits = min(64, prefixLength), lowBits = max(0, prefixLength - 64)
        let highMask: UInt64 = highBits == 0 ? 0 : UInt64.max << UInt64(64 - highBits)
        let lowMask: UInt64 = lowBits == 0 ? 0 : UInt64.max << UInt64(64 - lowBits)
        return other.high & highMask == address.high & highMask && other.low & lowMask == address.low & lowMask
    }
}
