/// A converter applied to a sample (configuration.txt section 7.3.1), arguments checked and
/// compiled when the configuration loads.
public enum Converter: Sendable, Hashable {
    case lower, upper
    /// `field(index,delimiters[,count])`: 1-based, negative from the end.
    case field(index: Int, delimiters: [UInt8], count: Int)
    /// `word(index,delimiters[,count])`: like `field`, runs of delimiters count as one.
    case word(index: Int, delimiters: [UInt8], count: Int)
    case regsub(Regex, replacement: String, global: Bool)
    case map(MapFile, match: MapMatch, output: SampleType, fallback: String?)
    case base64, base64Decode, hex
    case bytes(offset: Int, length: Int?)
    case length
    case json(JSONInput)
    case urlDecode(inForm: Bool)
    case concat(prefix: String, variable: VariableName?, suffix: String)
    case arithmetic(ArithmeticOperator, IntegerOperand)
    case negate
    case ipmask(v4: Int, v6: Int?)
    case hash(HashFunction, avalanche: Bool)
    /// The casts behind `hdr_val`, `hdr_ip`, `urlp_val` and friends (not written as converters).
    case castInteger, castAddress

    public enum JSONInput: String, Sendable, Hashable {
        case ascii, utf8, utf8s, utf8p, utf8ps
    }

    public enum ArithmeticOperator: String, Sendable, Hashable {
        case add, sub, mul, div, mod, and, or, xor
    }

    public enum HashFunction: String, Sendable, Hashable {
        case sdbm, djb2, crc32, wt6
    }

    public enum IntegerOperand: Sendable, Hashable {
        case constant(Int64)
        case variable(VariableName)

        func value(_ subject: any RuleSubject) -> Int64? {
            switch self {
            case .constant(let value): return value
            case .variable(let name): return name.read(subject)?.intValue
            }
        }
    }

    /// The converted sample, or nil when the conversion fails (which ends the expression).
    public func apply(_ input: SampleValue, _ subject: any RuleSubject) -> SampleValue? {
        switch self {
        case .lower: return .string(ASCIIText.lowercased(input.stringValue))
        case .upper: return .string(ASCIIText.uppercased(input.stringValue))
        case .field(let index, let delimiters, let count):
            return Fields.extract(input.bytes, index: index, delimiters: delimiters, count: count, mergeRuns: false)
                .map { .string(String(decoding: $0, as: UTF8.self)) }
        case .word(let index, let delimiters, let count):
            return Fields.extract(input.bytes, index: index, delimiters: delimiters, count: count, mergeRuns: true)
                .map { .string(String(decoding: $0, as: UTF8.self)) }
        case .regsub(let regex, let replacement, let global):
            return .string(regex.substitute(in: input.stringValue, with: replacement, global: global))
        case .map(let file, let match, let output, let fallback):
            guard let found = file.lookup(input, match: match) ?? fallback else { return nil }
            switch output {
            case .int: return SampleValue.leadingInteger(found).map(SampleValue.int)
            case .ip: return IPAddress(found).map(SampleValue.ip)
            default: return .string(found)
            }
        case .base64: return .string(Base64.encode(input.bytes))
        case .base64Decode: return Base64.decode(input.bytes).map(SampleValue.binary)
        case .hex: return .string(Hex.upper(input.bytes))
        case .bytes(let offset, let length):
            let bytes = input.bytes
            guard offset < bytes.count else { return nil }
            let end = length.map { min(bytes.count, offset + $0) } ?? bytes.count
            return .binary(Array(bytes[offset..<end]))
        case .length: return .int(Int64(input.bytes.count))
        case .json(let mode): return JSONEscape.escape(input.bytes, mode: mode).map(SampleValue.string)
        case .urlDecode(let inForm): return URLDecoding.decode(input.bytes, inForm: inForm).map(SampleValue.string)
        case .concat(let prefix, let variable, let suffix):
            let middle = variable.flatMap { $0.read(subject) }?.stringValue ?? ""
            return .string(input.stringValue + prefix + middle + suffix)
        case .arithmetic(let op, let operand):
            guard let left = input.intValue, let right = operand.value(subject) else { return nil }
            return .int(Arithmetic.apply(op, left, right))
        case .negate:
            guard let value = input.intValue else { return nil }
            return .int(value == .min ? .max : -value)
        case .ipmask(let v4, let v6):
            guard let address = input.ipValue else { return nil }
            if let mapped = address.mappedIPv4, address.isIPv4 {
                let mask: UInt32 = v4 == 0 ? 0 : UInt32.max << UInt32(32 - v4)
                return .ip(IPAddress(ipv4: mapped & mask))
            }
            guard let v6 else { return nil }
            let highBits = min(64, v6), lowBits = max(0, v6 - 64)
            let highMask: UInt64 = highBits == 0 ? 0 : UInt64.max << UInt64(64 - highBits)
            let lowMask: UInt64 = lowBits == 0 ? 0 : UInt64.max << UInt64(64 - lowBits)
            return .ip(IPAddress(high: address.high & highMask, low: address.low & lowMask))
        case .castInteger: return input.intValue.map(SampleValue.int)
        case .castAddress: return input.ipValue.map(SampleValue.ip)
        case .hash(let function, let avalanche):
            var value = Hashing.hash(function, input.bytes)
            if avalanche { value = Hashing.fullAvalanche(value) }
            return .int(Int64(value))
        }
    }
}

