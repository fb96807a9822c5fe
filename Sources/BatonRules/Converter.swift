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
        case .base64: return .string(Base64.encode(input.binaryBytes))
        case .base64Decode: return Base64.decode(input.bytes).map(SampleValue.binary)
        case .hex: return .string(Hex.upper(input.binaryBytes))
        case .bytes(let offset, let length):
            // `sample_conv_bytes`: an offset at or past the end gives an empty sample.
            let bytes = input.binaryBytes
            guard offset < bytes.count else { return .binary([]) }
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
            // An IPv4-mapped IPv6 address is masked as IPv4 (`c_ipv62ip`).
            if let mapped = address.mappedIPv4 {
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
            var value = Hashing.hash(function, input.binaryBytes)
            if avalanche { value = Hashing.fullAvalanche(value) }
            return .int(Int64(value))
        }
    }
}

enum Arithmetic {
    /// HAProxy's saturating arithmetic (`sample_conv_arith_*`); dividing by zero gives the
    /// largest integer whatever the dividend's sign, modulo zero gives zero.
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
            if b == 0 { return .max }
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

/// `field` and `word`, as HAProxy's `sample_conv_field` and `sample_conv_word` cut them: the
/// original span from the first chosen piece to the last (delimiters in between kept), a
/// negative index counting from the end, a count of 0 meaning "to the end".
enum Fields {
    static func extract(_ bytes: [UInt8], index: Int, delimiters: [UInt8], count: Int, mergeRuns: Bool) -> [UInt8]? {
        guard index != 0 else { return nil }
        return mergeRuns ? word(bytes, index, delimiters, count) : field(bytes, index, delimiters, count)
    }

    private static func field(_ bytes: [UInt8], _ target: Int, _ delimiters: [UInt8], _ initialCount: Int) -> [UInt8]? {
        var count = initialCount
        var field: Int
        var start: Int, end: Int
        if target < 0 {
            field = -1
            start = bytes.count
            end = bytes.count
            while start > 0 {
                if delimiters.contains(bytes[start - 1]) {
                    if field == target {
                        if count == 1 { return Array(bytes[start..<end]) }
                        if count > 1 { count -= 1 }
                    } else {
                        end = start - 1
                        field -= 1
                    }
                }
                start -= 1
            }
        } else {
            field = 1
            start = 0
            end = 0
            while end < bytes.count {
                if delimiters.contains(bytes[end]) {
                    if field == target {
                        if count == 1 { return Array(bytes[start..<end]) }
                        if count > 1 { count -= 1 }
                    } else {
                        start = end + 1
                        field += 1
                    }
                }
                end += 1
            }
        }
        guard field == target else { return nil }
        return Array(bytes[start..<end])
    }

    private static func word(_ bytes: [UInt8], _ target: Int, _ delimiters: [UInt8], _ initialCount: Int) -> [UInt8]? {
        var count = initialCount
        var word = 0
        var inWord = false
        var start: Int, end: Int
        if target < 0 {
            start = bytes.count
            end = bytes.count
            while start > 0 {
                let isSeparator = delimiters.contains(bytes[start - 1])
                if !inWord {
                    if !isSeparator {
                        if word != target {
                            word -= 1
                            end = start
                        }
                        inWord = true
                    }
                } else if isSeparator {
                    if word == target {
                        if count == 1 { return Array(bytes[start..<end]) }
                        if count > 1 { count -= 1 }
                    }
                    inWord = false
                }
                start -= 1
            }
        } else {
            start = 0
            end = 0
            while end < bytes.count {
                let isSeparator = delimiters.contains(bytes[end])
                if !inWord {
                    if !isSeparator {
                        if word != target {
                            word += 1
                            start = end
                        }
                        inWord = true
                    }
                } else if isSeparator {
                    if word == target {
                        if count == 1 { return Array(bytes[start..<end]) }
                        if count > 1 { count -= 1 }
                    }
                    inWord = false
                }
                end += 1
            }
        }
        // A word that does not exist gives an empty sample (a field that does not exist, none).
        guard word == target else { return [] }
        return Array(bytes[start..<end])
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

/// The `json` converter (`sample_conv_json`): JSON string escapes; in `ascii` mode every byte
/// is a character, in the `utf8` modes the input is decoded and an invalid sequence fails the
/// conversion (`utf8`, `utf8p`) or is skipped (`utf8s`, `utf8ps`); the `p` modes let
/// overlong encodings through. Characters outside printable ASCII become `\uXXXX`.
enum JSONEscape {
    static func escape(_ bytes: [UInt8], mode: Converter.JSONInput) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            var c: UInt32
            if mode == .ascii {
                c = UInt32(bytes[i])
                i += 1
            } else {
                let (scalar, length, problem) = UTF8Decoding.next(bytes, i)
                i += length
                c = scalar
                switch problem {
                case .none: break
                case .overlong:
                    if mode == .utf8 { return nil }
                    if mode == .utf8s { continue }
                case .invalidRange, .badSequence:
                    if mode == .utf8 || mode == .utf8p { return nil }
                    continue
                }
                if c > 0xffff {
                    if mode == .utf8 || mode == .utf8p { return nil }
                    continue
                }
            }
            switch c {
            case 0x22: out += [0x5c, 0x22]
            case 0x5c: out += [0x5c, 0x5c]
            case 0x2f: out += [0x5c, 0x2f]
            case 0x08: out += [0x5c, UInt8(ascii: "b")]
            case 0x0c: out += [0x5c, UInt8(ascii: "f")]
            case 0x0d: out += [0x5c, UInt8(ascii: "r")]
            case 0x0a: out += [0x5c, UInt8(ascii: "n")]
            case 0x09: out += [0x5c, UInt8(ascii: "t")]
            case 0x20...0x7e: out.append(UInt8(c))
            default:
                let hex = Array(String(c, radix: 16).utf8)
                out += [0x5c, UInt8(ascii: "u")] + [UInt8](repeating: 0x30, count: max(0, 4 - hex.count)) + hex
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// HAProxy's `utf8_next`: one code point and what was wrong with its encoding.
enum UTF8Decoding {
    enum Problem { case none, overlong, invalidRange, badSequence }

    static func next(_ bytes: [UInt8], _ start: Int) -> (UInt32, Int, Problem) {
        let first = bytes[start]
        let length: Int, initial: UInt32, minimum: UInt32
        switch first {
        case 0x00...0x7f: return (UInt32(first), 1, .none)
        case 0xc0...0xdf: (length, initial, minimum) = (2, UInt32(first & 0x1f), 0x80)
        case 0xe0...0xef: (length, initial, minimum) = (3, UInt32(first & 0x0f), 0x800)
        case 0xf0...0xf7: (length, initial, minimum) = (4, UInt32(first & 0x07), 0x10000)
        default: return (UInt32(first), 1, .badSequence)
        }
        var code = initial
        var used = 1
        while used < length {
            guard start + used < bytes.count, bytes[start + used] & 0xc0 == 0x80 else {
                return (code, used, .badSequence)
            }
            code = code << 6 | UInt32(bytes[start + used] & 0x3f)
            used += 1
        }
        if code < minimum { return (code, used, .overlong) }
        if code > 0x10ffff || (0xd800...0xdfff).contains(code) { return (code, used, .invalidRange) }
        return (code, used, .none)
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
        // Then spread over the 32-bit space by a large prime close to 3/4 of it.
        return a &* 3_221_225_473
    }
}