enum Arithmetic {
    /// HAProxy's saturating arithmetic (`sample_conv_arith_*`); dividing by zero gives the
    /// largest value of the dividend's sign, modulo zero gives zero.
    static func apply(_ op: Converter.ArithmeticOperator, _ a: Int64, _ b: Int64) -> Int64 {
        switch op {
        case .add:
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? (b > 0 ? .max : .min) : sum
        case .sub:
            let (difference, overflow) = a.subtractingReportingOverflow(b)
            return overflow ? (b < 0 ? .max : .min) : difference
        case .mul:
            let (product, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? ((a < 0) != (b < 0) ? .min : .max) : product
        case .div:
            if b == 0 { return a < 0 ? .min : .max }
            if a == .min && b == -1 { return .max }
            return a / b
        case .mod:
            if b == 0 { return 0 }
            if b == -1 { return 0 }
            return a % b
        case .and: return a & b
        case .or: return a | b
        case .xor: return a ^ b
        }
    }
}

enum Fields {
    static func extract(_ bytes: [UInt8], index: Int, delimiters: [UInt8], count: Int, mergeRuns: Bool) -> [UInt8]? {
        var pieces: [ArraySlice<UInt8>] = []
        var start = 0
        for (position, byte) in bytes.enumerated() where delimiters.contains(byte) {
            pieces.append(bytes[start..<position])
            start = position + 1
        }
        pieces.append(bytes[start..<bytes.count])
        if mergeRuns { pieces.removeAll { $0.isEmpty } }
        guard index != 0, !pieces.isEmpty else { return nil }
        let first = index > 0 ? index - 1 : pieces.count + index
        guard first >= 0, first < pieces.count else { return index > 0 && !mergeRuns ? [] : nil }
        var chosen: ArraySlice<ArraySlice<UInt8>>
        if count == 0 {
            chosen = index > 0 ? pieces[first...] : pieces[...first]
        } else if index > 0 {
            chosen = pieces[first..<min(pieces.count, first + count)]
        } else {
            chosen = pieces[max(0, first - count + 1)...first]
        }
        // Joined with the first delimiter, as HAProxy copies the original span.
        var out: [UInt8] = []
        let joiner = delimiters.first ?? UInt8(ascii: " ")
        for (i, piece) in chosen.enumerated() {
            if i > 0 { out.append(joiner) }
            out.append(contentsOf: piece)
        }
        return out
    }
}

enum Hex {
    static let digits = Array("0123456789ABCDEF".utf8)

    static func upper(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}

enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            var n: UInt32 = 0
            var padding = 0
            for j in 0..<4 {
                let c = bytes[i + j]
                if c == UInt8(ascii: "=") {
                    guard i + 4 == bytes.count, j >= 2 else { return nil }
                    padding += 1
                    n <<= 6
                    continue
                }
                guard padding == 0, let v = alphabet.firstIndex(of: c) else { return nil }
                n = n << 6 | UInt32(v)
            }
            out.append(UInt8(n >> 16))
            if padding < 2 { out.append(UInt8(n >> 8 & 0xff)) }
            if padding < 1 { out.append(UInt8(n & 0xff)) }
            i += 4
        }
        return out
    }
}

enum JSONEscape {
    static func escape(_ bytes: [UInt8], mode: Converter.JSONInput) -> String? {
        var out = ""
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c >= 0x80 && mode != .ascii {
                // A UTF-8 sequence: copied when valid; otherwise failed, skipped or replaced.
                let length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0
                if length > 0, i + length <= bytes.count,
                   let text = String(validating: bytes[i..<i + length], as: UTF8.self) {
                    out += text
                    i += length
                    continue
                }
                switch mode {
                case .utf8, .utf8p: return nil
                case .utf8s, .utf8ps:
                    i += 1
                    continue
                case .ascii: break
                }
            }
            switch c {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "/"): out += "\\/"
            case 0x08: out += "\\b"
            case 0x0c: out += "\\f"
            case 0x0d: out += "\\r"
            case 0x0a: out += "\\n"
            case 0x09: out += "\\t"
            case 0x20...0x7e: out.unicodeScalars.append(Unicode.Scalar(c))
            default:
                let hex = String(c, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
            i += 1
        }
        return out
    }
}

enum URLDecoding {
    static func decode(_ bytes: [UInt8], inForm: Bool) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var inQuery = inForm
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "?") { inQuery = true }
            if c == UInt8(ascii: "+") && inQuery {
                out.append(UInt8(ascii: " "))
            } else if c == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let high = Hex.value(bytes[i + 1]), let low = Hex.value(bytes[i + 2]) else {
                    return nil
                }
                out.append(high << 4 | low)
                i += 2
            } else {
                out.append(c)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

enum Hashing {
    static func hash(_ function: Converter.HashFunction, _ bytes: [UInt8]) -> UInt32 {
        switch function {
        case .sdbm:
            var hash: UInt32 = 0
            for c in bytes { hash = UInt32(c) &+ (hash << 6) &+ (hash << 16) &- hash }
            return hash
        case .djb2:
            var hash: UInt32 = 5381
            for c in bytes { hash = (hash << 5) &+ hash &+ UInt32(c) }
            return hash
        case .crc32:
            var crc: UInt32 = 0xffff_ffff
            for c in bytes {
                crc ^= UInt32(c)
                for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
            }
            return ~crc
        case .wt6:
            var h0: UInt32 = 0xa53c_965a, h1: UInt32 = 0x5ca6_953a
            var step0: UInt32 = 6, step1: UInt32 = 18
            for c in bytes {
                var t = UInt32(c)
                h0 = ~(h0 ^ t)
                h1 = ~(h1 &+ t)
                t = (h1 << step0) | (h1 >> (32 - step0))
                h1 = (h0 << step1) | (h0 >> (32 - step1))
                h0 = t
                t = ((h0 >> 16) ^ h1) & 0xffff
                step0 = t & 0x1f
                step1 = t >> 11
            }
            return h0 ^ h1
        }
    }

    /// HAProxy's `full_hash`: spreads the bits of a 32-bit hash.
    static func fullAvalanche(_ value: UInt32) -> UInt32 {
        var a = value
        a = (a &+ 0x7ed5_5d16) &+ (a << 12)
        a = (a ^ 0xc761_c23c) ^ (a >> 19)
        a = (a &+ 0x1656_67b1) &+ (a << 5)
        a = (a &+ 0xd3a2_646c) ^ (a << 9)
        a = (a &+ 0xfd70_46c5) &+ (a << 3)
        a = (a ^ 0xb55a_4f09) ^ (a >> 16)
        return a
    }
}
